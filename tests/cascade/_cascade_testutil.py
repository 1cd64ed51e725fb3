"""Helpers for cascade tests (imported by name: tests/cascade is on sys.path under pytest)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cascades"
FIG1 = FIXTURES / "fig1.py"

HEADER = """\
from reflexng.cascade import *
from reflexng.cascade import classification_rule, data_source, task, workflow_parameter, metadata, subworkflow
"""


def line_of(text: str, marker: str) -> int:
    """1-based line number of the first line containing ``marker``."""
    for i, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"marker {marker!r} not in text")
