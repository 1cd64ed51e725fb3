"""Parse the value of one FITS header card exactly as astropy does, without astropy.

Only the value grammar of astropy's (non-strict) card parser is reproduced: strings with
``''`` escapes (trailing blanks stripped), ``T``/``F``, integers, floats (``D`` exponents), complex
``(re, im)`` and an empty value (``None``). Anything else is reported as *odd* so the caller can
fall back to astropy for that file.
"""

from __future__ import annotations

import re
import sys
from typing import Any

ODD = object()  # marker: the value text is not in a form this parser reproduces exactly

_NUM = r"[+-]? *(?:\.\d+|\d+(?:\.\d*)?) *(?:[deDE] *[+-]? *\d+)?"
_NUM_RE = re.compile(rf"({_NUM}) *(?:/.*)?$", re.S)
_CPLX_RE = re.compile(rf"\( *({_NUM}) *, *({_NUM}) *\) *(?:/.*)?$", re.S)
# astropy's string grammar: the shortest content of length >= 1 first, the empty string last;
# the closing quote must be followed by a blank, a slash or the end, and then only a comment.
_STR_RE = re.compile(r"'([ -~]+?|)'(?=$|/| ) *(?:/.*)?$", re.S)
_REST_OK_RE = re.compile(r" *(?:/.*)?$", re.S)
_NUM_TRANS = str.maketrans({"d": "e", "D": "E", " ": None})
_RVKC_RE = re.compile(r"'[a-zA-Z_]\w*(?:\.\d+)?(?:\.[a-zA-Z_]\w*(?:\.\d+)?)*: +")

_FASTNUM_RE = re.compile(r"[+-]?[0-9]+\Z")
_FASTFLOAT_RE = re.compile(r"[+-]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][+-]?[0-9]+)?\Z")


def _to_num(text: str) -> int | float:
    digits = text.translate(_NUM_TRANS)
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def parse_value(text: str, standard: bool = True) -> Any:
    """Value of a card from the text after its value indicator (``= `` or, for HIERARCH, ``=``).

    Returns the astropy-equal value, ``None`` for an empty value, or ``ODD``.
    ``standard`` is False for HIERARCH cards (record-valued cards only exist for standard ones).
    """
    vc = text.strip()
    if not vc:
        return None
    c = vc[0]
    if c == "'":
        q = vc.find("'", 1)
        if q > 1:  # fast path: no quote inside, closing quote followed by blanks or a comment
            tail = vc[q + 1 :]
            if not tail or tail[0] == "/" or (tail[0] == " " and tail.lstrip(" ")[:1] in "/"):
                content = vc[1:q]
                if content.isascii() and content.isprintable():
                    if standard and ": " in content and _RVKC_RE.match(vc):
                        return ODD
                    return content.rstrip()
        m = _STR_RE.match(vc)
        if m is None or (standard and _RVKC_RE.match(vc)):
            return ODD
        return m.group(1).replace("''", "'").rstrip()
    if c == "/":
        return None
    if c == "T" or c == "F":
        rest = vc[1:]
        if not rest or _REST_OK_RE.match(rest):
            return c == "T"
        return ODD
    if c == "(":
        m = _CPLX_RE.match(vc)
        if m is None:
            return ODD
        return _to_num(m.group(1)) + _to_num(m.group(2)) * 1j
    head = vc.partition("/")[0].rstrip(" ")
    if _FASTNUM_RE.match(head):
        return int(head)
    if _FASTFLOAT_RE.match(head):
        return float(head)
    m = _NUM_RE.match(vc)
    if m is None:
        return ODD
    return _to_num(m.group(1))


class _Memo(dict):
    """Parsed values by raw card bytes (values of categorical keywords repeat): a look-up
    parses what it has not seen (``memo[raw]`` is one C call for a value seen before)."""

    __slots__ = ("standard",)

    def __init__(self, standard: bool):
        super().__init__()
        self.standard = standard

    def __missing__(self, raw: bytes) -> Any:
        value = parse_value(raw.decode("latin-1"), self.standard)
        if value.__class__ is str:  # shared by every file with it (see KeywordSpec.names)
            value = sys.intern(value)
        if len(self) >= _MAX_CACHE:
            self.clear()
        self[raw] = value
        return value


_MAX_CACHE = 200_000
MEMO: tuple[_Memo, _Memo] = (_Memo(False), _Memo(True))


def value_of(raw: bytes, standard: bool) -> Any:
    """``parse_value`` of raw card bytes, memoised."""
    return MEMO[standard][raw]


def fits_card_name(keyword: str) -> str:
    """Map a cascade keyword to the FITS card name: ``DPR.TYPE`` -> ``HIERARCH ESO DPR TYPE``.

    Plain names (no dot) are standard cards and stay as they are (upper-cased).
    A name already starting with ``HIERARCH`` is returned unchanged.
    """
    k = keyword.strip()
    if k.upper().startswith("HIERARCH "):
        return k
    if "." in k:
        return "HIERARCH ESO " + k.replace(".", " ").upper()
    return k.upper()


def cascade_name(card_keyword: str) -> str:
    """Cascade name of a card keyword: ``HIERARCH ESO DPR TYPE`` -> ``DPR.TYPE``."""
    if card_keyword.startswith("HIERARCH "):
        rest = card_keyword[9:].strip()
        if rest.startswith("ESO "):
            return ".".join(rest[4:].split())
        return "HIERARCH " + rest
    return card_keyword
