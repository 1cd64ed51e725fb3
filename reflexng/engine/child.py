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

Run by hand: ``python -m reflexng.engine.child ATTEMPT_DIR`` (used by ``replay.sh``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

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

    def run(self, inputs, parameters, output_dir):
        return self.fn(inputs, parameters, output_dir)


def _normalise_result(result: Any, output_dir: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    from reflexng.recipes.protocol import RecipeResult

    if result is None:
        return [(str(p), "PRODUCT") for p in sorted(output_dir.iterdir()) if p.is_file()], {}
    if isinstance(result, RecipeResult):
        products, qc = list(result.products), dict(result.qc)
    else:
        products, qc = list(result), {}
    out = []
    root = output_dir.resolve()
    for item in products:
        path, category = item
        p = Path(path)
        if not p.is_absolute():
            p = output_dir / p
        p = p.resolve()
        if root not in p.parents:
            raise RuntimeError(f"product {path} is not inside the output folder {output_dir}")
        if not p.is_file():
            raise RuntimeError(f"the recipe reported product {p.name} but did not write it")
        out.append((str(p), str(category)))
    return out, qc


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
        from reflexng.provenance.headers import provenance_cards, write_provenance

        cards = provenance_cards(spec["recipe"], str(spec.get("recipe_version", "")), spec.get("drs_id", "reflexng"),
                                 spec["inputs"], spec["parameters"])
        for path, category in products:
            try:
                write_provenance(path, category, cards)
            except Exception as exc:  # a product astropy cannot update: keep it, say so
                print(f"reflexng: cannot write provenance into {os.path.basename(path)}: {exc}", file=sys.stderr)
    except Exception as exc:
        from reflexng.recipes.protocol import RecipeError

        if isinstance(exc, RecipeError):
            print(f"ERROR: {exc}", file=sys.stderr)
        else:
            traceback.print_exc()
        reason = f"recipe raised {type(exc).__name__}: {exc}"
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
