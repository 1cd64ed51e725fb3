"""Header layouts: files written by one template share their cards' keywords and positions.

A layout remembers, for one header, the keyword part of every card (the bytes up to and
including the first ``=``, at least 10 bytes; the whole card when it has no ``=``) and where
the requested cards were found. A later header whose END card is at the same offset and whose
keyword parts are byte-identical has its requested cards at the same places (and lacks the
same ones) -- the same answer the full search would give, for the cost of one ``struct``
unpack and one tuple comparison. Which cards match a requested keyword depends only on those
keyword parts, so the shortcut is exact.
"""

from __future__ import annotations

import struct
from operator import itemgetter

from reflexng.fits.cards import MEMO

MAX_PER_END = 4
MAX_LAYOUTS = 64


class _Layout:
    """One learnt header layout. ``found``: (names, value start, value end, standard?) of each
    requested card present; ``raw``/``memo``/``names``: the same, for extracting all values in
    a few C calls (``raw(buf)``: every value's bytes; ``memo``: each one's parsed-value memo
    look-up, raising KeyError for a value not seen yet; ``names``: one per value), None when a
    card answers several names."""

    __slots__ = ("unpack", "keys", "found", "end", "raw", "memo", "names")

    def __init__(self, unpack, keys: tuple[bytes, ...], found: tuple, end: int = -1):
        self.unpack = unpack
        self.keys = keys
        self.found = found
        self.end = end
        self.raw = self.memo = self.names = None
        if found and all(len(f[0]) == 1 for f in found):
            get = itemgetter(*[slice(t, e) for _, t, e, _ in found])
            self.raw = get if len(found) > 1 else (lambda buf, get=get: (get(buf),))
            self.memo = tuple(MEMO[standard].__getitem__ for _, _, _, standard in found)
            self.names = tuple(names[0] for names, _, _, _ in found)


class LayoutCache:
    """Layouts by END-card offset; a layout is learnt from the second header of a length."""

    def __init__(self) -> None:
        self._by_end: dict[int, list[_Layout]] = {}
        self._seen: set[int] = set()
        self._count = 0
        self._structs: dict[str, struct.Struct] = {}

    def match(self, buf: bytes, end: int) -> tuple | None:
        """Where the requested cards are in ``buf``, when a known layout fits it exactly."""
        for layout in self._by_end.get(end, ()):
            if layout.unpack(buf) == layout.keys:
                return layout.found
        return None

    def match_any(self, buf: bytes, end_card: bytes) -> _Layout | None:
        """The known layout that fits ``buf`` (its ``end``: the END offset); no END search
        needed.

        A fitting layout proves its END offset: every earlier card has the keyword part of a
        card that was not END in the reference header.
        """
        for end, layouts in self._by_end.items():
            if buf.startswith(end_card, end):
                for layout in layouts:
                    if layout.unpack(buf) == layout.keys:
                        return layout
        return None

    def learn(self, buf: bytes, end: int, found: list) -> None:
        """Remember the layout of a header just searched in full (from its second length)."""
        if end not in self._seen:
            self._seen.add(end)
            return
        layouts = self._by_end.setdefault(end, [])
        if len(layouts) >= MAX_PER_END:
            return
        if self._count >= MAX_LAYOUTS:
            self._by_end = {end: layouts}
            self._count = len(layouts)
        parts = []
        for p in range(0, end, 80):
            e = buf.find(b"=", p, p + 80)
            k = 80 if e < 0 else max(10, e - p + 1)
            parts.append(f"{k}s{80 - k}x" if k < 80 else "80s")
        fmt = "".join(parts)
        st = self._structs.get(fmt)
        if st is None:
            st = self._structs[fmt] = struct.Struct(fmt)
        layouts.append(_Layout(st.unpack_from, st.unpack_from(buf), tuple(found), end))
        self._count += 1
