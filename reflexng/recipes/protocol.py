"""One protocol for every recipe: built-in Python recipes, user modules, external commands and
ESO CPL recipes run through ``esorex``.

A recipe is described by a :class:`Recipe` subclass (or any object with the same attributes)
and runs in a child process started by the engine: ``run`` receives the input files as
(path, category) pairs, the effective parameter values, and an empty output folder; it
returns the products it wrote with their categories, plus QC values. It reports progress by
printing lines (stdout/stderr are streamed into the job log) and fails by raising
:class:`RecipeError` with a clear message (any other exception is a failure too).

Products are regular files written into the output folder (never links to other files: a
symlink, a shared hard link or a path outside the folder fails the job). A run with no products
fails unless the recipe sets ``may_produce_none = True`` (a function task: the attribute on the
function). See docs/session-api.md, "Products".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

PARAMETER_TYPES = ("bool", "int", "float", "str")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ParameterSpec:
    """A typed recipe parameter. ``choices`` makes it an enumeration."""

    name: str
    type: str  # one of PARAMETER_TYPES
    default: Any
    description: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    def coerce(self, value: Any) -> Any:
        """Convert a value (possibly a string from the CLI or a YAML file) to this type and
        check it; raise ValueError with a clear message."""
        try:
            if self.type == "bool":
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low in ("1", "true", "yes", "on"):
                        v: Any = True
                    elif low in ("0", "false", "no", "off"):
                        v = False
                    else:
                        raise ValueError
                else:
                    v = bool(value)
            elif self.type == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                v = int(value)
            elif self.type == "float":
                v = float(value)
            else:
                v = str(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {self.name}: {value!r} is not a valid {self.type}") from None
        if isinstance(v, str) and _CONTROL.search(v):
            raise ValueError(f"parameter {self.name}: {v!r} contains a control character (a newline, tab or "
                             "other non-printing character); give the value on one line") from None
        if self.min is not None and v < self.min:
            raise ValueError(f"parameter {self.name}: {v} is below the minimum {self.min}")
        if self.max is not None and v > self.max:
            raise ValueError(f"parameter {self.name}: {v} is above the maximum {self.max}")
        if self.choices is not None and v not in self.choices:
            raise ValueError(f"parameter {self.name}: {v!r} is not one of {list(self.choices)}")
        return v


@dataclass
class RecipeResult:
    """What a recipe run produced: ``products`` as (path, category); ``qc`` as name -> value."""

    products: list[tuple[str, str]] = field(default_factory=list)
    qc: dict[str, Any] = field(default_factory=dict)


class RecipeError(Exception):
    """A recipe failure with a message written for the astronomer (what went wrong, what to do)."""


class UnknownRecipeError(KeyError):
    """No recipe of that name; the message lists what is known (raised by the registry and
    the esorex adapter)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown recipe"


class Recipe:
    """Base class for Python recipes. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""
    parameters: ClassVar[tuple[ParameterSpec, ...]] = ()
    input_categories: ClassVar[tuple[str, ...]] = ()
    output_categories: ClassVar[tuple[str, ...]] = ()
    may_produce_none: ClassVar[bool] = False  # True: a run without products is a success

    def run(
        self,
        inputs: Sequence[tuple[str, str]],
        parameters: Mapping[str, Any],
        output_dir: Path,
    ) -> RecipeResult:
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.parameters}

    @classmethod
    def parameter(cls, name: str) -> ParameterSpec | None:
        for p in cls.parameters:
            if p.name == name:
                return p
        return None
