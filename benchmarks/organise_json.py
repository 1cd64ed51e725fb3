"""The ``--json`` output of ``reflexng organise``: this tree against an older revision.

For each tree (``--before``, default ``HEAD``, exported with ``git archive`` and put first on
``PYTHONPATH``; and this one) a child process organises the folder once (no work
directory), then writes the JSON document the way ``reflexng organise --json`` does (to
/dev/null and into the store's compressor) ``--repeat`` times, and reports the first write
(the records not yet in the CPU caches, as in the command) and the best of the others, in
CPU seconds (thread time) and wall seconds, with ``json.dumps(to_json(result), indent=1)``
(the standard library) timed in the same child as the named alternative. The children
alternate, ``--rounds`` times; the outputs are compared byte for byte.

    python benchmarks/organise_json.py [--data DIR] [--cascade demo_imaging] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import hashlib, json, os, sys, time
from reflexng.cascade import load
from reflexng.organiser import organise
from reflexng.organiser import report
from reflexng.organiser.store import OutputPacker

cascade, data, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = organise(load(cascade), [data], target=None, build_graph=False)


def once(sink=True):
    out = open(os.devnull, "w")
    kept = OutputPacker()
    pieces = []
    keep = pieces.append

    def write(piece):
        out.write(piece)
        kept.add(piece)
        keep(piece)

    t, c = time.perf_counter(), time.thread_time()
    report.write_json(result, write if sink else keep)
    c, t = time.thread_time() - c, time.perf_counter() - t
    out.close()
    return t, c, hashlib.sha256("".join(pieces).encode()).hexdigest()


first = once()
rest = [once() for _ in range(repeat)]
render = min(once(sink=False)[:2] for _ in range(repeat))
t, c = time.perf_counter(), time.thread_time()
text = json.dumps(report.to_json(result), indent=1) + "\n"
stdlib = (time.perf_counter() - t, time.thread_time() - c)
print(json.dumps({"files": len(result.files), "jobs": len(result.jobs), "first": first[:2],
                  "best": min(r[:2] for r in rest), "render": render, "stdlib": stdlib, "digest": first[2],
                  "stdlib_digest": hashlib.sha256(text.encode()).hexdigest(),
                  "module": report.__file__}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="folder to organise (default: `reflexng demo-data --headers-only "
                         "--scale 20` written into a temporary folder)")
    ap.add_argument("--cascade", default="demo_imaging")
    ap.add_argument("--before", default="HEAD")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reflexng-json-"))
    data = args.data
    if data is None:
        data = tmp / "corpus"
        subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--headers-only",
                        "--scale", "20", "--out", str(data)], check=True, capture_output=True)
    old = tmp / "before"
    old.mkdir()
    tar = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "reflexng"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {args.before: str(old), "this tree": str(REPO)}
    got: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, path in trees.items():
            p = subprocess.run([sys.executable, "-c", CHILD, args.cascade, str(data),
                                str(args.repeat)], capture_output=True, text=True, cwd=tmp,
                               env={**env, "PYTHONPATH": path}, check=True)
            got[name].append(json.loads(p.stdout))
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    one = got["this tree"][0]
    print(f"{one['files']} files, {one['jobs']} jobs, cascade {args.cascade}; load average {load}")
    print(f"{'tree':<12} {'first CPU s':>11} {'wall s':>7} {'best CPU s':>10} {'wall s':>7} "
          f"{'rendering alone CPU s':>21} {'json.dumps CPU s':>16}")
    for name, runs in got.items():
        first = min(r["first"] for r in runs)
        best = min(r["best"] for r in runs)
        std = min(r["stdlib"] for r in runs)
        render = min(r["render"] for r in runs)
        print(f"{name:<12} {first[1]:11.3f} {first[0]:7.3f} {best[1]:10.3f} {best[0]:7.3f} "
              f"{render[1]:21.3f} {std[1]:16.3f}")
    digests = {r["digest"] for runs in got.values() for r in runs}
    digests |= {r["stdlib_digest"] for runs in got.values() for r in runs}
    same = len(digests) == 1
    print(f"(min over {args.rounds} children each; 'first': the first write after organising, "
          f"'best': the best of {args.repeat} more; written to /dev/null and the store's "
          f"compressor as the command does; 'rendering alone': into a list)\nsame output as {args.before} and json.dumps: {same}")
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
