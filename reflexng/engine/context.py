"""What the Session, its Scheduler and its JobRunner share: the state lock and the event outbox.

State changes happen inside ``with ctx.locked():``; events emitted there wait in an outbox
and are delivered, in the order they were emitted, once the outermost ``locked()`` block has
released the lock — so a subscriber may call back into the session from its callback, and a
slow subscriber never holds up another thread's state change. One thread delivers at a time.
"""

from __future__ import annotations

import collections
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reflexng.engine.recipes import RecipeInfo
from reflexng.engine.state import Event, RunOptions, SessionState
from reflexng.provenance.store import ProvenanceStore


class RunContext:
    """The shared parts of one session (the Session creates one and hands it to its parts)."""

    def __init__(self, cascade: Any, workdir: Path, store: ProvenanceStore, options: RunOptions,
                 state: SessionState) -> None:
        self.cascade = cascade
        self.workdir = workdir
        self.store = store
        self.options = options
        self.state = state
        self.result: Any = None  # the OrganiseResult
        self.categories: dict[str, str | None] = {}  # raw file path -> category
        self.recipes: dict[str, RecipeInfo] = {}
        self.run_id: int | None = None
        self.subscribers: list[Callable[[Event], None]] = []
        self.cond = threading.Condition(threading.RLock())
        self.generation = 0  # bumped by notify(): a waiter sees changes it was not woken for
        self._local = threading.local()
        self._outbox: collections.deque[Event] = collections.deque()
        self._delivering = threading.Lock()

    # ------------------------------------------------------------------ lock

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state lock; events emitted inside are delivered after it is released."""
        local = self._local
        self.cond.acquire()
        local.depth = getattr(local, "depth", 0) + 1
        try:
            yield
        finally:
            local.depth -= 1
            self.cond.release()
            if local.depth == 0:
                self.flush()

    def notify(self) -> None:
        """Wake the scheduler (call inside ``locked()``)."""
        self.generation += 1
        self.cond.notify_all()

    def wait(self, generation: int, timeout: float) -> None:
        """Wait (outside ``locked()``) until something changed after ``generation``, or ``timeout``."""
        with self.cond:
            if self.generation == generation:
                self.cond.wait(timeout)

    # ------------------------------------------------------------------ events

    def emit(self, kind: str, job_id: str | None = None, **data: Any) -> None:
        self._outbox.append(Event(kind, job_id, data))
        if getattr(self._local, "depth", 0) == 0:
            self.flush()

    def flush(self) -> None:
        """Deliver waiting events in order. A thread that finds another one delivering leaves
        its events to that one and returns at once (so a subscriber may wait for a thread that
        changes the session); inside a subscriber's callback this is a no-op too."""
        local = self._local
        if getattr(local, "delivering", False):
            return
        while self._outbox:
            if not self._delivering.acquire(blocking=False):
                return  # the thread delivering now delivers these too (it looks again after releasing)
            local.delivering = True
            try:
                while True:
                    try:
                        ev = self._outbox.popleft()
                    except IndexError:
                        break
                    for cb in list(self.subscribers):
                        try:
                            cb(ev)
                        except Exception:  # an observer's bug must not stop the run
                            traceback.print_exc()
            finally:
                local.delivering = False
                self._delivering.release()

    def settle(self) -> None:
        """Return once every event emitted so far has been delivered (used where a caller may
        expect them, e.g. when ``run()`` returns); a no-op inside a subscriber's callback."""
        if getattr(self._local, "delivering", False):
            return
        while True:
            self.flush()
            with self._delivering:  # waits for a thread that is delivering
                pass
            if not self._outbox:
                return
