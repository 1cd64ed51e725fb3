"""Header values dictionaries that share their keys (CPython's key-sharing dictionaries).

Every file of a scan gets a dictionary of the same dozen keyword names, usually in one of a
few orders (one per card layout). A plain dictionary holds its own hash table of the keys;
an object's attribute dictionary (PEP 412) holds only its values and shares the table with
every other attribute dictionary of its class built in the same order: about half the size
(under CPython 3.11, 97 + 8 bytes per key instead of 189 bytes for up to five keys, 279 for up
to ten, 471 for up to twenty), the largest part of a file's record in memory. :func:`shared` makes one per order of keys (a class per order, so files of
another layout do not unshare the first layout's table); it is an ordinary ``dict`` (equal,
same order, marshal and pickle alike), only smaller. Where the interpreter does not share
keys (another implementation, too many keys), it is an ordinary dictionary of its own.
"""

from __future__ import annotations

from typing import Any

# CPython shares a table of at most 30 keys; this many orders of keys get a class each
_MAX_KEYS = 30
_MAX_ORDERS = 512
_HOLDERS: dict[tuple, type] = {}


def shared(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as a key-sharing dictionary (equal, the same order); with no or too many
    keys, and once :data:`_MAX_ORDERS` orders were seen, ``values`` itself."""
    if not values or len(values) > _MAX_KEYS:
        return values
    order = tuple(values)
    holder = _HOLDERS.get(order)
    if holder is None:
        if len(_HOLDERS) >= _MAX_ORDERS:
            return values
        holder = _HOLDERS[order] = type("_Values", (), {})
    out = holder().__dict__
    for k, v in values.items():
        out[k] = v
    return out
