"""`reflexng demo` — generate the demo data once and open the GUI on it (or reduce it headless).

Without a display, it says so in one line and runs the whole reduction headless instead of
crashing in Qt.

Teacher controls: ``--reset`` (a fresh work directory, the same data), ``--seed N`` (a different
sky: its own data folder ``<mode>-seed<N>``), ``--regenerate`` (write the data again) and
``--lesson N`` (the starting state of a lesson of docs/teaching.md; without a display it runs to
that state headless and says so in one line).
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
    p.add_argument("--seed", type=int, default=None,
                   help="a different simulated sky (one data folder per seed; default 1)")
    p.add_argument("--reset", action="store_true", help="start from a fresh work directory (the data stay)")
    p.add_argument("--regenerate", action="store_true", help="write the demo data again (e.g. after damage)")
    p.add_argument("--lesson", type=int, default=None, metavar="N",
                   help="open at the starting state of lesson N of docs/teaching.md")
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


def data_folder(out: Path, mode: str, seed: int | None = None) -> Path:
    """``out/<mode>`` for the default sky (seed 1), ``out/<mode>-seed<N>`` for another seed."""
    return out / mode if seed in (None, 1) else out / f"{mode}-seed{seed}"


class DamagedDemo(Exception):
    pass


def ensure_demo_data(mode: str, out: Path, size: int | None = None, seed: int | None = None,
                     regenerate: bool = False) -> Path:
    """Generate the demo data for ``mode`` into ``out`` unless it is already there (and whole;
    a damaged folder raises :class:`DamagedDemo` with the reason)."""
    import importlib
    import shutil

    from reflexng.cli.demo_lessons import damage

    data = data_folder(out, mode, seed)
    old = _older_format(data / TRUTH[mode])
    if old is not None and not regenerate:
        print(f"reflexng demo: {data} holds demo data of an older reflexng ({old}); writing them again",
              file=sys.stderr)
    if (regenerate or old is not None) and data.is_dir():
        shutil.rmtree(data)
    if data.is_dir() and any(data.iterdir()):
        why = damage(data, TRUTH[mode])
        if why is None:
            return data
        raise DamagedDemo(why)
    print(f"reflexng demo: writing simulated {mode} data to {data} (once) ...", file=sys.stderr)
    sim = importlib.import_module(f"reflexng.simulate.{mode}")
    kwargs = {} if size is None else {"size": size}
    if seed is not None:
        kwargs["seed"] = seed
    from reflexng.cli._progress import stage

    with stage(f"writing the simulated {mode} data"):
        sim.generate(data, **kwargs)
    return data


def _older_format(truth: Path) -> str | None:
    """Why the demo data beside ``truth`` are of an older format (written by an older reflexng,
    e.g. before the realistic simulators), or None (same format, no truth file, or not readable:
    the damage check says what is wrong then)."""
    import json

    from reflexng.simulate.detector import DATA_FORMAT

    try:
        found = json.loads(truth.read_text()).get("data_format", 1)
    except (OSError, ValueError, AttributeError):
        return None
    return None if found == DATA_FORMAT else f"data format {found}, this reflexng writes {DATA_FORMAT}"


def _reset(workdir: Path) -> str | None:
    """Remove a work directory for --reset; the reason when it does not look like one."""
    import shutil

    if not workdir.exists():
        return None
    if not workdir.is_dir() or (any(workdir.iterdir()) and not (workdir / "reflexng.sqlite").exists()):
        return (f"--reset: {workdir} is not a reflexng work directory (no reflexng.sqlite); "
                "remove it yourself or choose another --workdir")
    shutil.rmtree(workdir)
    return None


def run(args) -> int:
    from reflexng.cli.demo_lessons import LESSONS, lesson
    from reflexng.gui.display import display_available

    les = None
    if args.lesson is not None:
        les = lesson(args.lesson)
        if les is None:
            return fail(f"demo: there is no lesson {args.lesson}; the lessons are "
                        f"{', '.join(str(n) for n in sorted(LESSONS))} (see docs/teaching.md)")
        args.mode = les.mode
    root = args.out or default_demo_root()
    try:
        data = ensure_demo_data(args.mode, root, demo_size(args.mode, args.size), args.seed, args.regenerate)
    except DamagedDemo as exc:
        return fail(f"demo: the demo data are damaged: {exc}; run `reflexng demo --regenerate` "
                    "(add the same --out/--seed) to write them again")
    except ModuleNotFoundError as exc:
        return fail(f"demo: the {args.mode} simulator is not built yet ({exc.name})")
    except ValueError as exc:  # e.g. --size the simulator cannot make
        return fail(f"demo: {exc}")
    except OSError as exc:
        from reflexng.cli._errors import describe_os_error

        return fail(f"demo: cannot write the demo data to {root}: {describe_os_error(exc)}")
    workdir = args.workdir or (root / f"work-{data.name}")
    if args.reset:
        why = _reset(workdir)
        if why:
            return fail(f"demo: {why}")
        print(f"reflexng demo: fresh work directory {workdir} (the data in {data} are kept)", file=sys.stderr)
    cascade = CASCADES[args.mode]
    offscreen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].lower() in ("offscreen", "minimal")
    gui = not args.headless and display_available() and not offscreen
    if les is not None:
        return run_lesson(les, cascade, data, workdir, args.jobs, gui)
    if not args.headless:
        if gui:
            from reflexng.gui import launch

            return launch(cascade=cascade, data_dirs=[data], workdir=workdir)
        print(
            "reflexng demo: no display found (DISPLAY/WAYLAND_DISPLAY unset or Qt offscreen) - "
            "running the reduction headless instead.",
            file=sys.stderr,
        )
    return run_headless(cascade, data, workdir, args.jobs)


def run_lesson(les, cascade: str, data: Path, workdir: Path, jobs: int | None, gui: bool) -> int:
    """Bring the work directory to the lesson's starting state, then open the GUI there (or,
    without a display, say in one line what state it is in and how to open it)."""
    from reflexng.engine import Session

    session = Session(cascade, data_dirs=[data], target=les.target, workdir=workdir, ordering="dynamic",
                      max_jobs=jobs or os.cpu_count() or 1)
    failed = []
    try:
        session.organise()
        if les.target is not None:
            summary = session.run()
            failed = [j for j in summary.jobs if j["status"] == "failed"]
    finally:
        session.close()
    if failed:
        return fail(f"demo: lesson {les.number}: {len(failed)} job(s) failed on the way to the starting state "
                    f"(first: {failed[0]['task']}: {failed[0]['reason']}); try `reflexng demo --reset --lesson "
                    f"{les.number}`", code=1)
    if gui:
        from reflexng.gui import launch

        return launch(cascade=cascade, data_dirs=[data], workdir=workdir, target=les.target)
    print(f"reflexng demo: lesson {les.number} ({les.title}) ready headless, no display: {les.state} in "
          f"{workdir}; open it with `reflexng gui --cascade {cascade} --data {data} --workdir {workdir}`")
    return 0


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
        print("End products:")
        for e in summary.exported:
            names = ", ".join(Path(p).name for p in e["new"] + e["updated"] + e["unchanged"])
            print(f"  {e['folder']}")
            print(f"      {names}")
    print(f"Work directory: {workdir}")
    return 0 if not failed else 1
