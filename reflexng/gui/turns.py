"""Work spread over event-loop turns (issue 17: no single turn of the GUI thread > 100 ms):
steps run one a turn; a step that returns an iterator runs ``SLICE`` seconds of it a turn,
or until it yields ``LATER`` (not ready: asked again ``WAIT_MS`` later)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from PySide6.QtCore import QObject, QTimer

SLICE = 0.02  # seconds of an iterator step per turn
WAIT_MS = 10
# the next slice is a 1 ms timer, not a zero one: zero timers are posted events, and a chain
# of them ran two slices back to back before other timers (the window's own) had their turn
NEXT_SLICE_MS = 1
LATER = object()  # yielded by a step waiting for something (e.g. a view to be filled)


def in_turns(context: QObject, steps: Iterable[Callable], current: Callable[[], bool] = lambda: True) -> None:
    """Run ``steps`` from the next turn on, one a turn, while ``current()`` (dropped once it
    is false, or when ``context`` is destroyed)."""
    todo: list = list(steps)

    def turn() -> None:
        if not todo or not current():
            return
        if callable(todo[0]):
            out = todo[0]()
            todo[0] = out if isinstance(out, Iterator) else iter(())
        end = time.perf_counter() + SLICE
        wait = 0
        for got in todo[0]:
            if got is LATER:
                wait = WAIT_MS
                break
            if time.perf_counter() > end:
                break
        else:
            todo.pop(0)
        if todo:
            QTimer.singleShot(wait or NEXT_SLICE_MS, context, turn)

    QTimer.singleShot(NEXT_SLICE_MS, context, turn)
