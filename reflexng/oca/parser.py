"""A recursive-descent parser for OCA rule files (the Gasgano / ESO data organiser language).

An OCA file has three parts (any order is accepted):

* classification: ``if <condition> then { DO.CATG = "X"; RAW.TYPE = "Y"; }``
* organisation: ``select execute(ACTION) from inputFiles where <cond> group by K1, K2;``
* association: ``action NAME { minRet = 1; maxRet = 1; select file as TAG from calibFiles
  where <cond>; recipe name; }``

Conditions: ``==  !=  <  <=  >  >=  like  regexp  ?=``, ``is string|number``, ``and or not``,
parentheses. A classification assignment may take a condition as its value
(``INS.OPTI1.FILTER = INS.OPTI1.NAME like "Blue%";`` sets a boolean keyword). Actions may hold
``product NAME { PRO.CATG = "X"; ... }`` blocks, ``priority = N;`` and recipe option strings
(``recipe r { "--a=1 --flag"; }``, several options in one string). Dotted names are ESO keywords (``DPR.TYPE``), ``inputFile.X`` refers to the
main input frame inside an association. Comments: ``//``, ``#`` and ``/* */``.
Statements the parser does not know are kept as :class:`Unknown` (never dropped silently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class OcaSyntaxError(ValueError):
    """A syntax error with the file and line."""

    def __init__(self, message: str, path: str, line: int) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Name:
    name: str
    input_file: bool = False  # inputFile.X: a keyword of the main input frame


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Compare:
    left: Any
    op: str  # == != < <= > >= like regexp ?=
    right: Any


@dataclass(frozen=True)
class IsType:
    operand: Any
    type: str  # string | number | ...


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    items: tuple


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass
class Rule:
    condition: Any
    assignments: list[tuple[str, Any]]
    line: int


@dataclass
class Select:
    action: str
    source: str
    condition: Any
    group_by: list[str]
    group_alias: list[str]
    line: int


@dataclass
class Association:
    tag: str
    source: str
    condition: Any
    min_ret: int
    max_ret: int
    line: int


@dataclass
class Product:
    """``product NAME { PRO.CATG = "X"; PRO.EXT = "..."; }`` inside an action."""

    name: str
    values: dict[str, Any]
    line: int

    @property
    def category(self) -> str:
        return str(self.values.get("PRO.CATG", self.values.get("REFLEX.CATG", self.name)))


@dataclass
class Action:
    name: str
    line: int
    associations: list[Association] = field(default_factory=list)
    recipe: str | None = None
    recipe_options: list[tuple[str, int]] = field(default_factory=list)  # "--name=value"
    products: list[Product] = field(default_factory=list)
    priority: int | None = None
    unknown: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Unknown:
    text: str
    line: int


@dataclass
class OcaFile:
    path: str
    rules: list[Rule] = field(default_factory=list)
    selects: list[Select] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    unknown: list[Unknown] = field(default_factory=list)


# --------------------------------------------------------------------------- lexer

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+) | (?P<nl>\n)
  | (?P<comment>//[^\n]*|\#[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[.\-][A-Za-z0-9_]+)*)
  | (?P<op>==|!=|<=|>=|\?=|[<>=(){};,])
    """,
    re.VERBOSE | re.DOTALL,
)
KEYWORDS = {"if", "then", "and", "or", "not", "like", "is", "select", "execute", "from",
            "where", "group", "by", "as", "action", "recipe", "file", "regexp", "product"}


@dataclass(frozen=True)
class Token:
    kind: str  # string number name kw op eof
    value: Any
    line: int


def tokenize(text: str, path: str = "<oca>") -> list[Token]:
    out: list[Token] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise OcaSyntaxError(f"unexpected character {text[pos]!r}", path, line)
        kind, value = m.lastgroup, m.group()
        if kind == "string":
            out.append(Token("string", value[1:-1], line))
        elif kind == "number":
            out.append(Token("number", float(value) if re.search(r"[.eE]", value) else int(value), line))
        elif kind == "name":
            low = value.lower()
            out.append(Token("kw", low, line) if low in KEYWORDS else Token("name", value, line))
        elif kind == "op":
            out.append(Token("op", value, line))
        line += value.count("\n") if kind in ("nl", "block") else 0
        pos = m.end()
    out.append(Token("eof", None, line))
    return out


# --------------------------------------------------------------------------- parser


class Parser:
    def __init__(self, text: str, path: str = "<oca>") -> None:
        self.path = path
        self.toks = tokenize(text, path)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind: str, value: Any = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def at_name(self, value: str) -> bool:
        return self.tok.kind == "name" and self.tok.value.lower() == value.lower()

    def expect(self, kind: str, value: Any = None) -> Token:
        if not self.at(kind, value):
            want = repr(value) if value is not None else kind
            got = repr(self.tok.value) if self.tok.kind != "eof" else "end of file"
            raise OcaSyntaxError(f"expected {want}, found {got}", self.path, self.tok.line)
        return self.next()

    def skip_statement(self) -> str:
        """Skip to the next ';' (or '}' / EOF) and return the skipped text."""
        parts = []
        while not self.at("eof") and not self.at("op", ";") and not self.at("op", "}"):
            parts.append(str(self.next().value))
        if self.at("op", ";"):
            self.next()
        return " ".join(parts)

    # grammar
    def parse(self) -> OcaFile:
        f = OcaFile(self.path)
        while not self.at("eof"):
            t = self.tok
            if self.at("kw", "if"):
                f.rules.append(self.rule())
            elif self.at("kw", "select"):
                f.selects.append(self.select())
            elif self.at("kw", "action"):
                a = self.action()
                f.actions[a.name] = a
            elif self.at("op", ";"):
                self.next()
            else:
                f.unknown.append(Unknown(self.skip_statement() or str(self.next().value), t.line))
        return f

    def rule(self) -> Rule:
        line = self.expect("kw", "if").line
        cond = self.expr()
        self.expect("kw", "then")
        self.expect("op", "{")
        assigns: list[tuple[str, Any]] = []
        while not self.at("op", "}"):
            if self.at("op", ";"):
                self.next()
                continue
            name = self.expect("name").value
            self.expect("op", "=")
            assigns.append((name, self.value()))
            if not self.at("op", "}"):
                self.expect("op", ";")
        self.expect("op", "}")
        return Rule(cond, assigns, line)

    def value(self) -> Any:
        """The value of an assignment: a constant, a keyword, or a condition (a boolean)."""
        e = self.expr()
        if isinstance(e, Compare) and e.op == "truthy":
            return e.left  # a bare operand
        return e

    def select(self) -> Select:
        line = self.expect("kw", "select").line
        self.expect("kw", "execute")
        self.expect("op", "(")
        action = self.expect("name").value
        self.expect("op", ")")
        self.expect("kw", "from")
        source = self.expect("name").value
        cond = None
        if self.at("kw", "where"):
            self.next()
            cond = self.expr()
        group: list[str] = []
        alias: list[str] = []
        if self.at("kw", "group"):
            self.next()
            self.expect("kw", "by")
            while True:
                group.append(self.expect("name").value)
                if self.at("kw", "as"):  # TPL.START as (TPL_A, tpl)
                    self.next()
                    self.expect("op", "(")
                    while not self.at("op", ")"):
                        alias.append(str(self.next().value))
                    self.expect("op", ")")
                if not self.at("op", ","):
                    break
                self.next()
        self.expect("op", ";")
        return Select(action, source, cond, group, [a for a in alias if a != ","], line)

    def action(self) -> Action:
        line = self.expect("kw", "action").line
        a = Action(self.expect("name").value, line)
        self.expect("op", "{")
        min_ret, max_ret = 1, 1
        while not self.at("op", "}"):
            t = self.tok
            if self.at("op", ";"):
                self.next()
            elif self.at_name("minRet") or self.at_name("maxRet"):
                which = self.next().value.lower()
                self.expect("op", "=")
                n = int(self.expect("number").value)
                self.expect("op", ";")
                if which == "minret":
                    min_ret = n
                else:
                    max_ret = n
            elif self.at_name("priority"):
                self.next()
                self.expect("op", "=")
                a.priority = int(self.expect("number").value)
                self.expect("op", ";")
            elif self.at("kw", "product"):
                a.products.append(self.product())
            elif self.at("kw", "select"):
                self.next()
                self.expect("kw", "file")
                self.expect("kw", "as")
                tag = self.expect("name").value
                self.expect("kw", "from")
                source = self.expect("name").value
                cond = None
                if self.at("kw", "where"):
                    self.next()
                    cond = self.expr()
                self.expect("op", ";")
                a.associations.append(Association(tag, source, cond, min_ret, max_ret, t.line))
                min_ret, max_ret = 1, 1
            elif self.at("kw", "recipe"):
                self.next()
                a.recipe = self.expect("name").value
                if self.at("op", "{"):  # recipe name { "--param=value"; ... }
                    self.next()
                    while not self.at("op", "}"):
                        if self.at("op", ";"):
                            self.next()
                            continue
                        opt = self.next()
                        if opt.kind == "eof":
                            raise OcaSyntaxError(f"recipe {a.recipe}: missing '}}'", self.path, t.line)
                        a.recipe_options.append((str(opt.value), opt.line))
                    self.expect("op", "}")
                else:
                    self.expect("op", ";")
            elif self.at("eof"):
                raise OcaSyntaxError(f"action {a.name}: missing '}}'", self.path, a.line)
            else:
                a.unknown.append((self.skip_statement(), t.line))
        self.expect("op", "}")
        return a

    def product(self) -> Product:
        line = self.expect("kw", "product").line
        name = str(self.expect("name").value)
        values: dict[str, Any] = {}
        self.expect("op", "{")
        while not self.at("op", "}"):
            if self.at("op", ";"):
                self.next()
                continue
            if self.at("eof"):
                raise OcaSyntaxError(f"product {name}: missing '}}'", self.path, line)
            key = self.expect("name").value
            self.expect("op", "=")
            v = self.value()
            values[key] = v.value if isinstance(v, Const) else v
            if not self.at("op", "}"):
                self.expect("op", ";")
        self.expect("op", "}")
        return Product(name, values, line)

    # expressions
    def expr(self) -> Any:
        items = [self.and_expr()]
        while self.at("kw", "or"):
            self.next()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.at("kw", "and"):
            self.next()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Any:
        if self.at("kw", "not"):
            self.next()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self) -> Any:
        if self.at("op", "("):
            self.next()
            inner = self.expr()
            self.expect("op", ")")
            return inner
        left = self.operand()
        if self.at("kw", "like") or self.at("kw", "regexp"):
            op = self.next().value
            return Compare(left, op, self.operand())
        if self.at("kw", "is"):
            self.next()
            negate = False
            if self.at("kw", "not"):
                self.next()
                negate = True
            typ = IsType(left, str(self.expect("name").value).lower())
            return Not(typ) if negate else typ
        if self.tok.kind == "op" and self.tok.value in ("==", "!=", "<", "<=", ">", ">=", "?=", "="):
            op = self.next().value
            return Compare(left, "==" if op == "=" else op, self.operand())
        return Compare(left, "truthy", Const(True))

    def operand(self) -> Any:
        t = self.tok
        if t.kind in ("string", "number"):
            self.next()
            return Const(t.value)
        if t.kind == "name":
            self.next()
            if t.value.startswith("inputFile."):
                return Name(t.value[len("inputFile."):], True)
            return Name(t.value)
        raise OcaSyntaxError(f"expected a keyword name or a value, found {t.value!r}", self.path, t.line)


def parse(text: str, path: str = "<oca>") -> OcaFile:
    """Parse OCA text; OcaSyntaxError names the file and line."""
    return Parser(text, path).parse()


def parse_file(path: str | Path) -> OcaFile:
    p = Path(path)
    return parse(p.read_text(encoding="utf-8", errors="replace"), str(p))
