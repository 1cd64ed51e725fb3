"""Docs that run: every example in README.md and docs/*.md is executed, so a doc that drifts fails.

What runs: fenced code blocks tagged ``sh`` / ``bash`` / ``console`` (with ``bash -e``) and
``python`` (with this interpreter), in the order they appear in the file, each in a child process
whose working directory and ``HOME`` are one temporary folder per document (so ``~/demo`` of one
block is there for the next). Blocks tagged otherwise (json, yaml, plain) are not run.

Markers, on the line(s) just before the opening fence (HTML comments: invisible on GitHub):

* ``<!-- no-run -->`` — do not run this block (it needs a display, root, the network, an ESO
  installation, or runs for long). Use sparingly: say in the text what the block needs.
* ``<!-- file: NAME -->`` — write the block into ``NAME`` in the document's folder instead of
  running it (a cascade, a parameter set); later blocks can use the file.

Small data: ``REFLEXNG_DEMO_SIZE=256`` is set, so ``reflexng demo`` and ``reflexng demo-data``
simulate 256-pixel detectors unless a command gives ``--size`` (a reduction of the imaging demo then
takes seconds, not minutes). Documented for contributors in CONTRIBUTING.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_AS = {"sh": "sh", "bash": "sh", "console": "sh", "shell": "sh", "python": "python", "py": "python"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
MARK = re.compile(r"<!--\s*(no-run|file:\s*(\S+))\s*-->")
TIMEOUT = 900


def blocks(path: Path) -> list[tuple[int, str, str, str | None]]:
    """(line number, kind, code, file name or None) for every runnable block of a Markdown file;
    kind is "sh", "python", "file" or "skip"."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        marker = None
        j = start - 1
        while j >= 0 and (lines[j].strip() == "" or MARK.search(lines[j])):
            mk = MARK.search(lines[j])
            if mk:
                marker = mk
                break
            j -= 1
        code = "\n".join(body) + "\n"
        if marker is not None and marker.group(1) == "no-run":
            out.append((start + 1, "skip", code, None))
        elif marker is not None and marker.group(2):
            out.append((start + 1, "file", code, marker.group(2)))
        elif lang in RUN_AS:
            out.append((start + 1, RUN_AS[lang], code, None))
    return out


CASES = [(doc, n, kind, code, name) for doc in DOCS for (n, kind, code, name) in blocks(doc) if kind != "skip"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    made: dict[Path, Path] = {}

    def folder(doc: Path) -> Path:
        if doc not in made:
            made[doc] = tmp_path_factory.mktemp(doc.stem.replace(".", "_"))
        return made[doc]

    return folder


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "REFLEXNG_"))}
    bindir = str(Path(sys.executable).parent)
    env.update({"HOME": str(home), "PATH": bindir + os.pathsep + env.get("PATH", ""), "REFLEXNG_DEMO_SIZE": "256",
                "QT_QPA_PLATFORM": "offscreen", "PYTHONSAFEPATH": "1", "MPLBACKEND": "Agg"})
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("doc,line,kind,code,name", CASES,
                         ids=[f"{c[0].relative_to(ROOT)}:{c[1]}" for c in CASES])
def test_doc_example_runs(folders, doc, line, kind, code, name):
    where = folders(doc)
    if kind == "file":
        (where / name).write_text(code, encoding="utf-8")
        return
    if kind == "sh":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    else:
        cmd = [sys.executable, "-c", code]
    res = subprocess.run(cmd, cwd=where, env=_env(where), capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0, (
        f"{doc.relative_to(ROOT)}:{line}: the example fails (exit {res.returncode}); fix the doc or the code, "
        f"or mark the block <!-- no-run --> if it cannot run here\n--- code ---\n{code}"
        f"--- stderr ---\n{res.stderr[-3000:]}\n--- stdout ---\n{res.stdout[-1500:]}")
    assert "Traceback" not in res.stderr, res.stderr[-3000:]


def test_markers_are_found():
    sample = ROOT / "tests" / "docs" / "_sample.md"
    sample.write_text("text\n<!-- no-run -->\n```sh\nexit 1\n```\n\n<!-- file: a.py -->\n```python\nx = 1\n```\n"
                      "```sh\necho hi\n```\n```json\n{}\n```\n", encoding="utf-8")
    try:
        kinds = [(k, n) for _l, k, _c, n in blocks(sample)]
    finally:
        sample.unlink()
    assert kinds == [("skip", None), ("file", "a.py"), ("sh", None)]
