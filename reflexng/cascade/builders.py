"""The builder syntax of the cascade language, following the EDPS paper.

    raw_flat = (data_source("RAW_FLAT")
                .with_classification_rule(flat_rule)
                .with_match_keywords(["DET.BINX"], time_range=ONE_DAY, level=0)
                .build())
    flat = (task("flat")
            .with_recipe("demo_flat")
            .with_main_input(raw_flat)
            .with_associated_input(bias)
            .build())

Every ``build()`` registers the object with the loader's collector (so a cascade file need
not list its objects) and remembers the ``path:line`` of the builder call for error messages.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import (
    UNLIMITED,
    AssociatedInput,
    CascadeInfo,
    ClassificationRule,
    DataSource,
    InputRef,
    MatchRule,
    SourceLocation,
    Task,
    TimeRange,
    WorkflowParameter,
)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_EDPS_DIR = os.path.join(_PACKAGE_DIR, "edps")
_OURS: dict[str, bool] = {}  # code file name -> part of this package (not the user's code)


def caller_location() -> SourceLocation:
    """The first stack frame outside this package: the user's cascade line."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        ours = _OURS.get(filename)
        if ours is None:
            folder = os.path.dirname(os.path.abspath(filename))
            # this package and its EDPS layer (cascade/edps) are not the user's code
            ours = _OURS[filename] = (folder in (_PACKAGE_DIR, _EDPS_DIR) or filename.startswith("<frozen"))
        if not ours:
            return SourceLocation(filename, frame.f_lineno)
        frame = frame.f_back
    return SourceLocation("<unknown>", 0)


# --------------------------------------------------------------------------- collector


class Collector:
    """Receives every object built while a cascade file executes (used by the loader)."""

    def __init__(self) -> None:
        self.data_sources: list[DataSource] = []
        self.tasks: list[Task] = []
        self.workflow_parameters: list[WorkflowParameter] = []
        self.info: CascadeInfo | None = None
        self.subworkflow_stack: list[str] = []
        # builders started but not (yet) built: id -> (kind, name, location)
        self.unbuilt: dict[int, tuple[str, str, SourceLocation]] = {}
        self.problems: list = []  # Problems found while collecting (filled by the loader)
        self.keep_alive: list[Any] = []

    def add(self, obj: Any) -> None:
        if isinstance(obj, DataSource):
            self.data_sources.append(obj)
        elif isinstance(obj, Task):
            self.tasks.append(obj)
        elif isinstance(obj, WorkflowParameter):
            self.workflow_parameters.append(obj)
        elif isinstance(obj, CascadeInfo):
            self.info = obj


_collector: contextvars.ContextVar[Collector | None] = contextvars.ContextVar(
    "reflexng_cascade_collector", default=None
)


@contextlib.contextmanager
def collecting():
    """Collect every object built inside the ``with`` block."""
    collector = Collector()
    token = _collector.set(collector)
    try:
        yield collector
    finally:
        _collector.reset(token)


def _register(obj: Any, builder: Any = None) -> Any:
    c = _collector.get()
    if c is not None:
        c.add(obj)
        if builder is not None:
            c.unbuilt.pop(id(builder), None)
    return obj


def _started(builder: Any, kind: str) -> None:
    c = _collector.get()
    if c is not None:
        c.unbuilt[id(builder)] = (kind, builder._name, builder._loc)
        c.keep_alive.append(builder)  # ids stay unique while collecting


def _names(value: Any, what: str, loc: SourceLocation) -> tuple[Any, ...]:
    """A list of keyword names (a lone string is a mistake: it would be split into letters)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise CascadeError(f"{what} needs a list of names, e.g. [{value!r}], got {value!r}", loc)
    return tuple(value)


def _current_subworkflow() -> str | None:
    c = _collector.get()
    if c is not None and c.subworkflow_stack:
        return "/".join(c.subworkflow_stack)
    return _fallback_subworkflow[-1] if _fallback_subworkflow else None


_fallback_subworkflow: list[str] = []


# --------------------------------------------------------------------------- plain functions


def classification_rule(
    category: str,
    rule: Mapping[str, Any] | Callable[[Mapping[str, Any]], bool],
    *,
    keywords: Iterable[str] = (),
) -> ClassificationRule:
    """``classification_rule("BIAS", {"DPR.TYPE": "BIAS", "DET.BINX": [1, 2]})``.

    ``rule`` is a mapping keyword -> value (exact, list of alternatives, or predicate) or a
    function ``f(header) -> bool``; a function rule names the keywords it reads in
    ``keywords=`` so the scanner extracts them.
    """
    loc = caller_location()
    if not isinstance(category, str) or not category.strip():
        raise CascadeError("classification_rule needs a non-empty category name", loc)
    if callable(rule) and not isinstance(rule, Mapping):
        return ClassificationRule(category, None, rule, tuple(keywords), loc)
    if isinstance(rule, Mapping):
        if not rule:
            raise CascadeError(f"classification_rule({category!r}) has no keywords", loc)
        return ClassificationRule(category, dict(rule), None, tuple(keywords), loc)
    raise CascadeError(
        f"classification_rule({category!r}): expected a dict of keywords or a function, "
        f"got {type(rule).__name__}",
        loc,
    )


def workflow_parameter(
    name: str,
    default: Any,
    *,
    choices: Iterable[Any] | None = None,
    description: str = "",
) -> WorkflowParameter:
    """Declare a cascade-level choice; use it in conditions (``p.equals(v)``), grouping
    keywords and recipe parameters (the parameter object stands for its value)."""
    loc = caller_location()
    ch = tuple(choices) if choices is not None else None
    if ch is not None and default not in ch:
        raise CascadeError(
            f"workflow parameter {name!r}: default {default!r} is not one of {list(ch)}", loc
        )
    return _register(WorkflowParameter(name, default, ch, description, loc))


def metadata(
    name: str,
    *,
    instrument: str = "",
    description: str = "",
    default_target: str | None = None,
) -> CascadeInfo:
    """Name, instrument and description of the cascade (shown by ``reflexng cascade list``)."""
    return _register(CascadeInfo(name, instrument, description, default_target, caller_location()))


class subworkflow:  # noqa: N801 - reads like a keyword in cascade files
    """Group tasks for display: ``with subworkflow("flat_strategy"): ...`` or as a decorator
    on a function that builds tasks."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self):
        c = _collector.get()
        (c.subworkflow_stack if c is not None else _fallback_subworkflow).append(self.name)
        return self

    def __exit__(self, *exc) -> None:
        c = _collector.get()
        (c.subworkflow_stack if c is not None else _fallback_subworkflow).pop()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


# --------------------------------------------------------------------------- builders


def _as_ref(obj: Any, what: str, loc: SourceLocation) -> InputRef:
    if isinstance(obj, DataSource):
        return InputRef(obj.name, "data_source")
    if isinstance(obj, Task):
        return InputRef(obj.name, "task")
    if isinstance(obj, (DataSourceBuilder, TaskBuilder)):
        raise CascadeError(f"{what}: {obj._name!r} is a builder - did you forget .build()?", loc)
    raise CascadeError(
        f"{what}: expected a data source or a task, got {type(obj).__name__} {obj!r}", loc
    )


def _match_rule(keywords, function, time_range, level, loc) -> MatchRule:
    if not isinstance(time_range, TimeRange):
        raise CascadeError(
            f"time_range must be SAME_NIGHT, ONE_DAY, UNLIMITED, days(n) or relative(...), got {time_range!r}",
            loc,
        )
    if not isinstance(level, int) or level < 0:
        raise CascadeError(f"quality level must be an integer >= 0, got {level!r}", loc)
    return MatchRule(tuple(keywords or ()), function, time_range, level, loc)


class DataSourceBuilder:
    def __init__(self, name: str, loc: SourceLocation) -> None:
        self._name = name
        self._loc = loc
        self._rules: list[ClassificationRule] = []
        self._grouping: tuple[Any, ...] = ()
        self._setup: tuple[str, ...] = ()
        self._match: list[MatchRule] = []
        self._min_group = 1
        _started(self, "data source")

    @property
    def _label(self) -> str:
        """How messages name this data source."""
        return f"data source {self._name!r}"

    def with_classification_rule(self, rule: ClassificationRule) -> DataSourceBuilder:
        if not isinstance(rule, ClassificationRule):
            raise CascadeError(
                f"{self._label}: with_classification_rule needs a classification_rule(...)",
                caller_location(),
            )
        self._rules.append(rule)
        return self

    def with_grouping_keywords(self, keywords: Iterable[Any]) -> DataSourceBuilder:
        """Files with equal values of these keywords form one group (one job's main input).
        A :class:`WorkflowParameter` may stand for a list of keywords."""
        self._grouping = _names(keywords, f"{self._label}: with_grouping_keywords", caller_location())
        return self

    def with_setup_keywords(self, keywords: Iterable[str]) -> DataSourceBuilder:
        """Keywords that describe the instrument set-up (shown to the user, used in reports)."""
        self._setup = _names(keywords, f"{self._label}: with_setup_keywords", caller_location())
        return self

    def with_match_keywords(
        self, keywords: Iterable[str], time_range: TimeRange = UNLIMITED, level: int = 0
    ) -> DataSourceBuilder:
        """Associate files agreeing on ``keywords`` within ``time_range``; repeat with a higher
        ``level`` for a fallback quality level."""
        loc = caller_location()
        names = _names(keywords, f"{self._label}: with_match_keywords", loc)
        self._match.append(_match_rule(names, None, time_range, level, loc))
        return self

    def with_match_function(
        self, function: Callable, time_range: TimeRange = UNLIMITED, level: int = 0
    ) -> DataSourceBuilder:
        """Associate files for which ``function(main_header, candidate_header)`` is true."""
        loc = caller_location()
        if not callable(function):
            raise CascadeError(f"{self._label}: with_match_function needs a callable", loc)
        self._match.append(_match_rule((), function, time_range, level, loc))
        return self

    def with_min_group_size(self, n: int) -> DataSourceBuilder:
        if not isinstance(n, int) or n < 1:
            raise CascadeError(f"{self._label}: min group size must be >= 1", caller_location())
        self._min_group = n
        return self

    def build(self) -> DataSource:
        return _register(
            DataSource(
                self._name,
                tuple(self._rules),
                self._grouping,
                self._setup,
                tuple(sorted(self._match, key=lambda r: r.level)),
                self._min_group,
                self._loc,
            ),
            self,
        )


def data_source(name: str) -> DataSourceBuilder:
    """Start a data source (a kind of input file)."""
    loc = caller_location()
    if not isinstance(name, str) or not name.strip():
        raise CascadeError("data_source needs a non-empty name", loc)
    return DataSourceBuilder(name, loc)


class TaskBuilder:
    def __init__(self, name: str, loc: SourceLocation) -> None:
        self._name = name
        self._loc = loc
        self._recipe: str | None = None
        self._function: Callable | None = None
        self._main: InputRef | None = None
        self._assoc: list[AssociatedInput] = []
        self._condition: Callable | None = None
        self._params: dict[str, Any] = {}
        self._dynamic: dict[str, Callable] = {}
        self._meta: tuple[str, ...] = ()
        self._inspector: Callable | None = None
        self._grouping: tuple[Any, ...] = ()
        self._calls: dict[str, SourceLocation] = {}
        self._subworkflow = _current_subworkflow()
        _started(self, "task")

    def _note(self, method: str) -> SourceLocation:
        loc = caller_location()
        self._calls.setdefault(method, loc)
        return loc

    def with_recipe(self, name: str) -> TaskBuilder:
        loc = self._note("with_recipe")
        if not isinstance(name, str) or not name.strip():
            raise CascadeError(f"task {self._name!r}: with_recipe needs a recipe name", loc)
        self._recipe = name.strip()
        return self

    def with_function(self, function: Callable) -> TaskBuilder:
        loc = self._note("with_function")
        if not callable(function):
            raise CascadeError(f"task {self._name!r}: with_function needs a callable", loc)
        self._function = function
        return self

    def with_main_input(self, source: Any) -> TaskBuilder:
        loc = self._note("with_main_input")
        self._main = _as_ref(source, f"task {self._name!r}: with_main_input", loc)
        return self

    def with_associated_input(
        self,
        source: Any,
        min_ret: int = 1,
        max_ret: int = 1,
        match_keywords: Iterable[str] | None = None,
        match_function: Callable | None = None,
        condition: Callable | None = None,
        time_range: TimeRange = UNLIMITED,
        level: int = 0,
    ) -> TaskBuilder:
        loc = caller_location()
        self._calls.setdefault(f"with_associated_input:{len(self._assoc)}", loc)
        ref = _as_ref(source, f"task {self._name!r}: with_associated_input", loc)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (min_ret, max_ret)):
            raise CascadeError(
                f"task {self._name!r}: associated input {ref.name!r}: min_ret and max_ret must be integers", loc
            )
        if condition is not None and not callable(condition):
            raise CascadeError(f"task {self._name!r}: associated input {ref.name!r}: condition must be a function", loc)
        if match_function is not None and not callable(match_function):
            raise CascadeError(f"task {self._name!r}: associated input {ref.name!r}: match_function must be a function", loc)
        if match_keywords is not None:
            match_keywords = _names(match_keywords, f"task {self._name!r}: match_keywords", loc)
        if min_ret < 0 or max_ret < max(min_ret, 1):
            raise CascadeError(
                f"task {self._name!r}: associated input {ref.name!r} needs 0 <= min_ret <= max_ret "
                f"and max_ret >= 1 (got min_ret={min_ret}, max_ret={max_ret})",
                loc,
            )
        rules = None
        if match_keywords is not None or match_function is not None:
            rules = (_match_rule(match_keywords or (), match_function, time_range, level, loc),)
        self._assoc.append(AssociatedInput(ref, min_ret, max_ret, rules, condition, loc))
        return self

    def with_condition(self, condition: Callable) -> TaskBuilder:
        loc = self._note("with_condition")
        if not callable(condition):
            raise CascadeError(f"task {self._name!r}: with_condition needs a callable", loc)
        self._condition = condition
        return self

    def with_recipe_parameters(self, parameters: Mapping[str, Any]) -> TaskBuilder:
        """Cascade-level recipe parameters; a :class:`WorkflowParameter` value stands for its value."""
        loc = self._note("with_recipe_parameters")
        if not isinstance(parameters, Mapping):
            raise CascadeError(f"task {self._name!r}: with_recipe_parameters needs a dict, got {parameters!r}", loc)
        self._params.update(parameters)
        return self

    def with_dynamic_parameter(self, name: str, function: Callable) -> TaskBuilder:
        loc = self._note("with_dynamic_parameter")
        if not isinstance(name, str) or not name.strip():
            raise CascadeError(f"task {self._name!r}: dynamic parameter needs a parameter name", loc)
        if not callable(function):
            raise CascadeError(f"task {self._name!r}: dynamic parameter {name!r} needs a callable", loc)
        self._dynamic[name] = function
        return self

    def with_meta_targets(self, targets: Iterable[str]) -> TaskBuilder:
        loc = self._note("with_meta_targets")
        self._meta = _names(targets, f"task {self._name!r}: with_meta_targets", loc)
        return self

    def with_grouping_keywords(self, keywords: Iterable[Any]) -> TaskBuilder:
        """For a task whose main input is another task: group the upstream jobs by these
        header keywords (e.g. ``["OBJECT"]`` to combine all spectra of one object)."""
        loc = self._note("with_grouping_keywords")
        self._grouping = _names(keywords, f"task {self._name!r}: with_grouping_keywords", loc)
        return self

    def with_inspector(self, inspector: Callable) -> TaskBuilder:
        loc = self._note("with_inspector")
        if not callable(inspector):
            raise CascadeError(f"task {self._name!r}: with_inspector needs a callable", loc)
        self._inspector = inspector
        return self

    def build(self) -> Task:
        if self._recipe and self._function:
            raise CascadeError(
                f"task {self._name!r} has both a recipe and a function; choose one",
                self._calls.get("with_function", self._loc),
            )
        return _register(
            Task(
                name=self._name,
                recipe=self._recipe,
                function=self._function,
                main_input=self._main,
                associated_inputs=tuple(self._assoc),
                condition=self._condition,
                recipe_parameters=dict(self._params),
                dynamic_parameters=dict(self._dynamic),
                meta_targets=self._meta,
                inspector=self._inspector,
                subworkflow=self._subworkflow,
                grouping_keywords=self._grouping,
                location=self._loc,
                call_locations=dict(self._calls),
            ),
            self,
        )


def task(name: str) -> TaskBuilder:
    """Start a task (one processing step)."""
    loc = caller_location()
    if not isinstance(name, str) or not name.strip():
        raise CascadeError("task needs a non-empty name", loc)
    return TaskBuilder(name, loc)
