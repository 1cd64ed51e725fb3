"""From classified files to jobs and datasets, recursively through the cascade.

A :class:`Group` is a potential job: the main files of one task grouped by its grouping
keywords (or, for a task whose main input is another task, upstream groups grouped by the
task's grouping keywords). A group becomes a :class:`Job` only when a dataset needs it, so
calibration jobs shared by several datasets exist once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from reflexng.cascade.model import AssociatedInput, MatchRule, Task, WorkflowParameter
from reflexng.cascade.parameters import RuleContext, task_parameters
from reflexng.organiser.associate import (
    DEFAULT_RULE,
    Item,
    Pool,
    missing_words,
    rejected,
    search,
)
from reflexng.organiser.classify import PRO_RECIPE, norm
from reflexng.organiser.model import OK, Association, Candidate, Dataset, FileRecord, Job

_INF = float("inf")


class Group:
    """A potential job of ``task``: main files (data source input) or upstream groups."""

    __slots__ = ("task", "files", "upstream", "grouping", "ref", "problem", "_id")

    def __init__(self, task: str, files: tuple[FileRecord, ...], upstream: tuple[Group, ...],
                 grouping: dict[str, Any], ref: FileRecord, problem: str = "") -> None:
        self.task = task
        self.files = files
        self.upstream = upstream
        self.grouping = grouping
        self.ref = ref
        self.problem = problem
        self._id: str | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            h = hashlib.sha1(self.task.encode())
            for f in self.files:
                h.update(b"\0" + f.path.encode())
            for g in self.upstream:
                h.update(b"\1" + g.id.encode())
            self._id = f"{self.task}-{h.hexdigest()[:12]}"
        return self._id

    def all_files(self) -> tuple[FileRecord, ...]:
        if not self.upstream:
            return self.files
        out: list[FileRecord] = []
        for g in self.upstream:
            out.extend(g.all_files())
        return tuple(out)


def _sort_key(f: FileRecord):
    return (f.mjd if f.mjd is not None else _INF, f.path)


def resolve_keywords(items: Sequence[Any], wp: Mapping[str, Any]) -> tuple[str, ...]:
    """Grouping keywords with workflow parameters substituted (a parameter may hold a list)."""
    out: list[str] = []
    for k in items:
        if isinstance(k, WorkflowParameter):
            v = wp.get(k.name, k.default)
            out.extend(v if isinstance(v, (list, tuple)) else [v])
        else:
            out.append(k)
    return tuple(str(k) for k in out if k)


class Planner:
    """Builds jobs and datasets for one organise call."""

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
        for f in files:
            if f.status != OK or f.excluded:
                continue
            for ds in f.data_sources:
                self.by_source.setdefault(ds, []).append(f)
            if f.processed and not f.data_sources:
                rec = f.headers.get(PRO_RECIPE)
                if isinstance(rec, str) and rec.strip():
                    self.by_recipe.setdefault(rec.strip(), []).append(f)
        self._groups: dict[str, list[Group]] = {}
        self._pools: dict[tuple, Pool] = {}
        self._cond: dict[tuple[str, str], str] = {}
        self.jobs: dict[str, Job] = {}
        self._visiting: set[str] = set()
        self.own_missing: dict[str, tuple[str, ...]] = {}  # what each job itself lacks
        self.notes: list[str] = []

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
            files = sorted(self.by_source.get(main.name, ()), key=_sort_key)
            keys = resolve_keywords(ds.grouping_keywords, self.wp) if ds is not None else ()
            min_size = ds.min_group_size if ds is not None else 1
            if not keys:
                buckets: dict[Any, list[FileRecord]] = {i: [f] for i, f in enumerate(files)}
            else:
                buckets = {}
                for f in files:
                    h = f.headers
                    buckets.setdefault(tuple([norm(h.get(k)) for k in keys]), []).append(f)
            for members in buckets.values():
                ref = members[0]
                grouping = {k: ref.headers.get(k) for k in keys}
                problem = ""
                if len(members) < min_size:
                    problem = (f"needs ≥{min_size} {main.name} files per group"
                               f"{_group_words(grouping)}, found {len(members)}")
                out.append(Group(task_name, tuple(members), (), grouping, ref, problem))
        else:
            keys = resolve_keywords(task.grouping_keywords, self.wp)
            ups = [g for g in self.groups(main.name) if not g.problem and self.condition_ok(g)]
            buckets2: dict[Any, list[Group]] = {}
            for g in ups:
                h = g.ref.headers
                buckets2.setdefault(tuple([norm(h.get(k)) for k in keys]), []).append(g)
            for members2 in buckets2.values():
                ref = members2[0].ref
                out.append(Group(task_name, (), tuple(members2),
                                 {k: ref.headers.get(k) for k in keys}, ref))
        out.sort(key=lambda g: _sort_key(g.ref))
        self._groups[task_name] = out
        return out

    def ctx(self, g: Group) -> RuleContext:
        files = g.all_files()
        return RuleContext(self.wp, g.ref.headers, tuple(f.headers for f in files), g.task)

    def condition_ok(self, g: Group) -> bool:
        return not self.condition_problem(g)

    def condition_problem(self, g: Group) -> str:
        """"" when the task's condition holds for this group, else why not."""
        key = (g.task, g.id)
        got = self._cond.get(key)
        if got is None:
            cond = self.cascade.tasks[g.task].condition
            got = _condition_words(cond, self.ctx(g)) if cond is not None else ""
            self._cond[key] = got
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
        key = (a.source.name, a.source.kind, processed)
        p = self._pools.get(key)
        if p is not None:
            return p
        what = self.what(a.source.name, a.source.kind)
        if a.source.kind == "data_source":
            items = [Item(f.mjd, f.path, f.headers, f) for f in self.by_source.get(a.source.name, ())]
            p = Pool(what, items)
        elif processed:
            t = self.cascade.tasks[a.source.name]
            items = [Item(f.mjd, f.path, f.headers, f) for f in self.by_recipe.get(t.recipe_name, ())]
            p = Pool(f"processed {a.source.name} product", items,
                     empty_words=f"no processed calibration from recipe {t.recipe_name} either")
        else:
            all_groups = self.groups(a.source.name)
            groups = [g for g in all_groups if not g.problem and self.condition_ok(g)]
            empty = f"there are no {what} files"
            if all_groups and not groups:
                empty = "; ".join(dict.fromkeys(g.problem or self.condition_problem(g) for g in all_groups))
            p = Pool(what, [Item(g.ref.mjd, g.ref.path, g.ref.headers, g) for g in groups],
                     empty_words=empty)
        self._pools[key] = p
        return p

    # ------------------------------------------------------------------ jobs

    def associate(self, g: Group, a: AssociatedInput, ctx: RuleContext) -> Association:
        name, kind = a.source.name, a.source.kind
        if a.condition is not None:
            why = _condition_words(a.condition, ctx)
            if why:
                return Association(name, kind, optional=a.optional, skipped_reason=why)
        if kind == "task":
            cond = self.cascade.tasks[name].condition
            if cond is not None:
                why = _condition_words(cond, ctx)
                if why:
                    return Association(name, kind, optional=a.optional,
                                       skipped_reason=f"task {name}: {why}")
        rules = self.rules_for(a)
        ref = g.ref
        orders = [False]
        if kind == "task":
            orders = [False, True] if self.prefer == "raw" else [True, False]
        first = None
        for processed in orders:
            pool = self.pool(a, processed)
            chosen, rule, complete = search(pool, rules, ref.headers, ref.mjd, ctx, a.min_ret, a.max_ret)
            attempt = (pool, chosen, rule, complete, processed)
            if first is None:
                first = attempt
            if complete and chosen:
                break
        else:
            attempt = first
        pool, chosen, rule, complete, processed = attempt
        cands = []
        for dt, it in chosen:
            if isinstance(it.obj, Group):
                cands.append(Candidate(None, self.job(it.obj), rule.level, dt))
            else:
                cands.append(Candidate(it.path, None, rule.level, dt))
        job_of = (lambda obj: obj.id) if (kind == "task" and not processed) else None
        rej = rejected(pool, rules, ref.headers, ref.mjd, ctx, {it.path for _, it in chosen}, job_of)
        used = "processed" if processed else "raw"
        note = ""
        if processed and chosen:
            note = (f"used processed calibration(s) (PRO.REC1.ID "
                    f"{self.cascade.tasks[name].recipe_name})"
                    + (": no raw data matched" if self.prefer == "raw" else ": preferred"))
        missing = ""
        if not complete:
            missing = missing_words(name, pool if not processed else first[0], rules, ref.headers,
                                    ref.mjd, ctx, a.min_ret, len(chosen))
            if kind == "task" and len(orders) > 1:
                other = self.pool(a, not first[4])
                missing += f" ({other.empty_words})" if not len(other) else ""
        return Association(name, kind, tuple(cands), rej, complete, missing, a.optional,
                           used=used if chosen else "", note=note)

    def job(self, g: Group) -> str:
        """Materialise the job of a group (once) and every job it needs; returns its id."""
        jid = g.id
        if jid in self.jobs or jid in self._visiting:
            return jid
        self._visiting.add(jid)
        task: Task = self.cascade.tasks[g.task]
        ctx = self.ctx(g)
        missing: list[str] = []
        if g.problem:
            missing.append(f"{g.task}: {g.problem}")
        main_jobs = tuple(self.job(u) for u in g.upstream)
        assoc: dict[str, Association] = {}
        for a in task.associated_inputs:
            res = self.associate(g, a, ctx)
            prev = assoc.get(a.name)
            if prev is not None and not prev.skipped_reason and res.skipped_reason:
                continue  # an active input of the same name wins over a skipped one
            assoc[a.name] = res
            if not res.complete:
                missing.append(res.missing)
        try:
            params = task_parameters(task, ctx, self.parameter_set, self.overrides)
        except Exception as exc:  # a dynamic parameter failing is the job's problem, said in words
            params = {}
            missing.append(f"{g.task}: dynamic parameter failed: {type(exc).__name__}: {exc}")
        deps = list(main_jobs)
        for res in assoc.values():
            deps.extend(c.job_id for c in res.chosen if c.job_id)
        deps = list(dict.fromkeys(deps))
        self.own_missing[jid] = tuple(missing)
        for d in deps:  # a job waiting for an incomplete job cannot run either
            up = self.jobs.get(d)
            if up is not None and not up.complete:
                missing.append(f"{g.task}: needs {up.task} job {up.name}, which is incomplete")
        ref = g.ref
        main = tuple(f.path for f in g.files)
        self.jobs[jid] = Job(
            id=jid, task=g.task, recipe=task.recipe_name, main=main, main_jobs=main_jobs,
            associated=assoc, depends_on=tuple(deps), parameters=params,
            grouping=g.grouping, mjd=ref.mjd, complete=not missing, missing=tuple(missing),
            name=os.path.basename(ref.path) + _group_words(g.grouping), reference_path=ref.path,
        )
        self._visiting.discard(jid)
        return jid

    # ------------------------------------------------------------------ datasets

    def datasets(self, targets: Sequence[str], files_by_path: Mapping[str, FileRecord]) -> list[Dataset]:
        out: list[Dataset] = []
        for target in targets:
            groups = self.groups(target)
            if not groups:
                self.notes.append(f"target {target}: {self._no_groups_words(target)}")
            skipped = 0
            for g in groups:
                why = self.condition_problem(g)
                if why:
                    skipped += 1
                    continue
                out.append(self._dataset(target, self.job(g), files_by_path))
            if skipped:
                self.notes.append(f"target {target}: {skipped} group(s) skipped: {why}")
        return out

    def _no_groups_words(self, target: str) -> str:
        t = self.cascade.tasks[target]
        if t.main_input is None:
            return "the task has no main input"
        if t.main_input.kind == "data_source":
            return f"no {self.what(t.main_input.name, 'data_source')} files found"
        return f"no {t.main_input.name} jobs (no {self.what(t.main_input.name, 'task')} files found)"

    def _dataset(self, target: str, jid: str, files_by_path: Mapping[str, FileRecord]) -> Dataset:
        order: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[str, int]] = [(jid, 0)]
        while stack:  # iterative post-order: upstream first, target last
            node, i = stack.pop()
            deps = self.jobs[node].depends_on
            if i < len(deps):
                stack.append((node, i + 1))
                d = deps[i]
                if d not in seen and d in self.jobs:
                    seen.add(d)
                    stack.append((d, 0))
            elif node not in order:
                order.append(node)
        h = hashlib.sha1(target.encode())
        missing: list[str] = []
        complete = True
        for j in order:
            job = self.jobs[j]
            h.update(b"\0" + j.encode())
            for p in job.main:
                f = files_by_path.get(p)
                h.update(b"\1" + (f.header_digest.encode() if f is not None else b""))
            for a in job.associated.values():
                for c in a.chosen:
                    h.update(b"\2" + (c.path or c.job_id or "").encode())
            if not job.complete:
                complete = False
                missing.extend(m if m.startswith(job.task + ":") else f"{job.task}: {m}"
                               for m in self.own_missing.get(j, job.missing))
        tj = self.jobs[jid]
        return Dataset(id=f"ds-{h.hexdigest()[:16]}", name=tj.name, target=target, target_job=jid,
                       jobs=tuple(order), complete=complete, missing=tuple(dict.fromkeys(missing)))


def _group_words(grouping: Mapping[str, Any]) -> str:
    if not grouping:
        return ""
    return " [" + ", ".join(f"{k}={v}" for k, v in grouping.items()) + "]"


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
