"""The organiser at archive scale (issue 17): whole ``reflexng organise`` commands.

Two modes, each printing a table (wall seconds of whole child processes, start-up included)
with the load average, and comparing against the named alternative in the same run:
astropy ``getheader`` alone on the same files (a sample, extrapolated; ``--astropy-all``
times every file).

``corpus``: the 34,323-file corpus of ``reflexng demo-data --headers-only --scale 20``
(written once into ``--dir``), organised as one folder by one command (``--json``, cascade
``demo_imaging`` by default: the spectroscopy files are reported unclassified, with their
nearest rule): first organise into an empty work directory, unchanged re-organise,
re-organise after touching 1 % of the files (each ``--repeat`` times: the median, and the
best). Targets: first ≥ 15× faster than getheader; unchanged ≤ 0.3 s;
1 % touched ≤ 0.5 s. Every output is compared byte for byte with a plain organise
(no work directory: nothing stored, nothing cached).

``big``: header-only ESO-like files written by this script (the cascade and header writer
of benchmarks/organise.py, one folder per night; kept ones are read once, untimed, so the
page cache is warm), 10k/30k/100k/300k by default: first
organise, unchanged, 1 % changed (contents rewritten), peak memory (RSS of the organise
process above a bare ``reflexng --version``) per file record, and the growth exponent of
the first organise (slope of log time over log files; wall and CPU seconds). Targets at
300k: first ≤ 25 s, unchanged ≤ 1 s, ≤ 1.2 KB per file record, exponent ≤ 1.1.

At 30,000 files (``--memory-at``) ``big`` also runs benchmarks/scale_memory.py on the same
files (a separate, untimed run under tracemalloc): where the memory per file record goes,
by phase (walk, scan, classify, plan, store, JSON), by allocating module, and by structure
(FileRecord objects, headers dictionaries, strings, walk entries, scanned files, jobs,
datasets, JSON text).

The timed child processes run as a user's pip-installed package does: with bytecode
writing allowed (PYTHONDONTWRITEBYTECODE is removed from their environment) after one
untimed warm-up organise of a small folder (first, unchanged and changed paths, so the
.pyc files of every module they import exist); otherwise each one would compile ~45
modules again (~0.1 s).

    python benchmarks/scale.py corpus [--dir DIR] [--sample 3000]
    python benchmarks/scale.py big [--sizes 10000,30000,100000,300000] [--dir DIR]
                                   [--memory-at 30000]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import organise as bench_organise  # noqa: E402  (benchmarks/organise.py: cascade + writer)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


CPU: list[float] = []  # CPU seconds (user + system) of each run(), in order
# the children's environment: bytecode written and used, as for a user's pip install
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
BYTECODE_NOTE = ("child processes write and use .pyc files (PYTHONDONTWRITEBYTECODE removed; "
                 "one untimed warm-up organise first)")


def warm_up(cascade: str, data: Path, work: Path) -> None:
    """Untimed organises of the few files in ``data`` (first, unchanged, after a change, no
    work directory, text summary: each path's modules imported once), so the timed runs
    find .pyc files as a pip install has them."""
    shutil.rmtree(work, ignore_errors=True)
    n = len(CPU)
    for _ in range(2):
        run(organise_cmd(cascade, data, work))
    touch(fits_files(data), 0.05, 0)
    run(organise_cmd(cascade, data, work))
    run(organise_cmd(cascade, data, None))
    run(organise_cmd(cascade, data, work, json=False))
    del CPU[n:]
    shutil.rmtree(work, ignore_errors=True)


def run(cmd: list[str], out: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of one child process; its stdout goes to ``out``.
    Its CPU seconds are appended to ``CPU`` (on a shared machine the wall time also counts
    other processes' turns)."""
    with open(out or os.devnull, "wb") as fh:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE, env=ENV)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        if p.stderr:
            p.stderr.close()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {err}")
    CPU.append(usage.ru_utime + usage.ru_stime)
    return wall, usage.ru_maxrss


def organise_cmd(cascade: str, data: Path, work: Path | None, json: bool = True) -> list[str]:
    cmd = [sys.executable, "-m", "reflexng", "organise", "--cascade", cascade, "--data", str(data)]
    if work is not None:
        cmd += ["--workdir", str(work)]
    return cmd + (["--json"] if json else [])


def fits_files(root: Path) -> list[str]:
    return sorted(str(Path(d) / f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".fits"))


def touch(paths: list[str], fraction: float, seed: int) -> int:
    """New mtime for a spread-out ``fraction`` of ``paths`` (contents unchanged)."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, max(1, int(len(paths) * fraction)))
    now = time.time_ns()
    for p in chosen:
        os.utime(p, ns=(now, now))
    return len(chosen)


def astropy_rate(paths: list[str], sample: int, part: int = 0, parts: int = 1) -> tuple[float, int]:
    """Seconds per file of astropy ``getheader`` in a child process, on a spread sample, or
    on its ``part``-th of ``parts`` (``ASTROPY_CPU[-1]``: its CPU seconds per file; the
    import of astropy and a first, untimed call not counted)."""
    pick = paths if sample <= 0 or sample >= len(paths) else paths[:: max(1, len(paths) // sample)]
    pick = pick[part::parts]
    listing = Path(tempfile.mkstemp(prefix="reflexng-astropy-", suffix=".txt")[1])
    listing.write_text("\n".join(pick))
    code = ("import resource, sys, time\nfrom astropy.io import fits\n"
            "paths = open(sys.argv[1]).read().split('\\n')\n"
            "fits.getheader(paths[-1])\n"  # untimed: what a first call sets up
            "u0 = resource.getrusage(resource.RUSAGE_SELF)\n"
            "t = time.perf_counter()\nfor p in paths:\n    fits.getheader(p)\n"
            "print(time.perf_counter() - t)\n"
            "u = resource.getrusage(resource.RUSAGE_SELF)\n"
            "print(u.ru_utime + u.ru_stime - u0.ru_utime - u0.ru_stime)\n")
    out = subprocess.run([sys.executable, "-c", code, str(listing)], capture_output=True,
                         text=True, check=True, env=ENV)
    listing.unlink()
    wall, cpu = (float(x) for x in out.stdout.split())
    ASTROPY_CPU.append(cpu / len(pick))
    return wall / len(pick), len(pick)


ASTROPY_CPU: list[float] = []


# --------------------------------------------------------------------------- corpus mode


def corpus(args) -> int:
    base = args.dir or Path(tempfile.mkdtemp(prefix="reflexng-scale-"))
    data = base / "corpus"
    if not (data / "imaging").is_dir():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--headers-only",
                        "--scale", "20", "--out", str(data)], check=True, capture_output=True)
        print(f"wrote the demo corpus in {time.perf_counter() - t:.1f} s")
    paths = fits_files(data)
    n = len(paths)
    print(f"{n} files under {data}, cascade {args.cascade}; load average {load()} on "
          f"{os.cpu_count()} cores")
    work = base / f"work-{args.cascade}"
    outs = base / "out"
    outs.mkdir(exist_ok=True)
    cpu_of: dict[float, float] = {}

    def organise(tag: str, with_work: bool = True) -> float:
        wall, _ = run(organise_cmd(args.cascade, data, work if with_work else None),
                      outs / f"{tag}.json")
        cpu_of[wall] = CPU[-1]
        return wall

    def same(tag: str) -> bool:
        return (outs / f"{tag}.json").read_bytes() == (outs / "plain.json").read_bytes()

    small = base / "warm-up-data"
    if not small.is_dir():
        subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--headers-only",
                        "--mode", "all", "--out", str(small)], check=True, capture_output=True)
    warm_up(args.cascade, small, base / "warm-up-work")
    print(BYTECODE_NOTE)
    organise("plain", with_work=False)  # the reference output (and a warm page cache)
    rows = []
    firsts = []
    # getheader's sample is timed in --repeat parts, each just before a first organise: a
    # shared machine's speed drifts, and both sides of the ratio see the same drift
    walls, cpus, k = 0.0, 0.0, 0
    for r in range(args.repeat):  # each into an empty work directory
        part_rate, part_k = astropy_rate(paths, args.sample, r, args.repeat)
        walls += part_rate * part_k
        cpus += ASTROPY_CPU[-1] * part_k
        k += part_k
        shutil.rmtree(work, ignore_errors=True)
        firsts.append(organise("first"))
    rate = walls / k
    ASTROPY_CPU.append(cpus / k)
    best = min(firsts)
    rows.append(("first organise --json, empty work directory", statistics.median(firsts),
                 cpu_of[best], same("first"), f"best {best:.3f}"))
    unchanged = [organise("unchanged") for _ in range(args.repeat)]
    best = min(unchanged)
    rows.append(("unchanged re-organise --json", statistics.median(unchanged), cpu_of[best],
                 same("unchanged"), f"best {best:.3f}"))
    touched = []
    for r in range(args.repeat):
        count = touch(paths, 0.01, r)
        touched.append(organise("touched"))
    best = min(touched)
    rows.append((f"after touching 1 % ({count} files)", statistics.median(touched), cpu_of[best],
                 same("touched"), f"best {best:.3f}"))
    astropy, astropy_cpu = rate * n, ASTROPY_CPU[-1] * n
    print(f"\nastropy getheader alone: {rate * 1e6:.0f} µs per file ({k} files timed), "
          f"{astropy:.1f} s wall / {astropy_cpu:.1f} s CPU for all {n} files"
          + (" (extrapolated)" if k < n else ""))
    print(f"{'measure':<44} {'wall s':>7} {'x getheader':>11} {'CPU s':>7} {'x CPU':>7} "
          f"{'same output':>11}  note")
    for label, t, cpu, ok, note in rows:
        print(f"{label:<44} {t:7.3f} {astropy / t:10.1f}x {cpu:7.3f} {astropy_cpu / cpu:6.1f}x "
              f"{str(ok):>11}  {note}")
    print("targets: first >= 15x getheader; unchanged <= 0.3 s; 1 % touched <= 0.5 s "
          "(wall, start-up included; CPU = the command and its scan workers)")
    print(f"load average at the end {load()}")
    return 0 if all(r[3] for r in rows) else 1


# --------------------------------------------------------------------------- big mode


def write_big(root: Path, n: int) -> float:
    """``n`` header-only files, one folder per night, for the benchmark cascade."""
    t = time.perf_counter()
    plan = [("BIAS", 15, 5), ("DARK", 10, 5), ("LAMP,FLAT", 20, 5), ("LAMP,WAVE", 5, 5),
            ("SKY", 20, 1), ("LAMP,ARC", 10, 1)]
    per_night = 2 * (sum(c for _, c, _ in plan) + 10)
    nights = max(1, -(-n // per_night))
    written = 0
    header = bench_organise.header_bytes

    def write(path: str, cards: dict) -> None:
        nonlocal written
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, header(cards))
        os.close(fd)
        written += 1

    root.mkdir(parents=True, exist_ok=True)
    write(str(root / "line_list.fits"), {"PRO.CATG": "LINE_LIST", "INS.MODE": "SLIT"})
    for night in range(nights):
        folder = root / f"night{night:05d}"
        folder.mkdir(exist_ok=True)
        mjd0 = 61000.6 + night
        for binx in (1, 2):
            tick = 0
            for dpr, count, group in plan:
                for i in range(count):
                    if written >= n:
                        return time.perf_counter() - t
                    write(f"{folder}/b{binx}_{dpr.replace(',', '_')}_{i:02d}.fits", {
                        "DPR.CATG": "CALIB", "DPR.TYPE": dpr, "DET.BINX": binx, "INS.MODE": "SLIT",
                        "TPL.START": f"{night}-{binx}-{dpr}-{i // group}",
                        "MJD-OBS": round(mjd0 + tick * 0.0007, 6), "EXPTIME": 1.0})
                    tick += 1
            for i in range(10):
                if written >= n:
                    return time.perf_counter() - t
                write(f"{folder}/b{binx}_SCI_{i:02d}.fits", {
                    "DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DET.BINX": binx,
                    "INS.MODE": "SLIT", "OBJECT": f"T{i // 5}",
                    "TPL.START": f"{night}-{binx}-sci-{i // 5}",
                    "MJD-OBS": round(mjd0 + 0.1 + i * 0.02 + binx * 0.005, 6), "EXPTIME": 600.0})
    return time.perf_counter() - t


def change(paths: list[str], fraction: float, seed: int) -> int:
    """Rewrite a spread-out ``fraction`` of the files with a different EXPTIME (new contents,
    new mtime; the size stays)."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, max(1, int(len(paths) * fraction)))
    for p in chosen:
        with open(p, "r+b") as fh:
            blob = fh.read()
            i = blob.find(b"EXPTIME =")
            if i < 0:
                continue
            fh.seek(i)
            fh.write(f"EXPTIME = {rng.uniform(1, 900):>20.3f}".ljust(80).encode()[:80])
    return len(chosen)


def warm_cache(paths: list[str]) -> None:
    """Read every file's first block, untimed: the timed runs find a warm page cache, as
    just written files are (this VM's kernel evicts idle page cache within the hour)."""
    for p in paths:
        with open(p, "rb") as fh:
            fh.read(2880)


def big(args) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    base = args.dir or Path(tempfile.mkdtemp(prefix="reflexng-scale-big-"))
    base.mkdir(parents=True, exist_ok=True)
    cascade = base / "bench_cascade.py"
    cascade.write_text(bench_organise.CASCADE)
    small = base / "warm-up-data"
    if not small.is_dir():
        write_big(small, 200)
    warm_up(str(cascade), small, base / "warm-up-work")
    print(BYTECODE_NOTE)
    _, bare_rss = run([sys.executable, "-m", "reflexng", "--version"])
    print(f"load average {load()} on {os.cpu_count()} cores; bare `reflexng --version` peak RSS "
          f"{bare_rss / 1024:.0f} MB")
    rows = []
    first_cpus: list[float] = []  # CPU seconds of each first organise (and its scan workers)
    for n in sizes:
        data = base / f"data{n}"
        if not data.is_dir():
            gen = write_big(data, n)
            print(f"wrote {n} files in {gen:.1f} s")
        paths = fits_files(data)
        warm_cache(paths)  # files kept from an earlier run may have left the page cache
        work = base / f"work{n}"
        shutil.rmtree(work, ignore_errors=True)
        out = base / f"out{n}.json"
        first, rss = run(organise_cmd(str(cascade), data, work), out)
        first_cpu = CPU[-1]
        unchanged = min(run(organise_cmd(str(cascade), data, work), out)[0] for _ in range(3))
        unchanged_cpu = min(CPU[-3:])
        # a seed of this run: a kept --dir must get new values, or the change is a restamp
        count = change(paths, 0.01, time.time_ns())
        changed, _ = run(organise_cmd(str(cascade), data, work), out)
        changed_cpu = CPU[-1]
        plain = base / f"plain{n}.json"
        ok = None
        if n <= args.check_max:  # the changed result equals a plain organise of the same files
            run(organise_cmd(str(cascade), data, None), plain)
            ok = plain.read_bytes() == out.read_bytes()
            plain.unlink()
        rate, k = astropy_rate(paths, args.sample)
        per_file = (rss - bare_rss) * 1024 / n
        rows.append((n, first, unchanged, changed, count, per_file, rss, rate * n, ok))
        first_cpus.append(first_cpu)
        print(f"{n:>7} files: first {first:.2f} s (CPU {first_cpu:.2f}), unchanged {unchanged:.3f} s "
              f"(CPU {unchanged_cpu:.3f}), {count} changed {changed:.2f} s (CPU {changed_cpu:.2f}), peak RSS {rss / 1024:.0f} MB ({per_file:.0f} B per file record "
              f"above start-up), getheader {rate * n:.1f} s (extrapolated from {k}); "
              f"same as plain: {ok}; load {load()}")
        out.unlink(missing_ok=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if n == args.memory_at:
            memory(str(cascade), data, base / f"work{n}-memory")
    if len(rows) >= 2:
        xs = [math.log(r[0]) for r in rows]

        def slope(times: list[float]) -> float:
            ys = [math.log(t) for t in times]
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            return (sum((x - mx) * (y - my) for x, y in zip(xs, ys))
                    / sum((x - mx) ** 2 for x in xs))

        print(f"growth exponent of the first organise over {', '.join(str(r[0]) for r in rows)} "
              f"files: {slope([r[1] for r in rows]):.2f} wall, {slope(first_cpus):.2f} CPU "
              f"(target <= 1.1)")
    print(f"{'files':>8} {'first s':>8} {'x getheader':>12} {'unchanged s':>12} {'1% changed s':>13} "
          f"{'B/record':>9} {'peak MB':>8}")
    for n, first, unchanged, changed, _, per_file, rss, astro, _ in rows:
        print(f"{n:>8} {first:8.2f} {astro / first:11.1f}x {unchanged:12.3f} {changed:13.2f} "
              f"{per_file:9.0f} {rss / 1024:8.0f}")
    print(f"targets at 300k: first <= 25 s, unchanged <= 1 s, <= 1.2 KB per file record; "
          f"load average at the end {load()}")
    if not args.keep and args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if all(r[-1] in (None, True) for r in rows) else 1


def memory(cascade: str, data: Path, work: Path) -> None:
    """benchmarks/scale_memory.py on ``data`` into an empty ``work`` (untimed, traced)."""
    shutil.rmtree(work, ignore_errors=True)
    print(f"where the memory goes (benchmarks/scale_memory.py, untimed; load {load()}):",
          flush=True)
    subprocess.run([sys.executable, str(HERE / "scale_memory.py"), "--cascade", cascade,
                    "--data", str(data), "--workdir", str(work)], check=True, env=ENV)
    shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("corpus", help="the 34k demo corpus, whole CLI commands")
    c.add_argument("--dir", type=Path, default=None, help="keep the corpus and work dirs here")
    c.add_argument("--sample", type=int, default=3000, help="files timed with astropy (0 = all)")
    c.add_argument("--repeat", type=int, default=3)
    c.add_argument("--cascade", default="demo_imaging",
                   help="cascade organising the whole corpus (default demo_imaging)")
    b = sub.add_parser("big", help="10k..300k generated files")
    b.add_argument("--sizes", default="10000,30000,100000,300000")
    b.add_argument("--dir", type=Path, default=None, help="keep the generated files here")
    b.add_argument("--keep", action="store_true", help="keep work directories")
    b.add_argument("--sample", type=int, default=1000, help="files timed with astropy")
    b.add_argument("--check-max", type=int, default=100000,
                   help="compare with a plain organise up to this many files")
    b.add_argument("--memory-at", type=int, default=30000,
                   help="files at which to break the memory down (0: never)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # in order with the memory probe's output
    return corpus(args) if args.mode == "corpus" else big(args)


if __name__ == "__main__":
    sys.exit(main())
