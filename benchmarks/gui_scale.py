"""The file table and the dataset tree with 300,000 files (issue 17), offscreen Qt.

The records come from the real organiser (``organise_scanned`` with the cascade of
benchmarks/organise.py) on 300,000 in-memory scanned files, one night of calibrations and
science frames after another. Measured, wall and CPU, in one run:

- the first cyclic-GC pass after organising (the organiser's, not the views': reported);
- file table: load (``set_records`` until the event loop is idle), worst of 100 scroll
  steps (``setValue`` + repaint; the search text is built in idle-time slices meanwhile, and
  then to its end with the event loop idle: total and worst turn),
  a full cyclic-GC pass while the views hold the result frozen (``reflexng.gui.gc_hold``)
  and, the alternative, the same pass unfrozen (what a scroll step or click meets when the
  collector's turn comes), first search, a second search, the status filter; the
  alternative in the same run: Qt's ``QSortFilterProxyModel`` (every column, fixed string)
  searching the same rows of the same model;
- dataset tree: the path index ``reflexng.gui.labels`` builds for a result's readable
  names (once per result, by the first label: on its own row), ``set_result`` (the first
  slice of dataset items, what blocks the event loop), the rest made a slice per event-loop
  turn (total, worst slice), a reload as after an untick (``set_result`` again plus
  ``set_job_state`` for every job, as the window does), expanding a dataset whose items are
  made lazily, the worst of 100 scroll steps; the alternative: every item made up front in
  one call (the tree before issue 17);
- the window: a result arriving (``organise_control.organised``, as from the organise
  worker, the readable names' path index built there) until the event loop is idle, and the
  longest single block of the GUI thread meanwhile (``reflexng.gui.stall_probe``'s 10 ms
  heartbeat: the 100 ms rule measured).

Targets: load < 1 s, scroll steps < 50 ms, search < 0.5 s; no single call on the GUI thread
> 100 ms (the dataset tree's first slice and reload; the longest block after a result arrives).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_scale.py [--files 300000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def scanned_files(n: int):
    """ScannedFile records shaped like benchmarks/scale.py's generated nights."""
    from reflexng.fits.scanner import ScannedFile

    plan = [("BIAS", 15, 5), ("DARK", 10, 5), ("LAMP,FLAT", 20, 5), ("LAMP,WAVE", 5, 5),
            ("SKY", 20, 1), ("LAMP,ARC", 10, 1)]
    out = [ScannedFile("/data/line_list.fits", 5760, 0, 1, "ok", "",
                       {"PRO.CATG": "LINE_LIST", "INS.MODE": "SLIT"}, "d0")]
    night = 0
    while len(out) < n:
        mjd0 = 61000.6 + night
        for binx in (1, 2):
            tick = 0
            for dpr, count, group in plan:
                for i in range(count):
                    out.append(ScannedFile(
                        f"/data/night{night:05d}/b{binx}_{dpr.replace(',', '_')}_{i:02d}.fits", 5760, 0,
                        len(out), "ok", "",
                        {"DPR.CATG": "CALIB", "DPR.TYPE": dpr, "DET.BINX": binx, "INS.MODE": "SLIT",
                         "TPL.START": f"{night}-{binx}-{dpr}-{i // group}",
                         "MJD-OBS": round(mjd0 + tick * 0.0007, 6), "EXPTIME": 1.0}, f"d{len(out)}"))
                    tick += 1
            for i in range(10):
                out.append(ScannedFile(
                    f"/data/night{night:05d}/b{binx}_SCI_{i:02d}.fits", 5760, 0, len(out), "ok", "",
                    {"DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DET.BINX": binx, "INS.MODE": "SLIT",
                     "OBJECT": f"T{i // 5}", "TPL.START": f"{night}-{binx}-sci-{i // 5}",
                     "MJD-OBS": round(mjd0 + 0.1 + i * 0.02 + binx * 0.005, 6), "EXPTIME": 600.0},
                    f"d{len(out)}"))
        night += 1
    return out[:n]


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def scroll(app, view, steps: int = 100) -> tuple[float, float]:
    """Worst wall and worst CPU seconds of one scroll step."""
    sb = view.verticalScrollBar()
    worst = worst_cpu = 0.0
    for v in range(0, sb.maximum() + 1, max(1, sb.maximum() // steps)):
        t, c = time.perf_counter(), time.process_time()
        sb.setValue(v)
        view.viewport().repaint()
        app.processEvents()
        worst = max(worst, time.perf_counter() - t)
        worst_cpu = max(worst_cpu, time.process_time() - c)
    return worst, worst_cpu


def arrival(app, cascade, result) -> list:
    """A result arriving in the window (``organise_control.organised``, the slot the organise
    worker's result calls) until the event loop is idle (every dataset item made, the file
    table filled and its search text built): the longest the GUI thread was blocked, by the
    10 ms heartbeat of ``reflexng.gui.stall_probe`` (wall: longest gap between heartbeats;
    CPU: the GUI thread's CPU time in its busiest gap)."""
    import tempfile

    from PySide6.QtCore import QEventLoop, QTimer

    from reflexng.engine import Session
    from reflexng.gui import labels
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.stall_probe import StallProbe
    from reflexng.gui.worker import wait_for_workers

    rows = []
    with tempfile.TemporaryDirectory(prefix="reflexng-gui-scale-") as tmp:
        os.environ["REFLEXNG_CONFIG_DIR"] = str(Path(tmp) / "config")  # not the user's preferences
        win = MainWindow(Preferences())
        win.resize(1400, 900)
        win.show()
        c = win.controller
        c.cascade = cascade
        session = Session(cascade, [], None, workdir=Path(tmp) / "work")
        session.use_organised(result)  # the organise worker's part
        result.__dict__.pop("_label_index", None)  # built by the rows above: again, as new
        if hasattr(labels, "prepare"):
            rows.append(("labels: path index in the organise worker (not timed below)",
                         *timed(lambda: labels.prepare(result))[:2], None))
        loop = QEventLoop()  # (not app.exec: quitting the application closes the session)
        QTimer.singleShot(2000, loop.quit)
        loop.exec()  # the window's start-up (and its warm-up imports) out of the way
        wait_for_workers()
        c.adopt_session(session, lambda: None)
        done: list = []
        win.sig_organised.connect(done.append)
        probe = StallProbe(parent=win)
        probe.start()
        t, cpu = time.perf_counter(), time.process_time()
        QTimer.singleShot(0, win, lambda: c.organised(result))
        while not (time.perf_counter() - t > 120 or done and win.dataset_tree.tree.topLevelItemCount() >= len(result.datasets)
                   and win.file_table._warming is None):
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        stall = probe.finish_phase("arrival")
        if stall.wall_s > 0.1 and stall.where:  # where the GUI thread stood 50 ms into its longest stretch
            print(f"the longest GUI-thread stretch, 50 ms in:\n{stall.where}")
        probe.stop()
        assert done, "sig_organised did not come"
        assert win.file_table.model.rowCount() == len(result.files)
        rows.append(("window: result arrival until idle (organised(), all)", wall, cpu, None))
        rows.append(("window: longest GUI-thread block meanwhile (heartbeat gap)", stall.wall_s, stall.cpu_s, 0.1))
        c.detach_session()
        session.close()
        win.close()
        win.deleteLater()
        app.processEvents()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=300_000)
    args = ap.parse_args()
    import organise as bench_organise
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtWidgets import QApplication, QTableView

    from reflexng.cascade import load
    from reflexng.gui.dataset_tree import DatasetTree
    from reflexng.gui.file_table import FileTable, shown_keywords
    from reflexng.organiser import organise_scanned

    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"reflexng-gui-scale-{os.getpid()}.py"
    tmp.write_text(bench_organise.CASCADE)
    try:
        cascade = load(tmp)
    finally:
        tmp.unlink()
    wall, _, scanned = timed(lambda: scanned_files(args.files))
    import gc

    # the organiser pauses the collector while it builds a result and freezes a large result
    # when it resumes (organiser/_gcpause.py): else its next pass (generation 0, the whole
    # result) would fall on the thread that allocates next, in the window the organise
    # worker's, holding the GIL meanwhile (the GUI thread waits). Collector on, as in the window
    assert gc.isenabled()
    wall, _, result = timed(lambda: organise_scanned(cascade, scanned, build_graph=False))
    scanned.clear()  # the window keeps the result only
    young, frozen = gc.get_count()[0], gc.get_freeze_count()
    w, c, _ = timed(lambda: gc.collect(0))
    rows = [(f"first GC pass after organise ({young} young, {frozen} frozen by the organiser)",
             w, c, 0.05)]
    print(f"organised {len(result.files)} files in {wall:.1f} s: {len(result.jobs)} jobs, "
          f"{len(result.datasets)} datasets")

    ft = FileTable()
    ft.resize(1200, 800)
    ft.show()
    app.processEvents()
    keys = shown_keywords(result.files, None)
    w, c, _ = timed(lambda: (ft.set_records(result.files, keys), app.processEvents()))
    rows.append(("file table: load", w, c, 1.0))
    rows.append(("file table: worst scroll step", *scroll(app, ft.view), 0.05))
    from reflexng.gui import gc_hold

    rows.append((f"full GC pass, result held frozen ({len(gc.get_objects())} tracked)",
                 *timed(gc.collect)[:2], 0.05))
    gc_hold.release(ft)
    rows.append((f"alternative: full GC pass unfrozen ({len(gc.get_objects())} tracked)",
                 *timed(gc.collect)[:2], None))
    gc_hold.hold(ft, len(result.files))
    def idle() -> tuple[float, float, int]:
        """The event loop left idle until the search text is built: worst turn, turns."""
        worst = worst_cpu = 0.0
        turns = 0
        while ft._warming is not None:
            w, c, _ = timed(app.processEvents)
            worst, worst_cpu, turns = max(worst, w), max(worst_cpu, c), turns + 1
        return worst, worst_cpu, turns

    w, c, (worst, worst_cpu, turns) = timed(idle)
    rows.append((f"file table: rest of the search text, idle time ({turns} turns)", w, c, None))
    rows.append(("file table: worst of those turns", worst, worst_cpu, 0.05))
    w, c, _ = timed(lambda: (ft.search.setText("lamp_arc"), app.processEvents()))
    found = ft.model.rowCount()
    rows.append((f"file table: first search ({found} rows)", w, c, 0.5))
    w, c, _ = timed(lambda: (ft.search.setText("b2_sci_0"), app.processEvents()))
    rows.append((f"file table: second search ({ft.model.rowCount()} rows)", w, c, 0.5))
    w, c, _ = timed(lambda: (ft.search.setText(""), ft.status.setCurrentText("unclassified"),
                             app.processEvents()))
    rows.append((f"file table: status filter ({ft.model.rowCount()} rows)", w, c, 0.5))
    ft.status.setCurrentText("all statuses")
    rows.append(("file table: worst scroll step, filtered", *scroll(app, ft.view, 50), 0.05))

    # the alternative: Qt's own filter proxy over the same model, every column
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(ft.model)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.setModel(proxy)
    view.resize(1200, 800)
    view.show()
    app.processEvents()
    w, c, _ = timed(lambda: (proxy.setFilterFixedString("lamp_arc"), app.processEvents()))
    rows.append((f"alternative: QSortFilterProxyModel search ({proxy.rowCount()} rows)", w, c, None))
    view.close()
    ft.close()

    dt = DatasetTree()
    dt.resize(1200, 800)
    dt.show()
    app.processEvents()
    def made() -> tuple[float, float]:
        """Worst wall and CPU of one event-loop turn until every dataset's item exists."""
        worst = worst_cpu = 0.0
        while dt.tree.topLevelItemCount() < len(result.datasets):
            w, c, _ = timed(app.processEvents)
            worst, worst_cpu = max(worst, w), max(worst_cpu, c)
        return worst, worst_cpu

    from reflexng.gui.labels import dataset_label

    # the readable names' path index (reflexng/gui/labels.py), built by the first label of a
    # result: timed on its own, the first slice below is the tree's own work
    w, c, _ = timed(lambda: dataset_label(result, result.datasets[0]))
    rows.append(("labels: path index of the result (first dataset label, once)", w, c, None))
    w, c, _ = timed(lambda: dt.set_result(result))
    rows.append((f"dataset tree: load, first slice shown ({dt.tree.topLevelItemCount()} datasets)", w, c, 0.1))
    w, c, (worst, worst_cpu) = timed(made)
    rows.append(("dataset tree: the rest, a slice per event-loop turn (all)", w, c, 1.0))
    rows.append(("dataset tree: worst of those slices", worst, worst_cpu, 0.05))

    def reload():
        dt.set_result(result, ["/data/night00000/b1_BIAS_00.fits"])
        for jid in result.jobs:
            dt.set_job_state(jid, "waiting")

    rows.append(("dataset tree: reload + a state per job (after an untick)", *timed(reload)[:2], 0.1))
    made()
    last = dt.tree.topLevelItem(len(result.datasets) - 1)
    w, c, _ = timed(lambda: (dt.tree.scrollToItem(last), last.setExpanded(True), app.processEvents()))
    rows.append((f"dataset tree: expand the last dataset ({last.childCount()} jobs made)", w, c, 0.05))
    rows.append(("dataset tree: worst scroll step", *scroll(app, dt.tree), 0.05))
    dt.EAGER_ITEMS = 10**9
    dt.SLICE = 1e9
    w, c, _ = timed(lambda: (dt.set_result(result), app.processEvents()))
    rows.append(("alternative: every dataset's items made up front", w, c, None))
    dt.close()
    rows += arrival(app, cascade, result)

    print(f"{len(result.files)} files")
    print(f"{'measure':<58} {'wall s':>8} {'CPU s':>7} {'target':>7}")
    for label, w, c, target in rows:
        cpu = "" if c is None else f"{c:.3f}"
        tgt = "" if target is None else f"< {target:g}"
        flag = "" if target is None else ("OK" if w < target else "MISSED")
        print(f"{label:<58} {w:8.3f} {cpu:>7} {tgt:>7} {flag}")
    print(f"load average at the end {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
