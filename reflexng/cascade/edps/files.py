"""The plain names of reflexng's EDPS API: constants, file and job objects, what task
functions receive and return (re-exported by :mod:`reflexng.cascade.edps.api`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reflexng.cascade.builders import caller_location
from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import SourceLocation
from reflexng.cascade.parameters import FileView

# --------------------------------------------------------------------------- constants

SCIENCE = "science"
QC1_CALIB = "qc1calib"
QC1_SCIENCE = "qc1science"
QC0 = "qc0"
CALCHECKER = "calchecker"
IDP = "idp"
PHASE3 = "phase3"
ALL = "all"
# the same meta targets under their lower-case names (both spellings appear in ESO workflows)
science, qc1calib, qc1science, qc0, calchecker, idp, phase3 = (
    SCIENCE, QC1_CALIB, QC1_SCIENCE, QC0, CALCHECKER, IDP, PHASE3)
UNLIMITED_RET = 10**9  # max_ret=-1 ("no upper limit")


class FilterMode(str, Enum):
    """How ``with_input_filter`` / ``with_output_filter`` read their categories."""

    SELECT = "select"
    REJECT = "reject"
    ACCEPT = "select"  # an alias some workflows use


class ReportInput(str, Enum):
    """What a report attached with ``with_report`` looks at."""

    RECIPE_INPUTS = "recipe_inputs"
    RECIPE_OUTPUTS = "recipe_outputs"
    RECIPE_INPUTS_OUTPUTS = "recipe_inputs_outputs"


def unsupported(feature: str, loc: SourceLocation | None = None) -> CascadeError:
    """The one-line error for an EDPS name reflexng does not implement."""
    return CascadeError(f"EDPS feature {feature} is not supported yet", loc or caller_location())


# --------------------------------------------------------------------------- files and jobs


class ClassifiedFitsFile(FileView):
    """A file as EDPS rule and task functions see it: ``f["dpr.type"]``,
    ``f.get_keyword_value("dpr.type", default)`` (None for a missing keyword), ``f.name``,
    ``f.category`` / ``f.classification``."""

    __slots__ = ()


File = FitsFile = ClassifiedFitsFile


class JobParameters:
    """What EDPS conditions receive: workflow parameters and the job's dynamic parameters."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    def get_workflow_param(self, name: str, default: Any = None) -> Any:
        return self._ctx.parameter(name, default)

    @property
    def workflow_parameters(self) -> dict[str, Any]:
        return {**self._ctx.workflow_parameters, **self._ctx.job_parameters}


def get_parameter(params: Any, name: str, default: Any = None) -> Any:
    """A workflow parameter or dynamic parameter of the job (EDPS ``get_parameter``)."""
    if isinstance(params, JobParameters):
        return params.get_workflow_param(name, default)
    getter = getattr(params, "get_workflow_param", None)
    if getter is not None:
        return getter(name, default)
    if isinstance(params, Mapping):
        return params.get(name, default)
    return getattr(params, "parameter", lambda n, d=None: d)(name, default)


# the organiser's JobEdit plays EDPS's Job in job-processing functions
from reflexng.cascade.parameters import JobEdit as Job  # noqa: E402, F401


@dataclass
class RecipeInputs:
    """The inputs of a function task: ``combined`` (every input), main and associated ones."""

    main_upstream_inputs: list[Any] = field(default_factory=list)
    associated_upstream_inputs: list[Any] = field(default_factory=list)

    @property
    def combined(self) -> list[Any]:
        return [*self.main_upstream_inputs, *self.associated_upstream_inputs]


@dataclass
class RecipeInvocationArguments:
    """What an EDPS function task receives (``args.inputs.combined``, ``args.parameters``,
    ``args.job_dir``)."""

    inputs: RecipeInputs
    parameters: dict[str, Any]
    job_dir: str
    input_map: dict[str, str] = field(default_factory=dict)
    logging_prefix: str = ""


@dataclass
class RecipeInvocationResult:
    """What an EDPS function task returns: a return code and its output files."""

    return_code: int = 0
    output_files: list[Any] = field(default_factory=list)


class _NoInvoker:
    def __getattr__(self, name: str):
        raise RuntimeError("EDPS feature InvokerProvider (running recipes from a task function) "
                           "is not supported yet")


InvokerProvider = ProductRenamer = _NoInvoker


# --------------------------------------------------------------------------- function tasks


def copy_upstream(args: RecipeInvocationArguments, invoker_provider: Any = None,
                  renamer: Any = None) -> RecipeInvocationResult:
    """Pass every input on as an output (EDPS's ``copy_upstream``)."""
    return RecipeInvocationResult(0, [FitsFile(f.name, f.category, {}) for f in args.inputs.combined])


copy_all = copy_upstream


def edps_function(fn: Callable) -> Callable:
    """An EDPS task function ``fn(args, invoker_provider, renamer)`` as a reflexng function
    task ``f(inputs, parameters, output_dir)``: inputs are handed over as file objects; output
    files outside the output folder are copied into it (raw files are never touched)."""

    def run(inputs, parameters, output_dir):
        import os
        import shutil
        from pathlib import Path

        files = [ClassifiedFitsFile(str(p), str(c), {}) for p, c in inputs]
        args = RecipeInvocationArguments(RecipeInputs(files, []), dict(parameters), str(output_dir))
        result = fn(args, InvokerProvider(), ProductRenamer())
        if not isinstance(result, RecipeInvocationResult):
            raise RuntimeError(f"task function {getattr(fn, '__name__', fn)} returned "
                               f"{type(result).__name__}, expected a RecipeInvocationResult")
        if result.return_code:
            raise RuntimeError(f"task function {getattr(fn, '__name__', fn)} returned code {result.return_code}")
        out = []
        root = Path(output_dir).resolve()
        for f in result.output_files:
            src = Path(getattr(f, "name", f))
            if root not in src.resolve().parents:
                dst = root / src.name
                n = 1
                while dst.exists():
                    dst = root / f"{src.stem}_{n}{src.suffix}"
                    n += 1
                shutil.copyfile(src, dst)  # a copy: inputs stay untouched
                os.chmod(dst, 0o644)
                src = dst
            out.append((str(src), str(getattr(f, "category", None) or "PRODUCT")))
        return out

    run.__name__ = getattr(fn, "__name__", "function")
    run.__qualname__ = getattr(fn, "__qualname__", run.__name__)
    run.edps_function = fn  # type: ignore[attr-defined]
    return run


