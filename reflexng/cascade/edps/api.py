"""reflexng's implementation of the EDPS workflow API (what ``import edps`` gives a workflow
package while reflexng loads it; see docs/edps-compatibility.md).

The builders make the immutable objects of reflexng's cascade model and register them with
the loader's collector, exactly like the native builders; EDPS semantics are translated here
(lower-case dotted keywords, ``min_ret``/``max_ret``, validity ranges, conditions on job
parameters, file objects for rule functions). A name or builder method reflexng does not
implement raises ``<file>:<line>: EDPS feature X is not supported yet``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, List  # noqa: F401, UP035 - EDPS workflows import ``List`` from edps

from reflexng.cascade import builders as _b
from reflexng.cascade.builders import caller_location
from reflexng.cascade.errors import CascadeError
from reflexng.cascade.model import (
    AssociatedInput,
    ClassificationRule,
    DataSource,
    InputRef,
    MatchRule,
    SourceLocation,
    Task,
    TimeRange,
)
from reflexng.cascade.parameters import JobEdit as Job  # noqa: F401 - EDPS's Job in job processing
from reflexng.cascade.parameters import canonical_keyword

from .convert import (
    _categories,
    _category,
    _condition,
    _keywords,
    _levels,
    _match_function,
    _named,
    _ParamRef,  # noqa: F401 - the loader resolves "$param" grouping keywords
    _time_range,
)
from .files import (  # noqa: F401 - re-exported names of the EDPS API
    ALL,
    CALCHECKER,
    IDP,
    PHASE3,
    QC0,
    QC1_CALIB,
    QC1_SCIENCE,
    SCIENCE,
    UNLIMITED_RET,
    ClassifiedFitsFile,
    File,
    FilterMode,
    FitsFile,
    InvokerProvider,
    JobParameters,
    ProductRenamer,
    RecipeInputs,
    RecipeInvocationArguments,
    RecipeInvocationResult,
    ReportInput,
    calchecker,
    copy_all,
    copy_upstream,
    edps_function,
    get_parameter,
    idp,
    phase3,
    qc0,
    qc1calib,
    qc1science,
    science,
    unsupported,
)
from .params import recipe_parameter_names
from .time_range import (  # noqa: F401 - re-exported names of the EDPS API
    FIVE_DAYS,
    FOUR_DAYS,
    IN_THE_PAST,
    INF,
    NEGATIVE_INF,
    NEXT_DAY,
    ONE_AND_HALF_HOURS,
    ONE_DAY,
    ONE_MONTH,
    ONE_WEEK,
    QUARTERLY,
    SAME_NIGHT,
    THREE_DAYS,
    THREE_WEEKS,
    TWO_DAYS,
    TWO_WEEKS,
    UNLIMITED,
    RelativeTimeRange,
)

# --------------------------------------------------------------------------- classification rules


def classification_rule(category: str, rule: Any = None, **_ignored: Any) -> ClassificationRule:
    """``classification_rule("BIAS", {"dpr.type": "BIAS"})`` or with a function ``fn(f)``
    of a file object. ``None`` as a value means "the keyword is absent"."""
    loc = caller_location()
    if not isinstance(category, str) or not category.strip():
        raise CascadeError("classification_rule needs a non-empty category name", loc)
    if rule is None:
        raise CascadeError(f"classification_rule({category!r}) needs a dict of keywords or a function", loc)
    if callable(rule) and not isinstance(rule, Mapping):
        fn = rule
        wrapped = _named(fn, lambda header: fn(ClassifiedFitsFile("", category, header)))
        return ClassificationRule(category, None, wrapped, (), loc)
    if isinstance(rule, Mapping):
        if not rule:
            raise CascadeError(f"classification_rule({category!r}) has no keywords", loc)
        kw = {}
        for k, v in rule.items():
            if not isinstance(k, str):
                raise CascadeError(f"classification_rule({category!r}): keyword {k!r} is not a string", loc)
            kw[canonical_keyword(k)] = v
        return ClassificationRule(category, kw, None, (), loc)
    raise CascadeError(f"classification_rule({category!r}): expected a dict or a function, got {type(rule).__name__}", loc)


# --------------------------------------------------------------------------- match rules


class _Unsupported:
    """Builder base: an unknown method is an unsupported EDPS feature, said in one line."""

    _kind = "builder"

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(f"{self._kind}.{name}")


class _NotInEdps:
    """A method of reflexng's native builder that EDPS lacks: unsupported, like any unknown name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: Any, owner: type | None = None):
        raise unsupported(f"{getattr(owner, '_kind', 'builder')}.{self._name}")


class match_rules(_Unsupported):  # noqa: N801 - EDPS spelling
    """Association rules at several quality levels (``with_match_keywords`` /
    ``with_match_function``, repeatable, levels may be negative)."""

    _kind = "match_rules"

    def __init__(self) -> None:
        self.rules: list[MatchRule] = []

    def with_match_keywords(self, keywords: Iterable[str], time_range: TimeRange = UNLIMITED,
                            level: int = 0) -> match_rules:
        loc = caller_location()
        kws = _keywords(keywords, "with_match_keywords", loc)
        self.rules.append(MatchRule(kws, None, _time_range(time_range, loc), _levels(level, loc), loc))
        return self

    def with_match_function(self, function: Callable, time_range: TimeRange = UNLIMITED,
                            level: int = 0) -> match_rules:
        loc = caller_location()
        self.rules.append(MatchRule((), _match_function(function, loc), _time_range(time_range, loc),
                                    _levels(level, loc), loc))
        return self

    def sorted(self) -> tuple[MatchRule, ...]:
        return tuple(sorted(self.rules, key=lambda r: r.level))


# --------------------------------------------------------------------------- data sources

ANON_PREFIX = "\0unnamed"  # provisional names of unnamed data sources (fixed on assembly)
_anon_count = [0]


class _DataSourceBuilder(_Unsupported, _b.DataSourceBuilder):
    """The native builder (state, classification rules, min group size, build) with EDPS's
    keyword spelling, negative quality levels, ``match_rules`` and ``with_cluster``."""

    _kind = "data_source"

    def __init__(self, name: str | None, loc: SourceLocation) -> None:
        if not name:
            _anon_count[0] += 1
            name = f"{ANON_PREFIX}{_anon_count[0]}"
        super().__init__(name, loc)
        self._cluster: tuple = ()

    @property
    def _label(self) -> str:
        return "unnamed data source" if self._name.startswith(ANON_PREFIX) else f"data source {self._name!r}"

    def with_grouping_keywords(self, keywords: Iterable[str]) -> _DataSourceBuilder:
        self._grouping = _keywords(keywords, "with_grouping_keywords", caller_location())
        return self

    def with_setup_keywords(self, keywords: Iterable[str]) -> _DataSourceBuilder:
        self._setup = tuple(str(k) for k in _keywords(keywords, "with_setup_keywords", caller_location()))
        return self

    def with_match_keywords(self, keywords: Iterable[str], time_range: TimeRange = UNLIMITED,
                            level: int = 0) -> _DataSourceBuilder:
        loc = caller_location()
        kws = _keywords(keywords, "with_match_keywords", loc)
        self._match.append(MatchRule(kws, None, _time_range(time_range, loc), _levels(level, loc), loc))
        return self

    def with_match_function(self, function: Callable, time_range: TimeRange = UNLIMITED,
                            level: int = 0) -> _DataSourceBuilder:
        loc = caller_location()
        self._match.append(MatchRule((), _match_function(function, loc), _time_range(time_range, loc),
                                     _levels(level, loc), loc))
        return self

    def with_match_rules(self, rules: match_rules) -> _DataSourceBuilder:
        if not isinstance(rules, match_rules):
            raise CascadeError("with_match_rules needs a match_rules() object", caller_location())
        self._match.extend(rules.rules)
        return self

    def with_cluster(self, keyword: Any, *args: Any, **kwargs: Any) -> _DataSourceBuilder:
        self._cluster = (keyword, args, kwargs)  # recorded; grouping ignores it (see the docs)
        return self

    def with_subworkflow_name(self, name: str) -> _DataSourceBuilder:
        return self


def data_source(name: str | None = None) -> _DataSourceBuilder:
    """A data source; EDPS allows it without a name (reflexng derives one from its rules)."""
    loc = caller_location()
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise CascadeError("data_source name must be a non-empty string", loc)
    return _DataSourceBuilder(name, loc)


# --------------------------------------------------------------------------- associated inputs


def _source(obj: Any, what: str, loc: SourceLocation) -> InputRef:
    if isinstance(obj, DataSource):
        return InputRef(obj.name, "data_source")  # a derived name is fixed up on assembly
    if isinstance(obj, Task):
        return InputRef(obj.name, "task")
    if isinstance(obj, (_DataSourceBuilder, _TaskBuilder)):
        raise CascadeError(f"{what}: {obj._name!r} is a builder - did you forget .build()?", loc)
    raise CascadeError(f"{what}: expected a data source or a task, got {type(obj).__name__}", loc)


def _ret(n: Any, what: str, loc: SourceLocation) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        raise CascadeError(f"{what} must be an integer, got {n!r}", loc)
    return UNLIMITED_RET if n < 0 else n


def _associated(src: Any, categories: Any, min_ret: int, max_ret: int, match_rules_: Any,
                condition: Any, loc: SourceLocation, what: str) -> AssociatedInput:
    ref = _source(src, what, loc)
    if match_rules_ is not None and not isinstance(match_rules_, match_rules):
        raise CascadeError(f"{what}: match_rules= needs a match_rules() object", loc)
    lo, hi = _ret(min_ret, "min_ret", loc), _ret(max_ret, "max_ret", loc)
    if hi < max(lo, 1):
        hi = max(lo, 1)
    a = AssociatedInput(ref, lo, hi, match_rules_.sorted() if match_rules_ is not None else None,
                        _condition(condition, what, loc), loc, _categories(categories, what, loc))
    _PENDING.append((a, src))
    return a


# associated inputs made while loading, with the object they name (data source names are
# fixed up on assembly when the data source had none)
_PENDING: list[tuple[AssociatedInput, Any]] = []


class alternative_associated_inputs(_Unsupported):  # noqa: N801 - EDPS spelling
    """Alternatives: the first whose condition holds and which is found wins; with
    ``sort_keys`` the found one closest in those keywords wins."""

    _kind = "alternative_associated_inputs"

    def __init__(self, sort_keys: Iterable[str] | None = None) -> None:
        self._loc = caller_location()
        self.sort_keys = _keywords(sort_keys, "sort_keys", self._loc) if sort_keys else ()
        self.inputs: list[AssociatedInput] = []

    def with_associated_input(self, source: Any, categories: Any = None, min_ret: int = 1,
                              max_ret: int = 1, match_rules: Any = None, condition: Any = None,
                              ) -> alternative_associated_inputs:
        loc = caller_location()
        self.inputs.append(_associated(source, categories, min_ret, max_ret, match_rules, condition, loc,
                                       "alternative associated input"))
        return self

    def group(self, loc: SourceLocation) -> AssociatedInput:
        if not self.inputs:
            raise CascadeError("alternative_associated_inputs() has no with_associated_input(...)", loc)
        first = self.inputs[0]
        return AssociatedInput(first.source, first.min_ret, first.max_ret, None, None, loc,
                               (), tuple(self.inputs), tuple(str(k) for k in self.sort_keys))


alternative_association = alternative_associated_inputs


# --------------------------------------------------------------------------- tasks


class _TaskBuilder(_Unsupported, _b.TaskBuilder):
    """The native builder (state, call locations, recipe, meta targets) with EDPS's inputs,
    categories, filters, job processing and reports."""

    _kind = "task"
    with_recipe_parameters = _NotInEdps()  # EDPS takes recipe parameters from parameter files
    with_inspector = _NotInEdps()

    def __init__(self, name: str, loc: SourceLocation) -> None:
        super().__init__(name, loc)
        self._main_categories: tuple[str, ...] = ()
        self._job_params: dict[str, Callable] = {}
        self._processing: list[Callable] = []
        self._input_filter: tuple = ()
        self._output_filter: tuple = ()
        self._input_map: dict[str, str] = {}
        self._reports: list[tuple[str, str]] = []
        self._description = ""
        self._min_group = 1

    def with_function(self, function: Callable, *args: Any, **kwargs: Any) -> _TaskBuilder:
        loc = self._note("with_function")
        if not callable(function):
            raise CascadeError(f"task {self._name!r}: with_function needs a function", loc)
        self._function = edps_function(function)
        return self

    def with_main_input(self, source: Any, categories: Any = None) -> _TaskBuilder:
        loc = self._note("with_main_input")
        self._main = _source(source, f"task {self._name!r}: with_main_input", loc)
        self._main_categories = _categories(categories, "with_main_input", loc)
        _PENDING.append((self, source))
        return self

    def with_associated_input(self, source: Any, categories: Any = None, min_ret: int = 1,
                              max_ret: int = 1, match_rules: Any = None, condition: Any = None,
                              ) -> _TaskBuilder:
        loc = self._note("with_associated_input")
        self._assoc.append(_associated(source, categories, min_ret, max_ret, match_rules, condition, loc,
                                       f"task {self._name!r}: associated input"))
        return self

    def with_alternative_associated_inputs(self, alternatives: alternative_associated_inputs) -> _TaskBuilder:
        loc = self._note("with_alternatives")
        if not isinstance(alternatives, alternative_associated_inputs):
            raise CascadeError(f"task {self._name!r}: needs an alternative_associated_inputs() object", loc)
        self._assoc.append(alternatives.group(loc))
        return self

    with_alternatives = with_alternative_associated_inputs

    def with_condition(self, condition: Callable) -> _TaskBuilder:
        loc = self._note("with_condition")
        self._condition = _condition(condition, f"task {self._name!r}", loc)
        return self

    def with_dynamic_parameter(self, name: str, function: Callable) -> _TaskBuilder:
        loc = self._note("with_dynamic_parameter")
        if not isinstance(name, str) or not name or not callable(function):
            raise CascadeError(f"task {self._name!r}: with_dynamic_parameter(name, fn(files)) needs a "
                               "name and a function", loc)

        def job_parameter(ctx, fn=function):
            return fn([ClassifiedFitsFile(f.path, f.category, f.headers) for f in ctx.files])

        self._job_params[name] = _named(function, job_parameter)
        return self

    def with_job_processing(self, function: Callable) -> _TaskBuilder:
        loc = self._note("with_job_processing")
        if not callable(function):
            raise CascadeError(f"task {self._name!r}: with_job_processing needs a function fn(job)", loc)
        self._processing.append(_named(function, _job_processor(function)))
        return self

    def _filter(self, method: str, args: tuple, mode: Any) -> tuple:
        loc = self._note(method)
        items: list[Any] = []
        for a in args:
            items.extend(a if isinstance(a, (list, tuple, set)) else [a])
        m = getattr(mode, "value", mode)
        m = str(m).lower()
        if m == "accept":
            m = "select"
        if m not in ("select", "reject"):
            raise CascadeError(f"task {self._name!r}: {method} mode must be FilterMode.SELECT or REJECT", loc)
        return (m, _categories(items, method, loc))

    def with_input_filter(self, *categories: Any, mode: Any = FilterMode.SELECT) -> _TaskBuilder:
        self._input_filter = self._filter("with_input_filter", categories, mode)
        return self

    def with_output_filter(self, *categories: Any, mode: Any = FilterMode.SELECT) -> _TaskBuilder:
        self._output_filter = self._filter("with_output_filter", categories, mode)
        return self

    def with_input_map(self, mapping: Mapping[Any, Any]) -> _TaskBuilder:
        loc = self._note("with_input_map")
        if not isinstance(mapping, Mapping):
            raise CascadeError(f"task {self._name!r}: with_input_map needs a dict {{old: new}}", loc)
        for k, v in mapping.items():
            self._input_map[_category(k, "with_input_map", loc)] = _category(v, "with_input_map", loc)
        return self

    def with_report(self, name: str, input_kind: Any = ReportInput.RECIPE_INPUTS, *args: Any,
                    **kwargs: Any) -> _TaskBuilder:
        self._note("with_report")
        self._reports.append((str(name), str(getattr(input_kind, "value", input_kind))))
        return self

    def with_grouping_keywords(self, keywords: Iterable[str]) -> _TaskBuilder:
        loc = self._note("with_grouping_keywords")
        self._grouping = _keywords(keywords, f"task {self._name!r}: with_grouping_keywords", loc)
        return self

    def with_min_group_size(self, n: int) -> _TaskBuilder:
        loc = self._note("with_min_group_size")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise CascadeError(f"task {self._name!r}: min group size must be an integer >= 1", loc)
        self._min_group = n
        return self

    def with_cluster(self, *args: Any, **kwargs: Any) -> _TaskBuilder:
        self._note("with_cluster")  # recorded; grouping ignores it (see the docs)
        return self

    def with_description(self, text: str) -> _TaskBuilder:
        self._description = str(text)
        return self

    def with_subworkflow_name(self, name: str) -> _TaskBuilder:
        self._subworkflow = str(name)
        return self

    def build(self) -> Task:
        loc = self._loc
        if self._recipe and self._function:
            raise CascadeError(f"task {self._name!r} has both a recipe and a function; choose one",
                               self._calls.get("with_function", loc))
        function = self._function
        if not self._recipe and function is None:
            function = edps_function(copy_upstream)  # a task without a recipe passes its inputs on
        t = Task(
            name=self._name, recipe=self._recipe, function=function, main_input=self._main,
            associated_inputs=tuple(self._assoc), condition=self._condition, recipe_parameters={},
            dynamic_parameters={}, meta_targets=self._meta, subworkflow=self._subworkflow,
            grouping_keywords=self._grouping, location=loc, call_locations=dict(self._calls),
            main_categories=self._main_categories, job_parameters=dict(self._job_params),
            job_processing=tuple(self._processing), input_filter=self._input_filter,
            output_filter=self._output_filter, input_map=dict(self._input_map),
            reports=tuple(self._reports), description=self._description, min_group_size=self._min_group,
        )
        _b._register(t, self)
        return t


def task(name: str) -> _TaskBuilder:
    """A task (one processing step)."""
    loc = caller_location()
    if not isinstance(name, str) or not name.strip():
        raise CascadeError("task needs a non-empty name", loc)
    return _TaskBuilder(name, loc)


def _job_processor(fn: Callable) -> Callable:
    """``fn(job)`` seeing the bare recipe name in ``job.command`` (as EDPS shows it)."""

    def process(edit) -> None:
        esorex = edit.command.startswith("esorex:")
        if esorex:
            edit.command = edit.command[len("esorex:"):]
        fn(edit)
        if esorex and ":" not in edit.command:
            edit.command = "esorex:" + edit.command
        edit.parameters.recipe_parameters = recipe_parameter_names(
            edit.command, edit.parameters.recipe_parameters)

    return process


class subworkflow:  # noqa: N801 - EDPS spelling
    """``@subworkflow("name", "description")`` on a function that builds tasks."""

    def __init__(self, name: str, description: str = "") -> None:
        self._native = _b.subworkflow(name)
        self.description = description

    def __call__(self, fn: Callable) -> Callable:
        return self._native(fn)

    def __enter__(self):
        return self._native.__enter__()

    def __exit__(self, *exc) -> None:
        self._native.__exit__(*exc)


# --------------------------------------------------------------------------- the module

NAMES = {
    # builders and rules
    "task", "data_source", "classification_rule", "match_rules", "alternative_associated_inputs",
    "alternative_association", "subworkflow",
    # parameters and jobs
    "get_parameter", "JobParameters", "Job", "ClassifiedFitsFile", "File", "FitsFile", "List",
    "RecipeInputs", "RecipeInvocationArguments", "RecipeInvocationResult", "InvokerProvider",
    "ProductRenamer", "FilterMode", "ReportInput", "copy_upstream", "copy_all",
    # time ranges
    "RelativeTimeRange", "INF", "NEGATIVE_INF", "ONE_AND_HALF_HOURS", "SAME_NIGHT", "NEXT_DAY", "ONE_DAY",
    "TWO_DAYS", "THREE_DAYS", "FOUR_DAYS", "FIVE_DAYS", "ONE_WEEK", "TWO_WEEKS", "THREE_WEEKS",
    "ONE_MONTH", "QUARTERLY", "IN_THE_PAST", "UNLIMITED",
    # meta targets
    "SCIENCE", "QC1_CALIB", "QC1_SCIENCE", "QC0", "CALCHECKER", "IDP", "PHASE3", "ALL",
    "science", "qc1calib", "qc1science", "qc0", "calchecker", "idp", "phase3",
}


def module_getattr(name: str):
    """``edps.<name>`` for a name reflexng does not implement: the one-line error."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(name, caller_location())


def reset() -> None:
    """Forget what the previous load left behind."""
    _PENDING.clear()
    _anon_count[0] = 0


