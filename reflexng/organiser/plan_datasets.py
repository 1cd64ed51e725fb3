"""Datasets of the planner: one per group of a target task, with every job it needs, and
the columnar search of a target task's inputs (:meth:`DatasetPlanning._prefetch`).

:class:`DatasetPlanning` is a mixin of :class:`reflexng.organiser.plan.Planner`; it uses the
planner's groups, task plans and jobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from reflexng.organiser._fast import maker
from reflexng.organiser.associate import lazy_rejected
from reflexng.organiser.model import Association, Candidate, Dataset, FileRecord
from reflexng.organiser.plan_inputs import _Alternatives

if TYPE_CHECKING:  # pragma: no cover
    from reflexng.organiser.plan import Group

_make_dataset = maker(Dataset)
_EMPTY = ([], None)
new = tuple.__new__


class _Chosen(tuple):
    """A prefetched search of one input of one job that found enough candidates: (input
    plan, chosen (dt, candidate) pairs, rule, the job's reference file). :meth:`build` makes
    its :class:`Association` as ``Planner.associate`` does; ``model.Associations`` calls it
    when the job's associations are first looked at."""

    __slots__ = ()

    def build(self) -> Association:
        plan, chosen, rule, ref = self
        level = rule.level
        if plan[9] == "task":  # candidates are potential jobs (plan.Group), else files
            cands = tuple([new(Candidate, (None, it._id, level, dt, "")) for dt, it in chosen])
        else:
            cands = tuple([new(Candidate, (it.path, None, level, dt, "")) for dt, it in chosen])
        d = plan[14].copy()
        d["chosen"] = cands
        d["used"] = "raw"
        d["rejected"] = lazy_rejected((plan[3][0], rule, ref.headers, ref.mjd, None, chosen,
                                       plan[13]))
        return new(Association, tuple(d.values()))


def _nones(n: int) -> list[None]:
    return [None] * n


class DatasetPlanning:
    """Datasets, their closures and digests, and the prefetched searches (see the module)."""

    def datasets(self, targets: Sequence[str],
                 files_by_path: Mapping[str, FileRecord] | None = None) -> list[Dataset]:
        """One dataset per (condition-passing) group of each target task, in order.
        ``files_by_path``: where main files' header digests are looked up (default: the
        jobs' own groups, which hold those very records)."""
        out: list[Dataset] = []
        self._files_by_path = files_by_path
        for target in targets:
            groups = self.groups(target)
            if not groups:
                self.notes.append(f"target {target}: {self._no_groups_words(target)}")
            skipped = 0
            found = self._prefetch(target, groups)
            for i, g in enumerate(groups):
                why = self.condition_problem(g)
                if why:
                    skipped += 1
                    continue
                out.append(self._dataset(target, self.job(g, found[i] if found else None),
                                         files_by_path))
            if skipped:
                self.notes.append(f"target {target}: {skipped} group(s) skipped: {why}")
        return out

    def _prefetch(self, target: str, groups: Sequence[Group]) -> list[tuple] | None:
        """The searches of every input of every group of a target task (all become jobs), one
        input at a time over all groups (columns: the groups' keyword values, their times):
        per group a list of (chosen, rule, complete) per input plan, None where the job's own
        search must run (alternatives, conditions, match functions, processed fallback).
        None when the task needs a rule context or has a condition."""
        if len(groups) < 2 or self.cascade.tasks[target].condition is not None:
            return None
        task, needs_ctx, plans, _, _, later_ok = (self._task_plans.get(target)
                                                  or self._task_plan(target))
        if needs_ctx:
            return None
        refs = [(g.ref.headers, g.ref.mjd) for g in groups]
        keys: dict[tuple[str, ...], list[tuple]] = {}  # keyword tuple -> the groups' values
        columns = []
        n = len(groups)
        for plan in plans:
            if plan.__class__ is _Alternatives:
                columns.append(_nones(n))
                continue
            finders, need, optional_ok, max_ret, npools = plan[5][0], plan[6], plan[7], plan[12], len(plan[3])
            res: list = [None] * n
            best: dict[int, tuple] = {}
            later = later_ok and plan[15]
            pending = range(n)
            for f in finders:
                col = keys.get(f.keywords)
                if col is None:
                    keyf = f.keyf
                    col = keys[f.keywords] = [keyf(h.get) for h, _ in refs]
                if len(pending) == n:
                    gots = f.find_many(col, refs, max_ret)
                else:
                    gots = f.find_many([col[i] for i in pending], [refs[i] for i in pending], max_ret)
                still = []
                rule = f.rule
                for i, got in zip(pending, gots):
                    if len(got) >= need:
                        # a search that found enough: its Association is made when first
                        # looked at, where that needs nothing of the planner (plan[15])
                        res[i] = (new(_Chosen, (plan, got, rule, groups[i].ref)) if later
                                  else (got, rule, True))
                    else:
                        if len(got) > len(best.get(i, _EMPTY)[0]):
                            best[i] = (got, rule)
                        still.append(i)
                pending = still
                if not pending:
                    break
            for i in pending:  # no level sufficed: the best partial result
                chosen, rule = best.get(i, _EMPTY)
                if (not optional_ok or not chosen) and npools > 1:
                    continue  # the processed fallback: the job's own search
                res[i] = (chosen, rule, optional_ok)
            columns.append(res)
        return list(zip(*columns)) if columns else None

    def _no_groups_words(self, target: str) -> str:
        t = self.cascade.tasks[target]
        if t.main_input is None:
            return "the task has no main input"
        if t.main_input.kind == "data_source":
            return f"no {self.what(t.main_input.name, 'data_source')} files found"
        return f"no {t.main_input.name} jobs (no {self.what(t.main_input.name, 'task')} files found)"

    def closure(self, jid: str) -> list[str]:
        """Every job ``jid`` needs, upstream first, ``jid`` last (memoised)."""
        got = self._closure.get(jid)
        if got is None:
            self._closure[jid] = [jid]  # guards against cycles
            merged: dict[str, None] = {}
            jobs, memo = self.jobs, self._closure
            for d in jobs[jid].depends_on:
                if d in jobs:
                    merged.update(dict.fromkeys(memo.get(d) or self.closure(d)))
            merged.pop(jid, None)
            got = self._closure[jid] = [*merged, jid]
        return got

    def _content(self, jid: str, files_by_path: Mapping[str, FileRecord] | None) -> str:
        """What a job consists of: id, its main files' header digests, chosen inputs."""
        got = self._contents.get(jid)
        if got is None:
            job = self.jobs[jid]
            parts = [jid]
            g = self._group_of.get(jid)
            if files_by_path is None and g is not None:  # the group holds the main files
                parts.extend([f.header_digest for f in g.files])
            else:
                for p in job.main:
                    f = files_by_path.get(p) if files_by_path is not None else None
                    parts.append(f.header_digest if f is not None else "")
            for a in job.associated.values():
                for c in a.chosen:
                    parts.append(c.path or c.job_id or "")
            got = self._contents[jid] = "\1".join(parts)
        return got

    def _dataset(self, target: str, jid: str, files_by_path: Mapping[str, FileRecord] | None) -> Dataset:
        jobs = self.jobs
        tj = jobs[jid]
        # jobs with the same upstream jobs (science frames sharing their calibrations) share
        # everything of their dataset before themselves: the closure, completeness, what is
        # missing and the digest's state so far
        key = (target, tj.depends_on)
        pre = self._prefixes.get(key)
        if pre is None:
            pre = self._prefixes[key] = self._prefix(target, tj.depends_on, files_by_path)
        order, h, complete, missing = pre
        if jid in order:  # a dependency cycle: the general way
            return self._dataset_of(target, jid, files_by_path)
        h = h.copy()
        h.update((self._contents.get(jid) or self._content(jid, files_by_path))
                 .encode("utf-8", "surrogateescape"))  # any file name
        if not tj.complete:
            complete = False
            missing = [*missing, *self._missing_of(jid)]
        return _make_dataset(f"ds-{h.hexdigest()[:16]}", tj.name, target, jid, (*order, jid),
                             complete, tuple(dict.fromkeys(missing)) if missing else ())

    def _prefix(self, target: str, deps: tuple[str, ...], files_by_path) -> tuple:
        """(closure of ``deps`` in execution order, sha1 of the dataset text up to the target
        job, whether those jobs are complete, what they miss) for :meth:`_dataset`."""
        merged: dict[str, None] = {}
        jobs, memo = self.jobs, self._closure
        for d in deps:
            if d in jobs:
                merged.update(dict.fromkeys(memo.get(d) or self.closure(d)))
        order = tuple(merged)
        contents = self._contents
        parts = [target]
        missing: list[str] = []
        complete = True
        for j in order:
            parts.append(contents.get(j) or self._content(j, files_by_path))
            if not jobs[j].complete:
                complete = False
                missing.extend(self._missing_of(j))
        parts.append("")  # the separator before the target job's part
        h = hashlib.sha1("\0".join(parts).encode("utf-8", "surrogateescape"))
        return order, h, complete, missing

    def _missing_of(self, j: str) -> list[str]:
        job = self.jobs[j]
        return [m if m.startswith(job.task + ":") else f"{job.task}: {m}"
                for m in self.own_missing.get(j, job.missing)]

    def _dataset_of(self, target: str, jid: str, files_by_path) -> Dataset:
        """:meth:`_dataset` through :meth:`closure` (any dependency graph)."""
        order = self._closure.get(jid) or self.closure(jid)
        missing: list[str] = []
        complete = True
        jobs = self.jobs
        contents = self._contents
        parts = [target]
        for j in order:
            parts.append(contents.get(j) or self._content(j, files_by_path))
            if not jobs[j].complete:
                complete = False
                missing.extend(self._missing_of(j))
        h = hashlib.sha1("\0".join(parts).encode("utf-8", "surrogateescape"))  # any file name
        tj = jobs[jid]
        return _make_dataset(f"ds-{h.hexdigest()[:16]}", tj.name, target, jid, tuple(order), complete,
                             tuple(dict.fromkeys(missing)))
