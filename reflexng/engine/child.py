"""What runs inside a job's child process.

The engine writes ``job.json`` into the attempt folder; :func:`run_job` reads it, finds the
recipe (or re-loads the cascade file by path for a function task), runs it on the inputs with
the parameters into the temporary output folder, writes the ESO provenance cards into the FITS
products and ``result.json``. Exit status 0 = success; 3 = the recipe failed (the reason is in
``result.json``). A signal or any other status is reported by the engine in words.

Function tasks (``task(...).with_function(fn)``) are called as
``fn(inputs: list[(path, category)], parameters: dict, output_dir: Path)`` and return a
:class:`~reflexng.recipes.protocol.RecipeResult`, a list of (path, category), or None (then
every file left in ``output_dir`` is a product with category ``PRODUCT``).

Raw files are never written: every product, whichever way it is reported, must be a regular
file inside the output folder with no other name (not a symlink, not a hard link with
``st_nlink > 1``, not resolving outside the folder); a job whose product is not is *refused*
with the reason (nothing is copied or written). Provenance cards go into a private copy that
then replaces the product (:func:`reflexng.provenance.headers.write_provenance`).
A job with no products fails unless its recipe (or function) sets ``may_produce_none = True``.
An unexpected exception's traceback goes to the job's ``log.txt``; the terminal shows it only
with ``REFLEXNG_DEBUG=1``.

Run by hand: ``python -m reflexng.engine.child ATTEMPT_DIR`` (used by ``replay.sh``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from reflexng.engine.reasons import shown as _shown

FAILED_STATUS = 3


def load_recipe(spec: dict[str, Any]) -> Any:
    """The recipe object a job runs (a function task is wrapped into a recipe-like object)."""
    name = spec["recipe"]
    if spec.get("function_task"):
        from reflexng.cascade import load

        cascade = load(spec["cascade_path"])
        task = cascade.tasks.get(spec["task"])
        if task is None or task.function is None:
            raise RuntimeError(f"task {spec['task']!r} with a function not found in {spec['cascade_path']}")
        return _FunctionRecipe(name, task.function)
    if spec.get("recipe_path") is not None:
        os.environ["REFLEXNG_RECIPE_PATH"] = os.pathsep.join(spec["recipe_path"])
    if spec.get("config"):
        os.environ["REFLEXNG_CONFIG"] = spec["config"]
    from reflexng.recipes.registry import get_recipe

    return get_recipe(name)


class _FunctionRecipe:
    version = "function"
    parameters = ()

    def __init__(self, name: str, fn) -> None:
        self.name = name
        self.fn = fn
        self.may_produce_none = bool(getattr(fn, "may_produce_none", False))

    def run(self, inputs, parameters, output_dir):
        return self.fn(inputs, parameters, output_dir)


class ProductRefused(Exception):
    """A reported product that reflexng will not take (a link, outside the folder, missing)."""


def _check_product(path: str | os.PathLike, output_dir: Path, root: Path) -> Path:
    """The product's absolute path inside ``output_dir``; ProductRefused when it is a link, a
    hard link shared with another name, outside the folder, missing or not a regular file."""
    import stat

    p = Path(path)
    if not p.is_absolute():
        p = output_dir / p
    name = _shown(p.name)
    try:
        st = os.lstat(p)
    except OSError:
        raise ProductRefused(f"the recipe reported product {name} but did not write it") from None
    if stat.S_ISLNK(st.st_mode):
        raise ProductRefused(f"product {name} is a symbolic link (to {_shown(os.readlink(p))}); a recipe must "
                             "write its products, not link to other files (raw files are never written)")
    real = p.resolve()
    if root not in real.parents:
        raise ProductRefused(f"product {_shown(str(path))} is not inside the output folder {_shown(str(output_dir))}")
    if not stat.S_ISREG(st.st_mode):
        raise ProductRefused(f"product {name} is not a regular file")
    if st.st_nlink > 1:
        raise ProductRefused(f"product {name} is a hard link shared with another file ({st.st_nlink} names); "
                             "a recipe must write its products, not link to other files (raw files are never "
                             "written)")
    return real


def _normalise_result(result: Any, output_dir: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    from reflexng.recipes.protocol import RecipeResult

    if not output_dir.is_dir():
        raise ProductRefused(f"the recipe removed its output folder {_shown(str(output_dir))}; "
                             "it must leave its products there")
    if result is None:  # every entry left in the folder is a product (links are refused, folders ignored)
        products: list[Any] = [(p, "PRODUCT") for p in sorted(output_dir.iterdir())
                               if p.is_symlink() or p.is_file()]
        qc: dict[str, Any] = {}
    elif isinstance(result, RecipeResult):
        products, qc = list(result.products), dict(result.qc)
    else:
        products, qc = list(result), {}
    out = []
    root = output_dir.resolve()
    for item in products:
        path, category = item
        out.append((str(_check_product(path, output_dir, root)), str(category)))
    return out, qc


def _may_produce_none(recipe: Any) -> bool:
    return bool(getattr(recipe, "may_produce_none", False))


def _log_traceback(log: Path) -> None:
    """The current exception's traceback into the job's log file (and on stderr with REFLEXNG_DEBUG=1)."""
    text = traceback.format_exc()
    try:
        with open(log, "a", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
    except OSError:
        pass
    if os.environ.get("REFLEXNG_DEBUG"):
        sys.stderr.write(text)


def run_job(attempt_dir: str | os.PathLike, output_dir: str | os.PathLike | None = None) -> int:
    """Run the job described by ``<attempt_dir>/job.json``; returns the exit status."""
    attempt = Path(attempt_dir).resolve()
    spec = json.loads((attempt / "job.json").read_text())
    out = Path(output_dir).resolve() if output_dir is not None else Path(spec["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # relative paths a recipe writes land in its output folder
    result_file = (out.parent / "result.json") if output_dir is not None else attempt / "result.json"
    inputs = [(i["path"], i["category"]) for i in spec["inputs"]]
    try:
        recipe = load_recipe(spec)
        from reflexng.recipes.product_header import set_job

        set_job(spec)  # input roles and checksums for the products' ESO headers
        result = recipe.run(inputs, dict(spec["parameters"]), out)
        products, qc = _normalise_result(result, out)
        if not products and not _may_produce_none(recipe):
            raise ProductRefused("the recipe wrote no products (a recipe or function that may produce none "
                                 "sets may_produce_none = True)")
        from reflexng.provenance.headers import provenance_cards, write_provenance

        cards = provenance_cards(spec["recipe"], str(spec.get("recipe_version", "")), spec.get("drs_id", "reflexng"),
                                 spec["inputs"], spec["parameters"])
        for path, category in products:
            try:
                write_provenance(path, category, cards)
            except Exception as exc:  # a product astropy cannot update: keep it, say so
                print(f"reflexng: cannot write provenance into {_shown(os.path.basename(path))}: {exc}",
                      file=sys.stderr)
    except Exception as exc:
        from reflexng.recipes.protocol import RecipeError

        if isinstance(exc, ProductRefused):
            reason = str(exc)
            print(f"ERROR: {reason}", file=sys.stderr)
        elif isinstance(exc, RecipeError):
            reason = f"recipe raised {type(exc).__name__}: {exc}"
            print(f"ERROR: {exc}", file=sys.stderr)
        else:
            reason = f"recipe raised {type(exc).__name__}: {exc}"
            print(f"ERROR: {reason} (traceback in log.txt)", file=sys.stderr)
            _log_traceback(result_file.parent / "log.txt")
        _write_json(result_file, {"ok": False, "error": reason})
        return FAILED_STATUS
    _write_json(result_file, {"ok": True, "products": products, "qc": qc})
    return 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=str))
    os.replace(tmp, path)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: python -m reflexng.engine.child ATTEMPT_DIR [OUTPUT_DIR]", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_job(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None))
