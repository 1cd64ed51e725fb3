"""The execution engine: the interactive :class:`Session`, child-process executors, smart re-runs.

Qt-free. ``from reflexng.engine import Session, Event`` — see docs/session-api.md.
"""

__all__ = ["Event", "EventKind", "JobRecord", "JobStatus", "OptionError", "RunOptions", "RunSummary", "Session",
           "SessionState"]


def __getattr__(name: str):
    # imported on first use: ``reflexng.engine.inspection`` (imported by cascade files) does
    # not pay for the session and its executors
    if name == "Session":
        from reflexng.engine.session import Session

        return Session
    if name in __all__:
        from reflexng.engine import state

        return getattr(state, name)
    raise AttributeError(f"module 'reflexng.engine' has no attribute {name!r}")
