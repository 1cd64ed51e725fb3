"""A small FITS header reader: 2880-byte blocks, only the requested cards, astropy as fallback.

Which header a keyword comes from: the primary header. When the primary header has ``NAXIS = 0``
and the file has an extension, keywords missing from the primary header are taken from the
first extension's header (for a tile-compressed image, e.g. ``.fits.fz``, the header of the
compressed image as astropy presents it). ``keywords=None`` means every valued card of the
primary header (plus, by the same rule, the first extension's cards the primary lacks);
COMMENT, HISTORY and blank cards are left out.

The fast path reads the header blocks with ``os.pread`` (the kernel is told not to read ahead)
and extracts only the cards asked for; gzip files are decompressed up to the headers. For a
tile-compressed image the cards astropy copies verbatim from the table header are read
directly. astropy answers for the table and Z keywords of such images, CONTINUE (long
string) cards, record-valued cards and any card whose value this reader does not parse
exactly as astropy does. Values equal astropy's: ``str`` (trailing blanks stripped), ``int``,
``float``, ``bool``, ``complex``; an empty value is ``None``. Card names are matched as the
FITS standard writes them (upper case).
"""

from __future__ import annotations

import gzip
import operator
import os
import re
import sys
import zlib
from collections.abc import Iterable
from typing import Any

from reflexng.fits.cards import MEMO as _MEMO
from reflexng.fits.cards import ODD, cascade_name, fits_card_name, value_of
from reflexng.fits.fallback import AstropyFailed, astropy_result
from reflexng.fits.layout import LayoutCache

BLOCK = 2880
FIRST_READ = 10 * BLOCK  # enough for ~360 cards in one system call
MORE_READ = 24 * BLOCK
MAX_HEADER = 16 * 1024 * 1024
END_CARD = b"END" + b" " * 77
_COMMENTARY = {b"COMMENT ", b"HISTORY ", b"        "}
_STD_KEY_RE = re.compile(rb"[A-Z0-9_-]{1,8} *$")
_FADV = getattr(os, "posix_fadvise", None)
_FADV_RANDOM = getattr(os, "POSIX_FADV_RANDOM", 0)

OK = "ok"
UNREADABLE = "unreadable"


class Unreadable(Exception):
    """A file this reader (and astropy) cannot make sense of; the message is the reason."""


class _Odd(Exception):
    """The fast path met something only astropy handles exactly."""


class KeywordSpec:
    """Requested cascade keywords compiled for extraction (``None``: every card)."""

    def __init__(self, keywords: Iterable[str] | None):
        self.all = keywords is None
        # interned: every file's values share these key objects, and marshal (the transport
        # from scan workers, the cache rows) keeps them shared in the reading process
        self.names: tuple[str, ...] = (
            () if keywords is None else tuple(map(sys.intern, dict.fromkeys(keywords))))
        eso: dict[bytes, list[str]] = {}
        self.std: list[tuple[bytes, str]] = []  # (b"EXPTIME = ", name)
        self.hier: list[tuple[bytes, str]] = []  # (b"HIERARCH FOO", name): non-ESO HIERARCH
        for name in self.names:
            card = fits_card_name(name)
            raw = card.encode("ascii", "replace")
            if card.startswith("HIERARCH ESO "):
                eso.setdefault(raw[13:], []).append(name)
            elif card.startswith("HIERARCH ") or len(card) > 8 or " " in card:
                if not card.startswith("HIERARCH "):
                    raw = b"HIERARCH " + raw
                self.hier.append((raw, name))
            else:
                self.std.append((raw.ljust(8) + b"= ", name))
        self.eso = eso
        self.layouts = LayoutCache()
        alts = sorted(eso, key=len, reverse=True)
        self.eso_re = (
            re.compile(rb"HIERARCH ESO (" + b"|".join(re.escape(a) for a in alts) + rb") *=")
            if alts
            else None
        )


# ---------------------------------------------------------------------------- card extraction


def _card_value(buf: bytes, card: int, text_start: int, standard: bool) -> Any:
    if buf[card + 80 : card + 88] == b"CONTINUE":
        raise _Odd("CONTINUE")
    value = value_of(buf[text_start : card + 80], standard)
    if value is ODD:
        raise _Odd("value")
    return value


def _find_card(buf: bytes, pattern: bytes, start: int, end: int) -> int:
    p = buf.find(pattern, start, end)
    while p >= 0 and (p - start) % 80:
        p = buf.find(pattern, p + 1, end)
    return p


def extract(
    buf: bytes,
    start: int,
    end: int,
    spec: KeywordSpec,
    want: set[str] | None,
    record: list | None = None,
) -> dict:
    """Values of the wanted keywords found in the header ``buf[start:end]`` (end: the END card).

    ``want`` limits the names looked for (None: all of ``spec``). ``record`` receives, for each
    card found, (names, card offset, value offset, standard?). Raises ``_Odd`` when only
    astropy can answer exactly.
    """
    if spec.all:
        return _extract_all(buf, start, end)
    out: dict[str, Any] = {}
    if spec.eso_re is not None:
        for m in spec.eso_re.finditer(buf, start, end):
            p = m.start()
            if (p - start) % 80:
                raise _Odd("HIERARCH text inside a card")
            names = spec.eso[m.group(1)]
            if names[0] in out:
                continue  # astropy returns the first of duplicated cards
            if want is not None and not any(n in want for n in names):
                continue
            value = _card_value(buf, p, m.end(), False)
            for n in names:
                out[n] = value
            if record is not None:
                record.append((tuple(names), p, m.end(), False))
    for pattern, name in spec.std:
        if want is not None and name not in want:
            continue
        p = _find_card(buf, pattern, start, end)
        if p >= 0:
            out[name] = _card_value(buf, p, p + 10, True)
            if record is not None:
                record.append(((name,), p, p + 10, True))
    for pattern, name in spec.hier:
        if want is not None and name not in want:
            continue
        p = _find_card(buf, pattern, start, end)
        while p >= 0:
            q = p + len(pattern)
            if buf[q] in (32, 61):
                while q < p + 79 and buf[q] == 32:
                    q += 1
                if buf[q] == 61:
                    out[name] = _card_value(buf, p, q + 1, False)
                    if record is not None:
                        record.append(((name,), p, q + 1, False))
                    break
            p = _find_card(buf, pattern, p + 80, end)
    return out


def primary_values(buf: bytes, end: int, spec: KeywordSpec) -> dict:
    """``extract`` for a primary header, through the layout cache when it can answer."""
    if spec.all:
        return _extract_all(buf, 0, end)
    layouts = spec.layouts
    found = layouts.match(buf, end)
    if found is not None:
        out: dict[str, Any] = {}
        for names, t, e, standard in found:
            value = value_of(buf[t:e], standard)
            if value is ODD:
                raise _Odd("value")
            for n in names:
                out[n] = value
        return out
    record: list = []
    out = extract(buf, 0, end, spec, None, record)
    layouts.learn(buf, end, [(names, t, p + 80, std) for names, p, t, std in record])
    return out


def _extract_all(buf: bytes, start: int, end: int) -> dict:
    out: dict[str, Any] = {}
    for p in range(start, end, 80):
        k8 = buf[p : p + 8]
        if k8 == b"HIERARCH" and buf[p + 8] == 32 and b"=" in buf[p : p + 80]:
            eq = buf.index(b"=", p, p + 80)
            name = cascade_name("HIERARCH " + buf[p + 9 : eq].decode("latin-1").strip())
            text, standard = eq + 1, False
        elif k8 in _COMMENTARY:
            continue
        elif buf[p + 8 : p + 10] == b"= " and _STD_KEY_RE.match(k8):
            name = k8.rstrip().decode("ascii")
            text, standard = p + 10, True
        else:
            raise _Odd("non-standard card")
        value = _card_value(buf, p, text, standard)  # parsed even when duplicated: RVKC check
        if name not in out:
            out[sys.intern(name)] = value
    return out


def _std_int(buf: bytes, start: int, end: int, name: bytes, hint: int) -> int | None:
    pattern = name.ljust(8) + b"= "
    p = start + hint * 80
    if not buf.startswith(pattern, p):
        p = _find_card(buf, pattern, start, end)
        if p < 0:
            return None
    value = value_of(buf[p + 10 : p + 80], True)
    return value if type(value) is int else None


def data_size(buf: bytes, start: int, end: int) -> tuple[int | None, int]:
    """(NAXIS, bytes of the primary data unit); the size is 0 when empty or unknown."""
    naxis = _std_int(buf, start, end, b"NAXIS", 2)
    if not naxis or naxis < 0:
        return naxis, 0
    bitpix = _std_int(buf, start, end, b"BITPIX", 1)
    if not bitpix:
        return naxis, 0
    size = abs(bitpix) // 8
    for i in range(1, naxis + 1):
        n = _std_int(buf, start, end, b"NAXIS%d" % i, 2 + i)
        if n is None or n <= 0:
            return naxis, 0
        size *= n
    return naxis, size


# ---------------------------------------------------------------------------- file sources


class _Plain:
    def __init__(self, path: str, size: int):
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.size = size
        if _FADV is not None:
            try:
                _FADV(self.fd, 0, 0, _FADV_RANDOM)
            except OSError:
                pass

    def read(self, offset: int, n: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def close(self) -> None:
        os.close(self.fd)


class _Gzip:
    def __init__(self, path: str, size: int):
        self.f = gzip.open(path, "rb")
        self.path = path
        self.size = size

    def read(self, offset: int, n: int) -> bytes:
        try:
            if self.f.tell() != offset:
                self.f.seek(offset)
            return self.f.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise Unreadable(f"broken gzip: {exc}") from None

    def close(self) -> None:
        self.f.close()


def _read_header(src: Any, offset: int, what: str, buf: bytes = b"") -> tuple[bytes, int]:
    """Read a header starting at ``offset``: (bytes from offset, position of the END card).

    ``buf``: bytes already read from ``offset``.
    """
    if not buf:
        buf = src.read(offset, FIRST_READ)
    searched = 0
    while True:
        p = buf.find(END_CARD, searched)
        while p >= 0 and p % 80:
            p = buf.find(END_CARD, p + 1)
        if p >= 0:
            return buf, p
        searched = len(buf) - len(buf) % 80
        if len(buf) % BLOCK or len(buf) >= MAX_HEADER:
            break
        more = src.read(offset + len(buf), MORE_READ)
        if not more:
            break
        buf += more
    for p in range(0, len(buf) - 2, 80):
        if buf.startswith(b"END", p):
            raise _Odd("non-standard END card")
    if len(buf) >= MAX_HEADER:
        raise Unreadable(f"not FITS: no END card in the first {MAX_HEADER} bytes of the {what}")
    return_end = offset + len(buf)
    raise Unreadable(f"truncated: {what} ends at byte {return_end} without END")


def _not_fits_reason(head: bytes) -> str:
    if head.startswith(b"XTENSION"):
        return "not FITS: starts with XTENSION instead of SIMPLE (no primary header)"
    shown = head[:20].decode("latin-1")
    shown = "".join(c if c.isprintable() else "." for c in shown)
    return f"not FITS: does not start with a SIMPLE card (starts with {shown!r})"


def _kind(path: str) -> str:
    tail = path[-3:].lower()
    if tail == ".fz":
        return "fz"
    if tail == ".gz":
        return "gz"
    return "plain"


def read_file(path: str, size: int, spec: KeywordSpec) -> tuple[str, str, dict, str]:
    """Read one file: (status, reason, values, header_digest). Never raises for a bad file."""
    if size == 0:
        return UNREADABLE, "empty file", {}, ""
    kind = _kind(path)
    if kind == "plain" and not spec.all:
        try:
            result = _fast_plain(path, size, spec)
        except Exception:
            result = None  # the full path below reports what is wrong
        if result is not None:
            return result
    try:
        return _read(path, size, spec, kind)
    except (Unreadable, AstropyFailed) as exc:
        return UNREADABLE, str(exc), {}, ""
    except IsADirectoryError:
        return UNREADABLE, "is a folder", {}, ""
    except OSError as exc:
        return UNREADABLE, f"cannot read: {exc.strerror or exc}", {}, ""
    except Exception as exc:  # a bad file must never stop a scan
        return UNREADABLE, f"cannot read: {type(exc).__name__}: {exc}", {}, ""


_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_RWF_NOWAIT = getattr(os, "RWF_NOWAIT", None)
_FADV_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None)


def is_cold(path: str) -> bool:
    """True when the file's first bytes are not in the page cache (a read would wait)."""
    if _RWF_NOWAIT is None or _FADV is None:
        return False
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError:
        return False
    try:
        os.preadv(fd, [bytearray(80)], 0, _RWF_NOWAIT)
        return False
    except BlockingIOError:
        return True
    except OSError:  # RWF_NOWAIT not supported here
        return False
    finally:
        os.close(fd)


def prefetch(path: str) -> None:
    """Ask the kernel to read a file's first header blocks in the background."""
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError:
        return
    try:
        _FADV(fd, 0, FIRST_READ, _FADV_WILLNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fast_plain(path: str, size: int, spec: KeywordSpec) -> tuple[str, str, dict, str] | None:
    """The common case in one function: a plain file of a known layout (None otherwise)."""
    fd = os.open(path, _O_FLAGS)
    try:
        if size > FIRST_READ:  # a smaller file is read whole: read-ahead advice is moot
            if _FADV is not None:
                _FADV(fd, 0, 0, _FADV_RANDOM)
            buf = os.pread(fd, FIRST_READ, 0)
        else:
            buf = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    if not buf.startswith(b"SIMPLE  "):
        return None
    layout = spec.layouts.match_any(buf, END_CARD)
    if layout is None:
        return None
    end = layout.end
    hlen = end + 80
    hlen += -hlen % BLOCK
    if buf.startswith(_NAXIS0, 160):
        naxis, dsize = 0, 0
    else:
        naxis, dsize = data_size(buf, 0, end)
        if size < hlen + dsize:
            return None
    if layout.raw is not None:  # a few C calls
        parsed = list(map(_call, layout.memo, layout.raw(buf)))
        if ODD in parsed:
            return None
        values = dict(zip(layout.names, parsed))
    else:
        values = {}
        memo = _MEMO
        for names, t, e, standard in layout.found:
            value = memo[standard][buf[t:e]]
            if value is ODD:
                return None
            for n in names:
                values[n] = value
    if naxis == 0 and size > hlen and len(values) < len(spec.names):
        return None  # the first extension may hold the rest
    return OK, "", values, f"{zlib.crc32(memoryview(buf)[: end + 80]):08x}{size:x}"


_NAXIS0 = b"NAXIS   =                    0 "
_call = getattr(operator, "call", None) or (lambda f, x: f(x))  # operator.call: Python >= 3.11


def _read(path: str, size: int, spec: KeywordSpec, kind: str) -> tuple[str, str, dict, str]:
    src: Any = _Gzip(path, size) if kind == "gz" else _Plain(path, size)
    try:
        head = src.read(0, FIRST_READ)
        if kind == "plain" and head.startswith(b"\x1f\x8b"):
            src.close()
            src = _Gzip(path, size)
            kind = "gz"
            head = src.read(0, FIRST_READ)
        if not head.startswith(b"SIMPLE  "):
            raise Unreadable(_not_fits_reason(head))
        end = head.find(END_CARD)
        if end >= 0 and end % 80 == 0:
            buf = head
        else:
            try:
                buf, end = _read_header(src, 0, "header", head)
            except _Odd:
                return astropy_result(path, size, spec, f"{zlib.crc32(head):08x}{size:x}")
        hlen = end + 80
        hlen += -hlen % BLOCK
        digest = f"{zlib.crc32(memoryview(buf)[: end + 80]):08x}{size:x}"
        naxis, dsize = data_size(buf, 0, end)
        _check_size(src, kind, size, hlen, dsize)
        try:
            values = primary_values(buf, end, spec)
            missing = spec.all or len(values) < len(spec.names)
            if missing and naxis == 0:
                values = _merge_ext1(src, kind, size, hlen, spec, values)
        except _Odd:
            illegal = _illegal_value(buf, end, spec)  # never read as None: the file is flagged
            if illegal:
                raise Unreadable(illegal) from None
            return astropy_result(path, size, spec, digest)
        return OK, "", values, digest
    finally:
        src.close()


_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_CONTROL_NAMES = {0: "a NUL byte", 9: "a tab", 10: "a newline", 13: "a carriage return"}


def _illegal_value(buf: bytes, end: int, spec: KeywordSpec) -> str | None:
    """The reason when a requested card's value holds a control character (FITS allows only
    printable ASCII); None otherwise."""
    for card in range(0, end, 80):
        m = _CONTROL.search(buf, card + 8, card + 80)
        if m is None:
            continue
        raw = buf[card : card + 80]
        key = raw.split(b"=", 1)[0] if raw.startswith(b"HIERARCH ") else raw[:8]
        name = cascade_name(" ".join(key.decode("ascii", "replace").split()))
        if spec.all or name in spec.names:
            what = _CONTROL_NAMES.get(buf[m.start()], f"the control character 0x{buf[m.start()]:02x}")
            return (f"header card {name}: its value contains {what}, which FITS does not allow (only printable "
                    "ASCII); fix the header (e.g. with astropy) to use this file")
    return None


def _check_size(src: Any, kind: str, size: int, hlen: int, dsize: int) -> None:
    need = hlen + dsize
    if kind == "gz":
        if need < 2**32:
            try:
                with open(src.path, "rb") as f:
                    f.seek(-4, os.SEEK_END)
                    isize = int.from_bytes(f.read(4), "little")
            except OSError:
                return
            if isize < need:
                raise Unreadable(
                    f"broken gzip: the gzip trailer says {isize} bytes uncompressed, "
                    f"the FITS header describes at least {need} (truncated download?)"
                )
        return
    if size < need:
        raise Unreadable(
            f"truncated: the data unit needs {dsize} bytes after the header (byte {hlen}), "
            f"the file has only {size} bytes"
        )


# Cards of a tile-compressed image's table header that astropy rewrites or drops when it
# presents the image header; any other card is copied verbatim, so it is read here directly.
_TABLE_KEYS = re.compile(
    r"(SIMPLE|XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|EXTEND|TFIELDS|THEAP|EXTNAME|EXTVER|"
    r"CHECKSUM|DATASUM|BLANK|BSCALE|BZERO|T(TYPE|FORM|UNIT|NULL|SCAL|ZERO|DISP|DIM)\d+|Z.*)$"
)


def _merge_ext1(src: Any, kind: str, size: int, hlen: int, spec: KeywordSpec, values: dict):
    if kind == "plain" and size <= hlen:
        return values
    head = src.read(hlen, 80)
    if not head.startswith(b"XTENSION"):
        return values
    buf, end = _read_header(src, hlen, "extension 1 header")
    want = None if spec.all else {n for n in spec.names if n not in values}
    if buf.find(b"ZIMAGE  =                    T", 0, end) >= 0:
        # a compressed image: astropy's image header differs only in table/Z cards
        if want is None or any(_TABLE_KEYS.match(fits_card_name(n)) for n in want):
            raise _Odd("tile-compressed extension")
    if want is None:
        extra = _extract_all(buf, 0, end)
    else:
        extra = extract(buf, 0, end, spec, want)
    for k, v in extra.items():
        values.setdefault(k, v)
    return values
