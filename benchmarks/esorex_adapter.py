"""Overhead of the esorex recipe adapter, against calling esorex by hand in the same run.

    python benchmarks/esorex_adapter.py [--repeat 10]

Prints: (1) median wall time of uves_cal_mbias on 3 simulated 612x512 biases, run as a bare
``esorex`` command (SOF written by hand) and through ``EsorexRecipe.run`` (SOF, parameter file,
scratch folder, products, QC headers); (2) recipe lookup with a cold and a warm schema cache;
(3) parsing + translating every installed OCA file, with a cold and a warm recipe cache (the
translation asks each recipe's declared tags, ``esorex --man-page``, once per plugin version).
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _median_time(fn, repeat: int, cpu: list[float] | None = None) -> float:
    """Median wall time of ``fn``; appends the mean CPU time per call to ``cpu``."""
    times = []
    c0 = _cpu()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    if cpu is not None:
        cpu.append((_cpu() - c0) / repeat)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    from reflexng.recipes import esorex as ex
    from reflexng.simulate import eso

    if not ex.esorex_available():
        raise SystemExit("esorex is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["REFLEXNG_ESOREX_CACHE"] = str(root / "cache")
        eso.generate("uves", root / "raw", nights=1)
        biases = sorted(str(p) for p in (root / "raw").glob("*bias*.fits"))
        t0 = time.perf_counter()
        recipe = ex.get_recipe("uves_cal_mbias")
        cold = time.perf_counter() - t0
        warm = _median_time(lambda: ex.get_recipe("uves_cal_mbias"), args.repeat)
        sof = root / "bare.sof"
        sof.write_text("".join(f"{b} BIAS_BLUE\n" for b in biases))
        n = iter(range(10**6))

        def bare() -> None:
            out = root / f"bare{next(n)}"
            out.mkdir()
            subprocess.run([ex.esorex_path(), f"--recipe-dir={recipe.library.parent}",
                            f"--output-dir={out}", "uves_cal_mbias", str(sof)],
                           cwd=out, check=True, capture_output=True)

        def adapter() -> None:
            recipe.run([(b, "BIAS_BLUE") for b in biases], {}, root / f"adapter{next(n)}")

        import contextlib
        import io

        cpu: list[float] = []
        t_bare = _median_time(bare, args.repeat, cpu)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            t_adapter = _median_time(adapter, args.repeat, cpu)
    from reflexng.oca.parser import parse_file
    from reflexng.oca.translator import translate

    files = sorted(glob.glob("/usr/share/cpl-plugins/*/gasgano/config/*.oca"))
    installed = {r.name[len("esorex:"):] for r in ex.list_recipes()}
    t_oca = []
    with tempfile.TemporaryDirectory(prefix="reflexng-bench-oca-") as tmp:
        os.environ["REFLEXNG_ESOREX_CACHE"] = tmp  # cold: each recipe's declarations asked once
        for _ in range(2):
            t0 = time.perf_counter()
            for f in files:
                translate(parse_file(f), installed=installed, recipe_lookup=None)
            t_oca.append(time.perf_counter() - t0)
    print(f"uves_cal_mbias, 3 x 612x512 biases, median of {args.repeat}:")
    print(f"  bare esorex command        {t_bare * 1000:7.1f} ms wall   {cpu[0] * 1000:7.1f} ms CPU")
    print(f"  EsorexRecipe.run           {t_adapter * 1000:7.1f} ms wall   {cpu[1] * 1000:7.1f} ms CPU"
          f"   ratio {t_adapter / t_bare:.2f} wall, {cpu[1] / cpu[0]:.2f} CPU")
    print(f"  load average {os.getloadavg()[0]:.2f}")
    print(f"recipe lookup: cold cache {cold * 1000:.1f} ms, warm cache {warm * 1000:.2f} ms "
          f"(ratio {cold / warm:.0f})")
    print(f"parse + translate {len(files)} OCA files: {t_oca[0] * 1000:.0f} ms with a cold recipe "
          f"cache (esorex asked for each recipe's tags), {t_oca[1] * 1000:.0f} ms warm")


if __name__ == "__main__":
    main()
