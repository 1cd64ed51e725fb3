"""Immutable objects of the cascade language (what the builders produce).

Everything here is plain data: no Qt, no I/O. Names follow ARCHITECTURE.md's glossary.
Keyword names are written the cascade way: dotted ESO names (``DPR.TYPE`` means the card
``HIERARCH ESO DPR TYPE``) and plain names for standard cards (``EXPTIME``, ``DATE-OBS``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reflexng.fits.cards import fits_card_name  # noqa: F401 - re-exported for cascades

# --------------------------------------------------------------------------- locations


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's cascade file a builder call was made."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


UNKNOWN_LOCATION = SourceLocation("<unknown>", 0)


# --------------------------------------------------------------------------- keywords


# fits_card_name lives in the FITS layer (below the cascade; re-exported above)


def values_equal(expected: Any, actual: Any) -> bool:
    """Compare a rule's value with a header value: numbers numerically, strings stripped."""
    if actual is None:
        return expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected) == bool(actual) and type(expected) is type(actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(float(expected), float(actual), rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip() == actual.strip()
    return expected == actual


def value_matches(expected: Any, actual: Any) -> bool:
    """A rule value may be exact, a list/tuple/set of alternatives, or a predicate."""
    if callable(expected) and not isinstance(expected, type):
        try:
            return bool(expected(actual))
        except Exception:  # a predicate that fails on an odd value does not match
            return False
    if isinstance(expected, (list, tuple, set, frozenset)):
        return any(values_equal(e, actual) for e in expected)
    return values_equal(expected, actual)


def describe_value(expected: Any) -> str:
    """Human words for a rule value (used in "why" messages)."""
    if callable(expected) and not isinstance(expected, type):
        return getattr(expected, "__doc__", None) or getattr(expected, "__name__", "a predicate")
    if isinstance(expected, (list, tuple, set, frozenset)):
        return "one of " + ", ".join(repr(e) for e in expected)
    return repr(expected)


# --------------------------------------------------------------------------- time ranges


@dataclass(frozen=True)
class TimeRange:
    """How far in time an associated file may be from the main input (in days).

    ``before``/``after``: how many days the candidate may lie before/after the reference
    time (None = unlimited). ``same_night`` restricts to the same observing night
    (nights run from noon to noon UT, see :func:`night_of`).
    """

    name: str
    before: float | None = None
    after: float | None = None
    same_night: bool = False

    def contains(self, dt_days: float, ref_mjd: float | None = None, cand_mjd: float | None = None) -> bool:
        """``dt_days`` = candidate time - reference time."""
        if self.same_night:
            if ref_mjd is None or cand_mjd is None:
                return False
            return night_of(ref_mjd) == night_of(cand_mjd)
        if dt_days < 0 and self.before is not None and -dt_days > self.before:
            return False
        if dt_days > 0 and self.after is not None and dt_days > self.after:
            return False
        return True

    def describe(self) -> str:
        return self.name


def night_of(mjd: float) -> int:
    """Observing night of an MJD: nights run noon to noon UT (MJD x.5 to x+1.5)."""
    return math.floor(mjd - 0.5)


SAME_NIGHT = TimeRange("same night", same_night=True)
ONE_DAY = TimeRange("within 1 day", 1.0, 1.0)
UNLIMITED = TimeRange("unlimited")


def days(n: float) -> TimeRange:
    """± n days."""
    return TimeRange(f"within {n:g} days", float(n), float(n))


def relative(before: float | None, after: float | None) -> TimeRange:
    """An explicit relative range: up to ``before`` days earlier and ``after`` days later."""
    b = "any time" if before is None else f"{before:g} d"
    a = "any time" if after is None else f"{after:g} d"
    return TimeRange(f"from {b} before to {a} after", before, after)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class ClassificationRule:
    """A file is given ``category`` when every keyword matches (or ``function(header)`` is true).

    ``keywords`` maps cascade keyword names to values (exact, alternatives, predicate).
    ``needed_keywords`` lists the keywords a function rule reads (so the scanner extracts them).
    """

    category: str
    keywords: Mapping[str, Any] | None = None
    function: Callable[[Mapping[str, Any]], bool] | None = None
    needed_keywords: tuple[str, ...] = ()
    location: SourceLocation = UNKNOWN_LOCATION

    def matches(self, header: Mapping[str, Any]) -> bool:
        return self.first_mismatch(header) is None

    def first_mismatch(self, header: Mapping[str, Any]) -> tuple[str, str, Any] | None:
        """None if the rule matches, else (keyword, expected words, actual value).

        For a function rule the keyword is ``"<function name>"``.
        """
        if self.function is not None:
            try:
                ok = bool(self.function(header))
            except Exception as exc:  # rule code failing on an odd header = no match
                return (f"<{getattr(self.function, '__name__', 'function')}>", "true", f"error: {exc}")
            return None if ok else (f"<{getattr(self.function, '__name__', 'function')}>", "true", False)
        for key, expected in (self.keywords or {}).items():
            actual = header.get(key)
            if not value_matches(expected, actual):
                return (key, describe_value(expected), actual)
        return None

    @property
    def keyword_names(self) -> tuple[str, ...]:
        return tuple(self.keywords or ()) + tuple(self.needed_keywords)


@dataclass(frozen=True)
class MatchRule:
    """One association rule at one quality level: candidates must agree with the main input
    on ``keywords`` (or satisfy ``function(main_header, candidate_header)``) and lie within
    ``time_range``. Level 0 = calibration plan, 1 = sufficient, 2 = acceptable, 3 = risky."""

    keywords: tuple[str, ...] = ()
    function: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None
    time_range: TimeRange = UNLIMITED
    level: int = 0
    location: SourceLocation = UNKNOWN_LOCATION


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class WorkflowParameter:
    """A cascade-level choice (e.g. the flat strategy)."""

    name: str
    default: Any
    choices: tuple[Any, ...] | None = None
    description: str = ""
    location: SourceLocation = UNKNOWN_LOCATION

    # True for an EDPS "$param" grouping parameter: its values are keyword names
    keyword_values = False

    def equals(self, value: Any) -> Callable[[Any], bool]:
        """A condition (for ``with_condition`` / ``condition=``) true when this parameter == value."""
        name = self.name

        def condition(ctx) -> bool:
            return ctx.workflow_parameters.get(name) == value

        condition.__name__ = f"{name}=={value!r}"
        condition.__doc__ = f"workflow parameter {name} is {value!r}"
        # read by validation: the parameter and value this condition tests
        condition.workflow_parameter = name  # type: ignore[attr-defined]
        condition.workflow_value = value  # type: ignore[attr-defined]
        return condition


# --------------------------------------------------------------------------- data sources and tasks


@dataclass(frozen=True)
class DataSource:
    """A kind of input file, recognised by classification rules. Static calibrations
    (files the user supplies, e.g. line lists) are data sources too."""

    name: str
    classification_rules: tuple[ClassificationRule, ...] = ()
    grouping_keywords: tuple[Any, ...] = ()  # str or WorkflowParameter (resolving to a list)
    setup_keywords: tuple[str, ...] = ()
    match_rules: tuple[MatchRule, ...] = ()
    min_group_size: int = 1
    location: SourceLocation = UNKNOWN_LOCATION

    kind = "data_source"

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.category for r in self.classification_rules))


@dataclass(frozen=True)
class InputRef:
    """A reference to a data source or a task, by name (``kind`` is "data_source" or "task")."""

    name: str
    kind: str


@dataclass(frozen=True)
class AssociatedInput:
    """An associated input of a task: a data source or another task's products."""

    source: InputRef
    min_ret: int = 1
    max_ret: int = 1
    match_rules: tuple[MatchRule, ...] | None = None  # None = use the data source's rules
    condition: Callable[[Any], bool] | None = None
    location: SourceLocation = UNKNOWN_LOCATION
    # only files (or upstream products) of these categories; () = every category
    categories: tuple[str, ...] = ()
    # an alternatives group (EDPS ``alternative_associated_inputs``): the first alternative
    # whose condition holds and which is satisfied wins; with ``sort_keys`` the satisfied
    # alternative whose first candidate is closest in those keywords wins. ``source`` is
    # then the first alternative's source.
    alternatives: tuple[AssociatedInput, ...] = ()
    sort_keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def optional(self) -> bool:
        return self.min_ret == 0

    def flat(self) -> tuple[AssociatedInput, ...]:
        """This input, or the alternatives of a group."""
        return self.alternatives or (self,)


@dataclass(frozen=True)
class Task:
    """One processing step: runs a recipe (or a Python function) on a main input."""

    name: str
    recipe: str | None = None
    function: Callable[..., Any] | None = None
    main_input: InputRef | None = None
    associated_inputs: tuple[AssociatedInput, ...] = ()
    condition: Callable[[Any], bool] | None = None
    recipe_parameters: Mapping[str, Any] = field(default_factory=dict)
    dynamic_parameters: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    meta_targets: tuple[str, ...] = ()
    inspector: Callable[..., Any] | None = None
    subworkflow: str | None = None
    # when the main input is a task: upstream jobs are grouped by these header keywords of
    # their main files (one job per group); empty = one job for all upstream jobs
    grouping_keywords: tuple[Any, ...] = ()
    location: SourceLocation = UNKNOWN_LOCATION
    # where each builder call was made, for precise validation errors: method -> location
    call_locations: Mapping[str, SourceLocation] = field(default_factory=dict)
    # only main files of these categories (``with_main_input(src, [categories])``); () = all
    main_categories: tuple[str, ...] = ()
    # job parameters: computed per job by ``fn(ctx)``, visible to conditions as
    # ``ctx.job_parameters`` (never passed to the recipe)
    job_parameters: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    # functions ``fn(job_edit)`` that may change a job's main files, recipe parameters and
    # recipe when the organiser makes it (see ``reflexng.cascade.parameters.JobEdit``)
    job_processing: tuple[Callable[[Any], Any], ...] = ()
    # categories passed to the recipe: ("select"|"reject", categories); () = all
    input_filter: tuple[str, tuple[str, ...]] | tuple = ()
    # categories this task passes on to downstream tasks: ("select"|"reject", categories)
    output_filter: tuple[str, tuple[str, ...]] | tuple = ()
    # category renaming before the recipe sees its inputs: {old: new}
    input_map: Mapping[str, str] = field(default_factory=dict)
    # reports attached to the task (recorded and shown; not run): (name, input kind) pairs
    reports: tuple[tuple[str, str], ...] = ()
    description: str = ""
    # a group of the main data source needs at least this many files (EDPS task-level
    # ``with_min_group_size``; the data source's own minimum applies too)
    min_group_size: int = 1

    kind = "task"

    def all_associated_inputs(self) -> tuple[AssociatedInput, ...]:
        """Every associated input, alternatives of a group included."""
        out: list[AssociatedInput] = []
        for a in self.associated_inputs:
            out.extend(a.flat())
        return tuple(out)

    @property
    def shapes_inputs(self) -> bool:
        """Whether the engine must filter or rename this task's inputs."""
        return bool(self.input_filter or self.input_map or any(
            a.categories for a in self.all_associated_inputs()))

    @property
    def recipe_name(self) -> str:
        """The recipe name, or ``python:<function name>`` for a function task."""
        if self.recipe:
            return self.recipe
        if self.function is not None:
            return f"python:{getattr(self.function, '__name__', 'function')}"
        return ""


@dataclass(frozen=True)
class CascadeInfo:
    """Metadata a cascade file declares with ``metadata(...)``."""

    name: str = ""
    instrument: str = ""
    description: str = ""
    default_target: str | None = None
    location: SourceLocation = UNKNOWN_LOCATION
    # "native" (this language) or "edps" (an ESO EDPS workflow package read by cascade.edps)
    dialect: str = "native"
    # header keywords cascade code may read beyond those the rules name (EDPS function rules)
    extra_keywords: tuple[str, ...] = ()
