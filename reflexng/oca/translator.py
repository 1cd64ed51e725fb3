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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.oca.parser import BoolOp, Compare, Const, IsType, Name, Not, OcaFile

GASGANO_ONLY = ("SIG.", "LF.")
CATEGORY_KEYS = ("DO.CATG", "PRO.CATG", "RAW.TYPE")
_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "like": "like",
        "?=": "eq"}


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
                 recipe_lookup) -> None:
        self.oca = oca
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
                return f"ctx.header.get({key!r})" if e.input_file else f"c.get({key!r})"
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
                if isinstance(v, Name):
                    value = self.py(v, "classify", r.line)
                else:
                    value = repr(v.value)
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
        category = self.category_of(terms) or "UNKNOWN"
        extra = [t for t in terms if self.category_of([t]) is None]
        base = category if not extra else category + "_" + "_".join(
            re.sub(r"\W", "", str(t.right.value)) if isinstance(t, Compare) and isinstance(t.right, Const)
            else "cond" for t in extra)
        if category == "UNKNOWN":
            self.report.append(f"{self.src}:{line}: no DO.CATG/RAW.TYPE in '{text}': the data "
                               "source is named UNKNOWN and files get that category")
        name = self.unique_name(base)
        cond = " and ".join(self.py(t, "select", line) for t in terms) or "True"
        ds = {"name": name, "var": _ident(name, "ds_"), "kind": "raw", "category": category,
              "cond": cond, "text": text, "group": group, "line": line, "why": why}
        self.ds[key] = ds
        return ds

    def processed_source(self, category: str, line: int) -> dict:
        key = ("processed", category)
        if key not in self.ds:
            name = self.unique_name(category)
            self.ds[key] = {"name": name, "var": _ident(name, "ds_"), "kind": "processed",
                            "category": category, "line": line}
        return self.ds[key]

    def ds_source(self, ds: dict) -> str:
        if ds["kind"] == "processed":
            return (f"# {self.src}:{ds['line']}: calibration files carrying PRO.CATG {ds['category']}\n"
                    f"{ds['var']} = (\n    data_source({ds['name']!r})\n"
                    f"    .with_classification_rule(classification_rule({ds['category']!r}, "
                    f"{{'PRO.CATG': {ds['category']!r}}}))\n    .build()\n)")
        fn = _ident(ds["name"], "_is_")
        lines = [f"def {fn}(h):",
                 f'    """{self.src}:{ds["line"]}: {ds["text"].replace(chr(34), chr(39))}"""',
                 "    d = classify(h)",
                 f"    return {ds['cond']}",
                 "",
                 f"{fn}.__name__ = {ds['text'].replace(chr(34), chr(39))!r}",
                 "",
                 f"{ds['var']} = (",
                 f"    data_source({ds['name']!r})",
                 f"    .with_classification_rule(classification_rule({ds['category']!r}, {fn}, "
                 "keywords=KEYWORDS))"]
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
                self.report.append(f"{where}: task {tname}: recipe {action.recipe} is not "
                                   "installed; the task is written as a comment")
            self.tasks.append({"name": tname, "var": _ident(tname, "t_"), "action": action,
                               "main": ds, "line": s.line, "installed": installed})

    def producer(self, category: str) -> dict | None:
        hits = [t for t in self.tasks if t["installed"] and f"MASTER_{t['main']['category']}" == category]
        return hits[0] if len(hits) == 1 else None

    def association_source(self, task: dict, a) -> str | None:
        where = f"{self.src}:{a.line}"
        terms = _and_terms(a.condition)
        category = self.category_of(terms)
        if category is None:
            self.report.append(f"{where}: association '{a.tag}' names no DO.CATG/PRO.CATG; "
                               "not translated")
            return None
        keys, extra = [], []
        for t in terms:
            if self.category_of([t]) is not None:
                continue
            if (isinstance(t, Compare) and t.op == "==" and isinstance(t.left, Name)
                    and isinstance(t.right, Name) and t.left.name == t.right.name
                    and t.left.input_file != t.right.input_file):
                keys.append(t.left.name)
                self.note_keyword(t.left.name)
            else:
                extra.append(t)
        if a.tag != category:
            self.report.append(f"{where}: association tag {a.tag} differs from category "
                               f"{category}; reflexng passes the file as {category}")
        raw = a.source == "rawFiles" or category in self.raw_categories
        prod = None if raw else self.producer(category)
        if raw:
            cat_terms = [t for t in terms if self.category_of([t]) is not None]
            src = self.raw_source(cat_terms, [], a.line, "")["var"]
        elif prod is not None:
            src = prod["var"]
            task.setdefault("deps", set()).add(prod["name"])
            self.report.append(f"{where}: {category} taken from task {prod['name']} (inferred: "
                               f"it reduces {prod['main']['category']}; check)")
        else:
            src = self.processed_source(category, a.line)["var"]
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
        for opt, line in action.recipe_options:
            m = re.match(r"^--([\w.\-]+)=(.*)$", opt.strip())
            if not m:
                self.report.append(f"{self.src}:{line}: recipe option {opt!r} not understood; ignored")
                continue
            name, value = m.group(1), m.group(2)
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
            self.report.append(f"{self.src}:{line}: the undocumented '?=' operator is translated as '=='")
        used = {t["main"]["category"] for t in self.tasks} | {d["category"] for d in self.ds.values()}
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
            "from reflexng.oca.runtime import eq, ge, get, gt, is_type, le, like, lt, memo, ne, truthy"
            "  # noqa: F401",
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


def translate(oca: OcaFile, *, installed: set[str] | None | str = "auto", name: str | None = None,
              recipe_lookup="auto") -> Translation:
    """Translate a parsed OCA file. ``installed``: the recipe names available ("auto" asks
    esorex; None = do not check)."""
    if installed == "auto":
        installed = installed_recipes()
    lookup = _default_lookup if recipe_lookup == "auto" else recipe_lookup
    t = _Translator(oca, installed, name, lookup)
    if installed is None:
        t.report.append("esorex is not available: could not check which recipes are installed")
    return t.run()
