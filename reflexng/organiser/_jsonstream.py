"""Write JSON exactly as ``json.dumps(value, indent=1)`` does, piece by piece.

With ``indent`` the standard library uses its pure-Python encoder (the C one only serves
compact output); this writer emits the same characters but encodes scalars with the C
string encoder and flat objects in one join, and hands each list item to ``write`` as it
is made, so a 30,000-file document is neither built nor held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as _enc_str
from typing import Any

_float_repr = float.__repr__
_int_repr = int.__repr__
_INF = float("inf")


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


def encode(o: Any, level: int) -> str:
    """``o`` as indent=1 JSON whose first line sits at indentation ``level``."""
    s = _scalar(o)
    if s is not None:
        return s
    if isinstance(o, dict):
        if not o:
            return "{}"
        inner = "\n" + " " * (level + 1)
        parts = [f"{_key(k)}: {encode(v, level + 1)}" for k, v in o.items()]
        return "{" + inner + ("," + inner).join(parts) + "\n" + " " * level + "}"
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        inner = "\n" + " " * (level + 1)
        return ("[" + inner + ("," + inner).join([encode(v, level + 1) for v in o]) + "\n"
                + " " * level + "]")
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def write_indented(o: Any, write: Callable[[str], Any], level: int, seq: bool = False) -> None:
    """Write ``o`` (with ``seq=True``: any iterable, written as a list, item by item)."""
    if not seq:
        write(encode(o, level))
        return
    items: Iterable[Any] = o
    inner = "\n" + " " * (level + 1)
    sep = "[" + inner
    empty = True
    buf: list[str] = []
    for item in items:
        buf.append(sep)
        buf.append(encode(item, level + 1))
        sep = "," + inner
        empty = False
        if len(buf) >= 512:
            write("".join(buf))
            buf.clear()
    if empty:
        write("[]")
        return
    buf.append("\n" + " " * level + "]")
    write("".join(buf))
