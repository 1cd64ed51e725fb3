"""Wires the main window to the Qt-free engine :class:`~reflexng.engine.Session`: cascade,
organise and the session's life here; runs and events in :mod:`~reflexng.gui.run_control`, one
job's views in :mod:`~reflexng.gui.job_view`, the side panes in :mod:`~reflexng.gui.pane_wiring`.
Nothing blocking runs on the GUI thread (one worker pattern: :func:`~reflexng.gui.worker.start_worker`;
events are marshalled by :class:`~reflexng.gui.worker.EventBridge`). No run state is kept here:
it is read from ``session.state``; run controls are bound to ``session.options`` (OptionBinding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from reflexng.gui.bind import OptionBinding
from reflexng.gui.job_view import JobView
from reflexng.gui.pane_wiring import PaneWiring
from reflexng.gui.preferences import RecentSession, default_workdir_root
from reflexng.gui.run_control import RunControl
from reflexng.gui.worker import EventBridge, start_worker


class Controller:
    def __init__(self, window) -> None:
        self.w = window
        self.cascade: Any = None
        self.session: Any = None
        self._unsubscribe = None
        # parented to the window: when it is deleted, these connections (which hold this
        # controller) go too, and the window's Python side can be collected
        self.bridge = EventBridge(window)
        sb, rc = window.session_bar, window.run_controls
        sb.sig_cascade_chosen.connect(self.open_cascade)
        sb.sig_organise.connect(self.organise)
        sb.target.currentTextChanged.connect(self._target_changed)
        self.options = OptionBinding(
            {"ordering": rc.ordering, "max_jobs": rc.jobs, "failure_policy": rc.failure_policy,
             "pause_after_each": rc.pause_after_each},
            session=lambda: self.session, on_error=window.show_message)
        window.dataset_tree.sig_excluded_changed.connect(self._excluded_changed)
        window.dataset_tree.sig_selection_changed.connect(self._selection_changed)
        window.file_table.sig_file_selected.connect(self._file_selected)
        # the parts, by responsibility (their public methods are the controller's too)
        self.runs, self.jobs = RunControl(self), JobView(self)
        r, j = self.runs, self.jobs
        self.run, self.resume, self.step, self.stop, self.rerun, self.on_event = (
            r.run, r.resume, r.step, r.stop, r.rerun, r.on_event)
        self.inspect_job, self.show_task, self.compare = j.inspect_job, j.show_task, j.compare
        self.refresh_provenance, self.send_samp = j.refresh_provenance, j.send_samp
        self.panes = PaneWiring(self)
        self.bridge.sig_event.connect(r.on_event)
        from reflexng.gui.decisions_wiring import DecisionsWiring

        self.decisions = DecisionsWiring(self)  # keep an attempt, save a parameter set, association overrides
        from reflexng.gui.workdir_status import WorkdirStatus

        self.workdir_status = WorkdirStatus(self)  # the status bar: work directory and its lock holder
        self.update_controls()
        from reflexng.gui.warmup import warm_imports

        # after the window is up: imports in a worker still compete for the interpreter lock
        QTimer.singleShot(1500, lambda: start_worker(warm_imports))

    # ------------------------------------------------------------------ the session's state, read
    @property
    def result(self) -> Any:
        s = self.session
        # a session organised for another (or a reloaded) cascade has nothing to show or run for this one
        return s.result if s is not None and s.cascade is self.cascade else None

    running = property(lambda self: self.session is not None and self.session.state.running)
    paused = property(lambda self: self.session is not None and self.session.state.paused)
    paused_job = property(lambda self: self.session.state.paused_job if self.session is not None else None)

    @property
    def summary(self) -> dict | None:
        s = self.session.state.summary if self.session is not None else None
        return s.to_json() if s is not None else None

    def job_status(self, job_id: str) -> str:
        rec = self.session.state.jobs.get(job_id) if self.session is not None else None
        return str(rec.status) if rec is not None else ""

    # ------------------------------------------------------------------ helpers
    def fail(self, what: str):
        return lambda message, _tb: self.w.show_message(f"{what}: {message}")

    def update_controls(self) -> None:
        self.w.run_controls.set_running(self.running, self.paused, can_run=self.result is not None)
        can_rerun = self.session is not None and self.result is not None and (self.paused or not self.running)
        self.w.inspection.set_paused(self.paused and self.paused_job is not None, can_rerun)

    def workdir(self) -> Path:
        text = self.w.session_bar.workdir.text().strip()
        if text:
            return Path(text).expanduser()
        name = getattr(self.cascade, "name", "cascade") or "cascade"
        return default_workdir_root() / name

    # ------------------------------------------------------------------ cascade
    def open_cascade(self, name_or_path: str, then=None) -> None:
        """Load a cascade in a worker; on success draw it and fill targets/parameter sets."""
        if not name_or_path:
            return
        if name_or_path == getattr(self, "_loading", None):  # Enter also activates the box: load once
            return
        if self.running:
            self.w.show_message("stop the run before opening another cascade")
            return
        self._loading = name_or_path
        from reflexng.cascade import load

        self.w.show_message(f"loading cascade {name_or_path} …")

        def loaded(cascade) -> None:
            self._loading = None
            self.cascade = cascade
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
            self.panes.cascade_loaded(cascade)
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
            self.fail(f"cannot load cascade {name_or_path}")(message, tb)

        start_worker(load, name_or_path, on_finished=loaded, on_failed=failed)

    def target(self) -> str | None:
        t = self.w.session_bar.target.currentText()
        return t or None

    def _target_changed(self, _t: str) -> None:
        if self.cascade is not None and not self.running:
            self.w.cascade_view.set_cascade(self.cascade, self.target())

    # ------------------------------------------------------------------ organise
    def organise(self) -> None:
        if self.cascade is None:
            self.w.show_message("choose a cascade first")
            return
        dirs = self.w.session_bar.data_dirs.dirs()
        if not dirs:
            self.w.show_message("add a raw-data folder first")
            return
        if self.running:
            self.w.show_message("stop the run before organising again")
            return
        from reflexng.engine import Session

        # the old session is closed and the new one opened in the worker too: both touch the
        # database and the disk (a busy disk would freeze the window otherwise)
        workflow = self.panes.workflow_overrides  # the old session's, if any
        old, self.session = self.session, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        cascade, target, workdir, bridge = self.cascade, self.target(), self.workdir(), self.bridge
        breakpoints = self.w.cascade_view.breakpoints()
        kwargs = dict(
            parameter_set=self.w.session_bar.parameter_set.currentData(),
            workflow_parameters=workflow, **self.options.values(),
            placeholder_recipes=self.w.run_controls.placeholder_recipes.isChecked(),
            executor=self.w.prefs.executor or None,
            executor_options={"scheduler": self.w.prefs.dask_scheduler}
            if self.w.prefs.executor == "dask" and self.w.prefs.dask_scheduler else None,
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
            return s.organise(progress=progress, cancelled=cancelled)

        def adopt() -> None:  # GUI thread: the session opened in the worker is the window's
            if "session" in opened:
                self.session, self._unsubscribe = opened["session"], opened["unsubscribe"]

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
        self.organise_task = organise_with_progress(self.w, open_and_organise, finished, failed)

    def organise_failed(self, message: str, tb: str) -> None:
        self.w.session_bar.organise_button.setEnabled(True)
        self.w.show_message(message if "cancelled" in message else f"organising failed: {message}")

    def organised(self, result) -> None:
        self.w.session_bar.organise_button.setEnabled(True)
        self.w.inspection.reset()  # jobs may have changed: no pane keeps an old job
        self.w.run_controls.set_progress(0, 0, None)
        self.panes.fill_file_table(result)
        self.w.dataset_tree.set_result(result, list(self.session.state.exclusions))
        for jid in result.jobs:  # statuses restored from the work directory (done, reused, ...)
            self.w.dataset_tree.set_job_state(jid, self.job_status(jid))
        self.runs.repaint_states()
        n_ok = sum(1 for d in result.datasets if d.complete)
        self.w.show_message(
            f"{len(result.files)} files, {len(result.jobs)} jobs, {len(result.datasets)} datasets ({n_ok} complete)"
        )
        self.w.tabs.setCurrentWidget(self.w.dataset_tree)
        self._remember()
        self.update_controls()
        self.w.sig_organised.emit(result)

    def _remember(self) -> None:
        prefs = self.w.prefs
        prefs.remember(RecentSession(
            str(getattr(self.cascade, "path", "") or self.w.session_bar.cascade.currentText()),
            self.w.session_bar.data_dirs.dirs(), self.target(), str(self.workdir()),
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

    def _selection_changed(self, ids: list) -> None:
        if self.session is not None:
            self.session.select_datasets(ids)

    def _excluded_changed(self, paths: list) -> None:
        if self.session is None or self.running:
            return
        self.w.show_message(f"{len(paths)} frame(s) excluded; organising again …")
        start_worker(self.session.exclude_files, paths,
                     on_finished=lambda _r: self.organised(self.session.result),
                     on_failed=self.fail("cannot exclude the frames"))

    def _file_selected(self, path: str) -> None:
        self.w.inspection.header.show_file(path)

    # ------------------------------------------------------------------ shutdown
    def _close_session(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.session is not None:
            try:
                self.session.close()
            except Exception:
                pass
            self.session = None

    def shutdown(self) -> None:
        from reflexng.gui.worker import wait_for_workers

        self.runs.shutdown()
        self._close_session()
        wait_for_workers(10000)
