"""Fixtures for cascade tests: write real cascade files into tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from _cascade_testutil import HEADER


@pytest.fixture
def write_cascade(tmp_path):
    """``write_cascade(body, name="c")`` -> (path, full text); the body gets the import header."""

    def write(body: str, name: str = "c", header: bool = True) -> tuple[Path, str]:
        text = (HEADER if header else "") + textwrap.dedent(body)
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        return path, text

    return write
