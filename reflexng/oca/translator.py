"""Translate a parsed OCA file into the source of a reflexng cascade (``.py``).

* Classification rules become one function ``_classify(header)`` that applies every OCA rule in
  file order (a later match overwrites, as in Gasgano); each data source's rule asks it.
* ``select execute(ACTION) from inputFiles where COND group by K...`` becomes a data source
  (COND, grouped by K; ``SIG.TEMPLATE == 1`` -> grouped by ``TPL.START``; ``SIG.FRAME == 1``
  -> one job per frame) and a task running the action's recipe as ``esorex:<recipe>``.
* ``select file as TAG from calibFiles where DO.CATG == "Y" and inputFile.K == K ...`` becomes
  an associated input: ``minRet/maxRet`` -> ``min_ret/max_ret``, ``inputFile.K == K`` -> match
  keywords, any other condition -> a match function. ``Y`` is a raw data source when a
  classification rule assigns it, the task whose main input is ``X`` when ``Y`` is
  ``MASTER_X`` (inferred, reported), otherwise a data source of calibration files with
  ``PRO.CATG == Y`` (products of earlier reductions or static calibrations).
* OCA does not say which of several matching calibrations wins: the organiser takes the one
  closest in time.

Everything that cannot be translated is listed in :attr:`Translation.report` and in the
generated file's docstring/comments; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as _dt
import graphlib
import keyword
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.oca.parser import BoolOp, Compare, Const, IsType, Name, Not, OcaFile

GASGANO_ONLY = ("SIG.", "LF.")
CATEGORY_KEYS = ("DO.CATG", "PRO.CATG", "RAW.TYPE")
_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "like": "like",
        "?=": "opt_eq", "regexp": "regexp"}


@dataclass
class Translation:
    code: str
    report: list[str]
    data_sources: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    skipped_tasks: list[str] = field(default_factory=list)


def _ident(name: str, prefix: str) -> str:
    s = re.sub(r"\W", "_", name)
    s = f"{prefix}{s}"
    return s + "_" if keyword.iskeyword(s) else s


def _and_terms(cond: Any) -> list[Any]:
    if cond is None:
        return []
    if isinstance(cond, BoolOp) and cond.op == "and":
        return list(cond.items)
    return [cond]


def _text(e: Any) -> str:
    """OCA-like text of an expression (for comments and reports)."""
    if isinstance(e, Name):
        return ("inputFile." if e.input_file else "") + e.name
    if isinstance(e, Const):
        return f'"{e.value}"' if isinstance(e.value, str) else str(e.value)
    if isinstance(e, Compare):
        return _text(e.left) if e.op == "truthy" else f"{_text(e.left)} {e.op} {_text(e.right)}"
    if isinstance(e, IsType):
        return f"{_text(e.operand)} is {e.type}"
    if isinstance(e, Not):
        return f"not ({_text(e.operand)})"
    if isinstance(e, BoolOp):
        return "(" + f" {e.op} ".join(_text(i) for i in e.items) + ")"
    return "?"


def _names(e: Any) -> list[Name]:
    if isinstance(e, Name):
        return [e]
    if isinstance(e, Compare):
        return _names(e.left) + _names(e.right)
    if isinstance(e, IsType | Not):
        return _names(e.operand)
    if isinstance(e, BoolOp):
        return [n for i in e.items for n in _names(i)]
    return []


class _Translator:
    def __init__(self, oca: OcaFile, installed: set[str] | None, name: str | None,
                 recipe_lookup, io_lookup=None) -> None:
        self.oca = oca
        self.io_lookup = io_lookup
        self._io: dict[str, Any] = {}
        self.src = Path(oca.path).name
        self.installed = installed
        self.recipe_lookup = recipe_lookup
        self.name = name or re.sub(r"\W", "_", Path(oca.path).stem.lower()) + "_oca"
        self.report: list[str] = []
        self.derived = {k for r in oca.rules for k, _ in r.assignments}
        self.raw_categories: dict[str, set[str]] = {}  # value assigned to raw frames -> keys
        self.product_rules = [r for r in oca.rules
                              if any(n.name == "PRO.CATG" for n in _names(r.condition))]
        for r in oca.rules:
            if r in self.product_rules:
                continue
            for k, v in r.assignments:
                if isinstance(v, Const):
                    self.raw_categories.setdefault(str(v.value), set()).add(k)
        self.keywords: list[str] = []
        self.ds: dict[tuple, dict] = {}  # key -> {name, var, cond, group, line, kind, category}
        self.ds_names: set[str] = set()
        self.tasks: list[dict] = []
        self.match_functions: list[str] = []
        self.approx_used: list[int] = []
        self._current_action = "UNNAMED"

    # ---------------------------------------------------------------- expressions

    def note_keyword(self, key: str) -> None:
        if key not in self.derived and not key.startswith(GASGANO_ONLY) and key not in self.keywords:
            self.keywords.append(key)

    def py(self, e: Any, mode: str, line: int) -> str:
        """Python source of an OCA expression. mode: classify | select | match."""
        if isinstance(e, Const):
            return repr(e.value)
        if isinstance(e, Name):
            key = e.name
            if mode == "match":
                self.note_keyword(key)
                h = "ctx.header" if e.input_file else "c"
                if key in self.derived:  # set by a classification rule, not a header keyword
                    return f"get({h}, classify({h}), {key!r})"
                return f"{h}.get({key!r})"
            if key.startswith("LF."):
                key = key[3:]
            self.note_keyword(key)
            return f"get(h, d, {key!r})"
        if isinstance(e, Compare):
            if e.op == "truthy":
                return f"truthy({self.py(e.left, mode, line)})"
            if e.op == "?=":
                self.approx_used.append(line)
            return f"{_OPS[e.op]}({self.py(e.left, mode, line)}, {self.py(e.right, mode, line)})"
        if isinstance(e, IsType):
            return f"is_type({self.py(e.operand, mode, line)}, {e.type!r})"
        if isinstance(e, Not):
            return f"not {self.py(e.operand, mode, line)}"
        if isinstance(e, BoolOp):
            return "(" + f" {e.op} ".join(self.py(i, mode, line) for i in e.items) + ")"
        raise ValueError(f"cannot translate {e!r}")

    # ---------------------------------------------------------------- classification

    def classify_source(self) -> str:
        lines = ["def _classify(h):",
                 f'    """The {len(self.oca.rules)} classification rules of {self.src} in file '
                 'order (a later match overwrites)."""',
                 "    d = {}"]
        for r in self.oca.rules:
            cond = self.py(r.condition, "classify", r.line)
            lines.append(f"    if {cond}:  # {self.src}:{r.line}")
            for k, v in r.assignments:
                value = repr(v.value) if isinstance(v, Const) else self.py(v, "classify", r.line)
                lines.append(f"        d[{k!r}] = {value}")
        lines.append("    return d")
        return "\n".join(lines)

    # ---------------------------------------------------------------- data sources

    def category_of(self, terms: list[Any]) -> str | None:
        for key in CATEGORY_KEYS:
            for t in terms:
                if (isinstance(t, Compare) and t.op == "==" and isinstance(t.left, Name)
                        and not t.left.input_file and t.left.name.removeprefix("LF.") == key
                        and isinstance(t.right, Const)):
                    value = str(t.right.value)
                    if key == "RAW.TYPE":  # the DO.CATG the rules give frames of this RAW.TYPE
                        cats = {str(v.value) for r in self.oca.rules
                                if any(k == "RAW.TYPE" and isinstance(v2, Const) and v2.value == value
                                       for k, v2 in r.assignments)
                                for k, v in r.assignments if k == "DO.CATG" and isinstance(v, Const)}
                        return cats.pop() if len(cats) == 1 else value
                    return value
        return None

    def categories_of(self, t: Any) -> list[str] | None:
        """The categories a term selects: one (``DO.CATG == "X"``) or several OR-ed
        (``DO.CATG == "X" or DO.CATG == "Y"``); None if the term is not about categories."""
        one = self.category_of([t])
        if one is not None:
            return [one]
        if isinstance(t, BoolOp) and t.op == "or":
            cats = [self.category_of([i]) for i in t.items]
            if all(c is not None for c in cats):
                return list(dict.fromkeys(cats))
        return None

    def split_terms(self, terms: list[Any]) -> tuple[list[str], list[Any], list[Any]]:
        """(categories, category terms, other terms) of an AND-ed condition."""
        cats: list[str] = []
        cat_terms, other = [], []
        for t in terms:
            c = self.categories_of(t)
            if c is None:
                other.append(t)
            elif not cats:
                cats, cat_terms = c, [t]
            else:
                cat_terms.append(t)
        return cats, cat_terms, other

    def unique_name(self, base: str) -> str:
        name, n = base, 2
        while name in self.ds_names or name in {t["name"] for t in self.tasks}:
            name, n = f"{base}_{n}", n + 1
        self.ds_names.add(name)
        return name

    def raw_source(self, terms: list[Any], group: list[str], line: int, why: str) -> dict:
        text = " and ".join(_text(t) for t in terms) or "true"
        key = ("raw", text, tuple(group))
        if key in self.ds:
            return self.ds[key]
        cats, cat_terms, extra = self.split_terms(terms)
        if not cats:  # no category in the condition: the data source is named by the action
            cats = [re.sub(r"\W", "_", why_name).upper() for why_name in [self._current_action]]
            self.report.append(f"{self.src}:{line}: no DO.CATG/RAW.TYPE in '{text}': the data "
                               f"source is named after the action ({cats[0]}) and its files get "
                               "that category")
        category = cats[0]
        base = "_".join(cats) if not extra else "_".join(cats) + "_" + "_".join(
            re.sub(r"\W", "", str(t.right.value)) if isinstance(t, Compare) and isinstance(t.right, Const)
            else "cond" for t in extra)
        name = self.unique_name(base)
        rest = cat_terms[1:] + extra
        conds = {}
        first = cat_terms[0] if cat_terms else None
        for c in cats:  # one classification rule per OR-ed category: each file keeps its own
            if isinstance(first, BoolOp):
                own = [next(i for i in first.items if self.category_of([i]) == c)]
            else:
                own = [first] if first is not None else []
            conds[c] = " and ".join(self.py(t, "select", line) for t in own + rest) or "True"
        ds = {"name": name, "var": _ident(name, "ds_"), "kind": "raw", "category": category,
              "categories": cats, "conds": conds, "text": text, "group": group, "line": line,
              "why": why}
        self.ds[key] = ds
        return ds

    def processed_source(self, categories: list[str], line: int) -> dict:
        key = ("processed", tuple(categories))
        if key not in self.ds:
            name = self.unique_name("_".join(categories))
            self.ds[key] = {"name": name, "var": _ident(name, "ds_"), "kind": "processed",
                            "category": categories[0], "categories": categories, "line": line}
        return self.ds[key]

    def ds_source(self, ds: dict) -> str:
        if ds["kind"] == "processed":
            rules = "".join(f"    .with_classification_rule(classification_rule({c!r}, "
                            f"{{'PRO.CATG': {c!r}}}))\n" for c in ds["categories"])
            return (f"# {self.src}:{ds['line']}: calibration files carrying PRO.CATG "
                    f"{' or '.join(ds['categories'])}\n"
                    f"{ds['var']} = (\n    data_source({ds['name']!r})\n{rules}    .build()\n)")
        lines: list[str] = []
        rules: list[str] = []
        for i, c in enumerate(ds["categories"]):
            fn = _ident(ds["name"] if len(ds["categories"]) == 1 else f"{ds['name']}_{i + 1}", "_is_")
            text = ds["text"].replace(chr(34), chr(39))
            lines += [f"def {fn}(h):",
                      f'    """{self.src}:{ds["line"]}: {text}' + (f' (as {c})' if len(ds["categories"]) > 1
                                                                  else "") + '"""',
                      "    d = classify(h)",
                      f"    return {ds['conds'][c]}",
                      "",
                      f"{fn}.__name__ = {text!r}",
                      ""]
            rules.append(f"    .with_classification_rule(classification_rule({c!r}, {fn}, "
                         "keywords=KEYWORDS))")
        lines += [f"{ds['var']} = (", f"    data_source({ds['name']!r})", *rules]
        if ds["group"]:
            lines.append(f"    .with_grouping_keywords({ds['group']!r})")
        lines += ["    .build()", ")"]
        if ds["why"]:
            lines.insert(0, f"# {ds['why']}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- selects -> tasks

    def select_tasks(self) -> None:
        uses: dict[str, int] = {}
        for s in self.oca.selects:
            uses[s.action] = uses.get(s.action, 0) + 1
        for s in self.oca.selects:
            where = f"{self.src}:{s.line}"
            terms = _and_terms(s.condition)
            kept, why = [], []
            group = list(s.group_by)
            for t in terms:
                names = [n.name for n in _names(t)]
                if any(n.startswith("SIG.TEMPLATE") for n in names):
                    why.append("SIG.TEMPLATE == 1 (one job per template) -> grouped by TPL.START")
                    if "TPL.START" not in group:
                        group.append("TPL.START")
                elif any(n.startswith("SIG.FRAME") for n in names):
                    why.append("SIG.FRAME == 1 (one job per frame) -> no grouping keywords")
                elif any(n.startswith("SIG.") for n in names):
                    why.append(f"Gasgano-only condition '{_text(t)}' dropped")
                    self.report.append(f"{where}: Gasgano-only condition '{_text(t)}' not translated")
                else:
                    if any(n.startswith("LF.") for n in names):
                        why.append(f"'{_text(t)}': LF.<key> (the frame list) read as <key>")
                    kept.append(t)
            if s.group_alias:
                self.report.append(f"{where}: 'as ({', '.join(s.group_alias)})' after group by is "
                                   "Gasgano display naming; ignored")
            for k in group:
                self.note_keyword(k)
            self._current_action = s.action
            ds = self.raw_source(kept, group, s.line, "; ".join(why))
            action = self.oca.actions.get(s.action)
            if action is None:
                self.report.append(f"{where}: action {s.action} is not defined; no task")
                continue
            if not action.recipe:
                self.report.append(f"{where}: action {s.action} names no recipe; no task")
                continue
            tname = s.action.lower() if uses[s.action] == 1 else f"{s.action}_{ds['name']}".lower()
            base, n = tname, 2
            while tname in {t["name"] for t in self.tasks} or tname in self.ds_names:
                tname, n = f"{base}_{n}", n + 1
            installed = self.installed is None or action.recipe in self.installed
            if not installed:
                from reflexng.recipes.esorex import install_hint

                self.report.append(f"{where}: task {tname}: recipe {action.recipe} is not "
                                   f"installed ({install_hint(action.recipe)}); the task is "
                                   "written as a comment")
            self.tasks.append({"name": tname, "var": _ident(tname, "t_"), "action": action,
                               "main": ds, "line": s.line, "installed": installed})

    def recipe_io(self, recipe: str):
        if recipe not in self._io:
            self._io[recipe] = self.io_lookup(recipe) if self.io_lookup else None
        return self._io[recipe]

    def outputs_of(self, t: dict) -> set[str]:
        """Categories the task's recipe declares as products (OCA product blocks, the
        recipe's own help / reflexng's recipe table)."""
        outs = {p.category for p in t["action"].products}
        io = self.recipe_io(t["action"].recipe)
        if io is not None:
            outs |= set(io.outputs)
        return outs

    def depends_on(self, t: dict, other: dict) -> bool:
        """True if task ``t`` needs ``other``'s products (directly or through other tasks)."""
        by_name = {x["name"]: x for x in self.tasks}
        todo, seen = [t["name"]], set()
        while todo:
            n = todo.pop()
            if n == other["name"]:
                return True
            if n in seen:
                continue
            seen.add(n)
            todo.extend(by_name[n].get("deps", ()) if n in by_name else ())
        return False

    def producer(self, category: str, consumer: dict) -> tuple[dict | None, str]:
        """The task making ``category`` for ``consumer``, and how that was decided."""
        live = [t for t in self.tasks if t["installed"] and t is not consumer]
        cands = [t for t in live if category in self.outputs_of(t)]
        how = "declared by its recipe"
        if not cands:
            cands = [t for t in live if f"MASTER_{t['main']['category']}" == category]
            how = "inferred from the name MASTER_<its main category>; check"
        cands = [t for t in cands if not self.depends_on(t, consumer)]
        if not cands:
            return None, ""
        def words(c: str) -> set[str]:  # REDL/REDU are chips of the RED arm
            w = set(c.split("_"))
            return w | ({"RED"} if w & {"REDL", "REDU"} else set())

        want = words(category)
        mine = set().union(*(words(c) for c in consumer["main"]["categories"]))

        def score(t: dict) -> int:
            return max(len(want & words(c)) + len(mine & words(c)) for c in t["main"]["categories"])

        best = max(score(t) for t in cands)
        top = [t for t in cands if score(t) == best]
        if len(top) > 1:
            how += (f"; also made by {', '.join(t['name'] for t in top[1:])} (the first is "
                    "used: edit the cascade to choose)")
        return top[0], how

    def role(self, task: dict) -> str | None:
        """science / calibration from the DPR.CATG of the frames the main input classifies
        (the rules assigning its categories), else from the recipe name."""
        cats = set(task["main"]["categories"])
        values: set[str] = set()
        for r in self.oca.rules:
            if not any(k == "DO.CATG" and isinstance(v, Const) and str(v.value) in cats
                       for k, v in r.assignments):
                continue
            stack = [r.condition]
            while stack:
                e = stack.pop()
                if isinstance(e, BoolOp):
                    stack.extend(e.items)
                elif isinstance(e, Not):
                    continue
                elif (isinstance(e, Compare) and isinstance(e.left, Name) and e.left.name == "DPR.CATG"
                      and isinstance(e.right, Const) and e.op in ("==", "like")):
                    values.add(str(e.right.value).strip("%").upper())
        if any("SCIENCE" in v for v in values):
            return "science"
        if values:
            return "calibration"
        recipe = task["action"].recipe or ""
        if re.search(r"_(obs|sci)_|scired|scipost|science", recipe):
            return "science"
        if re.search(r"_cal_|bias|dark|flat|wave|calib", recipe):
            return "calibration"
        return None

    def association_source(self, task: dict, a) -> str | None:
        where = f"{self.src}:{a.line}"
        if a.min_ret == 0 and a.max_ret == 0:
            self.report.append(f"{where}: '{a.tag}' has minRet = 0; maxRet = 0 (not used by "
                               f"action {task['action'].name}); left out")
            return None
        terms = _and_terms(a.condition)
        cats, cat_terms, rest = self.split_terms(terms)
        if not cats:
            self.report.append(f"{where}: association '{a.tag}' names no DO.CATG/PRO.CATG; "
                               "not translated")
            return None
        category = cats[0]
        keys, extra = [], []
        for t in rest:
            if (isinstance(t, Compare) and t.op == "==" and isinstance(t.left, Name)
                    and isinstance(t.right, Name) and t.left.name == t.right.name
                    and t.left.name not in self.derived
                    and t.left.input_file != t.right.input_file):
                keys.append(t.left.name)
                self.note_keyword(t.left.name)
            else:
                extra.append(t)
        if a.tag not in cats:
            self.report.append(f"{where}: association tag {a.tag} differs from category "
                               f"{category}; reflexng passes the file as {category}")
        raw = a.source == "rawFiles" or any(c in self.raw_categories for c in cats)
        prod, how = (None, "") if raw or len(cats) > 1 else self.producer(category, task)
        if raw:
            src = self.raw_source(cat_terms, [], a.line, "")["var"]
        elif prod is not None:
            src = prod["var"]
            task.setdefault("deps", set()).add(prod["name"])
            self.report.append(f"{where}: {category} taken from task {prod['name']} ({how})")
        else:
            src = self.processed_source(cats, a.line)["var"]
            if len(cats) > 1:
                self.report.append(f"{where}: '{a.tag}' accepts any of {', '.join(cats)}: one "
                                   "associated input with one classification rule per category")
        lo, hi = a.min_ret, a.max_ret
        if lo < 0 or hi < max(lo, 1):
            self.report.append(f"{where}: minRet={lo} maxRet={hi} is invalid; using "
                               f"min_ret={max(lo, 0)} max_ret={max(lo, hi, 1)}")
            lo, hi = max(lo, 0), max(lo, hi, 1)
        args = [src, f"min_ret={lo}", f"max_ret={hi}"]
        if keys:
            args.append(f"match_keywords={keys!r}")
        if extra:
            fn = f"_match_{len(self.match_functions) + 1}"
            text = " and ".join(_text(t) for t in extra)
            body = " and ".join(self.py(t, "match", a.line) for t in extra)
            self.match_functions.append(
                f"def {fn}(ctx, c):\n    \"\"\"{where}: {text.replace(chr(34), chr(39))}\"\"\"\n"
                f"    return {body}")
            args.append(f"match_function={fn}")
            if any(n.name in ("MJD-OBS", "DATE-OBS") for t in extra for n in _names(t)):
                self.report.append(f"{where}: time condition '{text}' kept as a match function")
        if not keys and not extra:
            args.append("match_keywords=[]")
        return f"    .with_associated_input({', '.join(args)})  # {where} as {a.tag}"

    def recipe_parameters(self, task: dict) -> dict[str, Any]:
        out: dict[str, Any] = {}
        action = task["action"]
        recipe = self.recipe_lookup(action.recipe) if self.recipe_lookup else None
        options: list[tuple[str, int]] = []
        for opt, line in action.recipe_options:
            try:  # one string may hold several options: "--nifu=-1 --merge"
                options += [(o, line) for o in shlex.split(opt)]
            except ValueError:
                options.append((opt, line))
        for opt, line in options:
            m = re.match(r"^--([\w.\-]+)(?:=(.*))?$", opt.strip())
            if not m:
                self.report.append(f"{self.src}:{line}: recipe option {opt!r} not understood; ignored")
                continue
            name, value = m.group(1), m.group(2)
            if value is None:  # a bare flag: a boolean switched on
                value = "TRUE"
            if recipe is not None:
                full = recipe.canonical(name)
                spec = recipe.parameter(full)
                if spec is None:
                    self.report.append(f"{self.src}:{line}: {action.recipe} has no parameter "
                                       f"{name!r}; option ignored")
                    continue
                try:
                    out[full] = spec.coerce(value)
                except ValueError as exc:
                    self.report.append(f"{self.src}:{line}: {exc}; option ignored")
            else:
                out[name] = value
                self.report.append(f"{self.src}:{line}: option --{name} kept as {name!r} (could not "
                                   "ask esorex for the full parameter name)")
        return out

    def task_source(self, task: dict) -> str:
        action = task["action"]
        lines = [f"# {self.src}:{task['line']}: select execute({action.name}); "
                 f"action at {self.src}:{action.line}",
                 f"{task['var']} = (", f"    task({task['name']!r})",
                 f"    .with_recipe('esorex:{action.recipe}')",
                 f"    .with_main_input({task['main']['var']})"]
        for a in action.associations:
            src = self.association_source(task, a)
            if src is not None:
                lines.append(src)
        params = self.recipe_parameters(task) if task["installed"] else {}
        if params:
            lines.append(f"    .with_recipe_parameters({params!r})")
        role = self.role(task)
        if role:
            lines.append(f"    .with_meta_targets([{role!r}])")
        if action.priority is not None:
            self.report.append(f"{self.src}:{action.line}: 'priority = {action.priority}' of action "
                               f"{action.name} (Gasgano's execution order) not translated: reflexng "
                               "orders jobs by their inputs")
        for p in action.products:
            self.report.append(f"{self.src}:{p.line}: product {p.name} of action {action.name}: "
                               f"category {p.category} links it to task {task['name']}"
                               + (f"; {', '.join(k for k in p.values if k != 'PRO.CATG')} not "
                                  "translated (the recipe names its files)"
                                  if set(p.values) - {"PRO.CATG"} else ""))
        for text, line in action.unknown:
            lines.insert(0, f"# NOT TRANSLATED {self.src}:{line}: {text}")
            self.report.append(f"{self.src}:{line}: '{text}' in action {action.name} not understood")
        lines += ["    .build()", ")"]
        if not task["installed"]:
            lines = [f"# NOT TRANSLATED: recipe {action.recipe} is not installed"] + \
                    ["# " + ln for ln in lines]
        return "\n".join(lines)

    # ---------------------------------------------------------------- file

    def run(self) -> Translation:
        for u in self.oca.unknown:
            self.report.append(f"{self.src}:{u.line}: '{u.text}' outside any action or rule; ignored")
        classify = self.classify_source()
        self.select_tasks()
        blocks = {t["name"]: self.task_source(t) for t in self.tasks}  # adds data sources
        order = graphlib.TopologicalSorter({t["name"]: t.get("deps", set()) for t in self.tasks})
        try:  # a task must be defined before the tasks that use its products
            task_blocks = [blocks[n] for n in order.static_order()]
        except graphlib.CycleError as exc:
            raise ValueError(f"{self.src}: inferred task chain has a cycle: {exc.args[1]}") from None
        for line in sorted(set(self.approx_used)):
            self.report.append(f"{self.src}:{line}: the undocumented '?=' operator is read as "
                               "'equal when both files have the keyword' (opt_eq)")
        used = {c for d in self.ds.values() for c in d["categories"]}
        unused = sorted({str(v.value) for r in self.oca.rules for k, v in r.assignments
                         if k == "DO.CATG" and isinstance(v, Const) and r not in self.product_rules}
                        - used)
        if unused:
            self.report.append(f"{len(unused)} categories are classified but no action uses them "
                               f"(no data source): {', '.join(unused)}")
        pro_rules = len(self.product_rules)
        if pro_rules:
            self.report.append(f"{pro_rules} classification rules read PRO.CATG (products): reflexng "
                               "passes products between tasks itself; processed calibration files "
                               "are matched by data sources on PRO.CATG")
        self.report = list(dict.fromkeys(self.report))
        ds_blocks = [self.ds_source(d) for d in self.ds.values()]
        stamp = _dt.date.today().isoformat()
        doc = [f'"""{self.name}: cascade imported from {self.oca.path}',
               f"by `reflexng cascade from-oca` on {stamp}.",
               "",
               f"{len(self.oca.rules)} classification rules, {len(self.oca.selects)} organisation "
               f"rules, {len(self.oca.actions)} actions -> {len(self.ds)} data sources, "
               f"{sum(t['installed'] for t in self.tasks)} tasks.",
               "Recipes run as esorex:<recipe>; several matching calibrations: the closest in time wins.",
               "",
               "Translation report:"]
        doc += [f"- {r}" for r in self.report] or ["- everything translated"]
        doc.append('"""')
        header = "\n".join(doc).replace("\\", "/")
        parts = [
            header,
            "from reflexng.cascade import classification_rule, data_source, metadata, task",
            "from reflexng.oca.runtime import (  # noqa: F401\n"
            "    eq, ge, get, gt, is_type, le, like, lt, memo, ne, opt_eq, regexp, truthy,\n)",
            "",
            f"metadata({self.name!r}, instrument={Path(self.oca.path).stem.upper()!r},\n"
            f"         description={('Imported from ' + self.src)!r})",
            "",
            "# header keywords the rules read (extracted by the scanner for the rule functions)",
            f"KEYWORDS = {self.keywords!r}",
            "",
            classify,
            "",
            "classify = memo(_classify, KEYWORDS)",
            "",
            "# " + "-" * 70 + " data sources",
            *[b + "\n" for b in ds_blocks],
            "# " + "-" * 70 + " match functions",
            *[m + "\n" for m in self.match_functions],
            "# " + "-" * 70 + " tasks",
            *[b + "\n" for b in task_blocks],
        ]
        return Translation(
            "\n".join(parts).rstrip() + "\n", self.report,
            [d["name"] for d in self.ds.values()],
            [t["name"] for t in self.tasks if t["installed"]],
            [t["name"] for t in self.tasks if not t["installed"]],
        )


def installed_recipes() -> set[str] | None:
    """Names of installed esorex recipes, or None when esorex is not available."""
    from reflexng.recipes import esorex

    if not esorex.esorex_available():
        return None
    return {info.name[len(esorex.PREFIX):] for info in esorex.list_recipes()}


def _default_lookup(recipe: str):
    from reflexng.recipes import esorex

    try:
        return esorex.get_recipe(recipe)
    except Exception:  # not installed or esorex missing: options are kept as written
        return None


def _default_io(recipe: str):
    from reflexng.recipes.esorex_catalog import recipe_io

    return recipe_io(recipe)


def translate(oca: OcaFile, *, installed: set[str] | None | str = "auto", name: str | None = None,
              recipe_lookup="auto", io_lookup="auto") -> Translation:
    """Translate a parsed OCA file. ``installed``: the recipe names available ("auto" asks
    esorex; None = do not check). ``io_lookup(recipe)``: what a recipe declares (its
    products link them to the task that makes them; "auto" asks the installed recipe)."""
    if installed == "auto":
        installed = installed_recipes()
    lookup = _default_lookup if recipe_lookup == "auto" else recipe_lookup
    io = _default_io if io_lookup == "auto" else io_lookup
    t = _Translator(oca, installed, name, lookup, io)
    if installed is None:
        t.report.append("esorex is not available: could not check which recipes are installed")
    return t.run()
