"""Compiled classification (dictionary look-ups) equals evaluating every rule on every file."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from reflexng.organiser.classify import classify

from .conftest import FIG1, MINI


@dataclass
class Scanned:  # the fields classify() reads from reflexng.fits.ScannedFile
    path: str
    size: int = 2880
    mtime_ns: int = 0
    inode: int = 0
    status: str = "ok"
    reason: str = ""
    values: dict = field(default_factory=dict)
    header_digest: str = ""


def expected(cascade, values):
    hits = [(ds.name, r) for ds in cascade.data_sources.values() for r in ds.classification_rules
            if r.matches(values)]
    if "PRO.CATG" in values:
        hits = [(n, r) for n, r in hits if "PRO.CATG" in (r.keywords or {})]
    cats = {r.category for _, r in hits}
    if len(cats) == 1:
        return "ok", cats.pop()
    if len(cats) > 1:
        return "ambiguous", None
    if "PRO.CATG" in values:
        return "ok", str(values["PRO.CATG"]).strip()
    return "unclassified", None


header = st.fixed_dictionaries(
    {},
    optional={
        "DPR.CATG": st.sampled_from(["CALIB", "SCIENCE", "TEST", " CALIB"]),
        "DPR.TYPE": st.sampled_from(["BIAS", "DARK", "LAMP,FLAT", "FLAT", "OBJECT", "STD,FLUX",
                                     "LAMP,WAVE", "LAMP,WAVE,X", "SKY", "OBJECT,NODDING", "BIAS "]),
        "PRO.CATG": st.sampled_from(["LINE_LIST", "MASTER_BIAS"]),
        "INS.LAMP": st.sampled_from(["ON", "OFF"]),
        "MJD-OBS": st.floats(60000, 60010),
    },
)


def _check(cascade, headers):
    scanned = [Scanned(f"/d/f{i:03d}.fits", values=h, header_digest=f"d{i}") for i, h in enumerate(headers)]
    for rec, h in zip(classify(scanned, cascade), headers):
        status, category = expected(cascade, h)
        assert (rec.status, rec.category) == (status, category), h
        if status == "unclassified":
            assert rec.reason.startswith("nearest rule ")


@settings(max_examples=60, deadline=None)
@given(st.lists(header, max_size=30))
def test_fig1_compiled_equals_rule_by_rule(headers):
    from reflexng.cascade import load

    _check(load(FIG1), headers)  # dictionary rules only: the one-look-up fast path


@settings(max_examples=60, deadline=None)
@given(st.lists(header, max_size=30))
def test_mini_compiled_equals_rule_by_rule(headers):
    from reflexng.cascade import load

    _check(load(MINI), headers)  # with a function rule: the general path
