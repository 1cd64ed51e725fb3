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
    wait(win.sig_inspected)
    win.inspection.image.set_scale("zscale")
    win.tabs.setCurrentWidget(win.log_view)
    shot(win, "main_paused_inspection")
    shot(win.cascade_view.parentWidget(), "cascade_running")  # with the colour legend
    shot(win.inspection, "inspection")
    win.inspection.tabs.setCurrentWidget(win.inspection.figures)
    shot(win.inspection, "inspector_figures")
    win.inspection.tabs.setCurrentWidget(win.inspection.image)

    win.cascade_view.set_breakpoint("coadd", False)
    QTimer.singleShot(0, c.resume)
    summary = wait(win.sig_run_finished, 300)[0]
    win.tabs.setCurrentWidget(win.provenance_view)
    win.provenance_view.tree.expandToDepth(3)
    shot(win, "main_finished_provenance")
    shot(win.cascade_view.parentWidget(), "cascade_finished")
    win.cascade_view.export_svg(str(out / "cascade.svg"))
    win.close()
    app.processEvents()
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: _screenshot_app.py OUTDIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
