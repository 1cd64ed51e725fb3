"""Start-up cost of the command line: a verb imports only its own module, and organising the
demo imaging data imports no networkx (first time) and neither networkx, astropy, numpy nor
the engine's export module (unchanged folder). Real child processes; ``sys.modules`` at exit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reflexng.cli import VERBS

# runs `reflexng ARGS...` in this process and prints the loaded modules we care about at exit
# (an exit handler: organise leaves by os._exit after running them, skipping the shutdown)
PROBE = """import atexit, sys, runpy

def report():
    watched = ("numpy", "astropy", "networkx", "reflexng.engine.export", "reflexng.cli.")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in watched[:3] or m.startswith(watched[3:]))
    print("LOADED:" + ",".join(loaded), file=sys.stderr)

atexit.register(report)
sys.argv = ["reflexng", *sys.argv[1:]]
runpy.run_module("reflexng", run_name="__main__")
"""


def probe(*args) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                       timeout=180)
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("LOADED:")][-1][7:]
    return p, set(filter(None, line.split(",")))


def heavy(loaded: set[str]) -> set[str]:
    return {m for m in loaded if m.split(".")[0] in ("numpy", "astropy", "networkx")
            or m == "reflexng.engine.export"}


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "imaging"
    p = subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--out", str(out), "--mode", "imaging",
                        "--nights", "1", "--headers-only", "--json"], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["imaging"]["files"] > 10
    return out


def test_organise_demo_imports_nothing_heavy(demo_folder, tmp_path):
    args = ["organise", "--cascade", "demo_imaging", "--data", demo_folder, "--workdir", tmp_path / "w", "--json"]
    first, loaded = probe(*args)
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["datasets"]) > 0
    # validating the cascade (cycle check included) and organising need no networkx;
    # only the organise verb is registered
    assert not {m for m in loaded if m.startswith("networkx")}, sorted(loaded)
    assert "reflexng.engine.export" not in loaded
    assert {m for m in loaded if m.startswith("reflexng.cli.") and not m.startswith("reflexng.cli._")} \
        <= {"reflexng.cli.organise", "reflexng.cli.datasets"}
    again, loaded = probe(*args)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert heavy(loaded) == set()  # no networkx, astropy, numpy nor engine.export when unchanged


def test_top_level_help_lists_every_verb_and_loads_every_verb_module():
    p, loaded = probe("--help")
    assert p.returncode == 0, p.stderr
    listed = p.stdout.split("positional arguments:")[1].split("options:")[0]
    for verb, module in VERBS.items():
        assert f"    {verb} " in listed or f"    {verb}\n" in listed, verb
        assert f"reflexng.cli.{module}" in loaded


@pytest.mark.parametrize("verb", list(VERBS))
def test_each_verb_help_loads_only_its_module(verb):
    p, loaded = probe(verb, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"usage: reflexng {verb} ")
    others = {f"reflexng.cli.{m}" for v, m in VERBS.items() if v != verb} & loaded
    # a verb module may import a sibling's helpers (e.g. export uses status.open_workdir)
    assert len(others) <= 2, (verb, sorted(others))
    if verb != "export":
        assert "reflexng.engine.export" not in loaded


def test_unknown_verb_lists_the_verbs():
    p, _ = probe("organize")
    assert p.returncode == 2
    assert "invalid choice: 'organize'" in p.stderr and "'organise'" in p.stderr and "'timeline'" in p.stderr
