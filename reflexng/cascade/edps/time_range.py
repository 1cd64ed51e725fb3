"""``edps.generator.time_range`` as reflexng reads it: EDPS validity ranges in days.

``RelativeTimeRange(left, right)`` accepts a candidate whose time lies between
``reference + left`` and ``reference + right`` days (``left <= 0 <= right``). The named ranges
are the ones EDPS defines; ``SAME_NIGHT`` is EDPS's ±0.4 d window, not reflexng's
noon-to-noon night of native cascades.
"""

from __future__ import annotations

import math

from reflexng.cascade.model import TimeRange

INF = math.inf
NEGATIVE_INF = -math.inf


class RelativeTimeRange(TimeRange):
    """A validity range from ``left`` to ``right`` days around the reference time."""

    def __init__(self, left: float, right: float, name: str | None = None) -> None:
        left, right = float(left), float(right)
        if left > 0 or right < 0:
            from reflexng.cascade.builders import caller_location
            from reflexng.cascade.errors import CascadeError

            raise CascadeError(
                f"EDPS feature RelativeTimeRange({left:g}, {right:g}) (a range not containing the "
                "reference time) is not supported yet", caller_location())
        before = None if math.isinf(left) else -left
        after = None if math.isinf(right) else right
        if name is None:
            name = _words(left, right)
        super().__init__(name, before, after)
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)

    def __repr__(self) -> str:
        return f"RelativeTimeRange({self.left:g}, {self.right:g})"


def _words(left: float, right: float) -> str:
    if math.isinf(left) and math.isinf(right):
        return "unlimited"
    if math.isinf(left):
        return f"any time before, up to {right:g} d after"
    if math.isinf(right):
        return f"from {-left:g} d before, any time after"
    if -left == right:
        return f"within ±{right:g} d"
    return f"from {-left:g} d before to {right:g} d after"


ONE_AND_HALF_HOURS = RelativeTimeRange(-0.0625, 0.0625, "within ±1.5 hours")
SAME_NIGHT = RelativeTimeRange(-0.4, 0.4, "same night (±0.4 d)")
NEXT_DAY = RelativeTimeRange(0, 1, "up to 1 d after")
ONE_DAY = RelativeTimeRange(-1, 1)
TWO_DAYS = RelativeTimeRange(-2, 2)
THREE_DAYS = RelativeTimeRange(-3, 3)
FOUR_DAYS = RelativeTimeRange(-4, 4)
FIVE_DAYS = RelativeTimeRange(-5, 5)
ONE_WEEK = RelativeTimeRange(-7, 7)
TWO_WEEKS = RelativeTimeRange(-14, 14)
THREE_WEEKS = RelativeTimeRange(-21, 21)
ONE_MONTH = RelativeTimeRange(-30, 30)
QUARTERLY = RelativeTimeRange(-90, 90)
IN_THE_PAST = RelativeTimeRange(NEGATIVE_INF, 0, "any time before")
UNLIMITED = RelativeTimeRange(NEGATIVE_INF, INF, "unlimited")

NAMED = ("ONE_AND_HALF_HOURS", "SAME_NIGHT", "NEXT_DAY", "ONE_DAY", "TWO_DAYS", "THREE_DAYS",
         "FOUR_DAYS", "FIVE_DAYS", "ONE_WEEK", "TWO_WEEKS", "THREE_WEEKS", "ONE_MONTH",
         "QUARTERLY", "IN_THE_PAST", "UNLIMITED")

__all__ = ["INF", "NEGATIVE_INF", "RelativeTimeRange", *NAMED]
