"""The execution engine: the interactive :class:`Session`, child-process executor, smart re-runs.

Qt-free. ``from reflexng.engine import Session, Event`` — see docs/session-api.md.
"""

from reflexng.engine.session import Event, RunSummary, Session

__all__ = ["Event", "RunSummary", "Session"]
