"""Values read by the fast header reader equal astropy's, over generated headers."""

from __future__ import annotations

import string
import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.io.fits.card import Undefined
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflexng.cascade.model import fits_card_name
from reflexng.fits import read_header_values, scan
from reflexng.fits.reader import KeywordSpec, read_file

RESERVED = {
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "END", "COMMENT", "HISTORY", "CONTINUE",
    "XTENSION", "PCOUNT", "GCOUNT", "BLANK", "BSCALE", "BZERO", "GROUPS", "HIERARCH",
}  # fmt: skip
KEYCHARS = string.ascii_uppercase + string.digits + "_-"
PRINTABLE = "".join(chr(c) for c in range(32, 127))

std_key = st.text(KEYCHARS, min_size=1, max_size=8).filter(
    lambda k: k not in RESERVED and not k.startswith("NAXIS")
)
eso_key = st.lists(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=6),
                   min_size=2, max_size=4).map(".".join)  # fmt: skip
name = st.one_of(std_key, eso_key)

value = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.text(PRINTABLE, max_size=90),  # long strings become CONTINUE cards (astropy fallback)
    st.sampled_from(["", "  lead", "trail   ", "it's", "''", "a/b", "x = 'y'", "AXIS.1: 2"]),
    st.none(),
)
comment = st.one_of(st.just(""), st.text(PRINTABLE, max_size=30))

# card images astropy reads but does not write itself: spacing, D exponents, odd signs
number_text = st.one_of(
    st.integers(-99999, 99999).map(str),
    st.integers(-99999, 99999).map(lambda i: f"+{abs(i)}"),
    st.floats(-1e30, 1e30, allow_nan=False).map(lambda f: f"{f:.6E}".replace("E", "D")),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.sampled_from([".5", "5.", "-0", "007", "1.5E+3", "1.0d-2", "(1.5, -2)", "T", "F", ""]),
)


@st.composite
def raw_card(draw):
    key = draw(st.one_of(std_key, eso_key))
    text = draw(number_text)
    cmt = draw(st.sampled_from(["", " / a comment", "/x", " /   "]))
    if "." in key:
        eq = draw(st.sampled_from(["=", " =", " = ", "= "]))
        image = f"{fits_card_name(key)}{eq}{text}{cmt}"
    else:
        image = f"{key:<8}= {text:>20}{cmt}"
    if len(image) > 80:
        image = f"{key:<8}= 1"
        if "." in key:
            image = f"{fits_card_name(key)} = 1"
    return key, image


@st.composite
def headers(draw):
    cards = []
    for _ in range(draw(st.integers(0, 15))):
        kind = draw(st.sampled_from(["value", "value", "value", "raw", "comment", "dup"]))
        if kind == "value":
            cards.append(("value", draw(name), draw(value), draw(comment)))
        elif kind == "raw":
            key, image = draw(raw_card())
            cards.append(("raw", key, image, ""))
        elif kind == "comment":
            cards.append(("comment", draw(st.sampled_from(["COMMENT", "HISTORY", ""])),
                          draw(st.text(PRINTABLE, max_size=60)), ""))  # fmt: skip
        elif cards:
            prev = draw(st.sampled_from(cards))
            if prev[0] in ("value", "raw"):
                cards.append(("value", prev[1], draw(value), ""))
    return cards


def write_header(path: Path, cards) -> fits.Header:
    """Write the cards as a header-only FITS file (raw images verbatim); astropy's header."""
    images = [
        fits.Card("SIMPLE", True).image,
        fits.Card("BITPIX", 8).image,
        fits.Card("NAXIS", 0).image,
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, key, val, cmt in cards:
            try:
                if kind == "value":
                    image = fits.Card(fits_card_name(key), val, cmt).image
                elif kind == "raw":
                    image = val.ljust(80)
                else:
                    image = fits.Card(key, val).image
            except (ValueError, TypeError):
                continue  # a value astropy refuses to write
            images.append(image)
        text = "".join(images) + "END".ljust(80)
        text += " " * (-len(text) % 2880)
        path.write_bytes(text.encode("ascii"))
        return fits.getheader(path)


def astropy_value(hdr: fits.Header, key: str):
    v = hdr[fits_card_name(key)]
    return None if isinstance(v, Undefined) else v


def astropy_all(hdr: fits.Header) -> dict:
    out = {}
    for card in hdr.cards:
        kw = card.keyword
        if kw in ("COMMENT", "HISTORY", ""):
            continue
        name = ".".join(kw[4:].split()) if kw.startswith("ESO ") else kw
        if name not in out:
            v = card.value
            out[name] = None if isinstance(v, Undefined) else v
    return out


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cards=headers())
def test_values_equal_astropy(tmp_path, cards):
    path = tmp_path / "h.fits"
    hdr = write_header(path, cards)
    names = sorted({c[1] for c in cards if c[0] in ("value", "raw")} | {"NOTHERE", "X.NOT.HERE"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {k: astropy_value(hdr, k) for k in names if fits_card_name(k) in hdr}
        expected_all = astropy_all(hdr)
    got = read_header_values(path, names)
    assert got.keys() == expected.keys()
    for k in expected:
        assert same(got[k], expected[k]), (k, got[k], expected[k])
    # the third read of one layout takes the layout shortcut: the same answer
    spec = KeywordSpec(names)
    size = path.stat().st_size
    for _ in range(3):
        status, _, values, _ = read_file(str(path), size, spec)
        assert status == "ok" and values.keys() == expected.keys()
        assert all(same(values[k], expected[k]) for k in expected)
    got_all = read_header_values(path, None)
    assert got_all.keys() == expected_all.keys()
    for k in expected_all:
        assert same(got_all[k], expected_all[k]), (k, got_all[k], expected_all[k])


def test_eso_like_header_values(tmp_path):
    hdr = fits.Header()
    hdr["EXPTIME"] = (12.5, "exposure")
    hdr["MJD-OBS"] = 60373.0571
    hdr["DATE-OBS"] = "2026-03-04T01:22:13.000"
    hdr["HIERARCH ESO DPR TYPE"] = "FLAT,LAMP"
    hdr["HIERARCH ESO DET BINX"] = 2
    hdr["HIERARCH ESO INS FILT1 NAME"] = "R'' special"
    hdr["HIERARCH ESO TEL AIRM START"] = 1.213
    hdr["HIERARCH ESO INS LAMP1 ST"] = True
    fits.PrimaryHDU(header=hdr).writeto(tmp_path / "a.fits")
    got = read_header_values(tmp_path / "a.fits", ["EXPTIME", "MJD-OBS", "DATE-OBS", "DPR.TYPE",
                                                    "DET.BINX", "INS.FILT1.NAME", "TEL.AIRM.START",
                                                    "INS.LAMP1.ST", "DPR.CATG"])  # fmt: skip
    assert got == {
        "EXPTIME": 12.5,
        "MJD-OBS": 60373.0571,
        "DATE-OBS": "2026-03-04T01:22:13.000",
        "DPR.TYPE": "FLAT,LAMP",
        "DET.BINX": 2,
        "INS.FILT1.NAME": "R'' special",
        "TEL.AIRM.START": 1.213,
        "INS.LAMP1.ST": True,
    }
    assert type(got["DET.BINX"]) is int and type(got["INS.LAMP1.ST"]) is bool


@pytest.mark.parametrize("workers", [1, 2])
def test_many_files_values_equal_astropy(tmp_path, workers):
    """Several header layouts interleaved (as in a night of calibrations and science)."""
    keys = ["DPR.TYPE", "DET.BINX", "EXPTIME", "MJD-OBS", "INS.MODE", "OBS.NAME", "X.MISSING"]
    for i in range(450):
        hdr = fits.Header()
        layout = i % 3
        hdr["MJD-OBS"] = 60000 + i / 100
        if layout != 1:
            hdr["EXPTIME"] = float(i)
        for j in range(20 + 5 * layout):
            hdr[f"HIERARCH ESO TPL PAR{j}"] = j
        hdr["HIERARCH ESO DPR TYPE"] = ["BIAS", "FLAT", "OBJECT"][layout]
        hdr["HIERARCH ESO DET BINX"] = 1 + i % 2
        if i % 7 == 0:
            hdr["HIERARCH ESO INS MODE"] = f"MODE{i}"
        if i % 11 == 0:
            hdr.insert(0, ("HIERARCH ESO OBS NAME", "first"), after=False) if False else None
            hdr["HIERARCH ESO OBS NAME"] = "it''s"
        fits.PrimaryHDU(header=hdr).writeto(tmp_path / f"f{i:04d}.fits")
    result = scan([tmp_path], keys, workers=workers)
    assert len(result) == 450
    for f in result:
        h = fits.getheader(f.path)
        expected = {k: astropy_value(h, k) for k in keys if fits_card_name(k) in h}
        assert f.status == "ok"
        assert f.values == expected and all(same(f.values[k], expected[k]) for k in expected)


def test_layout_shortcut_gives_the_full_answer(tmp_path):
    """Once a header layout is learnt, files of that layout take the shortcut: same result."""
    spec = KeywordSpec(["DPR.TYPE", "EXPTIME", "X.MISSING", "DET.BINX"])
    fresh = KeywordSpec(["DPR.TYPE", "EXPTIME", "X.MISSING", "DET.BINX"])
    paths = []
    for i, (dpr, binx) in enumerate([("BIAS", 1), ("FLAT", 2), ("OBJECT", 1), ("DARK", 2)]):
        hdr = fits.Header()
        hdr["EXPTIME"] = i * 1.5
        hdr["HIERARCH ESO DPR TYPE"] = dpr
        hdr["HIERARCH ESO DET BINX"] = binx
        paths.append(tmp_path / f"{i}.fits")
        fits.PrimaryHDU(header=hdr).writeto(paths[-1])
    # same layout except one card renamed: the shortcut must not apply
    hdr["HIERARCH ESO DET BINY"] = hdr.pop("HIERARCH ESO DET BINX")
    paths.append(tmp_path / "other.fits")
    fits.PrimaryHDU(header=hdr).writeto(paths[-1])
    for p in paths + paths:
        size = p.stat().st_size
        assert read_file(str(p), size, spec) == read_file(str(p), size, KeywordSpec(fresh.names))
    assert spec.layouts.match_any(paths[0].read_bytes(), b"END" + b" " * 77) is not None
    assert read_file(str(paths[-1]), paths[-1].stat().st_size, spec)[2] == {
        "DPR.TYPE": "DARK",
        "EXPTIME": 4.5,
    }


def _fz_safe(card) -> bool:
    kind, key = card[0], card[1]
    if kind == "comment":
        return True
    name = fits_card_name(key)
    return kind == "value" and not (name.startswith(("Z", "T", "EXT", "CHECK", "DATASUM", "B")))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cards=headers())
def test_fz_values_equal_astropy(tmp_path, cards):
    """Tile-compressed images: values come from the table header where astropy copies them."""
    import numpy as np

    cards = [c for c in cards if _fz_safe(c)]
    hdr = fits.Header()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, key, val, cmt in cards:
            try:
                if kind == "value":
                    hdr.append((fits_card_name(key), val, cmt), end=True)
                elif key in ("COMMENT", "HISTORY"):
                    hdr.append((key, val), end=True)
            except (ValueError, TypeError):
                pass
        comp = fits.CompImageHDU(data=np.arange(16, dtype=np.int16).reshape(4, 4), header=hdr)
        path = tmp_path / "c.fits.fz"
        fits.HDUList([fits.PrimaryHDU(), comp]).writeto(path, overwrite=True)
        with fits.open(path) as hdul:
            h0, h1 = hdul[0].header, hdul[1].header
            names = sorted({c[1] for c in cards if c[0] == "value"} | {"DPR.NOT.HERE", "NAXIS1"})
            expected = {}
            for k in names:
                card = fits_card_name(k)
                if card in h0:
                    expected[k] = astropy_value(h0, k)
                elif card in h1:
                    expected[k] = astropy_value(h1, k)
    spec = KeywordSpec([n for n in names if n != "NAXIS1"])  # the fast path (no table keys)
    size = path.stat().st_size
    for ks in (spec, KeywordSpec(names)):
        status, reason, values, _ = read_file(str(path), size, ks)
        assert status == "ok", reason
        want = {k: v for k, v in expected.items() if k in ks.names}
        assert values.keys() == want.keys()
        assert all(same(values[k], want[k]) for k in want), (values, want)
