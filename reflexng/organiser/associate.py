"""Association: choose the associated inputs of one job, and say why.

Candidates (files, or potential upstream jobs) are put in a :class:`Pool`. For each match
rule a pool builds an index once: candidates bucketed by their match-keyword values, each
bucket sorted by (MJD, path). A query is a dictionary look-up plus a bisect and a walk
outwards from the reference time, closest first; ties are broken by path.
"""

from __future__ import annotations

import math
import os
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from reflexng.cascade.model import MatchRule, TimeRange, night_of
from reflexng.organiser._fast import maker
from reflexng.organiser.classify import iso_of, key_function, norm, where
from reflexng.organiser.model import Candidate

DEFAULT_RULE = MatchRule()
_candidate = maker(Candidate)
N_REJECTED = 3  # rejected nearest candidates recorded per association


class Item:
    """A minimal candidate. Pools take any object with ``mjd``, ``path`` and ``headers``:
    the organiser puts its :class:`FileRecord` objects and potential jobs in directly."""

    __slots__ = ("mjd", "path", "headers", "obj")

    def __init__(self, mjd: float | None, path: str, headers: Mapping[str, Any], obj: Any = None) -> None:
        self.mjd = mjd
        self.path = path
        self.headers = headers
        self.obj = obj


class Pool:
    """Candidates of one associated input (one data source, or one task's potential jobs)."""

    def __init__(self, what: str, items: Sequence[Item], *, empty_words: str = "",
                 path_ordered: bool = False) -> None:
        """``path_ordered``: items with equal times already come in path order (then a
        stable sort on time alone gives (time, path) order)."""
        self.what = what  # words for messages: "RAW_FLAT"
        self.empty_words = empty_words or f"there are no {what} files"
        dated = [i for i in items if i.mjd is not None]
        if path_ordered:
            dated.sort(key=attrgetter("mjd"))
        else:
            dated.sort(key=lambda i: (i.mjd, i.path))
        self.undated = sorted((i for i in items if i.mjd is None), key=attrgetter("path"))
        self.items = dated
        self.mjds = [i.mjd for i in dated]
        self._index: dict[tuple[str, ...], dict[tuple, tuple[list[float], list[Item], list[Item]]]] = {}
        self._finders: dict[int, Finder] = {}  # by id(rule): a finder keeps its rule alive

    def finder(self, rule: MatchRule) -> Finder:
        """The prepared search of ``rule`` over this pool (made once)."""
        f = self._finders.get(id(rule))
        if f is None:
            f = self._finders[id(rule)] = Finder(self, rule)
        return f

    def __len__(self) -> int:
        return len(self.items) + len(self.undated)

    def buckets(self, keywords: tuple[str, ...]):
        """``{normalised keyword values: (mjds, dated items, undated items)}``, each list in
        pool order (made once per keyword tuple)."""
        idx = self._index.get(keywords)
        if idx is None:
            idx = {}
            for slot, items in ((1, self.items), (2, self.undated)):
                for key, members in group_by_values(items, keywords).items():
                    b = idx.get(key)
                    if b is None:
                        b = idx[key] = ([], [], [])
                    b[slot].extend(members)
            for b in idx.values():
                b[0].extend([it.mjd for it in b[1]])
            self._index[keywords] = idx
        return idx


def _bool_like(x: Any) -> bool:
    """A value a dictionary confuses with a bool (``True == 1 == 1.0``) while ``norm`` does not."""
    c = x.__class__
    return c is bool or ((c is int or c is float) and (x == 0 or x == 1))


def group_by_values(items: Sequence[Any], keywords: tuple[str, ...]) -> dict[tuple, list[Any]]:
    """``{tuple of norm(header value) per keyword: items}``, items in their given order.

    Items are first grouped by their raw values (one compiled key function call each), then
    the few distinct raw keys are normalised; per-item normalising is only needed where a
    raw group mixes bools with equal numbers.
    """
    keyf = key_function(keywords)
    raw: dict[tuple, list[Any]] = {}
    for it in items:
        k = keyf(it.headers.get)
        b = raw.get(k)
        if b is None:
            raw[k] = [it]
        else:
            b.append(it)
    out: dict[tuple, list[Any]] = {}
    merged = False
    for k, members in raw.items():
        mixed = False
        for j, x in enumerate(k):
            if _bool_like(x):
                kw = keywords[j]
                classes = {it.headers.get(kw).__class__ for it in members}
                if bool in classes and len(classes) > 1:
                    mixed = True
                    break
        if mixed:
            groups: dict[tuple, list[Any]] = {}
            for it in members:
                groups.setdefault(tuple([norm(it.headers.get(kw)) for kw in keywords]), []).append(it)
        else:
            groups = {tuple([norm(x) for x in k]): members}
        for nk, part in groups.items():
            got = out.get(nk)
            if got is None:
                out[nk] = part
            else:
                got.extend(part)
                merged = True
    if merged:  # several raw groups fell into one: restore the given order
        order = {id(it): i for i, it in enumerate(items)}
        for members in out.values():
            members.sort(key=lambda it: order[id(it)])
    return out


def window(tr: TimeRange, ref: float) -> tuple[float, float, bool]:
    """(low, high, high_inclusive) MJD bounds of a time range around ``ref``."""
    if tr.same_night:
        n = night_of(ref)
        return n + 0.5, n + 1.5, False
    lo = -math.inf if tr.before is None else ref - tr.before - 1e-9
    hi = math.inf if tr.after is None else ref + tr.after + 1e-9
    return lo, hi, True


def unlimited(tr: TimeRange) -> bool:
    return not tr.same_night and tr.before is None and tr.after is None


class Finder:
    """One match rule over one pool, prepared once: its buckets, its compiled key function
    and its time window. ``find`` is :func:`search_rule` without the per-query set-up."""

    __slots__ = ("rule", "keywords", "keyf", "buckets", "same_night", "before", "after",
                 "unlimited", "fn")

    def __init__(self, pool: Pool, rule: MatchRule) -> None:
        self.rule = rule
        self.keywords = kws = rule.keywords
        self.keyf = key_function(kws)
        self.buckets = pool.buckets(kws)
        tr = rule.time_range
        self.same_night = tr.same_night
        self.before = tr.before
        self.after = tr.after
        self.unlimited = unlimited(tr)
        self.fn = rule.function

    def find(self, ref_headers: Mapping[str, Any], ref_mjd: float | None, ctx: Any,
             max_ret: int) -> list[tuple[float | None, Item]]:
        """Candidates satisfying the rule, closest in time first (ties by path), at most max_ret."""
        return self.find_key(self.keyf(ref_headers.get), ref_headers, ref_mjd, ctx, max_ret)

    def find_key(self, key: tuple, ref_headers: Mapping[str, Any], ref_mjd: float | None,
                 ctx: Any, max_ret: int) -> list[tuple[float | None, Item]]:
        """:meth:`find` given ``key``, the reference's raw values of the rule's keywords
        (``self.keyf(ref_headers.get)``: shared by the rules of one job with those keywords)."""
        buckets = self.buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets.get(tuple([norm(ref_headers.get(k)) for k in self.keywords]))
            if bucket is None:
                return []
        mjds, items, undated = bucket
        fn = self.fn
        if ref_mjd is not None and mjds:
            # the window: same bounds as window()
            if self.same_night:
                n = math.floor(ref_mjd - 0.5)
                start = bisect_left(mjds, n + 0.5)
                stop = bisect_left(mjds, n + 1.5)
            else:
                b, a = self.before, self.after
                start = 0 if b is None else bisect_left(mjds, ref_mjd - b - 1e-9)
                stop = len(mjds) if a is None else bisect_right(mjds, ref_mjd + a + 1e-9)
            i = bisect_left(mjds, ref_mjd, start, stop)
            left, right = i - 1, i
            if max_ret == 1 and fn is None:
                # the common case: the nearer neighbour, unless a tie needs the path to decide
                dl = ref_mjd - mjds[left] if left >= start else _INF
                dr = mjds[right] - ref_mjd if right < stop else _INF
                if dl != dr:
                    if dl < dr:
                        if left - 1 < start or mjds[left - 1] != mjds[left]:
                            it = items[left]
                            return [(it.mjd - ref_mjd, it)]
                    elif right + 1 >= stop or mjds[right + 1] != mjds[right]:
                        it = items[right]
                        return [(it.mjd - ref_mjd, it)]
                elif dl == _INF:
                    left, right = start - 1, stop  # empty window
            found: list[tuple[float, str, Item]] = []
            limit = None
            while left >= start or right < stop:
                if right < stop and (left < start or mjds[right] - ref_mjd <= ref_mjd - mjds[left]):
                    it = items[right]
                    right += 1
                else:
                    it = items[left]
                    left -= 1
                adt = abs(it.mjd - ref_mjd)
                if limit is not None and adt > limit:
                    break
                if fn is not None and not _call(fn, ctx, it.headers):
                    continue
                found.append((adt, it.path, it))
                if limit is None and len(found) >= max_ret:
                    limit = adt
            if len(found) > 1:
                found.sort(key=_dt_path)
            out: list[tuple[float | None, Item]] = [(it.mjd - ref_mjd, it) for _, _, it in found[:max_ret]]
        else:
            out = []
        if len(out) < max_ret and self.unlimited:
            rest = undated if ref_mjd is not None else [*items, *undated]
            if ref_mjd is None:
                rest = sorted(rest, key=_path)
            for it in rest:
                if fn is None or _call(fn, ctx, it.headers):
                    out.append((None, it))
                    if len(out) >= max_ret:
                        break
        return out

    def find_many(self, keys: Sequence[tuple], refs: Sequence[tuple[Mapping[str, Any], float | None]],
                  max_ret: int) -> list[list[tuple[float | None, Item]]]:
        """``[self.find_key(key, headers, mjd, None, max_ret) for key, (headers, mjd) in
        zip(keys, refs)]`` (rules without a match function): the common case, the nearest
        candidate in a time window, in one loop; the others through :meth:`find_key`."""
        if max_ret != 1 or self.fn is not None:
            return [self.find_key(k, h, m, None, max_ret) for k, (h, m) in zip(keys, refs)]
        buckets = self.buckets
        same_night, b, a, unlimited = self.same_night, self.before, self.after, self.unlimited
        find_key = self.find_key
        floor = math.floor
        inf = _INF
        out: list[list[tuple[float | None, Item]]] = []
        append = out.append
        for key, (h, m) in zip(keys, refs):
            bucket = buckets.get(key)
            if bucket is None or m is None:
                append(find_key(key, h, m, None, 1))
                continue
            mjds, items, undated = bucket
            if not mjds:
                append([(None, undated[0])] if unlimited and undated else [])
                continue
            if same_night:
                n = floor(m - 0.5)
                start = bisect_left(mjds, n + 0.5)
                stop = bisect_left(mjds, n + 1.5)
            else:
                start = 0 if b is None else bisect_left(mjds, m - b - 1e-9)
                stop = len(mjds) if a is None else bisect_right(mjds, m + a + 1e-9)
            i = bisect_left(mjds, m, start, stop)
            left = i - 1
            dl = m - mjds[left] if left >= start else inf
            dr = mjds[i] - m if i < stop else inf
            # the nearer neighbour, unless a tie needs the path to decide (as find_key)
            if dl < dr:
                if left - 1 < start or mjds[left - 1] != mjds[left]:
                    it = items[left]
                    append([(it.mjd - m, it)])
                    continue
            elif dr < dl:
                if i + 1 >= stop or mjds[i + 1] != mjds[i]:
                    it = items[i]
                    append([(it.mjd - m, it)])
                    continue
            append(find_key(key, h, m, None, 1))
        return out


_INF = math.inf
_path = attrgetter("path")


def _dt_path(t: tuple) -> tuple:
    return (t[0], t[1])


def search_rule(
    pool: Pool, rule: MatchRule, ref_headers: Mapping[str, Any], ref_mjd: float | None, ctx: Any,
    max_ret: int,
) -> list[tuple[float | None, Item]]:
    """Candidates satisfying one rule, closest in time first (ties by path), at most max_ret."""
    return pool.finder(rule).find(ref_headers, ref_mjd, ctx, max_ret)


def _call(fn, ctx, headers) -> bool:
    try:
        return bool(fn(ctx, headers))
    except Exception:  # a match function failing on an odd header = no match
        return False


def search(
    pool: Pool, rules: Sequence[MatchRule], ref_headers, ref_mjd, ctx, min_ret: int, max_ret: int
) -> tuple[list[tuple[float | None, Item]], MatchRule | None, bool]:
    """Quality levels in order: the first rule giving enough candidates wins.

    Returns (chosen, rule, complete). When no level suffices, the best partial result.
    """
    need = max(min_ret, 1)
    best: list[tuple[float | None, Item]] = []
    best_rule = None
    for rule in rules:
        got = pool.finder(rule).find(ref_headers, ref_mjd, ctx, max_ret)
        if len(got) >= need:
            return got, rule, True
        if len(got) > len(best):
            best, best_rule = got, rule
    return best, best_rule, min_ret == 0


# --------------------------------------------------------------------------- explanations


def rule_words(rule: MatchRule, ref_headers: Mapping[str, Any]) -> str:
    parts = [f"{k}={ref_headers.get(k)!r}" if isinstance(ref_headers.get(k), str)
             else f"{k}={ref_headers.get(k)}" for k in rule.keywords]
    if rule.function is not None:
        parts.append(f"{getattr(rule.function, '__name__', 'match function')} true")
    return ("with " + ", ".join(parts) + " ") if parts else ""


def why_not(rule: MatchRule, ref_headers, ref_mjd, ctx, it: Item) -> str:
    """The first thing that fails for ``it`` under ``rule`` ("" when it passes)."""
    for k in rule.keywords:
        a, b = ref_headers.get(k), it.headers.get(k)
        if a != b and norm(a) != norm(b):
            return f"{k} is {b!r}, job has {a!r}"
    if rule.function is not None and not _call(rule.function, ctx, it.headers):
        return f"{getattr(rule.function, '__name__', 'match function')} is false"
    tr = rule.time_range
    if not unlimited(tr):
        if ref_mjd is None or it.mjd is None:
            return "no observation time"
        dt = it.mjd - ref_mjd
        if not tr.contains(dt, ref_mjd, it.mjd):
            return f"{abs(dt):.2f} days {'before' if dt < 0 else 'after'}, outside {tr.describe()}"
    return ""


class LazyRejected(Sequence):
    """The rejected candidates of one association, worked out when first read.

    Most explanations are never looked at; computing them on demand keeps organising fast.
    Reads like a tuple of :class:`Candidate` (iterate, index, ``len``, compare with a tuple).
    """

    __slots__ = ("_args", "_items")  # _items is set when first read

    def __init__(self, *args: Any) -> None:
        self._args = args

    def _get(self) -> tuple[Candidate, ...]:
        try:
            return self._items
        except AttributeError:
            items = self._items = rejected(*self._args)
            self._args = None
            return items

    def __getitem__(self, i):
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self):
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        return self._get() == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._get())

    def __reduce__(self):  # pickles (and deep-copies) as the plain tuple it stands for
        # worked out, not kept, when not asked for yet: storing a result would otherwise keep
        # every association's rejected candidates in memory
        items = getattr(self, "_items", None)
        return (tuple, (rejected(*self._args) if items is None else items,))


def lazy_rejected(args: tuple) -> LazyRejected:
    """``LazyRejected(*args)`` without the call of ``__init__`` (one per association)."""
    lr = _new(LazyRejected)
    lr._args = args
    return lr


_new = object.__new__


def rejected(
    pool: Pool, rule: MatchRule, ref_headers, ref_mjd, ctx, chosen, job_of=None,
) -> tuple[Candidate, ...]:
    """A few nearest candidates (by time) that were not chosen, each with why (under ``rule``:
    the rule that chose, or the most permissive one when nothing was chosen)."""
    out: list[Candidate] = []
    if not len(pool):
        return ()
    label = f"level {rule.level} ({where(rule)})"
    chosen_paths = {it.path for _, it in chosen}
    for it in _by_distance(pool, ref_mjd):
        if it.path in chosen_paths:
            continue
        w = why_not(rule, ref_headers, ref_mjd, ctx, it) or "matches, but is farther than the chosen"
        dt = None if (ref_mjd is None or it.mjd is None) else it.mjd - ref_mjd
        jid = job_of(it) if job_of is not None else None
        out.append(_candidate(None if jid else it.path, jid, None, dt, f"{label}: {w}"))
        if len(out) >= N_REJECTED:
            break
    return tuple(out)


def missing_words(
    name: str, pool: Pool, rules: Sequence[MatchRule], ref_headers, ref_mjd, ctx, min_ret: int,
    found: int,
) -> str:
    """``flat: needs ≥1 RAW_FLAT with DET.BINX=2 within 1 day of 2026-03-04T01:22; nearest is
    3.2 days away``."""
    rule = rules[-1] if rules else DEFAULT_RULE
    tr = rule.time_range
    when = "" if unlimited(tr) else f"{tr.describe()} of {iso_of(ref_mjd)}"
    text = f"{name}: needs ≥{min_ret} {pool.what} {rule_words(rule, ref_headers)}{when}".rstrip()
    if found:
        return f"{text}; found {found}"
    if not len(pool):
        return f"{text}; {pool.empty_words}"
    if ref_mjd is None and not unlimited(tr):
        return f"{text}; the job's reference file has no MJD-OBS or DATE-OBS"
    # nearest candidate agreeing on keywords (then time is the problem), else nearest at all:
    # the candidates agreeing on keywords are the pool's bucket of the reference's values,
    # walked in the same order (by distance, ties later first, undated last)
    best_kw: Item | None = None
    best_any: Item | None = None
    fn = rule.function
    try:
        bucket = pool.buckets(rule.keywords).get(tuple([norm(ref_headers.get(k)) for k in rule.keywords]))
    except TypeError:  # an unhashable value: compare one by one
        bucket = None
        for it in _by_distance(pool, ref_mjd):
            if best_any is None:
                best_any = it
            if all(norm(ref_headers.get(k)) == norm(it.headers.get(k)) for k in rule.keywords) and (
                fn is None or _call(fn, ctx, it.headers)
            ):
                best_kw = it
                break
    if bucket is not None:
        for it in _walk(bucket[0], bucket[1], bucket[2], ref_mjd):
            if fn is None or _call(fn, ctx, it.headers):
                best_kw = it
                break
    if best_kw is None and best_any is None:
        best_any = next(_by_distance(pool, ref_mjd), None)
    if best_kw is not None:
        if ref_mjd is not None and best_kw.mjd is not None:
            return f"{text}; nearest is {abs(best_kw.mjd - ref_mjd):.1f} days away ({os.path.basename(best_kw.path)})"
        return f"{text}; nearest has no observation time ({os.path.basename(best_kw.path)})"
    assert best_any is not None
    return f"{text}; nearest {os.path.basename(best_any.path)} fails: {why_not(rule, ref_headers, ref_mjd, ctx, best_any)}"


def _by_distance(pool: Pool, ref_mjd: float | None):
    return _walk(pool.mjds, pool.items, pool.undated, ref_mjd)


def _walk(mjds: list[float], items: list[Item], undated: list[Item], ref_mjd: float | None):
    """Dated ``items`` (with their ``mjds``, in time order) by distance from ``ref_mjd``
    (ties: the later first), then the ``undated``."""
    if ref_mjd is not None and items:
        i = bisect_left(mjds, ref_mjd)
        left, right = i - 1, i
        n = len(items)
        while left >= 0 or right < n:
            if right < n and (left < 0 or mjds[right] - ref_mjd <= ref_mjd - mjds[left]):
                yield items[right]
                right += 1
            else:
                yield items[left]
                left -= 1
    else:
        yield from items
    yield from undated
