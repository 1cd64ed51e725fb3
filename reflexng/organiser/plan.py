"""From classified files to jobs and datasets, recursively through the cascade.

A :class:`Group` is a potential job: the main files of one task grouped by its grouping
keywords (or, for a task whose main input is another task, upstream groups grouped by the
task's grouping keywords). A group becomes a :class:`Job` only when a dataset needs it, so
calibration jobs shared by several datasets exist once.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from reflexng.cascade.model import AssociatedInput, MatchRule, Task, WorkflowParameter
from reflexng.cascade.parameters import (
    RuleContext,
    canonical_keyword,
    task_parameters,
)
from reflexng.organiser._fast import maker, template
from reflexng.organiser.associate import (
    DEFAULT_RULE,
    Pool,
    lazy_rejected,
    missing_words,
)
from reflexng.organiser.classify import PRO_RECIPE, _value_tuples, key_function
from reflexng.organiser.model import OK, Association, Associations, Candidate, FileRecord, Job
from reflexng.organiser.plan_datasets import DatasetPlanning, _Chosen
from reflexng.organiser.plan_inputs import InputSemantics, _Alternatives

_INF = float("inf")
_association = maker(Association)
_candidate = maker(Candidate)
_rule_context = maker(RuleContext)
_NONE = itertools.repeat(None)  # "no prefetched searches" for zip()
_new = tuple.__new__  # the result classes are named tuples: made from all their fields


def _group_id(g: Group) -> str:
    return g._id or _make_id(g)


def _make_id(g: Group) -> str:
    """:attr:`Group.id`, computed (once: it is kept in ``g._id``)."""
    text = g.task
    if g.files:
        text += "\0" + "\0".join([f.path for f in g.files])
    if g.upstream:
        text += "\1" + "\1".join([u._id or _make_id(u) for u in g.upstream])
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()
    got = g._id = f"{g.task}-{digest[:12]}"
    return got


class Group:
    """A potential job of ``task``: main files (data source input) or upstream groups."""

    __slots__ = ("task", "files", "upstream", "grouping", "ref", "problem", "_id", "mjd", "path",
                 "headers")

    def __init__(self, task: str, files: tuple[FileRecord, ...], upstream: tuple[Group, ...],
                 grouping: dict[str, Any], ref: FileRecord, problem: str = "") -> None:
        self.task = task
        self.files = files
        self.upstream = upstream
        self.grouping = grouping
        self.ref = ref
        self.problem = problem
        self._id: str | None = None
        # seen through the reference file when matched as a candidate
        self.mjd, self.path, self.headers = ref.mjd, ref.path, ref.headers

    @property
    def id(self) -> str:
        """``task-<12 hex digits>``: sha1 of the task name, then NUL + each main file path,
        then \\1 + each upstream group id (hashed in one call; a file name that is not UTF-8 hashes
        its own bytes)."""
        return self._id or _make_id(self)

    def all_files(self) -> tuple[FileRecord, ...]:
        if not self.upstream:
            return self.files
        out: list[FileRecord] = []
        for g in self.upstream:
            out.extend(g.all_files())
        return tuple(out)


def _sort_key(f: FileRecord):
    return (f.mjd if f.mjd is not None else _INF, f.path)


_MJD = attrgetter("mjd")


def _by_time(files: Sequence[FileRecord]) -> list[FileRecord]:
    """Files (in path order) sorted by (MJD, path); files without a time last."""
    try:
        return sorted(files, key=_MJD)  # stable: equal times stay in path order
    except TypeError:  # some files have no time (None does not compare with floats)
        return sorted(files, key=_sort_key)


def resolve_keywords(items: Sequence[Any], wp: Mapping[str, Any]) -> tuple[str, ...]:
    """Grouping keywords with workflow parameters substituted (a parameter may hold a list)."""
    out: list[str] = []
    for k in items:
        if isinstance(k, WorkflowParameter):
            v = wp.get(k.name, k.default)
            vs = v if isinstance(v, (list, tuple)) else [v]
            if k.keyword_values:  # EDPS "$param": keyword names written the EDPS way
                vs = [canonical_keyword(x) for x in vs if isinstance(x, str)]
            out.extend(vs)
        else:
            out.append(k)
    return tuple(str(k) for k in out if k)


class Planner(InputSemantics, DatasetPlanning):
    """Builds jobs and datasets for one organise call (EDPS input semantics: the
    :class:`~reflexng.organiser.plan_inputs.InputSemantics` mixin; datasets: the
    :class:`~reflexng.organiser.plan_datasets.DatasetPlanning` mixin)."""

    def __init__(self, cascade, files: Sequence[FileRecord], workflow_parameters: Mapping[str, Any],
                 *, parameter_set=None, recipe_parameters=None, prefer: str = "raw") -> None:
        if prefer not in ("raw", "processed"):
            raise ValueError(f"prefer must be 'raw' or 'processed', got {prefer!r}")
        self.cascade = cascade
        self.wp = dict(workflow_parameters)
        self.parameter_set = parameter_set
        self.overrides = recipe_parameters or {}
        self.prefer = prefer
        self.by_source: dict[str, list[FileRecord]] = {}
        self.by_recipe: dict[str, list[FileRecord]] = {}
        by_source = self.by_source
        by_tuple: dict[tuple[str, ...], list[FileRecord]] = {}  # classify shares these tuples
        for f in files:
            dss = f.data_sources
            if dss:
                if f.status == OK and not f.excluded:
                    got = by_tuple.get(dss)
                    if got is None:
                        by_tuple[dss] = [f]
                    else:
                        got.append(f)
            elif f.processed and f.status == OK and not f.excluded:
                rec = f.headers.get(PRO_RECIPE)
                if isinstance(rec, str) and rec.strip():
                    self.by_recipe.setdefault(rec.strip(), []).append(f)
        mixed = set()
        for dss, members in by_tuple.items():  # files come sorted by path: lists stay sorted
            for ds in dss:
                got = by_source.get(ds)
                if got is None:
                    by_source[ds] = list(members)
                else:
                    got.extend(members)
                    mixed.add(ds)
        for ds in mixed:  # merged from several tuples: restore path order
            by_source[ds].sort(key=attrgetter("path"))
        self._groups: dict[str, list[Group]] = {}
        self._pools: dict[tuple, Pool] = {}
        self._cond: dict[Group, str] = {}  # groups are made once per planner: identity keys
        self.jobs: dict[str, Job] = {}
        self._visiting: set[str] = set()
        self.own_missing: dict[str, tuple[str, ...]] = {}  # what each job itself lacks
        self._closure: dict[str, list[str]] = {}
        self._inputs: dict[int, tuple] = {}
        self._needs_ctx: dict[str, bool] = {}
        self._contents: dict[str, str] = {}
        self._prefixes: dict[tuple, tuple] = {}  # see _dataset
        self._task_plans: dict[str, tuple] = {}  # see _task_plan
        self._files_by_path: Mapping[str, FileRecord] | None = None  # of datasets()
        self._group_of: dict[str, Group] = {}  # job id -> its group
        self._plans: dict[str, list[tuple]] = {}  # task -> input plans of its associated inputs
        self._jp: dict[Group, dict[str, Any]] = {}  # job parameters per group
        self._jp_errors: dict[Group, str] = {}
        self.notes: list[str] = []
        # EDPS workflows: a task whose main input is a task, without grouping keywords, has a
        # job per upstream job (native cascades: one job for all of them)
        self.per_upstream = getattr(getattr(cascade, "info", None), "dialect", "native") == "edps"

    # ------------------------------------------------------------------ groups

    def groups(self, task_name: str) -> list[Group]:
        """Every potential job of a task, ordered by reference time then path."""
        got = self._groups.get(task_name)
        if got is not None:
            return got
        self._groups[task_name] = []  # guards against cycles
        task = self.cascade.tasks[task_name]
        main = task.main_input
        out: list[Group] = []
        if main is None:
            pass
        elif main.kind == "data_source":
            ds = self.cascade.data_sources.get(main.name)
            files = _by_time(self.by_source.get(main.name, ()))
            if task.main_categories:
                files = self._of_categories(files, ds, task.main_categories)
            keys = resolve_keywords(ds.grouping_keywords, self.wp) if ds is not None else ()
            min_size = max(ds.min_group_size if ds is not None else 1, task.min_group_size)
            if not keys:
                buckets: dict[Any, list[FileRecord]] = {i: [f] for i, f in enumerate(files)}
            else:
                buckets = {}
                if len(keys) == 1:  # the common case: the value itself is the key
                    key0 = keys[0]
                    for f in files:
                        k = f.headers.get(key0)
                        b = buckets.get(k)
                        if b is None:
                            buckets[k] = [f]
                        else:
                            b.append(f)
                else:  # every file's values first, in one comprehension (no call per file)
                    for k, f in zip(_value_tuples([f.headers for f in files], keys), files):
                        b = buckets.get(k)
                        if b is None:
                            buckets[k] = [f]
                        else:
                            b.append(f)
            n_keys = len(keys)
            for bkey, members in buckets.items():
                ref = members[0]  # bucket keys are the first member's values
                if n_keys == 1:
                    grouping = {keys[0]: bkey}
                elif n_keys:
                    grouping = dict(zip(keys, bkey))
                else:
                    grouping = {}
                problem = ""
                if len(members) < min_size:
                    problem = (f"needs ≥{min_size} {main.name} files per group"
                               f"{_group_words(grouping)}, found {len(members)}")
                out.append(Group(task_name, tuple(members), (), grouping, ref, problem))
        else:
            keys = resolve_keywords(task.grouping_keywords, self.wp)
            ups = [g for g in self.groups(main.name) if not g.problem and self.condition_ok(g)]
            buckets2: dict[Any, list[Group]] = {}
            keyf = key_function(keys)
            if not keys and self.per_upstream:  # EDPS: one job per upstream job
                keyf = None
            for i, g in enumerate(ups):
                buckets2.setdefault(keyf(g.ref.headers.get) if keyf is not None else i, []).append(g)
            for members2 in buckets2.values():
                ref = members2[0].ref
                out.append(Group(task_name, (), tuple(members2),
                                 {k: ref.headers.get(k) for k in keys}, ref))
        if None in [g.mjd for g in out]:
            out.sort(key=lambda g: _sort_key(g.ref))
        else:  # built from path-ordered files: a stable sort on time gives (time, path)
            out.sort(key=_MJD)
        self._groups[task_name] = out
        return out

    def ctx(self, g: Group) -> RuleContext:
        files = g.all_files()
        task = self.cascade.tasks[g.task]
        jp = self.job_parameters(g, task, files) if task.job_parameters else {}
        return _rule_context(self.wp, g.ref.headers, tuple([f.headers for f in files]), g.task, jp,
                             files)

    def needs_ctx(self, task: Task) -> bool:
        """Whether associating a job of ``task`` calls cascade code (conditions, match
        functions) that needs its :class:`RuleContext`; else it is not built."""
        got = self._needs_ctx.get(task.name)
        if got is None:
            got = False
            for a in task.all_associated_inputs():
                if a.condition is not None or any(r.function is not None for r in self.rules_for(a)):
                    got = True
                if a.source.kind == "task" and self.cascade.tasks[a.source.name].condition is not None:
                    got = True
            self._needs_ctx[task.name] = got
        return got

    def condition_ok(self, g: Group) -> bool:
        return not self.condition_problem(g)

    def condition_problem(self, g: Group) -> str:
        """"" when the task's condition holds for this group, else why not."""
        cond = self.cascade.tasks[g.task].condition
        if cond is None:
            return ""
        got = self._cond.get(g)
        if got is None:
            got = self._cond[g] = _condition_words(cond, self.ctx(g))
        return got

    # ------------------------------------------------------------------ pools

    def rules_for(self, a: AssociatedInput) -> tuple[MatchRule, ...]:
        if a.match_rules is not None:
            return a.match_rules
        name, kind = a.source.name, a.source.kind
        seen = set()
        while kind == "task" and name not in seen:
            seen.add(name)
            t = self.cascade.tasks.get(name)
            if t is None or t.main_input is None:
                return (DEFAULT_RULE,)
            name, kind = t.main_input.name, t.main_input.kind
        ds = self.cascade.data_sources.get(name)
        return (ds.match_rules if ds is not None and ds.match_rules else (DEFAULT_RULE,))

    def what(self, name: str, kind: str) -> str:
        seen = set()
        while kind == "task" and name not in seen:
            seen.add(name)
            t = self.cascade.tasks.get(name)
            if t is None or t.main_input is None:
                return f"{name} products"
            name, kind = t.main_input.name, t.main_input.kind
        ds = self.cascade.data_sources.get(name)
        return "/".join(ds.categories) if ds is not None and ds.categories else name

    def pool(self, a: AssociatedInput, processed: bool) -> Pool:
        cats = a.categories
        key = (a.source.name, a.source.kind, processed, cats) if cats else (a.source.name, a.source.kind, processed)
        p = self._pools.get(key)
        if p is not None:
            return p
        what = self.what(a.source.name, a.source.kind)
        if a.source.kind == "data_source":
            items = self.by_source.get(a.source.name, [])
            if cats:
                items = self._of_categories(items, self.cascade.data_sources.get(a.source.name), cats)
                what = "/".join(cats)
            p = Pool(what, items, path_ordered=True)
        elif processed:
            t = self.cascade.tasks[a.source.name]
            items = self.by_recipe.get(t.recipe_name, [])
            if cats:
                items = [f for f in items if f.category in cats]
            p = Pool(f"processed {a.source.name} product", items, path_ordered=True,
                     empty_words=f"no processed calibration from recipe {t.recipe_name} either")
        else:
            all_groups = self.groups(a.source.name)
            groups = [g for g in all_groups if not g.problem and self.condition_ok(g)]
            empty = f"there are no {what} files"
            if all_groups and not groups:
                empty = "; ".join(dict.fromkeys(g.problem or self.condition_problem(g) for g in all_groups))
            p = Pool(what, groups, empty_words=empty, path_ordered=True)
        self._pools[key] = p
        return p

    # ------------------------------------------------------------------ jobs

    def input_plan(self, a: AssociatedInput) -> tuple:
        """What associating ``a`` needs, worked out once per organise call."""
        got = self._inputs.get(id(a))
        if got is None:
            kind = a.source.kind
            orders = (False,)
            task_cond = None
            if kind == "task":
                orders = (False, True) if self.prefer == "raw" else (True, False)
                task_cond = self.cascade.tasks[a.source.name].condition
            pools = tuple(self.pool(a, processed) for processed in orders)
            rules = self.rules_for(a)
            finders = tuple(tuple(p.finder(r) for r in rules) for p in pools)
            # the association's instance dictionary with what is the same for every job
            tmpl = template(Association, input=a.source.name, kind=kind, optional=a.optional,
                            categories=a.categories)
            # a prefetched search is built when first looked at (see job) unless building it
            # needs the planner: the processed fallback first, or an optional input dropping
            # incomplete upstream jobs
            later = not orders[0] and not (a.min_ret == 0 and kind == "task")
            got = self._inputs[id(a)] = (
                a, rules, orders, pools, task_cond, finders, max(a.min_ret, 1), a.min_ret == 0,
                a.source.name, kind, a.condition, a.optional, a.max_ret,
                _group_id if kind == "task" else None, tmpl, later)
        return got

    def associate(self, g: Group, a: AssociatedInput | tuple, ctx: RuleContext,
                  materialise: bool = True, found: tuple | None = None) -> Association:
        """The association of input ``a`` (or its :meth:`input_plan`) for the job of ``g``.
        ``materialise=False``: upstream jobs are not made (trying an alternative).
        ``found``: the search's (chosen, rule, complete), worked out by :meth:`_prefetch`."""
        plan = a if a.__class__ is tuple else (self._inputs.get(id(a)) or self.input_plan(a))
        (a, rules, orders, pools, task_cond, finders, need, optional_ok, name, kind, cond,
         optional, max_ret, group_id, tmpl, _) = plan
        if cond is not None:
            why = _condition_words(cond, ctx)
            if why:
                return _association(name, kind, (), (), True, "", optional, why, "", "", a.categories)
        if task_cond is not None:
            why = _condition_words(task_cond, ctx)
            if why:
                return _association(name, kind, (), (), True, "", optional,
                                    f"task {name}: {why}", "", "", a.categories)
        ref = g.ref
        headers, mjd = ref.headers, ref.mjd
        processed = orders[0]
        pool = pools[0]
        if found is not None:
            chosen, rule, complete = found
        else:
            # the quality levels in order: the first rule giving enough candidates wins
            # (associate.search over prepared finders)
            chosen = []
            rule = None
            complete = optional_ok
            for f in finders[0]:
                got = f.find(headers, mjd, ctx, max_ret)
                if len(got) >= need:
                    chosen, rule, complete = got, f.rule, True
                    break
                if len(got) > len(chosen):
                    chosen, rule = got, f.rule
        if (not complete or not chosen) and len(pools) > 1:
            c2, r2, ok2 = _search(finders[1], headers, mjd, ctx, need, max_ret, optional_ok)
            if ok2 and c2:
                chosen, rule, complete, pool, processed = c2, r2, ok2, pools[1], orders[1]
        d = tmpl.copy()  # the Association's fields (built as in _fast.maker, from a template)
        note = ""
        if chosen:
            level = rule.level
            jobs = self.jobs
            cands = []
            append = cands.append
            for dt, it in chosen:
                if it.__class__ is Group:
                    jid = it._id or _make_id(it)
                    if materialise and jid not in jobs:
                        self.job(it)
                    append(_new(Candidate, (None, jid, level, dt, "")))
                else:
                    append(_new(Candidate, (it.path, None, level, dt, "")))
            if optional_ok and cands[0].job_id and materialise:
                # an optional input does without an upstream job that cannot run
                bad = [c for c in cands if c.job_id and not jobs[c.job_id].complete]
                if bad:
                    cands = [c for c in cands if c not in bad]
                    note = "not used (incomplete): " + ", ".join(
                        f"{name} job {jobs[c.job_id].name}" for c in bad)
            if cands:
                d["chosen"] = tuple(cands)
                d["used"] = "processed" if processed else "raw"
            if processed:
                note = (f"used processed calibration(s) (PRO.REC1.ID "
                        f"{self.cascade.tasks[name].recipe_name})"
                        + (": no raw data matched" if self.prefer == "raw" else ": preferred"))
        d["rejected"] = lazy_rejected((pool, rule or rules[-1], headers, mjd, ctx, chosen,
                                       None if processed else group_id))
        if note:
            d["note"] = note
        if not complete:
            d["complete"] = False
            raw_pool = pools[orders.index(False)]
            missing = missing_words(name, raw_pool, rules, headers, mjd, ctx, a.min_ret, len(chosen))
            if len(pools) > 1 and not len(pools[orders.index(True)]):
                missing += f" ({pools[orders.index(True)].empty_words})"
            d["missing"] = missing
        return _new(Association, tuple(d.values()))  # d: the fields in order (a template)

    def _task_plan(self, name: str) -> tuple:
        """What materialising a job of task ``name`` needs, worked out once per organise call:
        (task, needs a rule context, input plans, recipe name, has recipe parameters)."""
        task: Task = self.cascade.tasks[name]
        plans = self._plans.get(name)
        if plans is None:
            plans = self._plans[name] = [
                _Alternatives(a, tuple(self.input_plan(x) for x in a.alternatives)) if a.alternatives
                else self.input_plan(a) for a in task.associated_inputs]
        needs_ctx = self._needs_ctx.get(name)
        if needs_ctx is None:
            needs_ctx = self.needs_ctx(task)
        params = bool(task.recipe_parameters or task.dynamic_parameters or self.parameter_set
                      or self.overrides)
        # job processing reads (and may change) the associations: they are made at once
        got = self._task_plans[name] = (task, needs_ctx, plans, task.recipe_name, params,
                                        not task.job_processing)
        return got

    def job(self, g: Group, found: Sequence[tuple | None] | None = None) -> str:
        """Materialise the job of a group (once) and every job it needs; returns its id.
        ``found``: the searches of its input plans (:meth:`_prefetch`), None where not made."""
        jid = g._id or _make_id(g)
        jobs = self.jobs
        if jid in jobs or jid in self._visiting:
            return jid
        self._visiting.add(jid)
        task, needs_ctx, plans, recipe, has_params, later_ok = (self._task_plans.get(g.task)
                                                                or self._task_plan(g.task))
        ctx = self.ctx(g) if needs_ctx else None
        missing: list[str] = []
        if g.problem:
            missing.append(f"{g.task}: {g.problem}")
        main_jobs = tuple([self.job(u) for u in g.upstream]) if g.upstream else ()
        deps = list(main_jobs)
        assoc: dict[str, Association] = {}
        associate = self.associate
        later = False
        for plan, fd in zip(plans, found or _NONE):
            if fd is None and later_ok and ctx is None and plan.__class__ is tuple and plan[15]:
                # not prefetched: the search of associate, here (found enough: a _Chosen)
                ref = g.ref
                fd = _search(plan[5][0], ref.headers, ref.mjd, None, plan[6], plan[12], plan[7])
                if fd[2] and fd[0]:
                    fd = _new(_Chosen, (plan, fd[0], fd[1], ref))
            if fd.__class__ is _Chosen:
                # a search that found enough: the upstream jobs are made now (in the order
                # associate makes them), the Association when first looked at
                if plan[9] == "task":
                    for _, it in fd[1]:
                        if (it._id or _make_id(it)) not in jobs:
                            self.job(it)
                assoc[plan[8]] = fd
                later = True
                continue
            if plan.__class__ is _Alternatives:
                res = self.associate_alternatives(g, plan, ctx)
                name = res.input
            else:
                res = associate(g, plan, ctx, True, fd)
                name = plan[8]
            if name in assoc:
                prev = assoc[name]  # (a _Chosen is active)
                if res.skipped_reason and (prev.__class__ is _Chosen or not prev.skipped_reason):
                    continue  # an active input of the same name wins over a skipped one
            assoc[name] = res
            if not res.complete:
                missing.append(res.missing)
        # what the job consists of (see _content), unless job processing may change it
        parts = None
        if self._files_by_path is None and not task.job_processing:
            parts = [jid, *[f.header_digest for f in g.files]]
        for res in assoc.values():
            if res.__class__ is _Chosen:
                if res[0][9] == "task":
                    for _, it in res[1]:
                        deps.append(it._id)
                        if parts is not None:
                            parts.append(it._id)
                elif parts is not None:
                    parts.extend([it.path for _, it in res[1]])
                continue
            for c in res.chosen:
                cj = c.job_id
                if cj:
                    deps.append(cj)
                if parts is not None:
                    parts.append(c.path or cj or "")
        try:
            if has_params:
                params = task_parameters(task, ctx or self.ctx(g), self.parameter_set, self.overrides)
            else:
                params = {}
        except Exception as exc:  # a dynamic parameter failing is the job's problem, said in words
            params = {}
            missing.append(f"{g.task}: dynamic parameter failed: {type(exc).__name__}: {exc}")
        main_paths = tuple([f.path for f in g.files])
        job_params: Mapping[str, Any] = {}
        if task.job_parameters:
            job_params = self.job_parameters(g, task, g.all_files())
            err = self._jp_errors.get(g)
            if err:
                missing.append(err)
        if task.job_processing:
            try:
                main_paths, params, recipe = self._process(task, g, main_paths, params, recipe, assoc)
                # (associated files a job-processing function dropped are gone from ``assoc``)
            except Exception as exc:  # said in words on the job
                missing.append(f"{g.task}: job processing failed: {type(exc).__name__}: {exc}")
        if len(deps) > 1:
            deps = list(dict.fromkeys(deps))
        self.own_missing[jid] = tuple(missing)
        for d in deps:  # a job waiting for an incomplete job cannot run either
            up = jobs.get(d)
            if up is not None and not up.complete:
                missing.append(f"{g.task}: needs {up.task} job {up.name}, which is incomplete")
        ref = g.ref
        path = ref.path
        name = path.rsplit("/", 1)[-1]
        if g.grouping:
            name += _group_words(g.grouping)
        jobs[jid] = _new(Job, (
            jid, g.task, recipe, main_paths, main_jobs, Associations(assoc) if later else assoc,
            tuple(deps), params, g.grouping, ref.mjd, not missing, tuple(missing), name, path,
            job_params,
        ))
        if parts is not None:
            self._contents[jid] = "\1".join(parts)
        self._group_of[jid] = g
        self._visiting.discard(jid)
        return jid


def _search(finders, headers, mjd, ctx, need: int, max_ret: int, optional_ok: bool):
    """:func:`reflexng.organiser.associate.search` over prepared finders."""
    best: list = []
    best_rule = None
    for f in finders:
        got = f.find(headers, mjd, ctx, max_ret)
        if len(got) >= need:
            return got, f.rule, True
        if len(got) > len(best):
            best, best_rule = got, f.rule
    return best, best_rule, optional_ok


def _group_words(grouping: Mapping[str, Any]) -> str:
    if not grouping:
        return ""
    if len(grouping) == 1:
        for k, v in grouping.items():
            return f" [{k}={v}]"
    return " [" + ", ".join([f"{k}={v}" for k, v in grouping.items()]) + "]"


def _condition_words(cond, ctx) -> str:
    """"" when ``cond(ctx)`` holds, else the words of the failed condition."""
    name = getattr(cond, "__name__", "condition")
    try:
        ok = bool(cond(ctx))
    except Exception as exc:  # a failing condition is said, not raised
        return f"condition {name} failed: {type(exc).__name__}: {exc}"
    if ok:
        return ""
    return f"condition {name} is false"
