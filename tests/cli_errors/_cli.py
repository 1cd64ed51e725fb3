"""Helpers for the bad-input tests: run ``python -m reflexng`` as a user would, in a child process."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from reflexng.recipes.builtin.testing import write_header_fits

# one science task on the testing recipes: cheap to run, no numpy in the child
CASCADE = '''
from reflexng.cascade import classification_rule, data_source, metadata, task

metadata("tinyerr", instrument="TEST", description="bad-input test cascade", default_target="prep")
raw = (data_source("RAW_SCI")
       .with_classification_rule(classification_rule("SCI", {"DPR.TYPE": "SCI"}))
       .with_grouping_keywords(["OBJECT"])
       .build())
prep = (task("prep").with_recipe("RECIPE").with_main_input(raw)
        .with_recipe_parameters({"category": "PREP"PARAMS}).build())
'''


def write_cascade(path: Path, recipe: str = "test_noop", params: str = "") -> Path:
    """A one-task cascade at ``path`` running ``recipe`` (``params``: extra dict items as code)."""
    path.write_text(CASCADE.replace("RECIPE", recipe).replace("PARAMS", params), encoding="utf-8")
    return path


def write_raw(folder: Path, n: int = 1) -> list[Path]:
    """``n`` header-only raw science files (one object each)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"raw_{i}.fits"
        write_header_fits(p, {"OBJECT": f"OBJ{i}", "DPR.TYPE": "SCI"})
        out.append(p)
    return out


def tree_hashes(folder: Path) -> dict[str, tuple[str, int]]:
    """path -> (sha256, mtime_ns) of every file under ``folder``."""
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rx(*args: str | Path, cwd: Path | None = None, timeout: float = 60, env: dict | None = None):
    """Run ``python -m reflexng ARGS``; return the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "reflexng", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def check(res, code: int, *names: str | Path) -> str:
    """Assert exit ``code``, no traceback, and that stderr names each of ``names``; return stderr."""
    err = res.stderr
    assert res.returncode == code, f"exit {res.returncode}, expected {code}\nstderr:\n{err}\nstdout:\n{res.stdout}"
    assert "Traceback" not in err and "Traceback" not in res.stdout, err
    for n in names:
        assert str(n) in err, f"{n!r} not named in:\n{err}"
    return err
