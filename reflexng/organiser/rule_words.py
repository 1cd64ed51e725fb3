"""A cascade's rules in words: how a task's inputs are chosen (main input and grouping; each
associated input with its count, match rules by quality level, time range and condition).
Qt-free; the GUI's task-detail pane and ``reflexng cascade show`` both use it."""

from __future__ import annotations

from typing import Any

from reflexng.cascade.model import MatchRule, TimeRange


def _words(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def condition_words(cond: Any) -> str:
    """'only when flat_strategy = 'science_flat'' (a function condition by its docstring)."""
    if cond is None:
        return ""
    name = getattr(cond, "workflow_parameter", None)
    if name is not None:
        return f"only when {name} = {cond.workflow_value!r}"
    doc = (getattr(cond, "__doc__", "") or "").strip().splitlines()
    return "only when " + (doc[0] if doc else getattr(cond, "__name__", "a condition holds"))


def time_words(tr: TimeRange) -> str:
    if tr.same_night:
        return "the same night"
    if tr.before is None and tr.after is None:
        return "any time"
    return tr.describe()


def match_rule_words(rule: MatchRule) -> str:
    """'level 0: same INS.MODE, DET.BINX; the same night' (a function rule by its docstring)."""
    parts = []
    if rule.keywords:
        parts.append("same " + ", ".join(str(k) for k in rule.keywords))
    if rule.function is not None:
        doc = (getattr(rule.function, "__doc__", "") or "").strip().splitlines()
        parts.append(doc[0] if doc else f"{getattr(rule.function, '__name__', 'function')}(main, candidate)")
    parts.append(time_words(rule.time_range))
    return f"level {rule.level}: " + "; ".join(parts)


def _source_rules(cascade: Any, name: str, seen: frozenset = frozenset()) -> tuple[MatchRule, ...]:
    """The match rules an input uses by default: a data source's, or for a task the rules of
    its main input's data source."""
    ds = cascade.data_sources.get(name)
    if ds is not None:
        return tuple(ds.match_rules)
    t = cascade.tasks.get(name)
    if t is None or t.main_input is None or name in seen:
        return ()
    return _source_rules(cascade, t.main_input.name, seen | {name})


def _kind_words(cascade: Any, name: str) -> str:
    ds = cascade.data_sources.get(name)
    if ds is not None:
        cats = ", ".join(ds.categories)
        return f"data source{f' ({cats})' if cats else ''}"
    return "products of task" if name in cascade.tasks else "unknown input"


def input_lines(cascade: Any, task: Any) -> tuple[str, list[str]]:
    """(main input in words, one line per associated input with its match rules in words)."""
    main = ""
    if task.main_input is not None:
        name = task.main_input.name
        main = f"{name} — {_kind_words(cascade, name)}"
        ds = cascade.data_sources.get(name)
        group = tuple(ds.grouping_keywords) if ds is not None else tuple(task.grouping_keywords)
        if group:
            main += f"; one job per {_words([getattr(g, 'name', g) for g in group])}"
    lines = []
    for a in task.all_associated_inputs():  # EDPS alternatives: one line per alternative
        count = f"{a.min_ret}" if a.min_ret == a.max_ret else f"{a.min_ret} to {a.max_ret}"
        head = f"{a.name} — {_kind_words(cascade, a.name)}, {count} " + ("(optional)" if a.optional else "required")
        if a.match_rules is not None:
            rules, origin = a.match_rules, ""
        else:
            rules, origin = _source_rules(cascade, a.name), " (the input's own rules)"
        words = " | ".join(match_rule_words(r) for r in sorted(rules, key=lambda r: r.level)) or "no match rules: any file"
        cond = condition_words(a.condition)
        lines.append(f"{head}; match{origin}: {words}" + (f"; {cond}" if cond else ""))
    for rname, kind in getattr(task, "reports", ()):  # EDPS with_report: recorded, not run
        lines.append(f"report {rname} ({kind.replace('_', ' ')}) — recorded, not run")
    return main, lines
