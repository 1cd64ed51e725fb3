"""Wires the main window to the Qt-free engine :class:`~reflexng.engine.Session`: the session's
life and what is read from its state here; choosing a cascade and organising (which opens the
session) in :mod:`~reflexng.gui.organise_control`, runs and events in
:mod:`~reflexng.gui.run_control`, one job's views in :mod:`~reflexng.gui.job_view`, the side
panes in :mod:`~reflexng.gui.pane_wiring`.
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
from reflexng.gui.organise_control import OrganiseControl
from reflexng.gui.pane_wiring import PaneWiring
from reflexng.gui.preferences import default_workdir_root
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
        rc = window.run_controls
        self.options = OptionBinding(
            {"ordering": rc.ordering, "max_jobs": rc.jobs, "failure_policy": rc.failure_policy,
             "pause_after_each": rc.pause_after_each},
            session=lambda: self.session, on_error=window.show_message)
        # the parts, by responsibility (their public methods are the controller's too)
        self.setup, self.runs, self.jobs = OrganiseControl(self), RunControl(self), JobView(self)
        o, r, j = self.setup, self.runs, self.jobs
        self.open_cascade, self.target, self.open_recent = o.open_cascade, o.target, o.open_recent
        self.organise, self.organised, self.organise_failed = o.organise, o.organised, o.organise_failed
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

    # ------------------------------------------------------------------ the session's life
    def adopt_session(self, session, unsubscribe) -> None:
        """The session opened (in a worker) by organising becomes the window's."""
        self.session, self._unsubscribe = session, unsubscribe

    def detach_session(self) -> Any:
        """Stop listening to the current session and let go of it; the caller closes it."""
        old, self.session = self.session, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        return old

    # ------------------------------------------------------------------ shutdown
    def close_session(self) -> None:
        old = self.detach_session()
        if old is not None:
            try:
                old.close()
            except Exception:
                pass

    def shutdown(self) -> None:
        from reflexng.gui.worker import wait_for_workers

        self.runs.shutdown()
        self.close_session()
        wait_for_workers(10000)
