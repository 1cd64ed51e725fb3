"""Wires the user's decisions to the Qt-free core: "keep this one" and "save as parameter
set" (reflexng.engine.attempts) from the Compare pane, association overrides
(reflexng.organiser.overrides) from the dataset tree. Everything runs in a worker; overrides
organise again through the progress dialog (Session.organise applies them)."""

from __future__ import annotations

from reflexng.gui.worker import start_worker


class DecisionsWiring:
    def __init__(self, controller) -> None:
        self.c = controller
        w = controller.w
        self.w = w
        self.last_saved: str | None = None
        w.inspection.sig_keep.connect(self.keep)
        w.inspection.sig_save_set.connect(self.save_set)
        w.dataset_tree.sig_override.connect(self.override)
        w.dataset_tree.sig_override_removed.connect(self.remove_override)

    # ------------------------------------------------------------------ attempts
    def keep(self, job_id: str, attempt: int) -> None:
        c, s = self.c, self.c.session
        if s is None:
            return
        from reflexng.engine.attempts import keep_attempt

        def kept(_params) -> None:
            self.w.show_message(f"{job_id}: attempt {attempt} kept as the job's result (its products are reused)")
            if c.running:
                s.step()
            else:
                c.run()

        start_worker(keep_attempt, s, job_id, attempt, on_finished=kept,
                     on_failed=c.fail(f"cannot keep attempt {attempt} of {job_id}"))

    def save_set(self, job_id: str, name: str) -> None:
        c, s = self.c, self.c.session
        if s is None or c.cascade is None:
            return
        from reflexng.engine.attempts import save_parameter_set

        cascade_path = getattr(c.cascade, "path", "") or ""

        def save():
            done = [a for a in s.store.attempts_of(job_id) if a.status == "done"]
            if not done:
                raise ValueError(f"{job_id} has no successful attempt yet")
            defaults = s.recipe_parameters(job_id)[2]
            return save_parameter_set(s.store, cascade_path, name, job_id, done[-1].attempt, defaults)

        def saved(path) -> None:
            self.last_saved = str(path)
            self.w.show_message(f"parameter set {name} written to {path}; reload the cascade to choose it")

        start_worker(save, on_finished=saved, on_failed=c.fail(f"cannot save parameter set {name}"))

    # ------------------------------------------------------------------ association overrides
    def override(self, data: dict) -> None:
        c, s = self.c, self.c.session
        if s is None or c.running:
            self.w.show_message("stop the run before changing the associations")
            return
        from reflexng.organiser.overrides import Override, add_override

        o = Override(data["job_id"], data["input"], data["action"], path=data.get("path"), job=data.get("job"))
        self.w.show_message(o.words() + "; organising again …")
        start_worker(add_override, s.workdir, o, s.store, on_finished=lambda _r: self._reorganise(),
                     on_failed=c.fail("cannot store the association override"))

    def remove_override(self, job_id: str, input_name: str) -> None:
        c, s = self.c, self.c.session
        if s is None or c.running:
            return
        from reflexng.organiser.overrides import load_overrides, remove_override

        def remove():
            for o in load_overrides(s.workdir):
                if o.job_id == job_id and o.input == input_name:
                    remove_override(s.workdir, o, s.store)

        start_worker(remove, on_finished=lambda _r: self._reorganise(),
                     on_failed=c.fail("cannot remove the association override"))

    def _reorganise(self) -> None:
        from reflexng.gui.organise_task import organise_with_progress

        c = self.c
        organise_with_progress(self.w, c.session.organise, c.organised, c.organise_failed)
