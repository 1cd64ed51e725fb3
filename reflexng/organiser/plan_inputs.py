"""Input semantics of the planner that EDPS workflows need (issue 18): category filters,
alternatives groups, job parameters and job-processing functions.

:class:`InputSemantics` is a mixin of :class:`reflexng.organiser.plan.Planner`; it uses the
planner's groups, pools and ``associate``. Native cascades that use none of these features
never reach this code, so their results do not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reflexng.cascade.model import AssociatedInput, Task
from reflexng.cascade.parameters import FileView, JobEdit, JobParametersView, RuleContext
from reflexng.organiser._fast import maker
from reflexng.organiser.model import Association, FileRecord

if TYPE_CHECKING:  # pragma: no cover
    from reflexng.organiser.plan import Group

_INF = float("inf")
_rule_context = maker(RuleContext)


class _Alternatives:
    """The input plans of an alternatives group (``AssociatedInput.alternatives``)."""

    __slots__ = ("input", "plans")

    def __init__(self, input: AssociatedInput, plans: tuple) -> None:
        self.input = input
        self.plans = plans


class InputSemantics:
    """Category filters, alternatives, job parameters and job processing (see the module)."""

    def job_parameters(self, g: Group, task: Task, files) -> dict[str, Any]:
        """The job parameters of the job of ``g`` (``Task.job_parameters``), computed once.
        A failing function is the job's problem (see ``_jp_errors``), never the organiser's."""
        got = self._jp.get(g)
        if got is None:
            got = self._jp[g] = {}
            base = _rule_context(self.wp, g.ref.headers, tuple([f.headers for f in files]), g.task,
                                 got, files)
            for name, fn in task.job_parameters.items():
                try:
                    got[name] = fn(base)
                except Exception as exc:  # said in words on the job
                    self._jp_errors[g] = (f"{g.task}: job parameter {name} failed: "
                                          f"{type(exc).__name__}: {exc}")
                    got[name] = None
        return got

    def _of_categories(self, files, ds, categories: tuple[str, ...]) -> list[FileRecord]:
        """The files of data source ``ds`` whose category (for ``ds``) is one of ``categories``."""
        cats = set(categories)
        rules = [r for r in (ds.classification_rules if ds is not None else ()) if r.category in cats]
        out = []
        for f in files:
            if f.category in cats or (f.data_sources and len(f.data_sources) > 1
                                      and any(r.matches(f.headers) for r in rules)):
                out.append(f)
        return out

    def associate_alternatives(self, g: Group, alt: _Alternatives, ctx: RuleContext) -> Association:
        """An alternatives group: every alternative whose condition holds is tried; without
        sort keys the first satisfied one wins, with sort keys the satisfied one whose first
        candidate is closest in those keywords (ties: the earlier alternative)."""
        group, plans = alt.input, alt.plans
        tried: list[tuple[int, Association]] = []
        first_active = first_empty_optional = None
        for i, plan in enumerate(plans):
            res = self.associate(g, plan, ctx, materialise=False)
            if res.skipped_reason:
                continue
            if first_active is None:
                first_active = i
            if res.complete and res.chosen:
                tried.append((i, res))
                if not group.sort_keys:
                    break
            elif res.complete and first_empty_optional is None:  # optional, nothing found
                first_empty_optional = i
        if not tried:
            if first_active is None:  # every condition false: skipped like a conditional input
                return self.associate(g, plans[0], ctx)
            # nothing found: an optional alternative does without, else say what is missing
            i = first_empty_optional if first_empty_optional is not None else first_active
            return self.associate(g, plans[i], ctx)
        if group.sort_keys and len(tried) > 1:
            ref = g.ref.headers
            best = min(tried, key=lambda t: (self._distance(ref, t[1], group.sort_keys), t[0]))
        else:
            best = tried[0]
        i = best[0]
        res = self.associate(g, plans[i], ctx)
        words = f"alternative {i + 1} of {len(plans)}"
        return res._replace(note=f"{words}; {res.note}" if res.note else words)

    def _distance(self, ref: Mapping[str, Any], res: Association, keys: tuple[str, ...]) -> float:
        """How far the first chosen candidate of ``res`` is from the reference in ``keys``."""
        if not res.chosen:
            return _INF
        c = res.chosen[0]
        if c.job_id:
            grp = self._group_by_id(res.input, c.job_id)
            headers = grp.ref.headers if grp is not None else {}
        else:
            f = self._file_index().get(c.path)
            headers = f.headers if f is not None else {}
        total = 0.0
        for k in keys:
            a, b = ref.get(k), headers.get(k)
            if k in ("MJD-OBS", "DATE-OBS") and c.dt_days is not None:
                total += abs(c.dt_days)
            elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
                total += abs(float(a) - float(b))
            elif a != b:
                total += _INF
        return total

    def _group_by_id(self, task: str, jid: str) -> Group | None:
        for grp in self.groups(task):
            if (grp._id or grp.id) == jid:
                return grp
        return None

    def _file_index(self) -> dict[str, FileRecord]:
        idx = self.__dict__.get("_files_by_path")
        if idx is None:
            idx = self.__dict__["_files_by_path"] = {
                f.path: f for fs in self.by_source.values() for f in fs}
        return idx

    def _process(self, task: Task, g: Group, main_paths, params, recipe, assoc):
        """Run the task's job-processing functions on a :class:`JobEdit` of this job."""
        by_path = {f.path: f for f in g.files}
        files = [FileView(f.path, f.category, f.headers) for f in g.files]
        assoc_files = []
        index = None
        for a in assoc.values():
            for c in a.chosen:
                if c.path:
                    if index is None:
                        index = self._file_index()
                    f = index.get(c.path)
                    if f is not None:
                        assoc_files.append(FileView(f.path, f.category, f.headers))
        edit = JobEdit(task.name, recipe, files, JobParametersView(dict(params), dict(self.wp)),
                       assoc_files, dict(g.grouping))
        for fn in task.job_processing:
            fn(edit)
        new_main = tuple(str(getattr(v, "name", v)) for v in edit.input_files)
        for p in new_main:
            if p not in by_path and p not in main_paths:
                raise ValueError(f"input file {p} is not one of the job's main files")
        kept = {str(getattr(v, "name", v)) for v in edit.associated_files}
        if kept != {f.name for f in assoc_files}:  # associated files dropped: gone from the associations
            for name, a in list(assoc.items()):
                chosen = tuple(c for c in a.chosen if not c.path or c.path in kept)
                if len(chosen) != len(a.chosen):
                    assoc[name] = a._replace(chosen=chosen, note=(
                        (a.note + "; " if a.note else "") + "files dropped by job processing"))
        return new_main, dict(edit.parameters.recipe_parameters), str(edit.command)
