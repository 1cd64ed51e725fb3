"""The workshop lessons `reflexng demo --lesson N` opens (docs/teaching.md), and the check
that a demo data folder is whole before a lesson uses it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BLOCK = 2880


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    mode: str
    target: str | None  # run up to this task first (None: organise only)
    state: str  # what is done when the lesson starts (one phrase)


LESSONS = {
    1: Lesson(1, "read the cascade graph", "imaging", None, "the data are organised, nothing is reduced yet"),
    2: Lesson(2, "why a dataset is incomplete", "imaging", None, "the data are organised, nothing is reduced yet"),
    3: Lesson(3, "cosmic rays and the rejection threshold", "imaging", "reduce",
              "the calibrations and the science step are done"),
    4: Lesson(4, "fringes in the red filter", "imaging", "reduce", "the calibrations and the science step are done"),
    5: Lesson(5, "compare, promote and follow provenance", "imaging", "photometry",
              "the whole reduction is done"),
}


def lesson(number: int) -> Lesson | None:
    return LESSONS.get(number)


def _fits_size_ok(path: Path) -> str | None:
    """None when the file holds a complete primary HDU, else why not (e.g. truncated)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            naxis: dict[int, int] = {}
            bitpix = 8
            nblocks = 0
            while True:
                block = f.read(BLOCK)
                if len(block) < BLOCK:
                    return "truncated (the header ends early)"
                nblocks += 1
                text = block.decode("ascii", "replace")
                for i in range(0, BLOCK, 80):
                    key, val = text[i:i + 8].strip(), text[i + 10:i + 80].split("/")[0].strip()
                    if key == "BITPIX":
                        bitpix = int(val)
                    elif key.startswith("NAXIS") and key[5:].isdigit():
                        naxis[int(key[5:])] = int(val)
                    elif key == "END":
                        n = 1
                        for v in naxis.values():
                            n *= v
                        data = abs(bitpix) // 8 * n if naxis else 0
                        need = nblocks * BLOCK + (data + BLOCK - 1) // BLOCK * BLOCK
                        return None if size >= need else f"truncated ({size} of {need} bytes)"
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    return "truncated (no END card)"


def damage(data: Path, truth_name: str) -> str | None:
    """Why the demo folder ``data`` cannot be used (missing truth file, missing or truncated
    raw FITS files), or None when it is whole."""
    truth = data / truth_name
    if not truth.is_file():
        return f"{truth} is missing"
    try:
        frames = json.loads(truth.read_text()).get("frames", {})
    except (OSError, ValueError) as exc:
        return f"{truth} is unreadable ({exc})"
    raw = data / "raw"
    for name in frames:
        p = raw / name
        if not p.is_file():
            return f"{p} is missing"
    for name in frames:
        why = _fits_size_ok(raw / name)
        if why:
            return f"{raw / name} is {why}"
    return None
