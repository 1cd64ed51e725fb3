"""`reflexng demo` — generate the demo data once and open the GUI on it (or reduce it headless).

Without a display, it says so in one line and runs the whole reduction headless instead of
crashing in Qt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from reflexng.cli._common import fail

CASCADES = {"imaging": "demo_imaging", "spectroscopy": "demo_spectroscopy"}
TRUTH = {"imaging": "truth_imaging.json", "spectroscopy": "truth_spectroscopy.json"}


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the demo: simulated data reduced in the GUI (or headless)",
        description="Generate the demo data once (user data folder, or --out) and open the GUI "
        "on the demo cascade; --headless (or no display) runs the reduction in batch and prints "
        "where the end products are.",
    )
    p.add_argument("--headless", action="store_true", help="reduce in batch, no window")
    p.add_argument("--mode", choices=sorted(CASCADES), default="imaging")
    p.add_argument("--out", type=Path, default=None, help="where the demo data go (default: user data folder)")
    p.add_argument("--workdir", type=Path, default=None, help="work directory (default: beside the data)")
    p.add_argument("--size", type=int, default=None, help="detector size in pixels (smaller = faster)")
    p.add_argument("--jobs", type=int, default=None, help="parallel jobs in headless mode (default: cores)")
    p.set_defaults(func=run)


def demo_size(mode: str, given: int | None) -> int | None:
    """``--size`` if given, else ``REFLEXNG_DEMO_SIZE`` for the imaging demo (small, fast data for
    documentation tests and CI), else the simulator's default."""

    if given is not None or mode != "imaging":
        return given
    env = os.environ.get("REFLEXNG_DEMO_SIZE", "").strip()
    return int(env) if env.isdigit() else None


def default_demo_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("reflexng", appauthor=False)) / "demo"


def ensure_demo_data(mode: str, out: Path, size: int | None = None) -> Path:
    """Generate the demo data for ``mode`` into ``out`` unless it is already there."""
    import importlib

    data = out / mode
    if (data / TRUTH[mode]).is_file():
        return data
    print(f"reflexng demo: writing simulated {mode} data to {data} (once) ...", file=sys.stderr)
    sim = importlib.import_module(f"reflexng.simulate.{mode}")
    kwargs = {} if size is None else {"size": size}
    sim.generate(data, **kwargs)
    return data


def run(args) -> int:
    from reflexng.gui.display import display_available

    root = args.out or default_demo_root()
    try:
        data = ensure_demo_data(args.mode, root, demo_size(args.mode, args.size))
    except ModuleNotFoundError as exc:
        return fail(f"demo: the {args.mode} simulator is not built yet ({exc.name})")
    except ValueError as exc:  # e.g. --size the simulator cannot make
        return fail(f"demo: {exc}")
    except OSError as exc:
        from reflexng.cli._errors import describe_os_error

        return fail(f"demo: cannot write the demo data to {root}: {describe_os_error(exc)}")
    workdir = args.workdir or (root / f"work-{args.mode}")
    cascade = CASCADES[args.mode]
    if not args.headless:
        offscreen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].lower() in ("offscreen", "minimal")
        if display_available() and not offscreen:
            from reflexng.gui import launch

            return launch(cascade=cascade, data_dirs=[data], workdir=workdir)
        print(
            "reflexng demo: no display found (DISPLAY/WAYLAND_DISPLAY unset or Qt offscreen) - "
            "running the reduction headless instead.",
            file=sys.stderr,
        )
    return run_headless(cascade, data, workdir, args.jobs)


def run_headless(cascade: str, data: Path, workdir: Path, jobs: int | None) -> int:
    from reflexng.cli._progress import RunProgress
    from reflexng.cli.datasets import labels_of
    from reflexng.cli.run import _incomplete_lines, run_interruptible
    from reflexng.engine import Session

    session = Session(cascade, data_dirs=[data], workdir=workdir, ordering="dynamic",
                      max_jobs=jobs or os.cpu_count() or 1)
    progress = RunProgress()
    try:
        result = session.organise()
        labels = labels_of(session)
        complete = [d for d in result.datasets if d.complete]
        print(f"reflexng demo: {len(complete)} complete dataset(s) of {len(result.datasets)}", file=sys.stderr)
        for line in _incomplete_lines(result, labels, verbose=False):
            print(line, file=sys.stderr)
        progress.labels = {jid: labels.get(ds.id, ds.name) for ds in result.datasets for jid in ds.jobs}
        session.subscribe(progress)
        summary, interrupted = run_interruptible(session, progress)
    finally:
        progress.close()
        session.close()
    if interrupted or summary is None:
        return 130
    failed = [j for j in summary.jobs if j["status"] == "failed"]
    print()
    print(f"Demo reduction finished: {sum(j['status'] == 'executed' for j in summary.jobs)} executed, "
          f"{sum(j['status'] == 'reused' for j in summary.jobs)} reused, {len(failed)} failed.")
    for j in failed:
        print(f"  FAILED {j['task']} ({j['id']}): {j['reason']}")
    if summary.exported:
        print(f"End products in {Path(workdir) / 'end_products'}:")
        for e in summary.exported:
            names = ", ".join(Path(p).name for p in e["new"] + e["updated"] + e["unchanged"])
            print(f"  {e['dataset']}/  {names}")
    print(f"Work directory: {workdir}")
    return 0 if not failed else 1
