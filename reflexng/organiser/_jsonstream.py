"""Write JSON exactly as ``json.dumps(value, indent=1)`` does, piece by piece.

With ``indent`` the standard library uses its pure-Python encoder (the C one only serves
compact output); this writer emits the same characters but encodes scalars with the C
string encoder, flat objects in one join and lists of strings in one C call (see
:func:`encode_strings`), and hands each list item to ``write`` as it is made, so a
30,000-file document is neither built nor held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from json.encoder import encode_basestring_ascii as _enc_str
from typing import Any

_float_repr = float.__repr__
_int_repr = int.__repr__
_INF = float("inf")
# joins the strings encoded in one call: printable ASCII, so the encoder leaves it as it is
# and each one in the encoded text is a joint unless a string itself contained it (counted)
_JOINT = "|"


def _plain(joined: str) -> bool:
    """Whether ``encode_basestring_ascii`` leaves every character of ``joined`` as it is
    (printable ASCII other than quote and backslash): then a string's JSON text is the
    string in quotes."""
    return joined.isascii() and not joined.encode("ascii").translate(None, _PLAIN)


_PLAIN = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')  # what the encoder keeps


def encode_strings(strings: Sequence[Any]) -> Sequence[str] | None:
    """``[encode_basestring_ascii(s)[1:-1] for s in strings]`` (the JSON text of each string
    without its quotes; ``strings`` itself when no string needs an escape), found with a few
    C calls on the joined strings; None when one is not a str."""
    try:
        if _plain("".join(strings)):
            return strings
        joined = _JOINT.join(strings)
    except TypeError:
        return None
    if not strings:
        return []
    text = _enc_str(joined)
    if text.count(_JOINT) == len(strings) - 1:
        return text[1:-1].split(_JOINT)
    return [_enc_str(s)[1:-1] for s in strings]  # a string contains the joint itself


def str_list(o: Sequence[Any], level: int) -> str | None:
    """A list of strings as ``encode`` writes it at ``level``; None when one is not a str."""
    if not o:
        return "[]"
    inner = "\n" + " " * (level + 1)
    try:
        if _plain("".join(o)):
            body = '"' + ('",' + inner + '"').join(o) + '"'
        else:
            body = ("," + inner).join(map(_enc_str, o))
    except TypeError:
        return None
    return "[" + inner + body + "\n" + " " * level + "]"


def _enc_float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return _float_repr(o)


def _scalar(o: Any) -> str | None:
    """The JSON text of a scalar, None for a container."""
    if isinstance(o, str):
        return _enc_str(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return _int_repr(o)
    if isinstance(o, float):
        return _enc_float(o)
    return None


def _key(k: Any) -> str:
    if isinstance(k, str):
        return _enc_str(k)
    if isinstance(k, float):
        return _enc_str(_enc_float(k))
    if k is True:
        return '"true"'
    if k is False:
        return '"false"'
    if k is None:
        return '"null"'
    if isinstance(k, int):
        return _enc_str(_int_repr(k))
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


SCALARS: dict[type, Callable[[Any], str]] = {  # exact types only (subclasses: _scalar)
    str: _enc_str, type(None): lambda o: "null", bool: lambda o: "true" if o else "false",
    int: _int_repr, float: _enc_float}


def encode(o: Any, level: int) -> str:
    """``o`` as indent=1 JSON whose first line sits at indentation ``level``."""
    scalar = SCALARS.get(o.__class__)
    if scalar is not None:
        return scalar(o)
    s = _scalar(o)
    if s is not None:
        return s
    if isinstance(o, dict):
        if not o:
            return "{}"
        inner = "\n" + " " * (level + 1)
        parts = []
        scalars = SCALARS
        for k, v in o.items():
            scalar = scalars.get(v.__class__)
            parts.append((_enc_str(k) if k.__class__ is str else _key(k)) + ": "
                         + (scalar(v) if scalar is not None else encode(v, level + 1)))
        return "{" + inner + ("," + inner).join(parts) + "\n" + " " * level + "}"
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        if isinstance(o[0], str):
            text = str_list(o, level)
            if text is not None:
                return text
        inner = "\n" + " " * (level + 1)
        return ("[" + inner + ("," + inner).join([encode(v, level + 1) for v in o]) + "\n"
                + " " * level + "]")
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def write_indented(o: Any, write: Callable[[str], Any], level: int, seq: bool = False) -> None:
    """Write ``o`` (with ``seq=True``: any iterable, written as a list, item by item)."""
    if not seq:
        write(encode(o, level))
        return
    write_items(map(lambda item: encode(item, level + 1), o), write, level)


def write_items(texts: Iterable[str], write: Callable[[str], Any], level: int) -> None:
    """Write a list whose items' texts (each as :func:`encode` at ``level + 1`` gives it) are
    ``texts``, in joined pieces of a few hundred items."""
    inner = "\n" + " " * (level + 1)
    sep = "," + inner
    buf: list[str] = []
    started = False
    for text in texts:
        buf.append(text)
        if len(buf) >= 512:
            write(("[" + inner if not started else sep) + sep.join(buf))
            started = True
            buf.clear()
    if buf:
        write(("[" + inner if not started else sep) + sep.join(buf))
        started = True
    write("\n" + " " * level + "]" if started else "[]")
