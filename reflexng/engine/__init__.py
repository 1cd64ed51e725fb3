"""The execution engine: the interactive :class:`Session`, child-process executor, smart re-runs.

Qt-free. ``from reflexng.engine import Session, Event`` — see docs/session-api.md.
"""

__all__ = ["Event", "RunSummary", "Session"]


def __getattr__(name: str):
    # imported on first use: ``reflexng.engine.inspection`` (imported by cascade files) does
    # not pay for the session and its executors
    if name in __all__:
        from reflexng.engine import session

        return getattr(session, name)
    raise AttributeError(f"module 'reflexng.engine' has no attribute {name!r}")
