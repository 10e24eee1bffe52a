"""The first wall: a parsed template's syntax tree walked at load time. It may read only the
template's variables, by names known to exist, and use `{% if %}`, `{% for %}`, whitelisted
filters and tests, and nothing else."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from jinja2 import nodes

from auditor.engine.templates.sandbox import FILTERS, TESTS
from auditor.engine.templates.shapes import (
    ANY_DATA,
    DATA,
    IMAGE,
    LOOP,
    MAPPING,
    RECORD,
    RULE_KEYS,
    SCALAR,
    SEQ,
    RefusedError,
    Shape,
    member,
    refuse,
)
from auditor.yamlio import did_you_mean

MAX_LOOP_DEPTH = 2

_STATEMENT_NAMES = {
    "Assign": "set", "AssignBlock": "set", "Macro": "macro", "CallBlock": "call",
    "FilterBlock": "filter", "With": "with", "Include": "include", "Import": "import",
    "FromImport": "from ... import", "Extends": "extends", "Block": "block", "Scope": "scope",
    "ExprStmt": "do", "Break": "break", "Continue": "continue", "EvalContextModifier":
    "autoescape", "ScopedEvalContextModifier": "autoescape",
}
_ALLOWED = "text, {{ ... }}, {% if %} and {% for %}"


class Checker:
    """Walks a parsed template; raises RefusedError at the first thing it does not allow."""

    def __init__(self, params: Collection[str]) -> None:
        param_fields = {name: Shape(DATA, f"params.{name}") for name in params}
        self.scopes: list[dict[str, Shape]] = [{
            "image": IMAGE,
            "params": Shape(RECORD, "params", fields=param_fields),
            "rule": Shape(RECORD, "rule", fields={k: Shape(SCALAR, f"rule.{k}")
                                                  for k in RULE_KEYS}),
            "region": Shape(SCALAR, "region"),
            "account": Shape(SCALAR, "account"),
        }]
        self.loops = 0
        self.image_fields: set[str] | None = set()  # top-level fields read; None: all

    # statements -------------------------------------------------------------------------

    def body(self, body: Sequence[nodes.Node]) -> None:
        for node in body:
            self.statement(node)

    def statement(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Output):
            for part in node.nodes:
                if not isinstance(part, nodes.TemplateData):
                    self.expr(part)
        elif isinstance(node, nodes.If):
            self.expr(node.test)
            self.body(node.body)
            self.body(node.elif_)
            self.body(node.else_)
        elif isinstance(node, nodes.For):
            self.loop(node)
        else:
            tag = _STATEMENT_NAMES.get(type(node).__name__, type(node).__name__.lower())
            raise refuse(node, f"{{% {tag} %}} is not allowed; a message is {_ALLOWED}")

    def loop(self, node: nodes.For) -> None:
        if node.recursive:
            raise refuse(node, "recursive loops are not allowed")
        if self.loops >= MAX_LOOP_DEPTH:
            raise refuse(node, f"loops may nest at most {MAX_LOOP_DEPTH} deep")
        over = self.expr(node.iter)
        if over.kind == SEQ and over.item is not None:
            item = over.item
        elif over.kind in (MAPPING, RECORD):  # iterating a mapping gives its keys
            item = Shape(SCALAR, f"a key of {over.name}")
        elif over.kind == SCALAR:
            item = Shape(SCALAR, f"a character of {over.name}")
        elif over.kind == DATA:
            item = ANY_DATA
        else:
            raise refuse(node, f"cannot loop over {over.name}")
        scope = self.bind(node.target, item)
        self.body(node.else_)
        self.loops += 1
        self.scopes.append(scope)
        if node.test is not None:
            self.expr(node.test)
        self.scopes[-1] = {**scope, "loop": Shape(LOOP, "loop", item=item)}
        self.body(node.body)
        self.scopes.pop()
        self.loops -= 1

    def bind(self, target: nodes.Node, item: Shape) -> dict[str, Shape]:
        if isinstance(target, nodes.Name):
            return {target.name: item}
        if isinstance(target, nodes.Tuple) and all(
                isinstance(n, nodes.Name) for n in target.items):
            inner = item.item if item.kind == SEQ and item.item is not None else ANY_DATA
            return {n.name: inner for n in target.items}  # type: ignore[attr-defined]
        raise refuse(target, "a loop variable is a name or names (`for k, v in ...`)")

    # expressions ------------------------------------------------------------------------

    def lookup(self, node: nodes.Name) -> Shape:
        for scope in reversed(self.scopes):
            if node.name in scope:
                return scope[node.name]
        names = [n for scope in self.scopes for n in scope]
        hint = did_you_mean(node.name, names)
        raise RefusedError(f"message template reads unknown variable {node.name!r}{hint}; "
                       f"available: {', '.join(dict.fromkeys(names))}", node)

    def expr(self, node: nodes.Node | None) -> Shape:
        if node is None:
            return ANY_DATA
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            raise refuse(node, f"{_describe(node)} is not allowed; a message reads values "
                              "and uses filters (`| upper`), tests and operators")
        shape: Shape = method(node)
        return shape

    def expr_Name(self, node: nodes.Name) -> Shape:
        if self._is_root_image(node):
            self.image_fields = None  # the whole image is used
        return self.lookup(node)

    def _is_root_image(self, node: nodes.Name) -> bool:
        return node.name == "image" and all("image" not in s for s in self.scopes[1:])

    def expr_Const(self, node: nodes.Const) -> Shape:
        value = node.value
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(value, str):
            return Shape(SCALAR, repr(value)[:20])
        return Shape(SCALAR, repr(value)[:20], numeric=numeric)

    def _items(self, items: Sequence[nodes.Node]) -> Shape:
        for item in items:
            self.expr(item)
        return Shape(SEQ, "list", item=ANY_DATA)

    def expr_Tuple(self, node: nodes.Tuple) -> Shape:
        return self._items(node.items)

    def expr_List(self, node: nodes.List) -> Shape:
        return self._items(node.items)

    def expr_Dict(self, node: nodes.Dict) -> Shape:
        for pair in node.items:
            self.expr(pair.key)
            self.expr(pair.value)
        return Shape(MAPPING, "mapping", item=ANY_DATA)

    def expr_CondExpr(self, node: nodes.CondExpr) -> Shape:
        for part in (node.test, node.expr1, node.expr2):
            self.expr(part)
        return ANY_DATA

    def _operands(self, node: nodes.BinExpr) -> tuple[Shape, Shape]:
        return self.expr(node.left), self.expr(node.right)

    def _logic(self, node: nodes.BinExpr) -> Shape:
        self._operands(node)
        return ANY_DATA

    expr_And = expr_Or = expr_Add = expr_Sub = expr_Div = expr_FloorDiv = _logic

    def _numbers_only(self, node: nodes.BinExpr) -> Shape:
        for shape, side in zip(self._operands(node), (node.left, node.right), strict=True):
            textual = shape.kind in (SEQ, MAPPING, RECORD) or (
                shape.kind == SCALAR and not shape.numeric and not _is_number(side))
            if textual:
                raise refuse(node, f"`{node.operator}` works on numbers only")
        return Shape(SCALAR, "number", numeric=True)

    expr_Mul = expr_Mod = _numbers_only

    def expr_Pow(self, node: nodes.Pow) -> Shape:
        raise refuse(node, "`**` is not allowed")

    def _unary(self, node: nodes.UnaryExpr) -> Shape:
        self.expr(node.node)
        return Shape(SCALAR, "value", numeric=not isinstance(node, nodes.Not))

    expr_Not = expr_Neg = expr_Pos = _unary

    def expr_Concat(self, node: nodes.Concat) -> Shape:
        for part in node.nodes:
            self.expr(part)
        return Shape(SCALAR, "text")

    def expr_Compare(self, node: nodes.Compare) -> Shape:
        self.expr(node.expr)
        for operand in node.ops:
            self.expr(operand.expr)
        return Shape(SCALAR, "comparison")

    def expr_Getattr(self, node: nodes.Getattr) -> Shape:
        return self.member(node, node.node, node.attr)

    def expr_Getitem(self, node: nodes.Getitem) -> Shape:
        arg = node.arg
        if isinstance(arg, nodes.Slice):
            for part in (arg.start, arg.stop, arg.step):
                self.expr(part)
            shape = self.expr(node.node)
            if shape.kind not in (SEQ, SCALAR, DATA):
                raise refuse(node, f"{shape.name} cannot be sliced")
            return shape
        if isinstance(arg, nodes.Const) and isinstance(arg.value, (str, int)):
            return self.member(node, node.node, arg.value)
        self.expr(arg)
        shape = self.expr(node.node)
        if shape.kind in (RECORD, LOOP):
            raise refuse(node, f"read {shape.name} by constant names (`{shape.name}.Name`)")
        if shape.kind in (SEQ, MAPPING) and shape.item is not None:
            return shape.item
        return shape if shape.kind == SCALAR else ANY_DATA

    def member(self, node: nodes.Node, of: nodes.Node, key: str | int) -> Shape:
        if isinstance(key, str) and key.startswith("_"):
            raise RefusedError(f"message template may not read private attribute {key!r}", node)
        if isinstance(of, nodes.Name) and self._is_root_image(of):
            if self.image_fields is not None:
                self.image_fields.add(str(key))
            shape = IMAGE
        else:
            shape = self.expr(of)
        return member(node, shape, key)

    def expr_Filter(self, node: nodes.Filter) -> Shape:
        if node.name not in FILTERS:
            hint = did_you_mean(node.name, FILTERS)
            raise refuse(node, f"unknown filter {node.name!r}{hint}; a message may use: "
                              f"{', '.join(sorted(FILTERS))}")
        value = self.expr(node.node)
        self._arguments(node, FILTERS[node.name])
        item = value.item if value.kind == SEQ and value.item is not None else (
            value if value.kind == SCALAR else ANY_DATA)
        if node.name in ("select", "reject"):
            self._test_name(node, 0)
        elif node.name in ("selectattr", "rejectattr"):
            self._attribute(node, _argument(node, 0, "attribute"), item)
            self._test_name(node, 1)
        elif node.name == "map":
            attribute = _keyword(node, "attribute")
            if attribute is None:  # map('filter', ...): a whitelisted filter by name
                self._filter_name(node)
                return Shape(SEQ, "list", item=ANY_DATA)
            return Shape(SEQ, "list", item=self._attribute(node, attribute, item))
        attribute = _keyword(node, "attribute")
        if attribute is not None:
            self._attribute(node, attribute, item)
        if node.name in ("first", "last", "min", "max"):
            return item
        if node.name == "list":
            return value if value.kind == SEQ else Shape(SEQ, f"{value.name} | list", item=item)
        if node.name in ("default", "d", "sort", "unique", "reverse", "select", "reject",
                         "selectattr", "rejectattr"):
            return value
        if node.name in ("dictsort", "items"):  # (key, value) pairs
            pair = Shape(SEQ, "(key, value)", item=ANY_DATA)
            return Shape(SEQ, f"{value.name} | {node.name}", item=pair)
        numeric = node.name in ("abs", "count", "float", "int", "length", "round", "sum",
                                "wordcount")
        return Shape(SCALAR, f"{value.name} | {node.name}", numeric=numeric)

    def expr_Test(self, node: nodes.Test) -> Shape:
        if node.name not in TESTS:
            hint = did_you_mean(node.name, TESTS)
            raise refuse(node, f"unknown test {node.name!r}{hint}; a message may use: "
                              f"{', '.join(TESTS)}")
        self.expr(node.node)
        self._arguments(node, ())
        return Shape(SCALAR, "test")

    def _arguments(self, node: nodes.Filter | nodes.Test, keywords: tuple[str, ...]) -> None:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise refuse(node, f"`{node.name}` takes no *args or **kwargs")
        for arg in node.args:
            self.expr(arg)
        for kwarg in node.kwargs:
            if kwarg.key not in keywords:
                known = f"; it takes {', '.join(keywords)}" if keywords else ""
                raise refuse(node, f"`{node.name}` has no argument {kwarg.key!r}{known}")
            self.expr(kwarg.value)

    def _test_name(self, node: nodes.Filter, index: int) -> None:
        if len(node.args) <= index:
            return
        arg = node.args[index]
        if not (isinstance(arg, nodes.Const) and arg.value in TESTS):
            raise refuse(node, f"`{node.name}` names a test ({', '.join(TESTS)}) as a "
                              "constant string")

    def _filter_name(self, node: nodes.Filter) -> None:
        arg = node.args[0] if node.args else None
        if not (isinstance(arg, nodes.Const) and arg.value in FILTERS and arg.value != "map"):
            raise refuse(node, "`map` takes attribute='Field' or the name of a filter")

    def _attribute(self, node: nodes.Filter, value: nodes.Node | None, item: Shape) -> Shape:
        if not (isinstance(value, nodes.Const) and isinstance(value.value, str | int)):
            raise refuse(node, f"`{node.name}` reads an attribute given as a constant string")
        shape = item
        for key in str(value.value).split("."):
            if key.startswith("_"):
                raise RefusedError(f"message template may not read private attribute {key!r}",
                               node)
            shape = member(node, shape, int(key) if key.isdigit() else key)
        return shape


def _is_number(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, (int, float)) and not (
        isinstance(node.value, bool))


def _argument(node: nodes.Filter, index: int, keyword: str) -> nodes.Node | None:
    return node.args[index] if len(node.args) > index else _keyword(node, keyword)


def _keyword(node: nodes.Filter, keyword: str) -> nodes.Node | None:
    return next((kw.value for kw in node.kwargs if kw.key == keyword), None)


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Call):
        return "calling a function or method (`x.y()`)"
    return f"`{type(node).__name__}`"


def refuse_private_names(tree: nodes.Template) -> None:
    """`_private` names are refused first, wherever they are (the clearest message)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise RefusedError(f"message template may not read private attribute {name!r}", node)
