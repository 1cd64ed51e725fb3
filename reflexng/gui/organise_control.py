"""Choosing what to reduce and organising it: the cascade (loaded in a worker), the target,
the recent sessions, and organising the raw data, which opens the session in a worker; the
data organiser's own controls (dataset selection, excluded frames) are wired here too.
The session itself is owned by the :class:`~reflexng.gui.controller.Controller`."""

from __future__ import annotations

from reflexng.engine.state import task_status
from reflexng.gui.labels import prepare as prepare_labels
from reflexng.gui.preferences import RecentSession
from reflexng.gui.turns import LATER, in_turns
from reflexng.gui.worker import start_worker


class OrganiseControl:
    def __init__(self, controller) -> None:
        self.c = controller
        self.w = w = controller.w
        self._loading: str | None = None  # the cascade being loaded
        self.task = None  # the running organise (its progress dialog), kept alive here
        self._shown = 0  # results shown so far (the file table is filled a turn later)
        sb = w.session_bar
        sb.sig_cascade_chosen.connect(self.open_cascade)
        sb.sig_organise.connect(self.organise)
        sb.target.currentTextChanged.connect(self._target_changed)
        w.dataset_tree.sig_excluded_changed.connect(self._excluded_changed)
        w.dataset_tree.sig_selection_changed.connect(self._selection_changed)
        w.file_table.sig_file_selected.connect(self._file_selected)

    # ------------------------------------------------------------------ cascade
    def open_cascade(self, name_or_path: str, then=None) -> None:
        """Load a cascade in a worker; on success draw it and fill targets/parameter sets."""
        if not name_or_path:
            return
        if name_or_path == self._loading:  # Enter also activates the box: load once
            return
        c = self.c
        if c.running:
            self.w.show_message("stop the run before opening another cascade")
            return
        self._loading = name_or_path
        from reflexng.cascade import load

        self.w.show_message(f"loading cascade {name_or_path} …")

        def loaded(cascade) -> None:
            self._loading = None
            c.cascade = cascade
            c.runs.shutdown()  # a repaint of the previous run's states still due is not this cascade's
            self.w.inspection.reset()  # nothing of the previous cascade stays on screen
            self.w.log_view.clear()
            self.w.run_controls.set_progress(0, 0, None)
            self.w.session_bar.set_cascade_text(name_or_path)
            targets = sorted(set(getattr(cascade, "meta_targets", {}) or {})) + list(cascade.tasks)
            default = None
            try:
                dt = cascade.default_target
                default = dt[0] if isinstance(dt, (list, tuple)) and dt else (dt or None)
            except Exception:
                default = cascade.info.default_target
            self.w.session_bar.set_targets(targets, cascade.info.default_target or default)
            self.w.session_bar.set_parameter_sets(sorted(cascade.parameter_sets))
            c.panes.cascade_loaded(cascade)
            self.w.cascade_view.set_cascade(cascade, self.target())
            self.w.setWindowTitle(f"reflexng — {cascade.name}")
            self.w.show_message(f"cascade {cascade.name}: {len(cascade.tasks)} tasks, {len(cascade.data_sources)} data sources")
            from reflexng.gui.warmup import warm_recipes

            start_worker(warm_recipes, [t.recipe_name for t in cascade.tasks.values()])
            self.w.sig_cascade_loaded.emit(cascade)
            if then is not None:
                then()

        def failed(message: str, tb: str) -> None:
            self._loading = None
            c.fail(f"cannot load cascade {name_or_path}")(message, tb)

        start_worker(load, name_or_path, on_finished=loaded, on_failed=failed)

    def target(self) -> str | None:
        t = self.w.session_bar.target.currentText()
        return t or None

    def _target_changed(self, _t: str) -> None:
        if self.c.cascade is not None and not self.c.running:
            self.w.cascade_view.set_cascade(self.c.cascade, self.target())

    # ------------------------------------------------------------------ organise
    def organise(self) -> None:
        c = self.c
        if c.cascade is None:
            self.w.show_message("choose a cascade first")
            return
        dirs = self.w.session_bar.data_dirs.dirs()
        if not dirs:
            self.w.show_message("add a raw-data folder first")
            return
        if c.running:
            self.w.show_message("stop the run before organising again")
            return
        from reflexng.engine import Session

        # the old session is closed and the new one opened in the worker too: both touch the
        # database and the disk (a busy disk would freeze the window otherwise)
        workflow = c.panes.workflow_overrides  # the old session's, if any
        old = c.detach_session()
        cascade, target, workdir, bridge = c.cascade, self.target(), c.workdir(), c.bridge
        breakpoints = self.w.cascade_view.breakpoints()
        prefs = self.w.prefs
        kwargs = dict(
            parameter_set=self.w.session_bar.parameter_set.currentData(),
            workflow_parameters=workflow, **c.options.values(),
            placeholder_recipes=self.w.run_controls.placeholder_recipes.isChecked(),
            executor=prefs.executor or None,
            executor_options={"scheduler": prefs.dask_scheduler}
            if prefs.executor == "dask" and prefs.dask_scheduler else None,
        )
        opened: dict = {}

        def open_and_organise(progress=None, cancelled=None):  # worker thread
            if old is not None:
                try:
                    old.close()
                except Exception:  # noqa: BLE001 - a damaged old session must not block the new one
                    pass
            try:
                s = Session(cascade, dirs, target, workdir=workdir, **kwargs)
            except Exception as exc:  # e.g. the work directory is used by another reflexng
                raise RuntimeError(f"cannot open the work directory {workdir}: {exc}") from exc
            opened["session"], opened["unsubscribe"] = s, s.subscribe(bridge)
            for task in breakpoints:
                s.set_breakpoint(task, True)
            result = s.organise(progress=progress, cancelled=cancelled)
            prepare_labels(result)  # the readable names' path index: here, not on the GUI thread
            return result

        def adopt() -> None:  # GUI thread: the session opened in the worker is the window's
            if "session" in opened:
                c.adopt_session(opened["session"], opened["unsubscribe"])

        def finished(result) -> None:
            adopt()
            self.organised(result)

        def failed(message: str, tb: str) -> None:
            adopt()
            self.organise_failed(message, tb)

        self.w.session_bar.organise_button.setEnabled(False)
        self.w.show_message(f"organising {', '.join(dirs)} …")
        from reflexng.gui.organise_task import organise_with_progress

        # progress and Cancel in a non-modal dialog; the organiser runs in a worker
        self.task = organise_with_progress(self.w, open_and_organise, finished, failed)

    def organise_failed(self, message: str, tb: str) -> None:
        self.w.session_bar.organise_button.setEnabled(True)
        self.w.show_message(message if "cancelled" in message else f"organising failed: {message}")

    def organised(self, result) -> None:
        """Show a new result, a step per event-loop turn (none blocks the window for long at
        300,000 files): now the dataset tree's first slice; once its items are made (its own
        slices), the jobs' restored states
        (kept for the items not made yet), the tasks', the task details', the datasets' (a
        slice a turn), the file table, ``sig_organised`` (a newer result meanwhile takes over).
        Once idle, what ``run_control.repaint_states`` shows."""
        c, w = self.c, self.w
        self._shown += 1
        w.session_bar.organise_button.setEnabled(True)
        w.inspection.reset()  # jobs may have changed: no pane keeps an old job
        w.run_controls.set_progress(0, 0, None)
        st = c.session.state
        w.dataset_tree.set_result(result, list(st.exclusions))
        n_ok = sum(1 for d in result.datasets if d.complete)
        w.show_message(f"{len(result.files)} files, {len(result.jobs)} jobs, {len(result.datasets)} datasets ({n_ok} complete)")
        w.tabs.setCurrentWidget(w.dataset_tree)
        c.update_controls()

        def tree_made():  # the tree's own slices first: a step and a slice in one turn is too long
            while not w.dataset_tree.is_loaded():
                yield LATER

        def job_states() -> None:  # restored from the work directory (done, reused, ...)
            w.dataset_tree.set_job_states({j: str(r.status) if (r := st.jobs.get(j)) else "" for j in result.jobs})

        def task_states() -> None:
            counts = st.task_counts()
            w.cascade_view.set_task_states(counts, {t: task_status(n) for t, n in counts.items()})

        def dataset_states():
            for ds_id in list(st.dataset_jobs):
                w.dataset_tree.set_dataset_status(ds_id, st.dataset_status(ds_id))
                yield

        n = self._shown
        in_turns(w, [tree_made, job_states, task_states, c.panes.refresh_states, dataset_states,
                     lambda: c.panes.fill_file_table(result), self._remember, lambda: w.sig_organised.emit(result)],
                 lambda: n == self._shown)

    # ------------------------------------------------------------------ recent sessions
    def _remember(self) -> None:
        prefs = self.w.prefs
        prefs.remember(RecentSession(
            str(getattr(self.c.cascade, "path", "") or self.w.session_bar.cascade.currentText()),
            self.w.session_bar.data_dirs.dirs(), self.target(), str(self.c.workdir()),
        ))
        try:
            prefs.save()
        except OSError as exc:
            self.w.show_message(f"cannot save the preferences: {exc}")
        self.w.refresh_recent_menu()

    def open_recent(self, r: RecentSession) -> None:
        sb = self.w.session_bar
        sb.data_dirs.clear()
        for d in r.data_dirs:
            sb.data_dirs.add_dir(d)
        if r.workdir:
            sb.workdir.setText(r.workdir)

        def then() -> None:
            if r.target:
                sb.target.setCurrentText(r.target)

        self.open_cascade(r.cascade, then)

    # ------------------------------------------------------------------ the organiser's controls
    def _selection_changed(self, ids: list) -> None:
        if self.c.session is not None:
            self.c.session.select_datasets(ids)

    def _excluded_changed(self, paths: list) -> None:
        s = self.c.session
        if s is None or self.c.running:
            return
        self.w.show_message(f"{len(paths)} frame(s) excluded; organising again …")

        def exclude() -> None:  # worker thread
            s.exclude_files(paths)
            prepare_labels(s.result)

        start_worker(exclude,
                     on_finished=lambda _r: self.organised(self.c.session.result),
                     on_failed=self.c.fail("cannot exclude the frames"))

    def _file_selected(self, path: str) -> None:
        self.w.inspection.header.show_file(path)
