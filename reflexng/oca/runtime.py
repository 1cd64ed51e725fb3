"""Helpers the cascades generated from OCA files call (kept small and dependency-free).

Comparison semantics follow Gasgano: a missing keyword never matches; numbers compare
numerically (also when one side is a numeric string); strings compare stripped and
case-sensitively; ``like`` is SQL LIKE (``%`` any run, ``_`` one character).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def get(header: Mapping[str, Any], derived: Mapping[str, Any], key: str) -> Any:
    """A value set by an earlier classification rule (``DO.CATG``, ``RAW.TYPE``) or a header
    keyword."""
    if key in derived:
        return derived[key]
    return header.get(key)


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    if a is None or b is None:
        return None
    if isinstance(a, str) and isinstance(b, str):
        return a.strip(), b.strip()
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return na, nb
    return str(a).strip(), str(b).strip()


def eq(a: Any, b: Any) -> bool:
    p = _pair(a, b)
    return p is not None and p[0] == p[1]


def ne(a: Any, b: Any) -> bool:
    p = _pair(a, b)
    return p is not None and p[0] != p[1]


def _order(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool:
    p = _pair(a, b)
    if p is None or type(p[0]) is not type(p[1]):
        return False
    return op(*p)


def lt(a: Any, b: Any) -> bool:
    return _order(a, b, lambda x, y: x < y)


def le(a: Any, b: Any) -> bool:
    return _order(a, b, lambda x, y: x <= y)


def gt(a: Any, b: Any) -> bool:
    return _order(a, b, lambda x, y: x > y)


def ge(a: Any, b: Any) -> bool:
    return _order(a, b, lambda x, y: x >= y)


@functools.lru_cache(maxsize=1024)
def _like_re(pattern: str) -> re.Pattern:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def like(value: Any, pattern: Any) -> bool:
    if value is None or pattern is None:
        return False
    return _like_re(str(pattern)).fullmatch(str(value).strip()) is not None


def opt_eq(a: Any, b: Any) -> bool:
    """OCA ``?=``: equal when both sides have the keyword; a missing keyword on either side
    does not prevent the match (the undocumented operator's reading in reflexng)."""
    if a is None or b is None:
        return True
    return eq(a, b)


@functools.lru_cache(maxsize=256)
def _regexp(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def regexp(value: Any, pattern: Any) -> bool:
    """OCA ``regexp``: the value contains a match of the regular expression."""
    if value is None or pattern is None:
        return False
    try:
        return _regexp(str(pattern)).search(str(value).strip()) is not None
    except re.error:
        return False


def is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("number", "numeric", "int", "integer", "float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is not None


def truthy(value: Any) -> bool:
    return bool(value) and value not in ("F", "FALSE", "false", "0")


def memo(classify: Callable[[Mapping[str, Any]], dict], keywords: Sequence[str]):
    """Cache ``classify(header)`` by the values of ``keywords`` (every data source of an
    imported cascade asks the same question for each file)."""
    cache: dict[tuple, dict] = {}
    keys = tuple(keywords)

    def cached(header: Mapping[str, Any]) -> dict:
        try:
            key = tuple(header.get(k) for k in keys)
            hash(key)
        except TypeError:
            return classify(header)
        got = cache.get(key)
        if got is None:
            if len(cache) > 20000:
                cache.clear()
            got = cache[key] = classify(header)
        return got

    cached.__name__ = getattr(classify, "__name__", "classify")
    cached.__doc__ = classify.__doc__
    return cached
