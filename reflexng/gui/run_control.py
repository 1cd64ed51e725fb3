"""Run control of the main window: Run, Pause/Resume, Step, Stop, breakpoints, re-runs, and
the engine's events on the GUI thread (job-state repaints coalesced by a short timer so a
burst of events never stalls the loop). Every status shown is read from ``session.state``."""

from __future__ import annotations

from PySide6.QtCore import QTimer


class RunControl:
    def __init__(self, controller) -> None:
        self.c = controller
        self.w = w = controller.w
        self._repaint = QTimer(w)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(80)
        self._repaint.timeout.connect(self.repaint_states)
        rc = w.run_controls
        rc.run_button.clicked.connect(self.run)
        rc.pause_button.clicked.connect(self.toggle_pause)
        rc.step_button.clicked.connect(self.step)
        rc.stop_button.clicked.connect(self.stop)
        w.cascade_view.sig_breakpoint_changed.connect(self._breakpoint_changed)
        w.inspection.sig_rerun.connect(self.rerun)
        w.inspection.sig_continue.connect(self.resume)

    def shutdown(self) -> None:
        self._repaint.stop()

    def run(self) -> None:
        if self.c.session is None or self.c.result is None:
            self.w.show_message("organise the data first")
            return
        s = self.c.session
        s.select_datasets(self.w.dataset_tree.selected_datasets())
        s.set_description(self.w.dataset_tree.description.text())
        try:
            s.options.update(**self.c.options.values())
            s.start()
        except Exception as exc:
            self.c.update_controls()
            self.w.show_message(f"cannot start the run: {exc}")
            return
        self.w.run_controls.set_running(True, False, can_run=True)  # until run_started arrives

    def toggle_pause(self) -> None:
        if self.c.session is None:
            return
        (self.c.session.resume if self.c.paused else self.c.session.pause)()

    def resume(self) -> None:
        if self.c.session is not None:
            self.c.session.resume()

    def step(self) -> None:
        if self.c.session is not None:
            self.c.session.step()

    def stop(self) -> None:
        if self.c.session is not None:
            self.c.session.stop()

    def _breakpoint_changed(self, task: str, enabled: bool) -> None:
        if self.c.session is not None:
            self.c.session.set_breakpoint(task, enabled)

    def rerun(self, job_id: str, parameters: dict) -> None:
        """A new attempt of ``job_id`` with ``parameters``; runs at once (one step) when paused."""
        if self.c.session is None:
            return
        try:
            self.c.session.rerun(job_id, parameters)
        except Exception as exc:
            self.w.show_message(f"cannot re-run {job_id}: {exc}")
            return
        words = ", ".join(f"{k}={v!r}" for k, v in parameters.items()) or "the same parameters"
        self.w.show_message(f"re-running {job_id} with {words}")
        if self.c.running:
            self.c.session.step()
        else:
            self.run()

    # ------------------------------------------------------------------ events
    def on_event(self, ev) -> None:
        """Engine events, on the GUI thread."""
        kind, jid, data = ev.kind, ev.job_id, ev.data or {}
        self.w.log_view.note_event(ev)
        self.w.executor_status.on_event(ev, self.c.session)
        if kind == "job_log":
            self.w.log_view.append(jid, str(data.get("line", "")), str(data.get("stream", "stdout")))
        elif kind in ("job_queued", "job_started", "job_finished", "job_failed", "job_cancelled", "job_reused", "job_skipped",
                      "job_stale"):
            if jid:
                self.w.dataset_tree.set_job_state(jid, self.c.job_status(jid))
            if kind in ("job_failed", "job_cancelled"):
                word = "cancelled" if kind == "job_cancelled" else "failed"
                self.w.inspection.show_failure(jid, str(data.get("reason", "")), list(data.get("log_tail") or []),
                                               status=word)
                self.w.show_message(f"job {jid} {word}: {data.get('reason', '')}")
            self._repaint.start()
        elif kind == "progress":
            self.w.run_controls.set_progress(int(data.get("done", 0)), int(data.get("total", 0)), data.get("eta_seconds"))
        elif kind == "run_started":
            self.w.run_controls.set_progress(0, int(data.get("total", 0)), None)
            self.c.update_controls()
        elif kind == "paused":
            self._repaint.stop()
            self.repaint_states()
            reason = data.get("reason", "")
            self.w.show_message(f"paused ({reason})" + (f" after {jid}" if jid else ""))
            job = self.c.result.jobs.get(jid) if (jid and self.c.result is not None) else None
            self.w.cascade_view.set_paused_task(job.task if job is not None else None)
            self.c.update_controls()
            if jid:
                self.c.inspect_job(jid)
            self.w.sig_paused.emit(jid or "")
        elif kind == "resumed":
            self.w.cascade_view.set_paused_task(None)
            self.c.update_controls()
        elif kind == "run_finished":
            summary = data.get("summary") or {}
            self.w.cascade_view.set_paused_task(None)
            self.repaint_states()
            self.c.update_controls()
            self.c.refresh_provenance(summary)
            counts: dict[str, int] = {}
            for j in summary.get("jobs", []):
                counts[j["status"]] = counts.get(j["status"], 0) + 1
            words = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            head = "run stopped" if summary.get("stopped") else "run finished"
            if summary.get("error"):
                words = f"error: {summary['error']}"
            self.w.show_message(f"{head}: {words}" if words else head)
            self.w.sig_run_finished.emit(summary)
        self.c.panes.on_event(ev)
        self.w.sig_event.emit(ev)

    def repaint_states(self) -> None:
        if self.c.result is None:  # no session, or one organised for another cascade: not this view's states
            return
        st = self.c.session.state
        counts = st.task_counts()  # once: 20k jobs cost ~30 ms a pass
        self.w.cascade_view.set_task_states(counts, st.task_statuses(counts))
        self.c.panes.refresh_states()
        for ds_id, status in st.dataset_statuses().items():
            self.w.dataset_tree.set_dataset_status(ds_id, status)

