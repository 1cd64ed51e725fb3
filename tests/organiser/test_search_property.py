"""The bucketed + bisect search chooses exactly what a brute-force double loop chooses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.cascade.model import SAME_NIGHT, UNLIMITED, MatchRule, days, relative
from reflexng.organiser.associate import Item, Pool, search_rule

RANGES = [UNLIMITED, SAME_NIGHT, days(1), days(0.25), relative(0.5, 0), relative(None, 2)]


def brute(items, rule, ref_headers, ref_mjd, max_ret):
    ok = []
    for it in items:
        if any(it.headers.get(k) != ref_headers.get(k) for k in rule.keywords):
            continue
        if it.mjd is None or ref_mjd is None:
            continue
        dt = it.mjd - ref_mjd
        if not rule.time_range.contains(dt, ref_mjd, it.mjd):
            continue
        ok.append((abs(dt), it.path, it))
    ok.sort(key=lambda t: (t[0], t[1]))
    return [it.path for _, _, it in ok[:max_ret]]


candidate = st.tuples(
    st.integers(0, 40).map(lambda q: 61000.0 + q / 8),  # exact eighths: many exact ties
    st.sampled_from([1, 2]),
    st.text("abcdef", min_size=1, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(
    cands=st.lists(candidate, max_size=25),
    ref_q=st.integers(0, 40),
    binx=st.sampled_from([1, 2]),
    rng=st.sampled_from(RANGES),
    max_ret=st.integers(1, 4),
    with_kw=st.booleans(),
)
def test_search_equals_brute_force(cands, ref_q, binx, rng, max_ret, with_kw):
    items = [Item(m, f"/d/{name}_{i}.fits", {"DET.BINX": b}, None) for i, (m, b, name) in enumerate(cands)]
    pool = Pool("X", items)
    rule = MatchRule(("DET.BINX",) if with_kw else (), None, rng, 0)
    ref_mjd = 61000.0 + ref_q / 8 + 1 / 16  # never exactly on a candidate: symmetric ties
    ref_headers = {"DET.BINX": binx}
    got = [it.path for _, it in search_rule(pool, rule, ref_headers, ref_mjd, None, max_ret)]
    assert got == brute(items, rule, ref_headers, ref_mjd, max_ret)
    ref_mjd2 = 61000.0 + ref_q / 8  # exactly on candidates
    got2 = [it.path for _, it in search_rule(pool, rule, ref_headers, ref_mjd2, None, max_ret)]
    assert got2 == brute(items, rule, ref_headers, ref_mjd2, max_ret)
