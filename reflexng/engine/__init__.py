"""The execution engine: the interactive :class:`Session`, child-process executor, smart re-runs.

Qt-free. ``from reflexng.engine import Session, Event`` — see docs/session-api.md.
"""

from reflexng.engine.session import Session
from reflexng.engine.state import (
    Event,
    EventKind,
    JobRecord,
    JobStatus,
    OptionError,
    RunOptions,
    RunSummary,
    SessionState,
)

__all__ = ["Event", "EventKind", "JobRecord", "JobStatus", "OptionError", "RunOptions", "RunSummary", "Session",
           "SessionState"]
