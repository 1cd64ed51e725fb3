"""Job folders on disk: ``<workdir>/jobs/<task>/<job-id>/attempt-NNN/``.

An attempt folder holds ``job.json`` (what the child runs), ``inputs.sof`` (absolute path and
category per line), ``parameters.json``, ``log.txt``, ``replay.sh``, ``result.json`` and, once the
job succeeded, ``products/`` (written as ``tmp/`` and renamed only on success). Attempts are
numbered and never reused; ``latest`` is a symlink to the newest one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(text: str, fallback: str = "unnamed", limit: int = 120) -> str:
    """A file-name-safe version of any text: no separators, no leading dots, never empty."""
    s = _UNSAFE.sub("_", str(text)).strip("._")
    return (s or fallback)[:limit]


def job_folder(workdir: Path, task: str, job_id: str) -> Path:
    return Path(workdir) / "jobs" / safe_name(task) / safe_name(job_id)


def new_attempt(folder: Path) -> tuple[int, Path]:
    """Create the next ``attempt-NNN`` folder (never an existing one) and point ``latest`` at it."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := re.fullmatch(r"attempt-(\d+)", p.name))]
    n = max(numbers, default=0) + 1
    while True:
        path = folder / f"attempt-{n:03d}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
    link_tmp = folder / f".latest-{os.getpid()}-{n}"
    try:
        os.symlink(path.name, link_tmp)
        os.replace(link_tmp, folder / "latest")
    except OSError:
        pass
    return n, path


def write_attempt_files(attempt_dir: Path, spec: Mapping[str, Any], replay_command: str | None = None) -> None:
    """Write job.json, inputs.sof, parameters.json and replay.sh."""
    (attempt_dir / "job.json").write_text(json.dumps(spec, indent=1, default=str))
    (attempt_dir / "inputs.sof").write_text("".join(f"{i['path']} {i['category']}\n" for i in spec["inputs"]),
                                            encoding="utf-8", errors="surrogateescape")  # file names as they are
    (attempt_dir / "parameters.json").write_text(json.dumps(spec["parameters"], indent=1, sort_keys=True, default=str))
    lines = [
        "#!/bin/sh",
        f"# Re-runs job {spec['job_id']} (task {spec['task']}, recipe {spec['recipe']}) exactly as this attempt ran:",
        "# same recipe, inputs (inputs.sof) and parameters (parameters.json).",
        "# Products go to a new folder replay-<time>/ beside this script; nothing here is overwritten.",
        'cd "$(dirname "$0")" || exit 2',
    ]
    if replay_command:
        lines += ['out="replay-$(date +%Y%m%dT%H%M%S)"', 'mkdir -p "$out"', replay_command]
    else:
        lines.append(f"exec {shlex.quote(sys.executable)} -m reflexng.engine.replay \"$(pwd)\" \"$@\"")
    path = attempt_dir / "replay.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


def write_sof(path: Path, inputs: Sequence[Mapping[str, Any]]) -> None:
    path.write_text("".join(f"{i['path']} {i['category']}\n" for i in inputs), encoding="utf-8",
                    errors="surrogateescape")  # a file name that is not UTF-8 keeps its bytes
