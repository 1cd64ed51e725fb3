"""Benchmark: loading an EDPS workflow package vs. a native cascade of the same size.

Writes (into a temporary folder) an EDPS-style package of ~80 tasks and ~90 data sources —
keywords, classification, rules, data sources, task functions and workflow modules with
relative imports, a parameters file with two sets — and a native cascade file with the same
tasks and data sources, then times ``reflexng.cascade.load`` of each (fresh imports every
time, as a user's load). Prints the medians and the ratio; the issue asks < 0.5 s for the
EDPS package.

Run: python benchmarks/edps_load.py [--tasks 80] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from reflexng.cascade import load


def edps_package(folder: Path, n_tasks: int, n_sources: int) -> Path:
    pkg = folder / "bench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bench_keywords.py").write_text(
        'instrume = "instrume"\ndpr_type = "dpr.type"\ndpr_catg = "dpr.catg"\npro_catg = "pro.catg"\n'
        'det_binx = "det.binx"\ntpl_start = "tpl.start"\nmjd_obs = "mjd-obs"\n')
    cls = ["from edps import classification_rule", "from . import bench_keywords as kwd", ""]
    for i in range(n_sources):
        cls.append(f'raw_{i}_class = classification_rule("RAW_{i}", {{kwd.instrume: "BENCH", '
                   f'kwd.dpr_catg: "CALIB", kwd.dpr_type: "TYPE_{i}", kwd.pro_catg: None}})')
    for i in range(n_tasks):
        cls.append(f'MASTER_{i} = classification_rule("MASTER_{i}", {{kwd.pro_catg: "MASTER_{i}"}})')
    (pkg / "bench_classification.py").write_text("\n".join(cls) + "\n")
    (pkg / "bench_rules.py").write_text(
        "from edps import match_rules\nfrom edps.generator.time_range import *  # noqa: F403\n"
        "from . import bench_keywords as kwd\n\n"
        "def same_binning(ref, f):\n    return ref[kwd.det_binx] == f[kwd.det_binx]\n\n"
        "calib_rules = (match_rules()\n"
        "    .with_match_keywords([kwd.det_binx], time_range=RelativeTimeRange(-0.1, 0.1), level=-1)\n"
        "    .with_match_keywords([kwd.det_binx], time_range=SAME_NIGHT, level=0)\n"
        "    .with_match_function(same_binning, time_range=ONE_WEEK, level=1)\n"
        "    .with_match_keywords([kwd.det_binx], time_range=UNLIMITED, level=2))\n")
    ds = ["from edps import data_source", "from edps.generator.time_range import SAME_NIGHT, THREE_DAYS",
          "from . import bench_keywords as kwd", "from .bench_classification import *  # noqa: F403", ""]
    for i in range(n_sources):
        ds.append(f"raw_{i} = (data_source().with_classification_rule(raw_{i}_class)"
                  f".with_grouping_keywords([kwd.tpl_start, kwd.det_binx]).with_setup_keywords([kwd.det_binx])"
                  f".with_match_keywords([kwd.det_binx], time_range=SAME_NIGHT, level=0)"
                  f".with_match_keywords([kwd.det_binx], time_range=THREE_DAYS, level=1).build())")
    (pkg / "bench_datasources.py").write_text("\n".join(ds) + "\n")
    (pkg / "bench_task_functions.py").write_text(
        "from edps import get_parameter\n\n"
        "def which_binning(files):\n    return files[0].get_keyword_value('det.binx', 1)\n\n"
        "def binned(params):\n    return get_parameter(params, 'binning') == 2\n\n"
        "def use_extra(params):\n    return get_parameter(params, 'extra') == 'TRUE'\n")
    half = n_tasks // 2
    for part, (lo, hi) in enumerate(((0, half), (half, n_tasks))):
        lines = ["from edps import QC1_CALIB, SCIENCE, alternative_associated_inputs, task",
                 "from .bench_classification import *  # noqa: F403",
                 "from .bench_datasources import *  # noqa: F403",
                 "from .bench_rules import calib_rules",
                 "from .bench_task_functions import binned, use_extra, which_binning"]
        if part:
            lines.append("from .bench_part0 import *  # noqa: F403")
        lines.append("")
        for i in range(lo, hi):
            b = [f"t{i} = (task('t{i}').with_recipe('demo_img_bias').with_main_input(raw_{i})"]
            for j in (i - 1, i - 3):
                if j >= 0:
                    b.append(f".with_associated_input(t{j}, [MASTER_{j}], match_rules=calib_rules)")
            if i >= 5:
                b.append(f".with_alternatives(alternative_associated_inputs(sort_keys=['mjd-obs'])"
                         f".with_associated_input(t{i - 5}, [MASTER_{i - 5}], condition=binned)"
                         f".with_associated_input(t{i - 4}, [MASTER_{i - 4}], condition=use_extra))")
            b.append(".with_dynamic_parameter('binning', which_binning)")
            b.append(f".with_meta_targets([{'SCIENCE' if i == n_tasks - 1 else 'QC1_CALIB'}]).build())")
            lines.append("".join(b))
        (pkg / f"bench_part{part}.py").write_text("\n".join(lines) + "\n")
    (pkg / "bench_wkf.py").write_text('"""benchmark workflow"""\nfrom .bench_part1 import *  # noqa: F403\n')
    sets = ["qc1:\n  is_default: yes\n  workflow_parameters: &wp\n    binning: 1\n    extra: 'FALSE'\n"
            "  recipe_parameters: &rp\n"]
    sets += [f"    t{i}:\n      demo.demo_img_bias.sigma: 3.0\n" for i in range(0, n_tasks, 4)]
    sets.append("test:\n  workflow_parameters:\n    <<: *wp\n    extra: 'TRUE'\n  recipe_parameters:\n    <<: *rp\n")
    (pkg / "bench_parameters.yaml").write_text("".join(sets))
    return pkg


def native_cascade(folder: Path, n_tasks: int, n_sources: int) -> Path:
    lines = ["from reflexng.cascade import SAME_NIGHT, classification_rule, data_source, days, task", ""]
    for i in range(n_sources):
        lines.append(f'raw_{i} = (data_source("RAW_{i}").with_classification_rule(classification_rule("RAW_{i}", '
                     f'{{"INSTRUME": "BENCH", "DPR.CATG": "CALIB", "DPR.TYPE": "TYPE_{i}"}}))'
                     f'.with_grouping_keywords(["TPL.START", "DET.BINX"]).with_setup_keywords(["DET.BINX"])'
                     f'.with_match_keywords(["DET.BINX"], time_range=SAME_NIGHT, level=0)'
                     f'.with_match_keywords(["DET.BINX"], time_range=days(3), level=1).build())')
    for i in range(n_tasks):
        b = [f"t{i} = (task('t{i}').with_recipe('demo_img_bias').with_main_input(raw_{i})"]
        for j in (i - 1, i - 3, i - 5):
            if j >= 0:
                b.append(f".with_associated_input(t{j})")
        meta = '"science"' if i == n_tasks - 1 else '"qc1calib"'
        b.append(f".with_meta_targets([{meta}]).build())")
        lines.append("".join(b))
    path = folder / "bench_native.py"
    path.write_text("\n".join(lines) + "\n")
    (folder / "bench_native.params.yaml").write_text(
        "qc1:\n  workflow_parameters: {}\n  recipe_parameters:\n"
        + "".join(f"    t{i}: {{sigma: 3.0}}\n" for i in range(0, n_tasks, 4)))
    return path


def timed(path: Path, repeat: int) -> tuple[float, object]:
    times = []
    c = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        c = load(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=80)
    ap.add_argument("--sources", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n_sources = max(args.sources, args.tasks)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pkg = edps_package(root / "edps", args.tasks, n_sources)
        (root / "native").mkdir()
        nat = native_cascade(root / "native", args.tasks, n_sources)
        load(pkg)  # first load pays one-off imports (registry, yaml) for both
        load(nat)
        t_edps, c_edps = timed(pkg, args.repeat)
        t_nat, c_nat = timed(nat, args.repeat)
    print(f"EDPS package: {len(c_edps.tasks)} tasks, {len(c_edps.data_sources)} data sources used "
          f"({n_sources} defined), 2 parameter sets: median load {t_edps * 1000:.1f} ms over {args.repeat}")
    print(f"native cascade: {len(c_nat.tasks)} tasks, {len(c_nat.data_sources)} data sources: "
          f"median load {t_nat * 1000:.1f} ms")
    print(f"ratio EDPS / native: {t_edps / t_nat:.2f}; load average {os.getloadavg()[0]:.2f}; "
          f"{'OK' if t_edps < 0.5 else 'SLOWER THAN 0.5 s'}")


if __name__ == "__main__":
    main()
