"""Classification: every scanned file gets a category, or a status with the reason why not.

Rules made only of plain values are compiled into dictionary look-ups (one per set of
keywords), so classifying 20,000 files costs a few tuple builds per file; rules with
predicates or functions are evaluated one by one.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from reflexng.cascade.model import ClassificationRule, WorkflowParameter
from reflexng.organiser._fast import maker
from reflexng.organiser.model import (
    AMBIGUOUS,
    DUPLICATE,
    OK,
    UNCLASSIFIED,
    UNREADABLE,
    FileRecord,
)

PRO_CATG = "PRO.CATG"
PRO_RECIPE = "PRO.REC1.ID"
TIME_KEYWORDS = ("MJD-OBS", "DATE-OBS")
# always extracted: products, time, and a few ESO keywords conditions commonly read
ALWAYS = (PRO_CATG, PRO_RECIPE, *TIME_KEYWORDS, "OBJECT", "EXPTIME", "DPR.CATG", "DPR.TYPE",
          "DPR.TECH", "TPL.START", "INSTRUME")
_MJD0 = _dt.datetime(1858, 11, 17)
_record = maker(FileRecord)
_new_tuple = tuple.__new__


# --------------------------------------------------------------------------- keywords


def _keyword_names(items: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for k in items:
        if isinstance(k, WorkflowParameter):
            for v in (k.default, *(k.choices or ())):
                vs = v if isinstance(v, (list, tuple)) else [v]
                if k.keyword_values:  # EDPS "$param": keyword names written the EDPS way
                    from reflexng.cascade.parameters import canonical_keyword

                    vs = [canonical_keyword(x) for x in vs if isinstance(x, str)]
                out.extend(_keyword_names(vs))
        elif isinstance(k, str) and k:
            out.append(k)
    return out


def needed_keywords(cascade) -> list[str]:
    """Every header keyword the organiser reads for this cascade (cascade keyword names).

    Grouping keywords given by a workflow parameter contribute every choice, so a scan
    cache stays valid when the parameter changes.
    """
    names: list[str] = list(ALWAYS)
    for ds in cascade.data_sources.values():
        for rule in ds.classification_rules:
            names.extend(rule.keyword_names)
        names.extend(_keyword_names(ds.grouping_keywords))
        names.extend(ds.setup_keywords)
        for m in ds.match_rules:
            names.extend(m.keywords)
    for t in cascade.tasks.values():
        names.extend(_keyword_names(t.grouping_keywords))
        for a in t.all_associated_inputs():
            for m in a.match_rules or ():
                names.extend(m.keywords)
        for a in t.associated_inputs:
            names.extend(a.sort_keys)
    names.extend(getattr(cascade.info, "extra_keywords", ()))
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- values


def norm(value: Any) -> Any:
    """A hashable form of a header value that agrees with ``values_equal`` for look-ups."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def mjd_of(values: Mapping[str, Any]) -> float | None:
    """MJD-OBS, else DATE-OBS converted to MJD, else None."""
    m = values.get("MJD-OBS")
    if isinstance(m, (int, float)) and not isinstance(m, bool):
        return float(m)
    d = values.get("DATE-OBS")
    if isinstance(d, str) and d.strip():
        try:
            t = _dt.datetime.fromisoformat(d.strip().rstrip("Z"))
        except ValueError:
            return None
        return (t - _MJD0).total_seconds() / 86400.0
    return None


def iso_of(mjd: float | None) -> str:
    """``2026-03-04T01:22`` for an MJD (minutes precision), or "unknown time"."""
    if mjd is None:
        return "unknown time"
    return (_MJD0 + _dt.timedelta(days=mjd)).strftime("%Y-%m-%dT%H:%M")


_WHERE: dict[Any, str] = {}


_KEYFUNCS: dict[tuple[str, ...], Callable[[Callable[[str], Any]], tuple]] = {}


def key_function(keys: tuple[str, ...]) -> Callable[[Callable[[str], Any]], tuple]:
    """``f(get) -> (get(k1), get(k2), ...)`` compiled once per keyword tuple (the hot path
    of classification, grouping and association look-ups)."""
    f = _KEYFUNCS.get(keys)
    if f is None:
        body = "".join(f"get({k!r}), " for k in keys)
        f = _KEYFUNCS[keys] = eval(f"lambda get: ({body})")  # keys are repr()-quoted literals
    return f


def where(rule) -> str:
    """``flat.py:12`` for a rule (cached: rules are immutable)."""
    got = _WHERE.get(rule.location)
    if got is None:
        loc = rule.location
        got = _WHERE[rule.location] = f"{os.path.basename(loc.path)}:{loc.line}"
    return got


# --------------------------------------------------------------------------- classifier


class Classifier:
    """Compiled classification rules of one cascade."""

    def __init__(self, cascade) -> None:
        # (data source name, rule) in cascade order
        self.rules: list[tuple[str, ClassificationRule]] = [
            (ds.name, r) for ds in cascade.data_sources.values() for r in ds.classification_rules
        ]
        # keyset -> {value tuple -> [rule index]}
        self.tables: list[tuple[tuple[str, ...], dict[tuple, list[int]]]] = []
        self.slow: list[int] = []  # rules needing evaluation (functions, predicates)
        tables: dict[tuple[str, ...], dict[tuple, list[int]]] = {}
        for i, (_, rule) in enumerate(self.rules):
            alts = self._alternatives(rule)
            if alts is None:
                self.slow.append(i)
                continue
            keys = tuple(rule.keywords or {})
            table = tables.setdefault(keys, {})
            for combo in alts:
                table.setdefault(combo, []).append(i)
        self.tables = list(tables.items())
        self.processed_rules = {i for i, (_, r) in enumerate(self.rules) if PRO_CATG in (r.keywords or {})}
        self._nearest_cache: dict[tuple, str] = {}
        self._all_keys = tuple(dict.fromkeys(k for _, r in self.rules for k in r.keyword_names))
        # EDPS workflows: a file may belong to several data sources with different
        # categories (it carries the first rule's category); native cascades call it ambiguous
        self.several = getattr(cascade.info, "dialect", "native") == "edps"

    @staticmethod
    def _alternatives(rule: ClassificationRule) -> list[tuple] | None:
        if rule.function is not None or not rule.keywords:
            return None
        per_key: list[list[Any]] = []
        for v in rule.keywords.values():
            if isinstance(v, (list, tuple, set, frozenset)):
                vals = list(v)
            elif callable(v) and not isinstance(v, type):
                return None
            else:
                vals = [v]
            if any(callable(x) or x is None for x in vals):
                return None
            per_key.append([norm(x) for x in vals])
        n = 1
        for vals in per_key:
            n *= len(vals)
        if n > 256:
            return None
        return list(itertools.product(*per_key))

    def matching(self, values: Mapping[str, Any]) -> list[int]:
        """Indices of every rule the header matches, in cascade order."""
        hits: list[int] = []
        get = values.get
        for keys, table in self.tables:
            found = table.get(tuple([norm(get(k)) for k in keys]))
            if found:
                hits.extend(found)
        for i in self.slow:
            if self.rules[i][1].matches(values):
                hits.append(i)
        if len(hits) > 1:
            hits.sort()
        return hits

    def nearest(self, values: Mapping[str, Any]) -> str:
        """Why no rule matched: the nearest rule (fewest mismatching keywords) and its first
        mismatching keyword."""
        try:
            key = key_function(self._all_keys)(values.get)
            cached = self._nearest_cache.get(key)
        except TypeError:  # an unhashable value
            key = tuple(repr(values.get(k)) for k in self._all_keys)
            cached = self._nearest_cache.get(key)
        if cached is not None:
            return cached
        best: tuple[int, int, int] | None = None
        best_text = "no classification rules in the cascade"
        for i, (_, rule) in enumerate(self.rules):
            # nearest: fewest mismatching keywords, then most matching ones, then cascade order
            if rule.function is not None:
                miss, hit = 1, 0
            else:
                kw = rule.keywords or {}
                miss = sum(1 for k, v in kw.items() if not _matches(v, values.get(k)))
                hit = len(kw) - miss
            score = (miss, -hit, i)
            if best is not None and score >= best:
                continue
            mm = rule.first_mismatch(values)
            if mm is None:
                continue
            best = score
            kw_name, expected, actual = mm
            if kw_name.startswith("<"):
                best_text = f"nearest rule {rule.category} ({where(rule)}): {kw_name} returned {actual!r}"
            else:
                actual_words = "missing" if actual is None else f"is {actual!r}"
                best_text = (
                    f"nearest rule {rule.category} ({where(rule)}): {kw_name} {actual_words}, "
                    f"expected {expected}"
                )
        self._nearest_cache[key] = best_text
        return best_text


def _matches(expected: Any, actual: Any) -> bool:
    from reflexng.cascade.model import value_matches

    return value_matches(expected, actual)


def classify(
    scanned: Sequence[Any],
    cascade,
    *,
    excluded: Iterable[str] = (),
    content_hash: Callable[[str], str] | None = None,
) -> list[FileRecord]:
    """Turn scanned files into :class:`FileRecord` objects, sorted by path.

    ``scanned`` items have ``path, size, mtime_ns, status, reason, values, header_digest``
    (``reflexng.fits.ScannedFile``). Duplicates (same header digest and size, confirmed by
    ``content_hash``) keep the first path; the others get status ``duplicate``.
    """
    clf = Classifier(cascade)
    excluded = set(excluded)
    rules = clf.rules
    items = list(scanned)
    paths = [x.path for x in items]
    if paths != sorted(paths):
        items.sort(key=lambda x: x.path)
    if len(set(paths)) != len(paths):  # overlapping data folders: one record per path
        items = list({x.path: x for x in reversed(items)}.values())[::-1]
    dup_of = _duplicates(items, content_hash)
    out: list[FileRecord] = []
    append = out.append
    tables = [(key_function(keys), table) for keys, table in clf.tables]
    # raw files (no PRO.CATG) can only hit tables not keyed on PRO.CATG; with one such table
    # and no function rules, a file's verdict is one dictionary look-up
    raw_tables = [(keys, t) for keys, t in clf.tables if PRO_CATG not in keys]
    # a verdict is what records of one classification share: (status, category, data
    # source, reason, data sources)
    verdicts: dict[tuple, tuple] = {}
    fast_keyf = None
    if len(raw_tables) == 1 and not clf.slow:
        fast_keyf = key_function(raw_tables[0][0])
        for key, hits in raw_tables[0][1].items():
            cats = {rules[i][1].category for i in hits}
            if len(cats) == 1:
                names = tuple(dict.fromkeys(rules[i][0] for i in hits))
                verdicts[key] = (OK, rules[hits[0]][1].category, names[0], "", names)
    # files no compiled verdict fits (unclassified, ambiguous, stray spaces): the general
    # case's verdict depends only on the rule keywords' values, so it is kept per value tuple
    # (bools are left out: a dictionary takes True for 1, classification does not)
    others: dict[tuple, tuple] = {}
    all_keyf = key_function(clf._all_keys)
    new = _new_tuple
    from reflexng.fits.scanner import ScannedFile

    # one pass, each file's values looked at once (a pass for the look-up keys first costs
    # another cache miss per file): a raw file whose rule keywords' values have a compiled
    # verdict becomes its record here; scanned files of another class take the general case
    if fast_keyf is not None and len(raw_tables[0][0]) == 2:
        k0, k1 = raw_tables[0][0]
    else:
        k0 = k1 = None
    # without function or predicate rules a raw file's verdict depends only on the values of
    # the rules' keywords: with several raw tables every file goes through ``others``
    cached = not clf.slow
    for s in items:
        if cached and s.__class__ is ScannedFile and s[4] == "ok":
            path, size, mtime_ns, _, _, _, values, digest = s
            get = values.get
            if k0 is not None:
                v = verdicts.get((get(k0), get(k1)))
            elif fast_keyf is not None:
                v = verdicts.get(fast_keyf(get))
            else:
                v = None
            if PRO_CATG not in values and not (dup_of and path in dup_of):
                if v is None:
                    key = all_keyf(get)
                    try:
                        v = others.get(key)
                    except TypeError:  # an unhashable value
                        key = None
                    if v is None:
                        rec = _classify_one(s, clf, tables, dup_of, excluded)
                        append(rec)
                        if key is not None and not any([x.__class__ is bool for x in key]):
                            others[key] = (rec.status, rec.category, rec.data_source,
                                           rec.reason, rec.data_sources)
                        continue
                    if any([x.__class__ is bool for x in key]):
                        append(_classify_one(s, clf, tables, dup_of, excluded))
                        continue
                m = get("MJD-OBS")
                mjd = m if m.__class__ is float else (float(m) if m.__class__ is int else mjd_of(values))
                status, category, source, reason, sources = v
                append(new(FileRecord, (path, size, mtime_ns, status, category, source,
                                        reason, values, mjd, False, None, digest,
                                        sources, path in excluded if excluded else False)))
                continue
        append(_classify_one(s, clf, tables, dup_of, excluded))
    return out


def _value_tuples(headers: list[Mapping[str, Any]], keys: tuple[str, ...]) -> list[tuple]:
    """``[key_function(keys)(h.get) for h in headers]``, without a call per header for up to
    three keys."""
    if len(keys) == 1:
        (k0,) = keys
        return [(h.get(k0),) for h in headers]
    if len(keys) == 2:
        k0, k1 = keys
        return [(h.get(k0), h.get(k1)) for h in headers]
    if len(keys) == 3:
        k0, k1, k2 = keys
        return [(h.get(k0), h.get(k1), h.get(k2)) for h in headers]
    keyf = key_function(keys)
    return [keyf(h.get) for h in headers]


def _classify_one(s, clf: Classifier, tables, dup_of, excluded) -> FileRecord:
    """The general case of :func:`classify` for one scanned file."""
    rules = clf.rules
    path = s.path
    if s.status != "ok":
        return _record(path, s.size, s.mtime_ns, UNREADABLE, None, None, s.reason or "unreadable",
                       {}, None, False, None, getattr(s, "header_digest", "") or "", (),
                       path in excluded)
    values = s.values
    get = values.get
    mjd = mjd_of(values)
    is_processed = PRO_CATG in values
    if path in dup_of:
        return _record(path, s.size, s.mtime_ns, DUPLICATE, None, None,
                       f"identical to {dup_of[path]}", values, mjd, is_processed, dup_of[path],
                       s.header_digest, (), path in excluded)
    # one look-up per keyword set with raw header values (2 == 2.0 in a dict)
    hits = None
    for keyf, table in tables:
        found = table.get(keyf(get))
        if found is not None:
            hits = found if hits is None else sorted([*hits, *found])
    if hits is None or clf.slow:
        # a miss: try again with stripped strings, and evaluate function/predicate rules
        hits = clf.matching(values)
    if is_processed and hits:
        # products keep raw keywords (DPR.TYPE...): only rules naming PRO.CATG apply
        hits = [i for i in hits if i in clf.processed_rules]
    cats = list(dict.fromkeys(rules[i][1].category for i in hits))
    if len(cats) == 1:
        ds_names = tuple(dict.fromkeys(rules[i][0] for i in hits))
        return _record(path, s.size, s.mtime_ns, OK, cats[0], ds_names[0], "", values, mjd,
                       is_processed, None, s.header_digest, ds_names, path in excluded)
    if len(cats) > 1 and clf.several:
        ds_names = tuple(dict.fromkeys(rules[i][0] for i in hits))
        return _record(path, s.size, s.mtime_ns, OK, cats[0], ds_names[0],
                       "also " + ", ".join(cats[1:]), values, mjd, is_processed, None,
                       s.header_digest, ds_names, path in excluded)
    if len(cats) > 1:
        named = ", ".join(
            f"{rules[i][1].category} of {rules[i][0]} ({where(rules[i][1])})" for i in hits
        )
        return _record(path, s.size, s.mtime_ns, AMBIGUOUS, None, None,
                       f"ambiguous: matches {named}", values, mjd, is_processed, None,
                       s.header_digest, (), path in excluded)
    if is_processed:
        catg = str(get(PRO_CATG)).strip()
        return _record(path, s.size, s.mtime_ns, OK, catg, None,
                       f"processed calibration (PRO.CATG {catg})", values, mjd, True, None,
                       s.header_digest, (), path in excluded)
    return _record(path, s.size, s.mtime_ns, UNCLASSIFIED, None, None, clf.nearest(values),
                   values, mjd, False, None, s.header_digest, (), path in excluded)


def _duplicates(items: Sequence[Any], content_hash: Callable[[str], str] | None) -> dict[str, str]:
    """``{duplicate path: kept path}`` for identical copies (items sorted by path).

    Candidates share the header digest and the size; ``content_hash`` confirms.
    """
    digests = [s.header_digest for s in items]
    if len(set(digests)) == len(digests):  # the common case: no two headers alike
        return {}
    first: dict[Any, Any] = {}
    clashes: dict[Any, list[str]] = {}
    for s in items:
        d = s.header_digest
        if not d or s.status != "ok":
            continue
        key = first.setdefault(d, s)
        if key is not s:
            if key.size == s.size:
                clashes.setdefault(d, [key.path]).append(s.path)
    out: dict[str, str] = {}
    for paths in clashes.values():
        by_content: dict[str, str] = {}
        for p in paths:  # sorted: the first path of each content is kept
            try:
                h = content_hash(p) if content_hash is not None else "same"
            except OSError:
                continue
            if h in by_content:
                out[p] = by_content[h]
            else:
                by_content[h] = p
    return out
