"""Conversions from EDPS arguments to reflexng's cascade model (keywords, categories, time
ranges, conditions, match functions), each failing with the workflow's file and line."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import ClassificationRule, SourceLocation, TimeRange
from reflexng.cascade.parameters import canonical_keyword

from .files import ClassifiedFitsFile, JobParameters

# --------------------------------------------------------------------------- conversions


def _keyword(k: Any, what: str, loc: SourceLocation) -> Any:
    if isinstance(k, str):
        if k.startswith("$"):
            return _ParamRef(k[1:])
        return canonical_keyword(k)
    raise CascadeError(f"{what}: keyword names must be strings, got {k!r}", loc)


def _keywords(items: Any, what: str, loc: SourceLocation) -> tuple[Any, ...]:
    if isinstance(items, str) or not isinstance(items, Iterable):
        raise CascadeError(f"{what} needs a list of keyword names, e.g. [{items!r}]", loc)
    return tuple(_keyword(k, what, loc) for k in items)


class _ParamRef:
    """``"$name"`` in grouping keywords: the workflow parameter ``name`` holds the keyword(s);
    resolved when the parameters file has been read."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"${self.name}"


def _category(c: Any, what: str, loc: SourceLocation) -> str:
    if isinstance(c, ClassificationRule):
        return c.category
    if isinstance(c, str) and c:
        return c
    raise CascadeError(f"{what}: expected a classification rule or a category name, got {c!r}", loc)


def _categories(items: Any, what: str, loc: SourceLocation) -> tuple[str, ...]:
    if items is None:
        return ()
    if isinstance(items, (str, ClassificationRule)):
        items = [items]
    return tuple(dict.fromkeys(_category(c, what, loc) for c in items))


def _time_range(tr: Any, loc: SourceLocation) -> TimeRange:
    if isinstance(tr, TimeRange):
        return tr
    raise CascadeError(f"time_range must be a RelativeTimeRange or a named range such as ONE_DAY, got {tr!r}", loc)


def _named(fn: Callable, wrapper: Callable) -> Callable:
    """``wrapper`` carrying ``fn``'s name and doc (they appear in "why" messages)."""
    try:
        functools.update_wrapper(wrapper, fn)
    except (AttributeError, TypeError):  # a callable object without __name__
        pass
    return wrapper


def _condition(fn: Callable | None, what: str, loc: SourceLocation) -> Callable | None:
    """An EDPS condition ``fn(params: JobParameters)`` as a native ``cond(ctx)``."""
    if fn is None:
        return None
    if not callable(fn):
        raise CascadeError(f"{what}: condition must be a function of the job parameters", loc)
    return _named(fn, lambda ctx: fn(JobParameters(ctx)))


def _match_function(fn: Callable, loc: SourceLocation) -> Callable:
    """An EDPS match function ``fn(ref, f)`` on file objects as a native one."""
    if not callable(fn):
        raise CascadeError("with_match_function needs a function fn(ref, f)", loc)

    def native(ctx, headers):
        ref = ctx.header if ctx is not None else {}
        return fn(ClassifiedFitsFile("", None, ref), ClassifiedFitsFile("", None, headers))

    return _named(fn, native)


def _levels(level: Any, loc: SourceLocation) -> int:
    if not isinstance(level, int) or isinstance(level, bool):
        raise CascadeError(f"level must be an integer (negative: stricter than the calibration plan), got {level!r}", loc)
    return level


