"""Benchmark of the data organiser (issue 3).

20,000 header-only ESO-like files (2,000 science frames, 100 nights, 2 binnings), a cascade
whose science task has 6 association rules. Measures, in one run:

1. classification + association + job graph after the scan (``organise_scanned``), against a
   naive alternative: every rule evaluated on every file, and every job looping over every
   candidate file (double loop); both must choose the same calibrations;
2. the whole ``reflexng organise`` CLI, second run (unchanged: the stored result is written
   out, see benchmarks/scale.py for first and incremental runs), start-up included;
3. peak memory (tracemalloc) of organising 100,000 file records.

Targets: (1) < 100 ms, (2) < 1.5 s, (3) < 500 MB.

    python benchmarks/organise.py [--files 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

CASCADE = '''
from reflexng.cascade import (ONE_DAY, SAME_NIGHT, UNLIMITED, classification_rule, data_source,
                              days, metadata, task, workflow_parameter)

metadata("bench", instrument="BENCH", default_target="science")
# science frames come in templates of 5 exposures; MJD-OBS makes every frame its own job
science_group = workflow_parameter("science_group", "TPL.START", choices=["TPL.START", "MJD-OBS"])


def raw(name, dpr_type, group=("TPL.START",), catg="CALIB"):
    return (data_source(name)
            .with_classification_rule(classification_rule(name, {"DPR.CATG": catg, "DPR.TYPE": dpr_type}))
            .with_grouping_keywords(list(group))
            .with_match_keywords(["DET.BINX", "INS.MODE"], time_range=SAME_NIGHT, level=0)
            .with_match_keywords(["DET.BINX", "INS.MODE"], time_range=ONE_DAY, level=1)
            .with_match_keywords(["DET.BINX", "INS.MODE"], time_range=days(3), level=2)
            .build())


raw_bias = raw("RAW_BIAS", "BIAS")
raw_dark = raw("RAW_DARK", "DARK")
raw_flat = raw("RAW_FLAT", "LAMP,FLAT")
raw_arc = raw("RAW_ARC", "LAMP,WAVE")
raw_sky = raw("RAW_SKY", "SKY", group=())
raw_science = raw("RAW_SCIENCE", "OBJECT", group=(science_group,), catg="SCIENCE")
line_list = (data_source("LINE_LIST")
             .with_classification_rule(classification_rule("LINE_LIST", {"PRO.CATG": "LINE_LIST"}))
             .with_match_keywords(["INS.MODE"], time_range=UNLIMITED).build())

bias = task("bias").with_recipe("b").with_main_input(raw_bias).build()
dark = task("dark").with_recipe("d").with_main_input(raw_dark).with_associated_input(bias).build()
flat = (task("flat").with_recipe("f").with_main_input(raw_flat)
        .with_associated_input(bias).with_associated_input(dark).build())
arc = (task("arc").with_recipe("a").with_main_input(raw_arc)
       .with_associated_input(bias).with_associated_input(line_list).build())
science = (task("science").with_recipe("s").with_main_input(raw_science)
           .with_associated_input(bias).with_associated_input(dark).with_associated_input(flat)
           .with_associated_input(arc).with_associated_input(raw_sky, min_ret=1, max_ret=2)
           .with_associated_input(line_list).build())
'''

# --------------------------------------------------------------------------- fast writer


def _card(key: str, value) -> bytes:
    if isinstance(value, str):
        v = "'" + value.replace("'", "''").ljust(8) + "'"
    elif isinstance(value, bool):
        v = "T" if value else "F"
    elif isinstance(value, float):
        v = repr(value)
    else:
        v = str(value)
    if "." in key or len(key) > 8:
        text = f"HIERARCH ESO {key.replace('.', ' ')} = {v}"
    else:
        text = f"{key:<8}= {v:>20}"
    return text.ljust(80).encode("ascii")


FILLER = b"".join(_card(f"ESO QC DUMMY{i}", float(i)) for i in range(120))  # ESO-like size


def header_bytes(cards: dict) -> bytes:
    body = (_card("SIMPLE", True) + _card("BITPIX", 8) + _card("NAXIS", 0)
            + b"".join(_card(k, v) for k, v in cards.items()) + FILLER + b"END".ljust(80))
    return body + b" " * (-len(body) % 2880)


def make_files(root: Path, n_files: int = 20000, n_science: int = 2000) -> dict[str, int]:
    """100 nights x 2 binnings of calibrations + science frames; returns counts per kind."""
    nights = 100
    counts: dict[str, int] = {}
    plan = [("BIAS", 15, 5), ("DARK", 10, 5), ("LAMP,FLAT", 20, 5), ("LAMP,WAVE", 5, 5), ("SKY", 20, 1),
            ("LAMP,ARC", 10, 1)]  # the last is not in the cascade: unclassified
    per_night_sci = n_science // nights // 2
    per_night_cal = sum(n for _, n, _ in plan)
    extra = n_files - n_science - nights * 2 * per_night_cal - 1
    written = 0

    def write(name: str, cards: dict) -> None:
        nonlocal written
        fd = os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, header_bytes(cards))
        os.close(fd)
        written += 1

    write("line_list.fits", {"PRO.CATG": "LINE_LIST", "INS.MODE": "SLIT"})
    for night in range(nights):
        for binx in (1, 2):
            mjd0 = 61000.6 + night  # evening of the night
            t = 0
            for dpr, n, group in plan:
                for i in range(n):
                    tpl = f"{night}-{binx}-{dpr}-{i // group}"
                    write(f"n{night:03d}_b{binx}_{dpr.replace(',', '_')}_{i:02d}.fits", {
                        "DPR.CATG": "CALIB", "DPR.TYPE": dpr, "DET.BINX": binx, "INS.MODE": "SLIT",
                        "TPL.START": tpl, "MJD-OBS": round(mjd0 + t * 0.0007, 6), "EXPTIME": 1.0})
                    counts[dpr] = counts.get(dpr, 0) + 1
                    t += 1
            for i in range(per_night_sci):
                write(f"n{night:03d}_b{binx}_SCI_{i:02d}.fits", {
                    "DPR.CATG": "SCIENCE", "DPR.TYPE": "OBJECT", "DET.BINX": binx, "INS.MODE": "SLIT",
                    "OBJECT": f"T{i // 5}", "TPL.START": f"{night}-{binx}-sci-{i // 5}",
                    "MJD-OBS": round(mjd0 + 0.1 + i * 0.02 + binx * 0.005, 6), "EXPTIME": 600.0})
                counts["SCIENCE"] = counts.get("SCIENCE", 0) + 1
    for i in range(max(0, extra)):  # pad to n_files with lamp frames of another mode
        write(f"other_{i:05d}.fits", {"DPR.CATG": "CALIB", "DPR.TYPE": "LAMP,FLAT", "DET.BINX": 1,
                                      "INS.MODE": "IFU", "TPL.START": f"o{i // 5}",
                                      "MJD-OBS": 61000.6 + (i % 100)})
    counts["total"] = written
    return counts


# --------------------------------------------------------------------------- naive alternative


def naive(cascade, scanned):
    """Every rule on every file; every job loops over every candidate file (double loop)."""
    from reflexng.organiser.classify import mjd_of

    rules = [(ds.name, r) for ds in cascade.data_sources.values() for r in ds.classification_rules]
    by_source: dict[str, list] = {}
    for s in scanned:
        if s.status != "ok":
            continue
        hits = [name for name, r in rules if r.matches(s.values)]
        if len(hits) == 1:
            by_source.setdefault(hits[0], []).append((mjd_of(s.values), s.path, s.values))
    # a calibration task's candidates are its groups, seen through their first file
    refs: dict[str, list] = {}
    for name, files in by_source.items():
        keys = [k for k in cascade.data_sources[name].grouping_keywords if isinstance(k, str)]
        if not keys:
            continue
        first: dict = {}
        for f in sorted(files, key=lambda f: (f[0], f[1])):
            first.setdefault(tuple(f[2].get(k) for k in keys), f)
        refs[name] = list(first.values())
    science = cascade.tasks["science"]
    chosen = {}
    for mjd, path, h in by_source.get("RAW_SCIENCE", []):
        for a in science.associated_inputs:
            src = a.name if a.source.kind == "data_source" else cascade.tasks[a.name].main_input.name
            ds = cascade.data_sources[src]
            best = []
            for rule in ds.match_rules:
                cands = []
                pool = refs.get(src, []) if a.source.kind == "task" else by_source.get(src, [])
                for cm, cp, ch in pool:
                    if any(ch.get(k) != h.get(k) for k in rule.keywords):
                        continue
                    dt = None if cm is None or mjd is None else cm - mjd
                    if dt is not None and not rule.time_range.contains(dt, mjd, cm):
                        continue
                    cands.append((abs(dt) if dt is not None else 0.0, cp))
                if cands:
                    best = sorted(cands)[: a.max_ret]
                    break
            chosen[(path, a.name)] = [p for _, p in best]
    return chosen


def fast_choices(result, cascade):
    """The same view of the organiser's result: science file -> input -> reference paths."""
    out = {}
    for job in result.jobs.values():
        if job.task != "science":
            continue
        for name, a in job.associated.items():
            out[(job.main[0], name)] = [c.path or result.jobs[c.job_id].reference_path for c in a.chosen]
    return out


# --------------------------------------------------------------------------- main


def best_of(fn, n: int):
    """(best wall time, median wall time, result); ``best_of.cpu`` = best CPU time of this
    process (on a shared machine the wall time also counts other processes' turns)."""
    times, cpus = [], []
    out = None
    for _ in range(n):
        out = None  # free the previous result outside the timed region
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    best_of.cpu = min(cpus)
    return min(times), statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--science", type=int, default=2000)
    ap.add_argument("--memory-records", type=int, default=100000)
    ap.add_argument("--keep", type=Path, default=None, help="use/keep this folder for the corpus")
    args = ap.parse_args()

    from reflexng.cascade import load
    from reflexng.fits import scan
    from reflexng.organiser import needed_keywords, organise_scanned

    tmp = tempfile.TemporaryDirectory(prefix="reflexng-bench-organise-")
    base = args.keep or Path(tmp.name)
    data = base / "data"
    work = base / "work"
    data.mkdir(parents=True, exist_ok=True)
    cascade_path = base / "bench_cascade.py"
    cascade_path.write_text(CASCADE)
    t = time.perf_counter()
    if not any(data.iterdir()):
        counts = make_files(data, args.files, args.science)
        print(f"wrote {counts['total']} header-only files in {time.perf_counter() - t:.2f} s "
              f"({counts.get('SCIENCE', 0)} science frames)")
    cascade = load(cascade_path)
    kws = needed_keywords(cascade)
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "reflexng.sqlite"
    state = "warm" if cache.exists() else "cold"
    t = time.perf_counter()
    scanned = scan([str(data)], kws, cache_db=str(cache))
    print(f"scan ({state} scan cache, warm page cache): {time.perf_counter() - t:.3f} s, "
          f"{len(scanned)} files; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    # 1. classification + association + job graph after the scan
    results = {}
    for label, wp in (("templates of 5 frames", {}), ("one job per frame", {"science_group": "MJD-OBS"})):
        best, med, result = best_of(lambda wp=wp: organise_scanned(cascade, scanned, workflow_parameters=wp), 7)
        cpu = best_of.cpu
        nograph, _, _ = best_of(lambda wp=wp: organise_scanned(cascade, scanned, workflow_parameters=wp,
                                                                build_graph=False), 5)
        results[label] = result
        n_sci = sum(1 for j in result.jobs.values() if j.task == "science")
        complete = sum(1 for d in result.datasets if d.complete)
        print(f"organise_scanned, {label}: best {best * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms), "
              f"median {med * 1000:.0f} ms "
              f"(job graph {max(0.0, best - nograph) * 1000:.0f} ms; {len(result.jobs)} jobs, "
              f"{n_sci} science jobs, {complete}/{len(result.datasets)} datasets complete)  "
              f"target < 100 ms")
    result = results["one job per frame"]
    naive_best, _, naive_out = best_of(lambda: naive(cascade, scanned), 1)
    print(f"naive double loop (classification + science associations only): {naive_best * 1000:.0f} ms "
          f"-> organiser (one job per frame) is {naive_best / best:.0f}x faster")
    ours = fast_choices(result, cascade)
    same = sum(1 for k, v in naive_out.items() if ours.get(k) == v)
    print(f"  same choices as the naive loop: {same}/{len(naive_out)} (file inputs and the "
          f"reference file of chosen calibration jobs)")

    # 2. the whole CLI, warm (second run)
    cmd = [sys.executable, "-m", "reflexng", "organise", "--cascade", str(cascade_path),
           "--data", str(data), "--workdir", str(work)]
    subprocess.run(cmd, capture_output=True, check=True)
    cli = []
    for _ in range(3):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
        cli.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - t
    # since issue 17 an unchanged request is answered from the work directory's stored result
    print(f"reflexng organise CLI, unchanged (stored result): best {min(cli):.2f} s, "
          f"median {statistics.median(cli):.2f} s "
          f"(bare python start {bare:.2f} s)  target < 1.5 s")
    print("  " + "\n  ".join(p.stdout.splitlines()[:3]))

    # 3. memory for 100,000 file records
    n_rep = max(1, args.memory_records // len(scanned))
    import dataclasses

    def copy(s, r):
        kw = {"path": f"{s.path}.{r}", "values": dict(s.values), "header_digest": f"{s.header_digest}{r}"}
        return s._replace(**kw) if hasattr(s, "_replace") else dataclasses.replace(s, **kw)

    del result
    tracemalloc.start()
    big = [copy(s, r) for r in range(n_rep) for s in scanned]
    res = organise_scanned(cascade, big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory organising {len(big)} file records: {peak / 2**20:.0f} MB "
          f"({len(res.jobs)} jobs)  target < 500 MB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
