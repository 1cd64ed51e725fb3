"""Fixtures for the bad-input tests (helpers in ``_cli``)."""

from __future__ import annotations

import pytest

from ._cli import write_cascade, write_raw


@pytest.fixture
def tiny(tmp_path):
    """(cascade path, data folder) of one tiny reduction."""
    data = tmp_path / "data"
    write_raw(data)
    return write_cascade(tmp_path / "tiny.py"), data
