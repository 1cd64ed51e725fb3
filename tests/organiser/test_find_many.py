"""The columnar search (``Finder.find_many``, used for a target task's groups) chooses exactly
what the per-job search (``Finder.find``) chooses, candidate for candidate and time
difference for time difference: undated candidates and references, ties, empty windows,
keyword values only equal after normalising, several candidates per input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.cascade.model import SAME_NIGHT, UNLIMITED, MatchRule, days, relative
from reflexng.organiser.associate import Item, Pool

RANGES = [UNLIMITED, SAME_NIGHT, days(1), days(0.25), relative(0.5, 0), relative(None, 2)]

candidate = st.tuples(
    st.one_of(st.none(), st.integers(0, 40).map(lambda q: 61000.0 + q / 8)),  # ties, undated
    st.sampled_from([1, 2, 2.0, " 1"]),  # 2 == 2.0; " 1" only matches after normalising
    st.text("abcdef", min_size=1, max_size=4),
)
reference = st.tuples(
    st.one_of(st.none(), st.integers(0, 80).map(lambda q: 61000.0 + q / 16)),  # on and between
    st.sampled_from([1, 2, "1", None]),
)


@settings(max_examples=300, deadline=None)
@given(
    cands=st.lists(candidate, max_size=25),
    refs=st.lists(reference, min_size=1, max_size=12),
    rng=st.sampled_from(RANGES),
    max_ret=st.integers(1, 3),
    with_kw=st.booleans(),
)
def test_find_many_equals_find(cands, refs, rng, max_ret, with_kw):
    items = [Item(m, f"/d/{name}_{i}.fits", {"DET.BINX": b}, None)
             for i, (m, b, name) in enumerate(cands)]
    pool = Pool("X", items)
    rule = MatchRule(("DET.BINX",) if with_kw else (), None, rng, 0)
    finder = pool.finder(rule)
    ref_rows = [({"DET.BINX": b}, m) for m, b in refs]
    keys = [finder.keyf(h.get) for h, _ in ref_rows]
    got = finder.find_many(keys, ref_rows, max_ret)
    want = [finder.find(h, m, None, max_ret) for h, m in ref_rows]
    assert [[(dt, it.path) for dt, it in r] for r in got] == \
        [[(dt, it.path) for dt, it in r] for r in want]


def _nearest_words_by_walking(pool, rule, ref_headers, ref_mjd):
    """What missing_words says about the nearest candidate, the way it was first written:
    walk the whole pool by distance, comparing the keywords of each candidate."""
    import os

    from reflexng.organiser.associate import _by_distance, why_not
    from reflexng.organiser.classify import norm

    best_any = None
    for it in _by_distance(pool, ref_mjd):
        if best_any is None:
            best_any = it
        if all(norm(ref_headers.get(k)) == norm(it.headers.get(k)) for k in rule.keywords):
            if ref_mjd is not None and it.mjd is not None:
                return f"nearest is {abs(it.mjd - ref_mjd):.1f} days away ({os.path.basename(it.path)})"
            return f"nearest has no observation time ({os.path.basename(it.path)})"
    return f"nearest {os.path.basename(best_any.path)} fails: {why_not(rule, ref_headers, ref_mjd, None, best_any)}"


@settings(max_examples=300, deadline=None)
@given(
    cands=st.lists(candidate, min_size=1, max_size=25),
    ref=reference,
    rng=st.sampled_from(RANGES),
    with_kw=st.booleans(),
)
def test_missing_words_nearest_equals_walking_the_pool(cands, ref, rng, with_kw):
    from reflexng.organiser.associate import missing_words

    items = [Item(m, f"/d/{name}_{i}.fits", {"DET.BINX": b}, None)
             for i, (m, b, name) in enumerate(cands)]
    pool = Pool("X", items)
    rule = MatchRule(("DET.BINX",) if with_kw else (), None, rng, 0)
    ref_mjd, binx = ref
    headers = {"DET.BINX": binx}
    words = missing_words("x", pool, (rule,), headers, ref_mjd, None, 1, 0)
    if ref_mjd is None and rng is not UNLIMITED:
        assert words.endswith("has no MJD-OBS or DATE-OBS")
        return
    assert words.split("; ", 1)[1] == _nearest_words_by_walking(pool, rule, headers, ref_mjd)
