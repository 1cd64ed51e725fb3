"""Classification with several rule tables and no function rules (demo_spectroscopy: a file's
verdict kept per value tuple of the rules' keywords) gives every file exactly the record the
general one-file-at-a-time path gives it: status, category, data sources, reason (nearest
rule words), time, everything."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.organiser.classify import Classifier, _classify_one, classify, key_function

from .test_classify_property import Scanned

header = st.fixed_dictionaries(
    {},
    optional={
        "INSTRUME": st.sampled_from(["DEMO", "DEMO ", "OTHER", 1, True]),
        "DPR.TECH": st.sampled_from(["SPECTRUM", "IMAGE", " SPECTRUM"]),
        "INS.MODE": st.sampled_from(["LSS", "IMAGING", 1.0, 1]),
        "DPR.CATG": st.sampled_from(["CALIB", "SCIENCE", "TEST"]),
        "DPR.TYPE": st.sampled_from(["BIAS", "FLAT,LAMP", "WAVE,LAMP", "STD", "STD,FLUX", "OBJECT",
                                     "LINE_LIST", "SKY_LINE_LIST", "STD_FLUX_TABLE", "DARK",
                                     "BIAS "]),
        "PRO.CATG": st.sampled_from(["MASTER_BIAS"]),
        "MJD-OBS": st.one_of(st.floats(60000, 60010), st.integers(60000, 60010)),
        "DATE-OBS": st.sampled_from(["2025-01-01T00:00:00", "bad"]),
    },
)


@settings(max_examples=80, deadline=None)
@given(st.lists(header, max_size=40), st.sets(st.integers(0, 39), max_size=5))
def test_cached_verdicts_equal_the_general_path(headers, excluded_idx):
    from reflexng.cascade import load

    cascade = load("demo_spectroscopy")
    clf = Classifier(cascade)
    assert not clf.slow and len(clf.tables) > 1  # the case this test is about
    scanned = [Scanned(f"/d/f{i:03d}.fits", values=h, header_digest=f"d{i}")
               for i, h in enumerate(headers)]
    excluded = {f"/d/f{i:03d}.fits" for i in excluded_idx}
    tables = [(key_function(keys), table) for keys, table in clf.tables]
    got = classify(scanned, cascade, excluded=excluded)
    want = [_classify_one(s, clf, tables, {}, excluded) for s in scanned]
    assert [r._asdict() for r in got] == [r._asdict() for r in want]
