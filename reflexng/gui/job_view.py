"""What the main window shows about one job or task: the inspection panel (inspector,
parameters, attempts, why it runs), comparing attempts (core: reflexng.engine.compare), the
provenance view after a run, and sending a product to a viewer (SAMP or an external program).
Everything slow runs in a worker."""

from __future__ import annotations

import os
import shlex
import subprocess

from reflexng.gui.worker import start_worker


class JobView:
    def __init__(self, controller) -> None:
        self.c = controller
        self.w = w = controller.w
        w.cascade_view.sig_node_clicked.connect(self.show_task)
        w.dataset_tree.sig_job_clicked.connect(self.inspect_job)
        w.inspection.sig_compare.connect(self.compare)
        w.provenance_view.sig_open_product.connect(w.inspection.show_product)

    def inspect_job(self, job_id: str) -> None:
        """Fill the inspection panel for a job (inspector and parameters in a worker)."""
        s = self.c.session
        if s is None or s.result is None or job_id not in s.result.jobs:
            return

        def gather():
            inspection = s.inspect(job_id)
            try:
                params = s.recipe_parameters(job_id)
            except Exception:
                params = None
            attempts = s.store.attempts_of(job_id)
            products = s.products(job_id)
            from reflexng.gui.imaging import load_product

            first = load_product(products[0][0]) if products else None  # read here, shown at once
            return products, inspection, params, attempts, s.why_run(job_id), first

        def show(r) -> None:
            products, inspection, params, attempts, why, first = r
            job = s.result.jobs[job_id]
            rec = s.state.jobs[job_id]
            state = str(rec.status)
            title = f"{job_id}: task {job.task}, recipe {job.recipe} — {state}"
            qc = {}
            if attempts and attempts[-1].outputs:
                for o in attempts[-1].outputs:
                    qc.update(o.get("qc") or {})
            self.w.inspection.set_job(job_id, title, products, params, inspection, qc, first=first)
            self.w.inspection.title.setToolTip(why)
            done = [a for a in attempts if a.status == "done"]
            self.w.inspection.set_attempts([(a.attempt, f"attempt {a.attempt} ({a.status})") for a in done[:-1]])
            if rec.status in ("failed", "cancelled", "interrupted") and rec.reason:
                self.w.inspection.show_failure(job_id, rec.reason, list(rec.log_tail), status=state)
            self.w.sig_inspected.emit(job_id)

        start_worker(gather, on_finished=show, on_failed=self.c.fail(f"cannot inspect {job_id}"))

    def show_task(self, name: str) -> None:
        """A click on a task: the task-detail pane (recipe, parameters, jobs, inputs); a data
        source: its categories in the message line."""
        if self.c.cascade is None:
            return
        if name not in self.c.cascade.tasks:
            ds = self.c.cascade.data_sources.get(name)
            if ds is not None:
                self.w.show_message(f"data source {name}: categories {', '.join(ds.categories)}")
            return
        self.c.panes.show_task(name)
        jobs = self.c.session.state.jobs_of_task(name) if self.c.session is not None else []
        if jobs:
            self.inspect_job(jobs[0])

    def compare(self, job_id: str, attempt: int) -> None:
        """Compare the shown product with the same category in another attempt of the job."""
        s = self.c.session
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
        self.w.inspection.compare_with(match, f"attempt {attempt}")  # read in a worker
        # (shown = the latest, other = the chosen older attempt): the panel reads it old -> new
        self.w.inspection.show_parameter_diff(cmp.new.parameters, cmp.old.parameters, f"attempt {attempt}")

    # ------------------------------------------------------------------ provenance, SAMP
    def refresh_provenance(self, summary: dict | None = None) -> None:
        """Runs and attempts, and the trees of the target jobs' products (the end products are
        renamed copies of these)."""
        if self.c.session is None:
            return
        summary = summary if summary is not None else (self.c.summary or {})
        targets = {ds.target_job for ds in (self.c.result.datasets if self.c.result else ())}
        products = [p for j in summary.get("jobs", []) if j["id"] in targets for p in j.get("products") or []]
        self.w.provenance_view.refresh_async(self.c.session.store, products)  # read in a worker

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

        start_worker(send_fits, path, on_finished=self.w.show_message, on_failed=self.c.fail("SAMP"))

