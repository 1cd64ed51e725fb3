"""Helpers shared by CLI verbs."""

from __future__ import annotations

import sys


def not_built(verb: str, issue: str):
    """Return a handler for a verb whose implementation has not landed yet."""

    def handler(args) -> int:
        print(f"reflexng {verb}: not built yet ({issue}).", file=sys.stderr)
        return 2

    return handler


def fail(message: str, code: int = 2) -> int:
    """Print ``reflexng: <message>`` on stderr and return ``code``."""
    print(f"reflexng: {message}", file=sys.stderr)
    return code


def check_folders(data: list | None = None, workdir=None) -> str | None:
    """A message for the first bad ``--data``/``--workdir`` path, or None when they are usable."""
    import os

    for d in data or []:
        if not os.path.exists(d):
            return f"--data {d}: not a folder (nothing at this path); check the path"
        if not os.path.isdir(d):
            return f"--data {d}: is a file, not a folder; give the folder that holds the data files"
    if workdir is not None and os.path.exists(workdir) and not os.path.isdir(workdir):
        return f"--workdir {workdir}: is a file, not a folder; choose a folder (it is created if missing)"
    return None


def parse_key_values(items: list[str] | None, what: str = "--param") -> dict[str, str]:
    """Turn ``["a=1", "b=x"]`` into ``{"a": "1", "b": "x"}``; raise ValueError with a clear message."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} {item!r}: expected NAME=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out
