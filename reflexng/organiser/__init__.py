"""The data organiser: classification, association, jobs and datasets (Qt-free).

``organise(cascade, data_dirs, target)`` scans and organises; ``organise_scanned`` takes
already-scanned records; ``classify`` and ``needed_keywords`` are the building blocks.
See docs/organiser-json.md for the ``--json`` schema and the test-spec format.

Names are imported on first use, so ``reflexng.organiser.store`` (the CLI's fast path for
unchanged folders) does not pay for the cascade and planning modules.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "OrganiseCancelled": "api", "job_graph": "api", "organise": "api",
    "organise_scanned": "api", "resolve_targets": "api",
    "classify": "classify", "needed_keywords": "classify",
    **{n: "model" for n in ("AMBIGUOUS", "DUPLICATE", "OK", "UNCLASSIFIED", "UNREADABLE",
                            "Association", "Candidate", "Dataset", "FileRecord", "Job",
                            "OrganiseResult")},
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'reflexng.organiser' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"reflexng.organiser.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
