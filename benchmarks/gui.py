"""GUI benchmarks (each against a named alternative measured in the same run).

    python benchmarks/gui.py [--size 256] [--image 4096] [--json]

1. launch: process start -> main window shown and the event loop running, vs a bare PySide6
   QMainWindow in the same way (the cost of Qt itself). Goal < 3 s.
2. stall: longest gap of a 10 ms QTimer heartbeat while the demo imaging cascade runs from
   the window (Session.start + events marshalled to the GUI thread), vs running the same
   reduction with the blocking Session.run() on the GUI thread. Goal < 100 ms.
3. files: 100,000 FileRecords in the file table (load, scroll, search) vs a QStandardItemModel.
4. image: read a 4096 x 4096 float32 FITS file and show it in the image viewer (zscale,
   painted), vs matplotlib imshow of the same file drawn on an Agg canvas. Goal < 0.5 s.
5. pause: longest event-loop stall from Run to the first pause with the job inspected and its
   inspector figures drawn (Plots tab on screen), vs drawing the same figures with
   FigureCanvasQTAgg on the GUI thread (what the window did before). Goal < 100 ms.
6. organise: longest stall while the window organises a 6-night data set (worker, progress
   dialog), vs Session.organise() called on the GUI thread (the demo run's organise too).
7. provenance: the provenance view for 100 runs x 100 attempts: GUI-thread time to fill it from
   one query read in a worker, vs the former N+1 queries and every item built on the GUI thread.

Stalls are the longest gap of a 10 ms heartbeat (wall) with the GUI thread's own CPU time in
its busiest gap beside it (on a loaded machine the wall gap also counts other processes). Each
benchmark also reports the CPU time it used (this process and its children).

    python benchmarks/gui.py --baseline-commit C

also runs commit C's own benchmarks/gui.py (in a temporary `git worktree`, its reflexng first on
PYTHONPATH) right after, and prints the figures both versions measure side by side (issue 11:
the GUI figures before and after the one-state redesign; C = the parent of the first commit that
touched reflexng/engine/state.py, ``--baseline-commit before-state`` finds it).

Runs offscreen unless a display is available. Prints a table (or JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RUN_WINDOW = (0.0, 0.0)
LAUNCH_CODE = {
    "reflexng": (
        "import time, sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from reflexng.gui.app import create_window\n"
        "w = create_window(); w.show()\n"
        "QTimer.singleShot(0, lambda: (print('READY', time.time(), flush=True), QApplication.instance().quit()))\n"
        "QApplication.instance().exec()\n"
    ),
    "bare PySide6 QMainWindow": (
        "import time, sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication(sys.argv[:1]); w = QMainWindow(); w.resize(1400, 900); w.show()\n"
        "QTimer.singleShot(0, lambda: (print('READY', time.time(), flush=True), app.quit()))\n"
        "app.exec()\n"
    ),
}


def bench_launch(repeat: int = 3) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as cfg:
        env = {**os.environ, "REFLEXNG_CONFIG_DIR": cfg}
        for name, code in LAUNCH_CODE.items():
            times = []
            for _ in range(repeat):
                t0 = time.time()
                p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
                line = next((ln for ln in p.stdout.splitlines() if ln.startswith("READY")), None)
                if line is None:
                    raise RuntimeError(f"{name} did not start: {p.stderr[-2000:]}")
                times.append(float(line.split()[1]) - t0)
            out[name] = min(times)
    return out


def _heartbeat(app):
    from PySide6.QtCore import QTimer

    state = {"last": time.perf_counter(), "max": 0.0}

    def tick() -> None:
        now = time.perf_counter()
        state["max"] = max(state["max"], now - state["last"])
        state["last"] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    return timer, state


def bench_stall(size: int) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from reflexng.engine import Session
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.simulate.imaging import generate

    tmp = Path(tempfile.mkdtemp(prefix="reflexng-bench-gui-"))
    generate(tmp / "data", nights=1, size=size, seed=2)

    def wait(signal, timeout_s=120):
        loop = QEventLoop()
        got = []
        signal.connect(lambda *a: (got.append(a), loop.quit()))
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        if not got:
            raise TimeoutError(str(signal))
        return got[0]

    win = MainWindow(Preferences())
    win.resize(1400, 900)
    win.show()
    win.sig_message.connect(lambda m: print("  window:", m, file=sys.stderr))
    c = win.controller
    QTimer.singleShot(0, lambda: c.open_cascade("demo_imaging"))
    wait(win.sig_cascade_loaded)
    from reflexng.gui.worker import wait_for_workers

    wait_for_workers()  # a user takes a few seconds to choose the data: the warm-up is done
    win.session_bar.data_dirs.add_dir(str(tmp / "data"))
    win.session_bar.workdir.setText(str(tmp / "work-gui"))
    win.run_controls.ordering.setCurrentText("dynamic")
    win.run_controls.jobs.setValue(2)
    from reflexng.gui.stall_probe import StallProbe

    timer, state = _heartbeat(app)
    timer.start()
    probe = StallProbe()
    probe.start()
    t0 = time.perf_counter()
    QTimer.singleShot(0, c.organise)
    wait(win.sig_organised)
    t_org = time.perf_counter() - t0
    organise_stall = state["max"]
    org = probe.finish_phase("organise")
    # the first pause: inspected, the Plots tab on screen, its figures drawn in a worker
    win.inspection.tabs.setCurrentWidget(win.inspection.figures)
    win.pause_after_each.setChecked(True)
    QTimer.singleShot(0, c.run)
    wait(win.inspection.figures.sig_drawn)
    pause = probe.finish_phase("pause")
    figs = [p.fig for p in win.inspection.figures.pages()]
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

    t = time.perf_counter()
    canvases = [FigureCanvasQTAgg(f) for f in figs]  # the former way: drawn on the GUI thread
    for cv in canvases:
        cv.draw()
    old_pause = time.perf_counter() - t
    for cv in canvases:
        cv.deleteLater()
    win.inspection.tabs.setCurrentWidget(win.inspection.image)
    win.pause_after_each.setChecked(False)
    state["max"], state["last"] = 0.0, time.perf_counter()
    t1 = time.perf_counter()
    QTimer.singleShot(0, c.resume)
    summary = wait(win.sig_run_finished)[0]
    probe.stop()
    t_run = time.perf_counter() - t1
    global RUN_WINDOW
    RUN_WINDOW = (round(t1, 2), round(time.perf_counter(), 2))
    gui_stall = state["max"]
    n_jobs = len(summary.get("jobs", []))
    win.close()

    # alternative: the blocking Session.run() on the GUI thread (same data, fresh work dir)
    s = Session("demo_imaging", [tmp / "data"], None, workdir=tmp / "work-blocking", ordering="dynamic", max_jobs=2)
    s.organise()
    state["max"], state["last"] = 0.0, time.perf_counter()
    QTimer.singleShot(0, lambda: (s.run(), app.processEvents()))
    loop = QEventLoop()
    QTimer.singleShot(50, loop.quit)
    t2 = time.perf_counter()
    loop.exec()
    while time.perf_counter() - t2 < 0.2:  # let the heartbeat tick after the blocking call
        app.processEvents()
    blocking_stall = state["max"]
    s.close()
    # alternative for organising: Session.organise() on the GUI thread (fresh work dir: no cache)
    s2 = Session("demo_imaging", [tmp / "data"], None, workdir=tmp / "work-blocking-organise")
    t = time.perf_counter()
    s2.organise()
    blocking_organise = time.perf_counter() - t
    s2.close()
    timer.stop()
    return {"organise_s": t_org, "organise_max_stall_s": organise_stall, "run_s": t_run, "jobs": n_jobs, "ok": bool(summary.get("ok")),
            "gui_max_stall_s": gui_stall, "blocking_max_stall_s": blocking_stall,
            "organise_stall_wall_s": org.wall_s, "organise_stall_cpu_s": org.cpu_s,
            "organise_on_gui_thread_s": blocking_organise,
            "pause_stall_wall_s": pause.wall_s, "pause_stall_cpu_s": pause.cpu_s, "figures": len(figs),
            "figures_on_gui_thread_s": old_pause}


def bench_organise(nights: int = 6, size: int = 64) -> dict:
    """Organise a larger simulated data set from the window (worker + progress dialog) with the
    heartbeat running, vs Session.organise() on the GUI thread (fresh work directories: no
    scan cache either way)."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - keeps Qt alive
    from reflexng.engine import Session
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.stall_probe import StallProbe
    from reflexng.gui.worker import wait_for_workers
    from reflexng.simulate.imaging import generate

    tmp = Path(tempfile.mkdtemp(prefix="reflexng-bench-org-"))
    generate(tmp / "data", nights=nights, size=size, seed=3)
    n_files = sum(1 for _ in (tmp / "data").rglob("*.fits"))

    def wait(signal, timeout_s=300):
        loop = QEventLoop()
        got = []
        signal.connect(lambda *a: (got.append(a), loop.quit()))
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        if not got:
            raise TimeoutError(str(signal))
        return got[0]

    for name in ("work-warm", "work-blocking"):  # the first reads the files into the page cache
        s = Session("demo_imaging", [tmp / "data"], None, workdir=tmp / name)
        t = time.perf_counter()
        s.organise()  # on the GUI thread: the window would be frozen this long
        t_block = time.perf_counter() - t
        s.close()
    win = MainWindow(Preferences())
    win.show()
    QTimer.singleShot(0, lambda: win.controller.open_cascade("demo_imaging"))
    wait(win.sig_cascade_loaded)
    wait_for_workers()
    win.session_bar.data_dirs.add_dir(str(tmp / "data"))
    win.session_bar.workdir.setText(str(tmp / "work-window"))
    probe = StallProbe()
    probe.start()
    t = time.perf_counter()
    QTimer.singleShot(0, win.controller.organise)
    wait(win.sig_organised)
    t_window = time.perf_counter() - t
    stall = probe.finish_phase("organise")
    probe.stop()
    win.close()
    return {"files": n_files, "window_s": t_window, "stall_wall_s": stall.wall_s, "stall_cpu_s": stall.cpu_s,
            "on_gui_thread_s": t_block}


def bench_provenance(runs: int = 100, attempts: int = 100) -> dict:
    """The provenance view for ``runs`` x ``attempts``: one query in a worker + filling on the
    GUI thread, vs the former N+1 queries and building every item on the GUI thread."""
    import json as _json

    from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from reflexng.gui.provenance_view import ProvenanceView, gather
    from reflexng.provenance.store import ProvenanceStore

    tmp = Path(tempfile.mkdtemp(prefix="reflexng-bench-prov-"))
    store = ProvenanceStore(tmp / "work")
    with store.transaction() as db:
        for r in range(runs):
            rid = db.execute("INSERT INTO runs(started, cascade, target, status) VALUES (?,?,?,?)",
                             (time.time(), "demo_imaging", "photometry", "done")).lastrowid
            for a in range(attempts):
                aid = db.execute(
                    "INSERT INTO jobs(job_id, run_id, task, recipe, version, parameters, status, attempt, jobdir) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"job-{a}", rid, "bias", "demo_bias", "1.0", _json.dumps({"sigma": 3.0}), "done", r + 1,
                     str(tmp / f"jobs/{r}/{a}"))).lastrowid
                db.execute("INSERT INTO job_inputs(attempt_id, role, category, path, hash) VALUES (?,?,?,?,?)",
                           (aid, "main", "BIAS", f"/raw/b{a}.fits", "h"))
                db.execute("INSERT INTO job_outputs(attempt_id, category, path, size, mtime_ns, hash, qc) "
                           "VALUES (?,?,?,?,?,?,?)", (aid, "MASTER_BIAS", f"/work/{r}/{a}.fits", 1, 1, "h", "{}"))
    pv = ProvenanceView()
    t = time.perf_counter()
    data = gather(store, [])  # in the window this runs in a worker
    t_gather = time.perf_counter() - t
    t = time.perf_counter()
    pv.fill(store, *data)
    app.processEvents()
    t_fill = time.perf_counter() - t
    # the former refresh: a query per run, more per attempt (its inputs and outputs), every item
    # built at once on the GUI thread (the store's per-attempt reads stand in for the removed
    # gui/provenance_model.py, which made the same queries)
    tree = QTreeWidget()
    t = time.perf_counter()
    for run in store.runs():
        ri = QTreeWidgetItem([f"run {run['id']}", run.get("status") or "", "", ""])
        tree.addTopLevelItem(ri)
        for a in store.run_attempts(run["id"]):
            it = QTreeWidgetItem([f"{a.job_id} attempt {a.attempt}", a.status, a.recipe, str(a.parameters)])
            for o in a.outputs or ():
                it.addChild(QTreeWidgetItem([os.path.basename(o["path"]), o.get("category") or "", "", ""]))
            ri.addChild(it)
    app.processEvents()
    t_old = time.perf_counter() - t
    pv.deleteLater()
    tree.deleteLater()
    store.close()
    return {"runs": runs, "attempts_per_run": attempts, "gather_in_worker_s": t_gather, "fill_on_gui_thread_s": t_fill,
            "former_on_gui_thread_s": t_old}


def bench_image(n: int) -> dict:
    import numpy as np
    from astropy.io import fits
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from reflexng.gui.image_view import ImageViewer
    from reflexng.gui.imaging import display_limits

    tmp = Path(tempfile.mkdtemp(prefix="reflexng-bench-img-"))
    path = tmp / "big.fits"
    data = np.random.default_rng(0).normal(100, 5, (n, n)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(path)
    del data
    iv = ImageViewer()
    iv.resize(900, 900)
    iv.show()
    app.processEvents()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        iv.show_file(str(path))
        iv.grab()  # forces the image to be rendered and painted
        app.processEvents()
        times.append(time.perf_counter() - t0)
    iv.close()

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mpl = []
    for _ in range(3):
        t0 = time.perf_counter()
        with fits.open(path, memmap=False) as h:
            d = np.asarray(h[0].data, dtype=np.float32)
        lo, hi = display_limits(d, "zscale")
        fig = Figure(figsize=(9, 9), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.imshow(d, origin="lower", cmap="gray", vmin=lo, vmax=hi)
        fig.canvas.draw()
        mpl.append(time.perf_counter() - t0)
    return {"reflexng_image_viewer_s": min(times), "matplotlib_imshow_agg_s": min(mpl), "pixels": n * n}


def bench_files(n: int = 100_000) -> dict:
    """Load n FileRecords into the file table and scroll through it, vs a QStandardItemModel
    (the ready-made Qt model) holding the same rows."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from reflexng.gui.file_table import FileTable
    from reflexng.organiser.model import FileRecord

    recs = [FileRecord(f"/data/DEMO.{i:06d}.fits", 1, 0, "ok" if i % 9 else "unclassified", "BIAS", "RAW_BIAS",
                       "" if i % 9 else "no rule matched: DPR.TYPE='LAMP'", {"EXPTIME": i % 30, "DPR.TYPE": "BIAS"})
            for i in range(n)]

    def scroll(view) -> float:
        sb = view.verticalScrollBar()
        worst = 0.0
        for v in range(0, sb.maximum(), max(1, sb.maximum() // 100)):
            t = time.perf_counter()
            sb.setValue(v)
            view.viewport().repaint()
            worst = max(worst, time.perf_counter() - t)
        return worst

    ft = FileTable()
    ft.resize(1000, 700)
    ft.show()
    app.processEvents()
    t0 = time.perf_counter()
    ft.set_records(recs, ["DPR.TYPE", "EXPTIME"])
    app.processEvents()
    load = time.perf_counter() - t0
    worst = scroll(ft.view)
    t0 = time.perf_counter()
    ft.search.setText("unclassified")
    search = time.perf_counter() - t0
    ft.close()

    view = QTableView()
    view.resize(1000, 700)
    view.show()
    t0 = time.perf_counter()
    model = QStandardItemModel(0, 6)
    for r in recs:
        model.appendRow([QStandardItem(os.path.basename(r.path)), QStandardItem(r.category or ""),
                         QStandardItem(r.status), QStandardItem(r.reason), QStandardItem(str(r.headers["DPR.TYPE"])),
                         QStandardItem(str(r.headers["EXPTIME"]))])
    view.setModel(model)
    app.processEvents()
    std_load = time.perf_counter() - t0
    std_worst = scroll(view)
    view.close()
    return {"rows": n, "load_s": load, "worst_scroll_step_s": worst, "search_s": search,
            "qstandarditemmodel_load_s": std_load, "qstandarditemmodel_worst_scroll_step_s": std_worst}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="demo detector size for the stall benchmark")
    ap.add_argument("--image", type=int, default=4096, help="image side for the image benchmark")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["launch", "stall", "image", "files", "provenance", "organise"])
    ap.add_argument("--baseline-commit", metavar="C",
                    help="also run commit C's benchmarks/gui.py and compare ('before-state': the parent of the "
                    "first commit that touched reflexng/engine/state.py)")
    args = ap.parse_args(argv)
    res: dict = {}
    benches = [("launch", bench_launch, ()), ("image", bench_image, (args.image,)), ("files", bench_files, ()),
               ("provenance", bench_provenance, ()), ("organise", bench_organise, ()),
               ("stall", bench_stall, (args.size,))]
    for name, fn, fargs in benches:
        if name not in args.skip:
            cpu0 = _cpu_s()
            res[name] = fn(*fargs)
            res[name]["cpu_s"] = round(_cpu_s() - cpu0, 3)
    res["load_average"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    if args.baseline_commit:
        res["baseline"] = run_baseline(args.baseline_commit, args)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print_results(res, args)
    if res.get("baseline"):
        print_comparison(res, res["baseline"])
    return 0


def _cpu_s() -> float:
    """CPU time (user + system) of this process and its finished children."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _git(*argv: str, cwd: Path) -> str:
    return subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def run_baseline(commit: str, args) -> dict:
    """Commit ``commit``'s own benchmarks/gui.py, run from a temporary worktree with its reflexng
    first on PYTHONPATH; its JSON figures, the commit, the CPU time and the load average."""
    repo = Path(__file__).resolve().parent.parent
    if commit == "before-state":
        first = _git("log", "--format=%H", "--reverse", "--", "reflexng/engine/state.py", cwd=repo).splitlines()[0]
        commit = first + "^"
    sha = _git("rev-parse", "--verify", commit + "^{commit}", cwd=repo)
    tmp = Path(tempfile.mkdtemp(prefix="reflexng-baseline-"))
    tree = tmp / "tree"
    _git("worktree", "add", "--detach", str(tree), sha, cwd=repo)
    try:
        script = tree / "benchmarks" / "gui.py"
        if not script.is_file():
            return {"commit": sha, "error": "no benchmarks/gui.py at that commit"}
        known = subprocess.run([sys.executable, str(script), "--help"], cwd=tree, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(tree)}).stdout
        skip = [f"--skip={k}" for k in args.skip if f"{k}" in known]
        argv = [sys.executable, str(script), "--json", "--size", str(args.size), "--image", str(args.image), *skip]
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1"}
        cpu0 = _cpu_s()
        p = subprocess.run(argv, cwd=tree, capture_output=True, text=True, env=env)
        cpu = _cpu_s() - cpu0
        if p.returncode != 0:
            return {"commit": sha, "error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
        out = json.loads(p.stdout[p.stdout.index("{"):])
        out.update(commit=sha, cpu_s=round(cpu, 3))
        return out
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=repo, capture_output=True)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


# (label, path into the results, lower is better) of the figures both versions measure
COMPARED = (
    ("launch, reflexng window (s)", ("launch", "reflexng")),
    ("image display (s)", ("image", "reflexng_image_viewer_s")),
    ("demo run: longest stall (s)", ("stall", "gui_max_stall_s")),
    ("demo run: organise longest stall (s)", ("stall", "organise_max_stall_s")),
    ("first pause: stall, GUI-thread CPU (s)", ("stall", "pause_stall_cpu_s")),
    ("organise from the window: stall, GUI-thread CPU (s)", ("organise", "stall_cpu_s")),
    ("provenance view: GUI thread (s)", ("provenance", "fill_on_gui_thread_s")),
    ("file table 100k rows: load (s)", ("files", "load_s")),
    ("file table: worst scroll step (s)", ("files", "worst_scroll_step_s")),
)


def _get(d: dict, path: tuple[str, ...]):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def print_comparison(now: dict, before: dict) -> None:
    if before.get("error"):
        print(f"baseline {before.get('commit', '?')[:10]}: {before['error']}")
        return
    print(f"\nbefore ({before['commit'][:10]}) vs now, the same run (lower is better):")
    for label, path in COMPARED:
        a, b = _get(before, path), _get(now, path)
        if a is None and b is None:
            continue
        fa = "not measured" if a is None else f"{a:.3f}"
        fb = "not measured" if b is None else f"{b:.3f}"
        ratio = f"  (x{b / a:.2f})" if a and b else ""
        print(f"  {label:<52} {fa:>13} -> {fb:<13}{ratio}")
    la = before.get("load_average")
    print(f"  baseline CPU {before.get('cpu_s', 0):.1f} s" + (f", load average then {la[0]:.2f}" if la else ""))


def print_results(res: dict, args) -> None:
    if "launch" in res:
        a, b = res["launch"]["reflexng"], res["launch"]["bare PySide6 QMainWindow"]
        print(f"launch to an interactive window - reflexng {a:.2f} s vs bare PySide6 window {b:.2f} s "
              f"(x{a / b:.1f}); goal < 3 s: {'OK' if a < 3 else 'MISSED'}")
    if "image" in res:
        r = res["image"]
        a, b = r["reflexng_image_viewer_s"], r["matplotlib_imshow_agg_s"]
        print(f"show {args.image}x{args.image} float32 FITS: image viewer {a:.3f} s vs matplotlib imshow (Agg) "
              f"{b:.3f} s (x{b / a:.1f} faster); goal < 0.5 s: {'OK' if a < 0.5 else 'MISSED'}")
    if "files" in res:
        r = res["files"]
        print(f"file table, {r['rows']} rows: load {r['load_s']:.2f} s, worst scroll step "
              f"{r['worst_scroll_step_s'] * 1000:.0f} ms, search {r['search_s']:.2f} s vs QStandardItemModel load "
              f"{r['qstandarditemmodel_load_s']:.2f} s (x{r['qstandarditemmodel_load_s'] / r['load_s']:.0f}), worst scroll "
              f"step {r['qstandarditemmodel_worst_scroll_step_s'] * 1000:.0f} ms")
    if "stall" in res:
        r = res["stall"]
        print(f"demo run ({r['jobs']} jobs, {r['run_s']:.1f} s, ok={r['ok']}): longest event-loop stall "
              f"{r['gui_max_stall_s'] * 1000:.0f} ms vs {r['blocking_max_stall_s'] * 1000:.0f} ms with the "
              f"blocking Session.run() on the GUI thread; goal < 100 ms: "
              f"{'OK' if r['gui_max_stall_s'] < 0.1 else 'MISSED'}; organising {r['organise_s']:.2f} s with a "
              f"longest stall of {r['organise_max_stall_s'] * 1000:.0f} ms")
        print(f"first pause (inspected, {r['figures']} inspector figure(s) drawn): longest stall "
              f"{r['pause_stall_wall_s'] * 1000:.0f} ms wall / {r['pause_stall_cpu_s'] * 1000:.0f} ms GUI-thread CPU vs "
              f"{r['figures_on_gui_thread_s'] * 1000:.0f} ms drawing the figures with FigureCanvasQTAgg on the GUI "
              f"thread; goal < 100 ms: {'OK' if r['pause_stall_cpu_s'] < 0.1 else 'MISSED'}")
        print(f"organise from the window: longest stall {r['organise_stall_wall_s'] * 1000:.0f} ms wall / "
              f"{r['organise_stall_cpu_s'] * 1000:.0f} ms GUI-thread CPU vs {r['organise_on_gui_thread_s'] * 1000:.0f} ms "
              f"with Session.organise() on the GUI thread")
    if "organise" in res:
        r = res["organise"]
        print(f"organise {r['files']} files from the window: {r['window_s']:.2f} s, longest stall "
              f"{r['stall_wall_s'] * 1000:.0f} ms wall / {r['stall_cpu_s'] * 1000:.0f} ms GUI-thread CPU vs "
              f"{r['on_gui_thread_s'] * 1000:.0f} ms frozen with Session.organise() on the GUI thread")
    if "provenance" in res:
        r = res["provenance"]
        print(f"provenance view, {r['runs']} runs x {r['attempts_per_run']} attempts: GUI thread "
              f"{r['fill_on_gui_thread_s'] * 1000:.0f} ms (one query in a worker: {r['gather_in_worker_s'] * 1000:.0f} ms) "
              f"vs {r['former_on_gui_thread_s'] * 1000:.0f} ms with N+1 queries and every item on the GUI thread "
              f"(x{r['former_on_gui_thread_s'] / max(r['fill_on_gui_thread_s'], 1e-6):.0f})")
    cpu = ", ".join(f"{k} {v['cpu_s']:.1f} s" for k, v in res.items() if isinstance(v, dict) and "cpu_s" in v
                    and k != "baseline")
    if cpu:
        print(f"CPU time (this process + children): {cpu}")
    if res.get("load_average"):
        print("load average: " + " ".join(f"{v:.2f}" for v in res["load_average"]))


if __name__ == "__main__":
    sys.exit(main())
