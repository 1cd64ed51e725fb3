"""End products: the target's products, for people, under ``<workdir>/end_products/<label>/``.

``<label>`` is the dataset label (:mod:`reflexng.organiser.labels`: object, setup, night). Each
product gets a short name that never collides (:func:`end_product_names`): by default its
category in lower case, plus the setup words of the dataset (e.g. the filter) —
``source_catalog_V.fits`` — and, when a dataset has several products of one category, what tells
them apart (exposure number, start time or the raw frame's name). ``--end-product-pattern``
names them from header keywords instead (``{OBJECT}_{PRO.CATG}.fits``).

A run exports only what changed (:func:`export`): an end product whose content is unchanged is
left alone (no new file); a changed one replaces the current file and the previous version moves
to ``<label>/previous/<name>.<N>.fits`` (N = 1, 2, ...), so the folder always holds the latest
products under stable names. Every substituted value is sanitised (letters, digits, ``._+-``), so a
header such as ``OBJECT='../../x'`` can never leave the folder.

:func:`export_to` copies (or links) the current end products of chosen datasets into another
folder with a pattern (``reflexng export``).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reflexng.engine.jobdir import safe_name

DEFAULT_PATTERN = ""  # "": category + setup words (see end_product_names)
EXPORT_PATTERN = "{dataset}/{name}"
PREVIOUS = "previous"
MAX_NAME = 60
_FIELD = re.compile(r"\{([^{}]+)\}")


class PatternError(ValueError):
    """A pattern names a keyword a product's header does not have."""


def _header_values(path: str, keywords: list[str]) -> dict[str, str]:
    """The pattern's keywords from the product's header (the FITS layer's fast reader)."""
    from reflexng.fits import read_header_values

    if not keywords or not path.lower().endswith((".fits", ".fit", ".fts")):
        return {}
    try:
        return {k: str(v) for k, v in read_header_values(path, keywords).items() if v is not None}
    except ValueError:  # not readable as FITS: the pattern's fields fall back
        return {}


def _key(field_name: str) -> str:
    key = field_name.strip()
    if key.upper().startswith("HIERARCH ESO "):
        key = key[13:].replace(" ", ".")
    return key


def check_pattern(pattern: str) -> str | None:
    """A message when ``pattern`` has unbalanced braces or is empty; None when it is well formed."""
    left = _FIELD.sub("", pattern)
    if "{" in left or "}" in left or not pattern.strip():
        return (f"pattern {pattern!r}: unbalanced braces or empty; write header keywords in braces, "
                "e.g. {OBJECT}_{PRO.CATG}.fits")
    return None


def fill_pattern(pattern: str, path: str, special: Mapping[str, str] | None = None, strict: bool = True) -> str:
    """``pattern`` with ``{KEYWORD}`` fields filled from the product's header (and ``special``
    names such as ``dataset`` / ``name``), each value sanitised. ``strict``: a missing keyword
    raises PatternError naming the file; else it becomes ``unknown``."""
    special = dict(special or {})
    keys = {_key(f) for f in _FIELD.findall(pattern)} - set(special)
    values = _header_values(path, sorted(keys | {k.upper() for k in keys}))

    def fill(m: re.Match) -> str:
        key = _key(m.group(1))
        if key in special:
            v = special[key]
        else:
            v = values.get(key) or values.get(key.upper())
            if not v and key.upper() in ("PRO.CATG", "CATG", "CATEGORY"):
                v = special.get("category")
        if not v:
            if strict:
                near = sorted(k for k in values if k.split(".")[0] == key.split(".")[0])[:5]
                hint = f"; keywords there like it: {', '.join(near)}" if near else ""
                raise PatternError(f"{path}: pattern field {{{m.group(1)}}}: no keyword {key} in this product's "
                                   f"header{hint}; use another keyword, or one of {{dataset}} {{name}} {{category}}")
            v = "unknown"
        return safe_name(str(v), "unknown", MAX_NAME)

    return _FIELD.sub(fill, pattern)


def product_name(pattern: str, path: str, category: str) -> str:
    """The file name one product gets from ``pattern`` (missing keywords become ``unknown``)."""
    name = fill_pattern(pattern, path, {"category": category}, strict=False)
    name = safe_name(name.replace("/", "_"), "product", 200)
    if not Path(name).suffix:
        name += Path(path).suffix or ".fits"
    return name


def _words(category: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_") or "product"


def _distinguisher(path: str) -> list[str]:
    """Candidate words that tell apart products of one category, best first."""
    h = _header_values(path, ["TPL.EXPNO", "DATE-OBS", "PRO.REC1.RAW1.NAME"])
    out = []
    if h.get("TPL.EXPNO"):
        out.append(f"exp{h['TPL.EXPNO']}")
    m = re.search(r"T(\d\d):?(\d\d):?(\d\d)", str(h.get("DATE-OBS", "")))
    if m:
        out.append("T" + "".join(m.groups()))
    raw = h.get("PRO.REC1.RAW1.NAME")
    if raw:
        out.append(safe_name(Path(raw).name.removesuffix(".fits"), "raw", 40))
    out.append(safe_name(Path(path).name.removesuffix(".fits"), "product", 40))
    return out


def end_product_names(products: Sequence[tuple[str, str]], setup: str = "", pattern: str = DEFAULT_PATTERN,
                      label: str = "") -> list[str]:
    """One file name per (path, category), unique and at most 60 characters (see the module)."""
    names: list[str] = []
    if pattern:
        names = [product_name(pattern, p, c) for p, c in products]
    else:
        for p, c in products:
            stem = "_".join(w for w in (_words(c), setup) if w)
            names.append(stem[:MAX_NAME - 5] + (Path(p).suffix or ".fits"))
    # products that would share a name: add what tells them apart
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        groups.setdefault(n, []).append(i)
    for n, idx in groups.items():
        if len(idx) < 2:
            continue
        cands = [_distinguisher(products[i][0]) for i in idx]
        for level in range(max(len(c) for c in cands)):
            words = [c[min(level, len(c) - 1)] for c in cands]
            if len(set(words)) == len(words):
                break
        stem, suffix = os.path.splitext(n)
        for i, w in zip(idx, words):
            room = MAX_NAME - len(suffix) - len(w) - 1
            names[i] = f"{stem[:max(room, 8)]}_{w}{suffix}"
    return [safe_name(n, "product", 200) for n in names]


@dataclass
class Exported:
    """What an export did for one dataset: ``new`` (first time), ``updated`` (a new version), ``unchanged``."""

    label: str
    folder: str
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def current(self) -> list[str]:
        return self.new + self.updated + self.unchanged

    def to_json(self) -> dict:
        return {"dataset": self.label, "folder": self.folder, "new": self.new, "updated": self.updated,
                "unchanged": self.unchanged}


def _same(a: str, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _place(src: str, target: Path, link: bool) -> None:
    tmp = target.with_name(f".{target.name}.part")
    if link:
        try:
            if tmp.exists():
                tmp.unlink()
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
    else:
        shutil.copy2(src, tmp)
    os.replace(tmp, target)


def _keep_previous(target: Path) -> None:
    prev = target.parent / PREVIOUS
    prev.mkdir(exist_ok=True)
    stem, suffix = target.name.split(".", 1)[0], "." + target.name.split(".", 1)[1] if "." in target.name else ""
    n = 1
    while (prev / f"{stem}.{n}{suffix}").exists():
        n += 1
    os.replace(target, prev / f"{stem}.{n}{suffix}")


def export(products: Iterable[tuple[str, str]], folder: Path, pattern: str = DEFAULT_PATTERN, link: bool = False,
           setup: str = "", label: str = "") -> Exported:
    """Put the products into ``folder`` under their end-product names; only what changed is written
    (see the module). Returns what was new, updated or unchanged."""
    products = list(products)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    done = Exported(label or folder.name, str(root))
    for (path, _category), name in zip(products, end_product_names(products, setup, pattern, label)):
        target = root / name
        if target.resolve().parent != root:  # cannot happen after safe_name; refuse anyway
            raise ValueError(f"end product name {name!r} would leave {root}")
        if target.exists():
            if _same(path, target):
                done.unchanged.append(str(target))
                continue
            _keep_previous(target)
            _place(path, target, link)
            done.updated.append(str(target))
        else:
            _place(path, target, link)
            done.new.append(str(target))
    return done


# ----------------------------------------------------------------- reflexng export


def current_end_products(workdir: Path) -> dict[str, list[Path]]:
    """Dataset label -> the current end products in ``<workdir>/end_products/<label>/``."""
    root = workdir / "end_products"
    out: dict[str, list[Path]] = {}
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
        if files:
            out[d.name] = files
    return out


def export_to(chosen: Mapping[str, Sequence[Path]], dest: Path, pattern: str = EXPORT_PATTERN,
              link: bool = False) -> list[tuple[str, str, str]]:
    """Copy (``link``: hard link where possible) end products to ``dest`` named by ``pattern``.

    Fields: header keywords, ``{dataset}`` (label), ``{name}`` (end-product file name without
    extension), ``{category}``. ``/`` in the pattern makes sub-folders. Every name is checked
    before anything is written (a missing keyword raises PatternError, two products with one
    name ValueError). Returns (source, target, "new"|"updated"|"unchanged")."""
    plan: list[tuple[Path, Path]] = []
    seen: dict[Path, Path] = {}
    root = dest.resolve()
    for label, files in chosen.items():
        for f in files:
            h = _header_values(str(f), ["PRO.CATG"])
            special = {"dataset": label, "name": f.name.split(".", 1)[0], "category": h.get("PRO.CATG", "")}
            parts = [fill_pattern(part, str(f), special) for part in pattern.split("/") if part]
            if not Path(parts[-1]).suffix:
                parts[-1] += "".join(f.suffixes) or ".fits"
            target = root.joinpath(*parts)
            if root not in target.resolve().parents:
                raise ValueError(f"pattern {pattern!r}: {f} would be written outside {root}")
            if target in seen:
                raise ValueError(f"pattern {pattern!r}: {seen[target]} and {f} both become {target}; add a field "
                                 "that tells them apart, e.g. {dataset} or {name}")
            seen[target] = f
            plan.append((f, target))
    out = []
    for src, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            if _same(str(src), target):
                out.append((str(src), str(target), "unchanged"))
                continue
            _place(str(src), target, link)
            out.append((str(src), str(target), "updated"))
        else:
            _place(str(src), target, link)
            out.append((str(src), str(target), "new"))
    return out
