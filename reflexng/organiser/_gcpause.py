"""The cyclic garbage collector pauses while organising, and a large result is frozen out of
its passes when it resumes.

Organising allocates many small objects and frees none: the collector would walk them again
and again (a third of the time), so it pauses meanwhile. When it resumes, the whole result is
in generation 0, and the next allocation anywhere in the process would walk all of it in one
pass that holds the interpreter lock: 0.4-0.9 s at 300,000 files, which in the GUI falls on
the GUI thread. So a result of ``FREEZE_FROM`` files or more is moved to the permanent
generation (``gc.freeze``, O(1)) before the collector resumes. Frozen objects are still freed
by reference counting (a result forms no reference cycles); only cyclic garbage made before
the freeze waits, until ``gc.unfreeze`` (the GUI's views unfreeze when they let go of a large
result: ``reflexng.gui.gc_hold``). The threshold is the GUI's: below it a pass costs less
than a scroll step, and nothing is frozen.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FREEZE_FROM = 20_000  # files; the same figure as reflexng.gui.gc_hold.FREEZE_FROM


@contextmanager
def paused() -> Iterator[list]:
    """Pause the collector; append the result to the yielded list to have it judged on the
    way out (frozen when it has ``FREEZE_FROM`` files or more)."""
    enabled = gc.isenabled()
    gc.disable()
    out: list = []
    try:
        yield out
    finally:
        if enabled:
            if out and len(getattr(out[-1], "files", ())) >= FREEZE_FROM:
                gc.freeze()
            gc.enable()
