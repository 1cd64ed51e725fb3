"""Wiring of the task-detail pane, the workflow parameters, the failure banner (policy
"ask") and the file-table column chooser to the session. Everything that may block (recipe
look-ups, organising) runs through the one worker pattern."""

from __future__ import annotations

from typing import Any

from reflexng.gui.worker import start_worker


class PaneWiring:
    def __init__(self, controller) -> None:
        self.c = controller
        w = controller.w
        self.w = w
        self.task: str | None = None
        self._before_session: dict[str, Any] = {}  # the user's values until a session holds them
        self._organised_with: dict[str, Any] = {}  # the values the session last organised with
        self._organising = False
        self._reorganise = False
        w.task_details.sig_job_selected.connect(self.select_job)
        w.task_details.sig_job_activated.connect(controller.inspect_job)
        w.workflow_parameters.sig_changed.connect(self.workflow_changed)
        w.session_bar.parameter_set.currentIndexChanged.connect(self._parameter_set_changed)
        w.failure_banner.sig_retry.connect(self.retry)
        w.failure_banner.sig_skip.connect(self.skip)
        w.failure_banner.sig_stop.connect(controller.stop)
        w.file_table.sig_columns_changed.connect(self.columns_changed)

    # ------------------------------------------------------------------ task details
    def show_task(self, name: str) -> None:
        """Fill the task-detail pane (recipe look-up and effective values in a worker)."""
        c = self.c
        cascade = c.cascade
        if cascade is None or name not in cascade.tasks:
            return
        self.task = name
        from reflexng.gui.task_details_model import recipe_summary, task_details

        st = c.session.state if c.session is not None else None
        jobs = {j: str(st.jobs[j].status) for j in st.jobs_of_task(name)} if st is not None else {}
        first = sorted(jobs)[0] if jobs else None
        session = c.session
        wp = dict(getattr(c.result, "workflow_parameters", None) or {}) or self._workflow_values()

        def gather():
            recipe = recipe_summary(cascade, name)
            effective = None
            if session is not None and first is not None and session.result is not None and first in session.result.jobs:
                try:
                    effective = session.recipe_parameters(first)[1]
                except Exception:  # unknown recipe: the cascade values are shown
                    effective = None
            from reflexng.gui.task_details_model import replay_command_of

            replay = replay_command_of(session.store, first) if session is not None and first else ""
            return task_details(cascade, name, recipe, jobs, workflow_parameters=wp, effective=effective,
                                selected_job=first if effective is not None else None), first, replay

        def show(r) -> None:
            details, first_job, replay = r
            if self.task != name:  # another task was clicked meanwhile
                return
            self.w.task_details.set_details(details)
            self.w.task_details.set_replay(first_job, replay)
            self.w.tabs.setCurrentWidget(self.w.task_details)
            self.w.sig_task_shown.emit(name)

        start_worker(gather, on_finished=show, on_failed=c.fail(f"cannot describe task {name}"))

    def select_job(self, job_id: str) -> None:
        s = self.c.session
        if s is None or s.result is None or job_id not in s.result.jobs:
            return

        def gather():
            from reflexng.gui.task_details_model import replay_command_of

            return s.recipe_parameters(job_id), replay_command_of(s.store, job_id)

        def shown(r) -> None:
            self.w.task_details.set_effective(job_id, r[0][1])
            self.w.task_details.set_replay(job_id, r[1])
            self.w.sig_task_shown.emit(self.task or "")

        start_worker(gather, on_finished=shown,
                     on_failed=self.c.fail(f"cannot read the parameters of {job_id}"))
        from reflexng.gui.executor_panel import resources_text

        start_worker(resources_text, s, job_id, on_finished=self.w.task_details.resources.setText)

    def refresh_states(self) -> None:
        s = self.c.session
        if s is not None:
            self.w.task_details.update_states({j: str(r.status) for j, r in s.state.jobs.items()})

    # ------------------------------------------------------------------ workflow parameters
    @property
    def workflow_overrides(self) -> dict[str, Any]:
        """The user's workflow-parameter overrides: the session's (``session.workflow_parameters``)
        once there is one."""
        s = self.c.session
        return dict(s.workflow_parameters) if s is not None else dict(self._before_session)

    def _workflow_values(self) -> dict[str, Any]:
        from reflexng.gui.workflow_parameters import base_values

        cascade = self.c.cascade
        if cascade is None:
            return {}
        return base_values(cascade, self.w.session_bar.parameter_set.currentData()) | self.workflow_overrides

    def cascade_loaded(self, cascade) -> None:
        self._before_session = {}
        if self.c.session is not None:
            self.c.session.workflow_parameters = {}
        self.task = None
        self.w.workflow_parameters.set_cascade(cascade, self.w.session_bar.parameter_set.currentData())
        # the files, datasets and replay line of the previous cascade go; Run waits for organise
        from reflexng.organiser.model import OrganiseResult

        self.w.file_table.set_records([], ())
        self.w.dataset_tree.set_result(OrganiseResult(cascade.name, "", [], {}, []))
        self.w.task_details.set_replay(None, "")
        self.c.update_controls()

    def _parameter_set_changed(self, _i: int) -> None:
        from reflexng.gui.workflow_parameters import base_values

        if self.c.cascade is not None:
            self.w.workflow_parameters.set_base(base_values(self.c.cascade, self.w.session_bar.parameter_set.currentData()))

    def workflow_changed(self, overrides: dict) -> None:
        """A workflow parameter changed: organise again off the GUI thread (when organised)."""
        if overrides == self.workflow_overrides:
            return
        c = self.c
        if c.session is not None:
            c.session.workflow_parameters = overrides  # used by its next organise
        else:
            self._before_session = dict(overrides)
        words = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "cascade values"
        if c.session is None or c.result is None:
            self.w.show_message(f"workflow parameters: {words} (used when organising)")
            return
        if c.running:
            self.w.show_message("workflow parameters apply after the run: stop it, then they organise the data again")
            return
        self.reorganise()

    def reorganise(self) -> None:
        c = self.c
        if self._organising:  # one organise at a time; the latest values win
            self._reorganise = True
            return
        s = c.session
        self._organised_with = dict(s.workflow_parameters)
        self._organising = True
        self.w.show_message("workflow parameters changed; organising again …")

        def done(_r) -> None:
            self._organising = False
            if self._reorganise:
                self._reorganise = False
                self.reorganise()
                return
            c.organised(s.result)

        def failed(message: str, _tb: str) -> None:
            self._organising = False
            self.w.show_message(f"organising with the new workflow parameters failed: {message}")

        from reflexng.gui.organise_task import organise_with_progress

        organise_with_progress(self.w, s.organise, done, failed)

    # ------------------------------------------------------------------ failure policy "ask"
    def on_event(self, ev) -> None:
        if ev.kind == "paused" and (ev.data or {}).get("reason") == "failure" and ev.job_id:
            rec = self.c.session.state.jobs[ev.job_id]
            self.w.failure_banner.show_failure(ev.job_id, rec.reason, list(rec.log_tail), rec.task)
        elif ev.kind in ("resumed", "run_finished", "run_started"):
            self.w.failure_banner.dismiss()
        s = self.c.session
        if ev.kind == "organised" and s is not None and not self._organising:
            self._organised_with = dict(s.workflow_parameters)
        if ev.kind == "run_finished" and s is not None and dict(s.workflow_parameters) != self._organised_with:
            self.reorganise()  # workflow parameters changed during the run apply now

    def retry(self, job_id: str) -> None:
        s = self.c.session
        if s is None:
            return
        try:
            s.rerun(job_id, {})
        except Exception as exc:
            self.w.show_message(f"cannot retry {job_id}: {exc}")
            return
        self.w.show_message(f"retrying {job_id}")
        s.resume()

    def skip(self, job_id: str) -> None:
        if self.c.session is not None:
            self.w.show_message(f"job {job_id} stays failed; continuing with the rest")
            self.c.session.resume()

    # ------------------------------------------------------------------ file-table columns
    def fill_file_table(self, result) -> None:
        from reflexng.gui.file_table import shown_keywords

        self.w.file_table.set_records(result.files, shown_keywords(result.files, self.w.prefs.file_table_keywords))

    def columns_changed(self, keywords: list) -> None:
        prefs = self.w.prefs
        prefs.file_table_keywords = list(keywords)
        try:
            prefs.save()
        except OSError as exc:
            self.w.show_message(f"cannot save the preferences: {exc}")
