"""The layers of docs/ARCHITECTURE.md hold: no upward import (import-linter contracts in
pyproject.toml), no import cycle, no ``except ImportError`` around the project's own modules,
the core imports without ``fcntl`` (as on Windows), and users never see the test recipes."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "reflexng"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def test_import_contracts_hold():
    """import-linter reads the contracts from pyproject.toml (layers, Qt-free core, no test recipes)."""
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    finally:
        os.chdir(cwd)
    assert code == 0, "an import breaks the layers of docs/ARCHITECTURE.md (see the report above)"


def test_no_import_cycles():
    import grimp
    import networkx as nx

    graph = grimp.build_graph("reflexng", exclude_type_checking_imports=True, cache_dir=None)
    g = nx.DiGraph()
    for m in graph.modules:
        for imported in graph.find_modules_directly_imported_by(m):
            g.add_edge(m, imported)
    cycles = {frozenset(c) for c in nx.strongly_connected_components(g) if len(c) > 1}
    new = [sorted(c) for c in cycles - KNOWN_CYCLES]
    assert new == [], f"import cycles: {new}"
    fixed = [sorted(c) for c in KNOWN_CYCLES - cycles]
    assert fixed == [], f"these cycles are gone: remove them from KNOWN_CYCLES: {fixed}"


# No import cycle is tolerated; the list exists so that a cycle accepted for a while is written
# down here (and the test then fails once it is gone, so the list only shrinks).
KNOWN_CYCLES: set[frozenset[str]] = set()


def _guards_own_module(handler: ast.ExceptHandler, body: list[ast.stmt]) -> bool:
    names = {"ImportError", "ModuleNotFoundError"}
    caught = handler.type
    kinds = [caught] if not isinstance(caught, ast.Tuple) else list(caught.elts)
    if not any(isinstance(k, ast.Name) and k.id in names for k in kinds):
        return False
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and (sub.level > 0 or (sub.module or "").startswith("reflexng")):
                return True
            if isinstance(sub, ast.Import) and any(a.name.startswith("reflexng") for a in sub.names):
                return True
            if (isinstance(sub, ast.Call) and getattr(sub.func, "attr", "") == "import_module" and sub.args
                    and isinstance(sub.args[0], ast.Constant) and str(sub.args[0].value).startswith("reflexng")):
                return True
    return False


def test_no_except_import_error_around_project_modules():
    """A missing project module is a bug to see, not a reason to switch behaviour silently."""
    found = []
    for path in _modules().values():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Try):
                for h in node.handlers:
                    if _guards_own_module(h, node.body):
                        found.append(f"{path.relative_to(ROOT)}:{h.lineno}")
    assert found == []


def test_the_ast_check_sees_a_guarded_project_import():
    tree = ast.parse("try:\n    from reflexng.fits import x\nexcept ImportError:\n    x = None\n")
    node = tree.body[0]
    assert _guards_own_module(node.handlers[0], node.body)


CORE = [m for m in _modules() if not m.startswith("reflexng.gui") and m not in ("reflexng.__main__",)]


def test_every_core_module_imports_without_fcntl():
    """As on Windows: fcntl cannot be imported, yet every core module imports (the work
    directory lock is portable; fork-only executor code is reached only when it runs)."""
    code = (
        "import sys, importlib\n"
        "sys.modules['fcntl'] = None\n"  # import fcntl now raises ImportError
        f"mods = {CORE!r}\n"
        "bad = []\n"
        "for m in mods:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{m}: {type(exc).__name__}: {exc}')\n"
        "assert 'fcntl' not in [k for k, v in sys.modules.items() if v is not None]\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(CORE) > 80  # the walk found the package


def test_work_directory_lock_without_fcntl(tmp_path):
    """The store opens, refuses a second holder and releases, with fcntl unimportable."""
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"
        "from reflexng.provenance.store import ProvenanceStore, WorkdirLockedError\n"
        f"w = {str(tmp_path / 'w')!r}\n"
        "s = ProvenanceStore(w)\n"
        "try:\n"
        "    ProvenanceStore(w)\n"
        "    sys.exit('a second store opened the locked work directory')\n"
        "except WorkdirLockedError as exc:\n"
        "    assert 'in use by another reflexng instance' in str(exc), exc\n"
        "s.close()\n"
        "ProvenanceStore(w).close()\n"
    )
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_lock_goes_with_a_killed_process(tmp_path):
    from reflexng.provenance.store import ProvenanceStore, WorkdirLockedError

    w = tmp_path / "w"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom reflexng.provenance.store import ProvenanceStore\n"
        f"s = ProvenanceStore({str(w)!r})\nprint('held', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WorkdirLockedError, match=f"PID {holder.pid} on "):
            ProvenanceStore(w)
    finally:
        holder.kill()
        holder.wait()
    ProvenanceStore(w).close()  # no stale lock after kill -9


def test_recipes_list_shows_no_test_recipes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REFLEXNG_RECIPE_MODULES"}
    env["REFLEXNG_CONFIG"] = str(tmp_path / "none.toml")
    res = subprocess.run([sys.executable, "-m", "reflexng", "recipes", "list"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    names = [line.split()[0] for line in res.stdout.splitlines() if line.strip()]
    assert "demo_img_bias" in names and not [n for n in names if n.startswith("test_")]
    env["REFLEXNG_RECIPE_MODULES"] = "reflexng.recipes.builtin.testing"  # what the test suite does
    res = subprocess.run([sys.executable, "-m", "reflexng", "recipes", "list"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert "test_noop" in res.stdout
