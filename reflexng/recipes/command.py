"""External command recipes: a command template from the configuration, run in the job's child.

Template fields: ``{inputs_sof}`` (a file listing ``path category`` per line), ``{output_dir}``
and every parameter by name. The template is split like a shell line first, then each word is
filled in, so values with spaces stay one argument and nothing is interpreted by a shell.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reflexng.recipes.protocol import ParameterSpec, RecipeError, RecipeResult


def _spec(name: str, default: Any) -> ParameterSpec:
    t = "bool" if isinstance(default, bool) else "int" if isinstance(default, int) else (
        "float" if isinstance(default, float) else "str")
    return ParameterSpec(name, t, default)


class CommandRecipe:
    """A recipe that runs an external program."""

    def __init__(self, name: str, command: str, version: str = "0", parameters: Sequence[ParameterSpec] = (),
                 products: str = "*", category: str = "PRODUCT", description: str = "") -> None:
        self.name = name
        self.command = command
        self.version = version
        self.parameters = tuple(parameters)
        self.products_glob = products
        self.category = category
        self.description = description or f"external command: {command}"
        self.input_categories: tuple[str, ...] = ()
        self.output_categories: tuple[str, ...] = (category,)

    @classmethod
    def from_config(cls, name: str, body: Mapping[str, Any]) -> CommandRecipe:
        if not isinstance(body, Mapping) or not isinstance(body.get("command"), str):
            raise ValueError("needs a 'command' string")
        params = [_spec(k, v) for k, v in (body.get("parameters") or {}).items()]
        return cls(name, body["command"], str(body.get("version", "0")), params,
                   str(body.get("products", "*")), str(body.get("category", "PRODUCT")),
                   str(body.get("description", "")))

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def argv(self, inputs_sof: str, parameters: Mapping[str, Any], output_dir: str) -> list[str]:
        fields = {**{k: str(v) for k, v in parameters.items()}, "inputs_sof": inputs_sof, "output_dir": output_dir}
        try:
            return [word.format(**fields) for word in shlex.split(self.command)]
        except (KeyError, IndexError, ValueError) as exc:
            raise RecipeError(f"command recipe {self.name}: cannot fill the template {self.command!r}: {exc}") from None

    def replay_command(self, inputs_sof: str, parameters: Mapping[str, Any], output_dir: str) -> str:
        """The shell line re-running this job; output_dir "." means the replay folder ``$out``."""
        if str(output_dir) not in ("", "."):
            return shlex.join(self.argv(inputs_sof, parameters, output_dir))
        marker = "REFLEXNGOUTDIR"
        return shlex.join(self.argv(inputs_sof, parameters, marker)).replace(marker, '"${out:-.}"')

    def run(self, inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any], output_dir: Path) -> RecipeResult:
        out = Path(output_dir)
        sof = out.parent / "command_inputs.sof"
        sof.write_text("".join(f"{p} {c}\n" for p, c in inputs))
        argv = self.argv(str(sof), parameters, str(out))
        print("running: " + shlex.join(argv), flush=True)
        try:
            rc = subprocess.call(argv, cwd=str(out), stdout=sys.stdout.fileno(), stderr=sys.stderr.fileno())
        except OSError as exc:
            raise RecipeError(f"cannot run {argv[0]!r}: {exc}") from None
        if rc != 0:
            raise RecipeError(f"command {argv[0]} exited with status {rc}")
        products = []
        for f in sorted(out.iterdir()):
            if f.is_file() and fnmatch.fnmatch(f.name, self.products_glob):
                cat = _category(f) if f.suffix.lower() in (".fits", ".fit") else ""
                products.append((os.fspath(f), cat or self.category))
        return RecipeResult(products=products)


def _category(path) -> str:
    """ESO PRO CATG of a FITS product ('' when it has none or is unreadable)."""
    from reflexng.fits import read_header_values

    try:
        return str(read_header_values(path, ["PRO.CATG"]).get("PRO.CATG") or "")
    except ValueError:
        return ""
