"""The data organiser: classification, association, jobs and datasets (Qt-free).

``organise(cascade, data_dirs, target)`` scans and organises; ``organise_scanned`` takes
already-scanned records; ``classify`` and ``needed_keywords`` are the building blocks.
See docs/organiser-json.md for the ``--json`` schema and the test-spec format.
"""

from reflexng.organiser.api import (
    OrganiseCancelled,
    job_graph,
    organise,
    organise_scanned,
    resolve_targets,
)
from reflexng.organiser.classify import classify, needed_keywords
from reflexng.organiser.model import (
    AMBIGUOUS,
    DUPLICATE,
    OK,
    UNCLASSIFIED,
    UNREADABLE,
    Association,
    Candidate,
    Dataset,
    FileRecord,
    Job,
    OrganiseResult,
)

__all__ = [
    "AMBIGUOUS", "DUPLICATE", "OK", "UNCLASSIFIED", "UNREADABLE", "Association", "Candidate",
    "Dataset", "FileRecord", "Job", "OrganiseCancelled", "OrganiseResult", "classify",
    "job_graph", "needed_keywords", "organise", "organise_scanned", "resolve_targets",
]
