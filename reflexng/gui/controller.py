"""Wires the main window to the Qt-free engine :class:`~reflexng.engine.Session`.

Nothing blocking runs on the GUI thread: cascade loading, organising, inspection and re-runs
go through the one worker pattern (:func:`reflexng.gui.worker.start_worker`); engine events
arrive from worker threads and are marshalled by :class:`~reflexng.gui.worker.EventBridge`.
Job-state repaints are coalesced by a short timer so a burst of events never stalls the loop.
The Controller keeps no run state of its own: job statuses, running/paused, the paused job and
the last summary are read from ``session.state``; the run controls are bound to
``session.options`` by :class:`~reflexng.gui.bind.OptionBinding`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

from reflexng.gui.bind import OptionBinding
from reflexng.gui.preferences import RecentSession, default_workdir_root
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
        self.bridge.sig_event.connect(self.on_event)
        self._repaint = QTimer(window)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(80)
        self._repaint.timeout.connect(self._repaint_states)
        sb, rc = window.session_bar, window.run_controls
        sb.sig_cascade_chosen.connect(self.open_cascade)
        sb.sig_organise.connect(self.organise)
        sb.target.currentTextChanged.connect(self._target_changed)
        rc.run_button.clicked.connect(self.run)
        rc.pause_button.clicked.connect(self.toggle_pause)
        rc.step_button.clicked.connect(self.step)
        rc.stop_button.clicked.connect(self.stop)
        self.options = OptionBinding(
            {"ordering": rc.ordering, "max_jobs": rc.jobs, "failure_policy": rc.failure_policy,
             "pause_after_each": rc.pause_after_each},
            session=lambda: self.session, on_error=window.show_message)
        window.cascade_view.sig_node_clicked.connect(self.show_task)
        window.cascade_view.sig_breakpoint_changed.connect(self._breakpoint_changed)
        window.dataset_tree.sig_job_clicked.connect(self.inspect_job)
        window.dataset_tree.sig_excluded_changed.connect(self._excluded_changed)
        window.dataset_tree.sig_selection_changed.connect(self._selection_changed)
        window.file_table.sig_file_selected.connect(self._file_selected)
        window.inspection.sig_rerun.connect(self.rerun)
        window.inspection.sig_continue.connect(self.resume)
        window.inspection.sig_compare.connect(self.compare)
        window.provenance_view.sig_open_product.connect(window.inspection.show_product)
        from reflexng.gui.pane_wiring import PaneWiring

        self.panes = PaneWiring(self)
        self._update_controls()
        from reflexng.gui.warmup import warm_imports

        # after the window is up: imports in a worker still compete for the interpreter lock
        QTimer.singleShot(1500, lambda: start_worker(warm_imports))

    # ------------------------------------------------------------------ the session's state, read
    @property
    def result(self) -> Any:
        return self.session.result if self.session is not None else None

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.state.running

    @property
    def paused(self) -> bool:
        return self.session is not None and self.session.state.paused

    @property
    def paused_job(self) -> str | None:
        return self.session.state.paused_job if self.session is not None else None

    @property
    def summary(self) -> dict | None:
        s = self.session.state.summary if self.session is not None else None
        return s.to_json() if s is not None else None

    def job_status(self, job_id: str) -> str:
        rec = self.session.state.jobs.get(job_id) if self.session is not None else None
        return str(rec.status) if rec is not None else ""

    # ------------------------------------------------------------------ helpers
    def _fail(self, what: str):
        return lambda message, _tb: self.w.show_message(f"{what}: {message}")

    def _update_controls(self) -> None:
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
        from reflexng.cascade import load

        self.w.show_message(f"loading cascade {name_or_path} …")

        def loaded(cascade) -> None:
            self.cascade = cascade
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

        start_worker(load, name_or_path, on_finished=loaded, on_failed=self._fail(f"cannot load cascade {name_or_path}"))

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

        self._close_session()
        try:
            self.session = Session(
                self.cascade, dirs, self.target(), workdir=self.workdir(),
                parameter_set=self.w.session_bar.parameter_set.currentData(),
                workflow_parameters=self.panes.workflow_overrides, **self.options.values(),
            )
        except Exception as exc:  # e.g. the work directory is used by another reflexng
            self.session = None
            self.w.show_message(f"cannot open the work directory {self.workdir()}: {exc}")
            return
        self._unsubscribe = self.session.subscribe(self.bridge)
        for task in self.w.cascade_view.breakpoints():
            self.session.set_breakpoint(task, True)
        self.w.session_bar.organise_button.setEnabled(False)
        self.w.show_message(f"organising {', '.join(dirs)} …")
        start_worker(self.session.organise, on_finished=self._organised, on_failed=self._organise_failed)

    def _organise_failed(self, message: str, tb: str) -> None:
        self.w.session_bar.organise_button.setEnabled(True)
        self.w.show_message(f"organising failed: {message}")

    def _organised(self, result) -> None:
        self.w.session_bar.organise_button.setEnabled(True)
        self.panes.fill_file_table(result)
        self.w.dataset_tree.set_result(result, list(self.session.state.exclusions))
        for jid in result.jobs:  # statuses restored from the work directory (done, reused, ...)
            self.w.dataset_tree.set_job_state(jid, self.job_status(jid))
        self._repaint_states()
        n_ok = sum(1 for d in result.datasets if d.complete)
        self.w.show_message(
            f"{len(result.files)} files, {len(result.jobs)} jobs, {len(result.datasets)} datasets ({n_ok} complete)"
        )
        self.w.tabs.setCurrentWidget(self.w.dataset_tree)
        self._remember()
        self._update_controls()
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
                     on_finished=lambda _r: self._organised(self.session.result),
                     on_failed=self._fail("cannot exclude the frames"))

    def _file_selected(self, path: str) -> None:
        self.w.inspection.header.show_file(path)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        if self.session is None or self.result is None:
            self.w.show_message("organise the data first")
            return
        s = self.session
        s.select_datasets(self.w.dataset_tree.selected_datasets())
        s.set_description(self.w.dataset_tree.description.text())
        try:
            s.options.update(**self.options.values())
            s.start()
        except Exception as exc:
            self._update_controls()
            self.w.show_message(f"cannot start the run: {exc}")
            return
        self.w.run_controls.set_running(True, False, can_run=True)  # until run_started arrives

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        (self.session.resume if self.paused else self.session.pause)()

    def resume(self) -> None:
        if self.session is not None:
            self.session.resume()

    def step(self) -> None:
        if self.session is not None:
            self.session.step()

    def stop(self) -> None:
        if self.session is not None:
            self.session.stop()

    def _breakpoint_changed(self, task: str, enabled: bool) -> None:
        if self.session is not None:
            self.session.set_breakpoint(task, enabled)

    def rerun(self, job_id: str, parameters: dict) -> None:
        """A new attempt of ``job_id`` with ``parameters``; runs at once (one step) when paused."""
        if self.session is None:
            return
        try:
            self.session.rerun(job_id, parameters)
        except Exception as exc:
            self.w.show_message(f"cannot re-run {job_id}: {exc}")
            return
        words = ", ".join(f"{k}={v!r}" for k, v in parameters.items()) or "the same parameters"
        self.w.show_message(f"re-running {job_id} with {words}")
        if self.running:
            self.session.step()
        else:
            self.run()

    # ------------------------------------------------------------------ events
    def on_event(self, ev) -> None:
        """Engine events, on the GUI thread."""
        kind, jid, data = ev.kind, ev.job_id, ev.data or {}
        if kind == "job_log":
            self.w.log_view.append(jid, str(data.get("line", "")), str(data.get("stream", "stdout")))
        elif kind in ("job_queued", "job_started", "job_finished", "job_failed", "job_cancelled", "job_reused", "job_skipped",
                      "job_stale"):
            if jid:
                self.w.dataset_tree.set_job_state(jid, self.job_status(jid))
            if kind == "job_failed":
                self.w.inspection.show_failure(jid, str(data.get("reason", "")), list(data.get("log_tail") or []))
                self.w.show_message(f"job {jid} failed: {data.get('reason', '')}")
            self._repaint.start()
        elif kind == "progress":
            self.w.run_controls.set_progress(int(data.get("done", 0)), int(data.get("total", 0)), data.get("eta_seconds"))
        elif kind == "run_started":
            self.w.run_controls.set_progress(0, int(data.get("total", 0)), None)
            self._update_controls()
        elif kind == "paused":
            self._repaint.stop()
            self._repaint_states()
            reason = data.get("reason", "")
            self.w.show_message(f"paused ({reason})" + (f" after {jid}" if jid else ""))
            self._update_controls()
            if jid:
                self.inspect_job(jid)
            self.w.sig_paused.emit(jid or "")
        elif kind == "resumed":
            self._update_controls()
        elif kind == "run_finished":
            summary = data.get("summary") or {}
            self._repaint_states()
            self._update_controls()
            self.refresh_provenance(summary)
            counts: dict[str, int] = {}
            for j in summary.get("jobs", []):
                counts[j["status"]] = counts.get(j["status"], 0) + 1
            words = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            head = "run stopped" if summary.get("stopped") else "run finished"
            if summary.get("error"):
                words = f"error: {summary['error']}"
            self.w.show_message(f"{head}: {words}" if words else head)
            self.w.sig_run_finished.emit(summary)
        self.panes.on_event(ev)
        self.w.sig_event.emit(ev)

    def _repaint_states(self) -> None:
        if self.session is None:
            return
        st = self.session.state
        self.w.cascade_view.set_task_states(st.task_counts(), st.task_statuses())
        self.panes.refresh_states()
        for ds_id, status in st.dataset_statuses().items():
            self.w.dataset_tree.set_dataset_status(ds_id, status)

    # ------------------------------------------------------------------ inspection
    def inspect_job(self, job_id: str) -> None:
        """Fill the inspection panel for a job (inspector and parameters in a worker)."""
        s = self.session
        if s is None or s.result is None or job_id not in s.result.jobs:
            return

        def gather():
            inspection = s.inspect(job_id)
            try:
                params = s.recipe_parameters(job_id)
            except Exception:
                params = None
            attempts = s.store.attempts_of(job_id)
            return s.products(job_id), inspection, params, attempts, s.why_run(job_id)

        def show(r) -> None:
            products, inspection, params, attempts, why = r
            job = s.result.jobs[job_id]
            rec = s.state.jobs[job_id]
            state = str(rec.status)
            title = f"{job_id}: task {job.task}, recipe {job.recipe} — {state}"
            qc = {}
            if attempts and attempts[-1].outputs:
                for o in attempts[-1].outputs:
                    qc.update(o.get("qc") or {})
            self.w.inspection.set_job(job_id, title, products, params, inspection, qc)
            self.w.inspection.title.setToolTip(why)
            done = [a for a in attempts if a.status == "done"]
            self.w.inspection.set_attempts([(a.attempt, f"attempt {a.attempt} ({a.status})") for a in done[:-1]])
            if rec.status == "failed" and rec.reason:
                self.w.inspection.show_failure(job_id, rec.reason, list(rec.log_tail))
            self.w.sig_inspected.emit(job_id)

        start_worker(gather, on_finished=show, on_failed=self._fail(f"cannot inspect {job_id}"))

    def show_task(self, name: str) -> None:
        """A click on a task: the task-detail pane (recipe, parameters, jobs, inputs); a data
        source: its categories in the message line."""
        if self.cascade is None:
            return
        if name not in self.cascade.tasks:
            ds = self.cascade.data_sources.get(name)
            if ds is not None:
                self.w.show_message(f"data source {name}: categories {', '.join(ds.categories)}")
            return
        self.panes.show_task(name)
        jobs = self.session.state.jobs_of_task(name) if self.session is not None else []
        if jobs:
            self.inspect_job(jobs[0])

    def compare(self, job_id: str, attempt: int) -> None:
        """Compare the shown product with the same category in another attempt of the job."""
        s = self.session
        if s is None:
            return
        from reflexng.engine.compare import compare_attempts, matching_product

        shown = self.w.inspection.image.path
        if shown is None:
            self.w.show_message("nothing to compare: show an image product of this job first")
            return
        try:
            cmp = compare_attempts(s.store, job_id, attempt, statistics=False)
        except ValueError as exc:
            self.w.show_message(f"nothing to compare: {exc}")
            return
        match, cat = matching_product(s.store, job_id, shown, attempt)
        if match is None:
            self.w.show_message(f"attempt {attempt} has no {cat or 'such'} product")
            return
        try:
            self.w.inspection.image.compare_with(match)
        except ValueError as exc:
            self.w.show_message(str(exc))
            return
        # the words read old -> new: the chosen (older) attempt, then the latest
        self.w.inspection.show_parameter_diff(cmp.old.parameters, cmp.new.parameters, f"attempt {attempt}")

    # ------------------------------------------------------------------ provenance, SAMP
    def refresh_provenance(self, summary: dict | None = None) -> None:
        """Runs and attempts, and the trees of the target jobs' products (the end products are
        renamed copies of these)."""
        if self.session is None:
            return
        summary = summary if summary is not None else (self.summary or {})
        targets = {ds.target_job for ds in (self.result.datasets if self.result else ())}
        products = [p for j in summary.get("jobs", []) if j["id"] in targets for p in j.get("products") or []]
        self.w.provenance_view.refresh(self.session.store, products)

    def send_samp(self, path: str | None = None) -> None:
        path = path or self.w.inspection.products.currentData() or self.w.inspection.image.path
        if not path:
            self.w.show_message("open a product first")
            return
        viewer = self.w.prefs.external_viewer
        if viewer:
            cmd = [a.replace("{path}", path) for a in shlex.split(viewer)]
            if "{path}" not in viewer:
                cmd.append(path)
            try:
                subprocess.Popen(cmd, start_new_session=True)
                self.w.show_message(f"opened {os.path.basename(path)} with {cmd[0]}")
            except OSError as exc:
                self.w.show_message(f"cannot start the external viewer {cmd[0]}: {exc}")
            return
        from reflexng.gui.samp import send_fits

        start_worker(send_fits, path, on_finished=self.w.show_message, on_failed=self._fail("SAMP"))

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

        self._repaint.stop()
        self._close_session()
        wait_for_workers(10000)
