"""Screenshots of the main views on the demo imaging data (run under xvfb-run).

    xvfb-run -a python tests/gui/_screenshot_app.py OUTDIR

Simulates a small demo data set, opens demo_imaging, organises, runs to a breakpoint after
the coadd, and saves PNGs of the main window and its panes; then continues to the end and
saves the provenance and log views. Waits on signals (never sleeps); exits non-zero on a
timeout or an error.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(out: Path) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from reflexng.gui.app import create_window
    from reflexng.simulate.imaging import generate

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="reflexng-shots-"))
    generate(tmp / "data", nights=1, size=256, seed=5)

    def wait(signal, timeout_s: float = 180.0):
        loop = QEventLoop()
        got: list = []
        signal.connect(lambda *a: (got.append(a), loop.quit()))
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        timer.start(int(timeout_s * 1000))
        loop.exec()
        if not got:
            raise TimeoutError(f"no {signal} within {timeout_s} s")
        return got[0]

    win = create_window()
    win.resize(1600, 1000)
    win.show()
    c = win.controller

    def shot(widget, name: str) -> None:
        app.processEvents()
        path = out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"cannot write {path}")
        print("saved", path)

    QTimer.singleShot(0, lambda: c.open_cascade("demo_imaging"))
    wait(win.sig_cascade_loaded)
    win.session_bar.data_dirs.add_dir(str(tmp / "data"))
    win.session_bar.workdir.setText(str(tmp / "work"))
    win.run_controls.ordering.setCurrentText("dfs")
    QTimer.singleShot(0, c.organise)
    wait(win.sig_organised)
    win.tabs.setCurrentWidget(win.file_table)
    shot(win, "main_organised")
    shot(win.file_table, "files")
    win.tabs.setCurrentWidget(win.dataset_tree)
    win.dataset_tree.tree.expandAll()
    shot(win.dataset_tree, "datasets")

    QTimer.singleShot(0, lambda: c.show_task("flat"))
    wait(win.sig_task_shown)
    from reflexng.gui.worker import wait_for_workers

    wait_for_workers()  # the click also inspects the task's first job
    app.processEvents()
    win.tabs.setCurrentWidget(win.task_details)
    shot(win, "main_task_details")
    shot(win.task_details, "task_details")

    win.cascade_view.set_breakpoint("coadd", True)
    QTimer.singleShot(0, c.run)
    wait(win.sig_paused)
    job = wait(win.sig_inspected)[0]
    win.inspection.image.set_scale("zscale")
    win.inspection.image.set_stretch("asinh")
    win.tabs.setCurrentWidget(win.log_view)
    shot(win, "main_paused_inspection")
    shot(win.cascade_view.parentWidget(), "cascade_running")  # with the colour legend
    shot(win.inspection, "inspection")
    figures = win.inspection.figures
    win.inspection.tabs.setCurrentWidget(figures)
    if any(p.state != "drawn" for p in figures.pages()[:1]):
        wait(figures.sig_drawn)  # drawn in a worker once the tab is on screen
    shot(win.inspection, "inspector_figures")
    win.inspection.tabs.setCurrentWidget(win.inspection.image)

    # the master bias with a tighter clip: re-run it, compare the two attempts (symmetric A − B)
    bias = next(j for j, jb in c.result.jobs.items() if jb.task == "bias")
    QTimer.singleShot(0, lambda: c.inspect_job(bias))
    wait(win.sig_inspected)
    win.inspection.editor.set_value("sigma", 1.5)
    QTimer.singleShot(0, win.rerun_button.click)
    wait(win.sig_inspected)
    QTimer.singleShot(0, win.inspection.compare_button.click)
    wait(win.inspection.sig_compared)
    shot(win.inspection, "compare_difference")

    win.cascade_view.set_breakpoint("coadd", False)
    QTimer.singleShot(0, c.resume)
    summary = wait(win.sig_run_finished, 300)[0]
    win.tabs.setCurrentWidget(win.provenance_view)
    win.provenance_view.tree.expandToDepth(3)
    shot(win, "main_finished_provenance")
    shot(win.cascade_view.parentWidget(), "cascade_finished")
    win.cascade_view.export_svg(str(out / "cascade.svg"))

    # a stopped run: Stop as soon as a re-run job starts
    def stop_on_start(ev) -> None:
        if ev.kind == "job_started" and not stopped:
            stopped.append(ev.job_id)
            c.stop()

    stopped: list = []
    win.sig_event.connect(stop_on_start)
    QTimer.singleShot(0, lambda: c.rerun(job, {}))
    wait(win.sig_run_finished, 300)
    win.sig_event.disconnect(stop_on_start)
    stopped_task = c.result.jobs[stopped[0]].task
    deadline = time.monotonic() + 30  # job-state repaints are coalesced by a short timer
    while win.cascade_view.items_by_name[stopped_task].state != "cancelled" and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if win.cascade_view.items_by_name[stopped_task].state != "cancelled":
        raise RuntimeError(f"the stopped task {stopped_task} is not shown cancelled")
    win.tabs.setCurrentWidget(win.log_view)
    shot(win, "main_stopped_run")

    # an association override in the dataset tree
    from reflexng.gui.dataset_tree import ASSOC_ROLE

    tree = win.dataset_tree
    win.tabs.setCurrentWidget(tree)

    def assoc_items():
        stack = [tree.tree.topLevelItem(i) for i in range(tree.tree.topLevelItemCount())]
        while stack:
            it = stack.pop(0)
            if it.data(0, ASSOC_ROLE):
                yield it
            stack += [it.child(i) for i in range(it.childCount())]

    use = next((o for it in assoc_items() for t, o in tree.override_actions(it) if o and o["action"] == "use"), None)
    if use is not None:
        QTimer.singleShot(0, lambda: tree.sig_override.emit(use))
        wait(win.sig_organised)
        app.processEvents()
        for it in assoc_items():
            if it.text(1) == "override":
                tree.tree.setCurrentItem(it)
                tree.tree.scrollToItem(it)
                break
        shot(tree, "association_override")

    # the spectroscopy cascade's graph
    QTimer.singleShot(0, lambda: c.open_cascade("demo_spectroscopy"))
    wait(win.sig_cascade_loaded)
    shot(win.cascade_view.parentWidget(), "cascade_spectroscopy")

    # an ESO recipe's parameters (esorex's own descriptions as tooltips)
    from reflexng.gui.task_details_model import recipe_summary

    QTimer.singleShot(0, lambda: c.open_cascade("naco_imaging"))
    cascade = wait(win.sig_cascade_loaded)[0]
    task = next(t for t, spec in cascade.tasks.items() if spec.recipe and recipe_summary(cascade, t).specs)
    r = recipe_summary(cascade, task)
    from reflexng.gui.parameter_editor import ParameterEditor

    pe = ParameterEditor()
    pe.resize(760, 520)
    pe.set_parameters(list(r.specs), {}, r.defaults, title=f"Recipe parameters of {task} ({r.name}, from esorex)")
    number = next((sp for sp in r.specs if sp.type in ("int", "float") and sp.choices is None), None)
    if number is not None:
        pe.set_value(number.name, (number.default or 0) + 1)  # a changed value: highlighted and marked
    pe.show()
    shot(pe, "esorex_parameters")
    pe.close()
    pe.deleteLater()
    QTimer.singleShot(0, lambda: c.show_task(task))
    wait(win.sig_task_shown)
    win.tabs.setCurrentWidget(win.task_details)
    shot(win.task_details, "esorex_task_details")
    win.close()
    app.processEvents()
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: _screenshot_app.py OUTDIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
