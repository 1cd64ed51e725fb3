"""End products: copies (or hard links) of the target's products under
``<workdir>/end_products/<dataset>/<timestamp>/``, named by a pattern of header keywords.

The pattern (default ``{OBJECT}_{PRO.CATG}.fits``) uses cascade keyword names in braces.
Every substituted value is sanitised (letters, digits, ``._+-``; no separators, no leading
dots), so a header such as ``OBJECT='../../x'`` can never leave the folder; collisions get
``_2``, ``_3``, ... before the extension.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from reflexng.engine.jobdir import safe_name

DEFAULT_PATTERN = "{OBJECT}_{PRO.CATG}.fits"
_FIELD = re.compile(r"\{([^{}]+)\}")


def _keyword(field: str) -> str:
    key = field.strip()
    return key[13:].replace(" ", ".") if key.upper().startswith("HIERARCH ESO ") else key


def _header_values(path: str, keywords: list[str]) -> dict[str, str]:
    """The pattern's keywords from the product's header (the FITS layer's fast reader)."""
    from reflexng.fits import read_header_values

    try:
        return {k: str(v) for k, v in read_header_values(path, keywords).items() if v is not None}
    except ValueError:  # not readable as FITS: the pattern's fields fall back
        return {}


def product_name(pattern: str, path: str, category: str) -> str:
    """The file name a product gets: fields filled from its header, sanitised."""
    keys = sorted({_keyword(f) for f in _FIELD.findall(pattern)} | {_keyword(f).upper() for f in _FIELD.findall(pattern)})
    values = _header_values(path, keys) if keys and path.lower().endswith((".fits", ".fit", ".fts")) else {}

    def fill(m: re.Match) -> str:
        key = _keyword(m.group(1))
        v = values.get(key) or values.get(key.upper())
        if not v and key.upper() in ("PRO.CATG", "CATG", "CATEGORY"):
            v = category
        return safe_name(v or "unknown", "unknown", 60)

    name = _FIELD.sub(fill, pattern)
    name = safe_name(name.replace("/", "_"), "product", 200)
    if not Path(name).suffix:
        name += Path(path).suffix or ".fits"
    return name


def export(products: Iterable[tuple[str, str]], folder: Path, pattern: str = DEFAULT_PATTERN,
           link: bool = False) -> list[str]:
    """Copy (``link=True``: hard link, else copy) products into ``folder``; returns the new paths."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    out: list[str] = []
    for path, category in products:
        name = product_name(pattern, path, category)
        stem, suffix = os.path.splitext(name)
        if stem.endswith(".fits"):
            stem, suffix = stem[:-5], ".fits" + suffix
        target = root / name
        n = 2
        while target.exists():
            target = root / f"{stem}_{n}{suffix}"
            n += 1
        if target.resolve().parent != root:  # cannot happen after safe_name; refuse anyway
            raise ValueError(f"end product name {name!r} would leave {root}")
        if link:
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        else:
            shutil.copy2(path, target)
        out.append(str(target))
    return out
