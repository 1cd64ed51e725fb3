"""Recipes for tests and benchmarks: no-op, sleep, CPU burn, raise, crash, hang, half product, big log.

They import nothing heavy (no numpy, no astropy) so a child process starts them fast. Products
are small header-only FITS files written by :func:`write_header_fits`; each product header
records the recipe parameters and the names of the inputs, so different parameters or inputs
give a product with different content (which smart re-runs of downstream jobs rely on).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reflexng.recipes.protocol import ParameterSpec, Recipe, RecipeError, RecipeResult

# --------------------------------------------------------------------------- tiny FITS I/O


def _card(key: str, value: Any) -> str:
    if isinstance(value, bool):
        v = "T" if value else "F"
        text = f"{key:<8}= {v:>20}"
    elif isinstance(value, (int, float)):
        text = f"{key:<8}= {value!r:>20}"
    else:
        s = str(value).replace("'", "''")[:60]
        text = f"{key:<8}= '{s:<8}'"
    if key.startswith("HIERARCH"):
        text = f"{key} = " + text.split("= ", 1)[1].strip()
    return text[:80].ljust(80)


def write_header_fits(path: str | os.PathLike, cards: Mapping[str, Any]) -> None:
    """Write a valid header-only FITS file (NAXIS = 0) with the given cards.

    Keys with a dot (``PRO.CATG``) become ``HIERARCH ESO PRO CATG``.
    """
    lines = [_card("SIMPLE", True), _card("BITPIX", 8), _card("NAXIS", 0)]
    for key, value in cards.items():
        k = "HIERARCH ESO " + key.replace(".", " ") if "." in key else key.upper()
        lines.append(_card(k, value))
    lines.append("END".ljust(80))
    text = "".join(lines)
    text += " " * (-len(text) % 2880)
    Path(path).write_bytes(text.encode("ascii", "replace"))


def read_header_cards(path: str | os.PathLike) -> dict[str, str]:
    """Read the primary header of a FITS file as raw strings (quotes removed). Tiny and tolerant."""
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as fh:
            while True:
                block = fh.read(2880)
                if len(block) < 2880:
                    return out
                for i in range(0, 2880, 80):
                    card = block[i : i + 80].decode("ascii", "replace")
                    if card.startswith("END") and card[3:].strip() == "":
                        return out
                    if "=" not in card:
                        continue
                    key, rest = card.split("=", 1)
                    key = key.strip()
                    if key.startswith("HIERARCH ESO "):
                        key = key[len("HIERARCH ESO ") :].replace(" ", ".")
                    rest = rest.strip()
                    if rest.startswith("'"):
                        end = rest.find("'", 1)
                        while end != -1 and rest[end + 1 : end + 2] == "'":
                            end = rest.find("'", end + 2)
                        value = rest[1:end].replace("''", "'").rstrip() if end != -1 else rest[1:]
                    else:
                        value = rest.split("/", 1)[0].strip()
                    out[key] = value
    except OSError:
        return out


def _product(inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any], output_dir: Path, name: str,
             category: str, extra: Mapping[str, Any] | None = None) -> tuple[str, str]:
    obj = str(parameters.get("object") or "")
    if not obj:
        for path, _cat in inputs:
            obj = read_header_cards(path).get("OBJECT", "")
            if obj:
                break
    cards: dict[str, Any] = {"OBJECT": obj or "none", "PRO.CATG": category}
    for i, (path, cat) in enumerate(inputs[:50], 1):
        cards[f"TINP{i}"] = f"{os.path.basename(path)}:{cat}"
    for k, v in sorted(parameters.items()):
        if k != "object":
            cards[f"TPAR.{k.upper()}"[:40]] = v
    cards.update(extra or {})
    path = output_dir / name
    write_header_fits(path, cards)
    return str(path), category


_COMMON = (
    ParameterSpec("category", "str", "TEST_PRODUCT", "category of the product"),
    ParameterSpec("payload", "str", "", "any text, written into the product header"),
    ParameterSpec("object", "str", "", "OBJECT of the product (default: from the first input)"),
)


class _TestRecipe(Recipe):
    version = "1.0"
    parameters = _COMMON
    input_categories = ()
    output_categories = ("TEST_PRODUCT",)

    def _write(self, inputs, parameters, output_dir, extra=None) -> RecipeResult:
        cat = str(parameters.get("category") or "TEST_PRODUCT")
        p = _product(inputs, parameters, Path(output_dir), f"{cat.lower()}.fits", cat, extra)
        return RecipeResult(products=[p], qc={"n_inputs": len(inputs)})


class Noop(_TestRecipe):
    name = "test_noop"
    description = "Writes one header-only product; does nothing else."

    def run(self, inputs, parameters, output_dir):
        return self._write(inputs, parameters, output_dir)


class Sleep(_TestRecipe):
    name = "test_sleep"
    description = "Sleeps, printing a line every tenth of the time, then writes a product."
    parameters = (*_COMMON, ParameterSpec("seconds", "float", 1.0, "how long to sleep", min=0))

    def run(self, inputs, parameters, output_dir):
        total = float(parameters.get("seconds", 1.0))
        for i in range(10):
            print(f"sleeping {i + 1}/10", flush=True)
            time.sleep(total / 10)
        return self._write(inputs, parameters, output_dir)


class CpuBurn(_TestRecipe):
    name = "test_cpu"
    description = "Burns CPU for a fixed amount of arithmetic work, then writes a product."
    parameters = (*_COMMON, ParameterSpec("work", "int", 2_000_000, "loop iterations", min=0))

    def run(self, inputs, parameters, output_dir):
        n = int(parameters.get("work", 2_000_000))
        acc = 0
        for i in range(n):
            acc = (acc + i * i) % 1_000_003
        return self._write(inputs, parameters, output_dir, {"TCHECK": acc})


class Raise(_TestRecipe):
    name = "test_raise"
    description = "Raises RecipeError (or another exception) with the given message."
    parameters = (
        *_COMMON,
        ParameterSpec("message", "str", "something went wrong", "the error message"),
        ParameterSpec("kind", "str", "RecipeError", "exception class", choices=("RecipeError", "ValueError")),
    )

    def run(self, inputs, parameters, output_dir):
        print("about to fail", flush=True)
        msg = str(parameters.get("message"))
        if parameters.get("kind") == "ValueError":
            raise ValueError(msg)
        raise RecipeError(msg)


class Segfault(_TestRecipe):
    name = "test_segfault"
    description = "Reads address 0: the process dies of SIGSEGV."

    def run(self, inputs, parameters, output_dir):
        print("reading address 0", flush=True)
        ctypes.string_at(0)
        return RecipeResult()


class Abort(_TestRecipe):
    name = "test_abort"
    description = "Calls abort(): the process dies of SIGABRT."

    def run(self, inputs, parameters, output_dir):
        print("calling abort()", flush=True)
        os.abort()


class Exit(_TestRecipe):
    name = "test_exit"
    description = "Exits with a given status without writing a product."
    parameters = (*_COMMON, ParameterSpec("status", "int", 7, "exit status"))

    def run(self, inputs, parameters, output_dir):
        print("exiting", flush=True)
        sys.stdout.flush()
        os._exit(int(parameters.get("status", 7)))


class Hang(_TestRecipe):
    name = "test_hang"
    description = "Never returns (for timeout and cancel tests); optionally ignores SIGTERM."
    parameters = (*_COMMON, ParameterSpec("ignore_sigterm", "bool", False, "ignore SIGTERM"),
                  ParameterSpec("grandchild", "bool", False, "also start a sleeping grandchild"))

    def run(self, inputs, parameters, output_dir):
        if parameters.get("ignore_sigterm"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if parameters.get("grandchild"):
            import subprocess

            p = subprocess.Popen(["sleep", "1000"])
            (Path(output_dir).parent / "grandchild.pid").write_text(str(p.pid))
        print("hanging", flush=True)
        while True:
            time.sleep(1)


class HalfProduct(_TestRecipe):
    name = "test_half_product"
    description = ("Writes half of a product, waits, then dies of SIGKILL; with $REFLEXNG_TEST_COMPLETE set "
                   "it writes a whole product instead (for kill -9 tests).")
    parameters = (*_COMMON, ParameterSpec("wait", "float", 0.0, "seconds to wait after the half write"))

    def run(self, inputs, parameters, output_dir):
        (Path(output_dir).parent / "child.pid").write_text(str(os.getpid()))
        if os.environ.get("REFLEXNG_TEST_COMPLETE"):  # kill -9 tests: the second run completes
            return self._write(inputs, parameters, output_dir)
        path = Path(output_dir) / "half.fits"
        with open(path, "wb") as fh:
            fh.write(b"SIMPLE  =                    T" + b" " * 1000)
            fh.flush()
        print("half a product written", flush=True)
        if float(parameters.get("wait", 0.0)) > 0:
            time.sleep(float(parameters["wait"]))
        os.kill(os.getpid(), signal.SIGKILL)


class BigLog(_TestRecipe):
    name = "test_big_log"
    description = "Prints many lines on stdout and stderr, then writes a product."
    parameters = (*_COMMON, ParameterSpec("lines", "int", 1000, "number of lines", min=0))

    def run(self, inputs, parameters, output_dir):
        n = int(parameters.get("lines", 1000))
        for i in range(n):
            stream = sys.stderr if i % 10 == 9 else sys.stdout
            print(f"log line {i + 1} of {n}", file=stream)
        sys.stdout.flush()
        return self._write(inputs, parameters, output_dir)


RECIPES = [Noop, Sleep, CpuBurn, Raise, Segfault, Abort, Exit, Hang, HalfProduct, BigLog]
