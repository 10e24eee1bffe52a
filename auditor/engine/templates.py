"""Finding messages: jinja2 templates checked at load time, rendered over plain data.

A rule file is data, and the scan runs with cloud credentials in its environment, so a
message template must not reach the process. Two walls:

1. At load, the template's syntax tree is walked (`_Checker`): it may read only the
   variables `image`, `params`, `rule`, `region`, `account` and loop variables, and only by
   names known to exist (a field of the image model, a declared param, `rule.id`...); it
   may use `{% if %}`, `{% for %}`, whitelisted filters and tests, and nothing else (no
   calls, `set`, macros, includes, `**`). Anything else is a load error, with a
   did-you-mean for a misspelt name.
2. At render time the template sees plain data only (str, int, float, bool, None, lists
   and dicts: the image as its JSON), in jinja's immutable sandbox with no globals, where
   `a.b` on a mapping reads the item `b` and nothing else (so `params.keys` is the param
   `keys`), nothing has attributes or can be called, and text cannot grow without bound.

Most messages are text with substitutions; those skip jinja's runtime (`_quick_renderer`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import jinja2.filters
from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes, pass_context
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from auditor.engine.fields import DICT, LIST, MODEL, _kind, _strip_optional
from auditor.models import Image
from auditor.yamlio import did_you_mean

VARIABLES = ("image", "params", "rule", "region", "account")
RULE_KEYS = ("id", "title", "severity")
MAX_SOURCE = 10_000  # characters of one template
MAX_TEXT = 100_000  # characters a string operation may produce while rendering
MAX_LOOP_DEPTH = 2
MAX_ITERATIONS = 1_000  # loop items one message may go through, all loops together

_MISSING = object()  # an undefined value

# `image` and the other variables (params, rule, region, account) -> the message.
Renderer = Callable[[Image, dict[str, Any]], str]


class TemplateError(ValueError):
    """A template that cannot be used; `line` is the line inside the template."""

    def __init__(self, text: str, line: int = 1) -> None:
        super().__init__(text)
        self.line = line


# ---------------------------------------------------------------------------------------------
# The sandbox (second wall)

_LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last",
                              "length", "depth", "depth0", "previtem", "nextitem"})


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _bounded(size: int) -> None:
    if size > MAX_TEXT:
        raise SecurityError(f"a message may not build text longer than {MAX_TEXT} characters")


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """jinja's `replace`, refusing to grow text without bound (`'' -> 'x'`, chains)."""
    text, old, new = str(value), str(old), str(new)
    if not old:
        raise SecurityError("replace needs a non-empty string to replace")
    _bounded(len(text) + text.count(old) * max(0, len(new) - len(old)))
    return text.replace(old, new, -1 if count is None else count)


def _round(value: Any, precision: int = 0, method: str = "common") -> float:
    """jinja's `round`, with a sane precision (`round(5, -10**9)` computes 10**(10**9))."""
    if type(precision) is not int or abs(precision) > 20:
        raise SecurityError("round takes a precision from -20 to 20")
    return jinja2.filters.do_round(value, precision, method)  # type: ignore[arg-type]


_BUDGET = "loop budget"  # not a name a template can write: the iterations left in a render
_COUNTED = "counted loop"  # nor this filter's


@pass_context
def _counted(context: Context, value: Any) -> Iterator[Any]:
    """The items of a loop, counted against the render's budget (nested loops over long
    lists could otherwise run for hours)."""
    budget = context.parent[_BUDGET]
    for item in value:
        budget[0] -= 1
        if budget[0] < 0:
            raise SecurityError(f"a message may not loop more than {MAX_ITERATIONS} times")
        yield item


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja's immutable sandbox over plain data: mappings have items and no attributes,
    nothing is called, `**` and `%` formatting are refused, repetition is bounded."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            value = obj.get(attribute, _MISSING)
            return self.undefined(obj=obj, name=attribute) if value is _MISSING else value
        if isinstance(obj, LoopContext) and attribute in _LOOP_ATTRIBUTES:
            return getattr(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is dict:
            try:
                value = obj.get(argument, _MISSING)
            except TypeError:  # an unhashable key
                value = _MISSING
            return self.undefined(obj=obj, name=argument) if value is _MISSING else value
        if type(obj) in (list, tuple, str) and type(argument) is int:
            try:
                return obj[argument]
            except IndexError:
                pass
        return self.undefined(obj=obj, name=argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        raise SecurityError("a message template calls nothing")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("** is not allowed in a message")
        if operator == "%" and not isinstance(left, (int, float)):
            raise SecurityError("% formats numbers only in a message")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    _bounded(len(seq) * times)
        return super().call_binop(context, operator, left, right)


# The filters a message may use: pure, bounded functions of plain data. Each maps to the
# keyword arguments it accepts.
FILTERS: dict[str, tuple[str, ...]] = {
    "abs": (), "capitalize": (), "count": (), "default": ("default_value", "boolean"),
    "d": ("default_value", "boolean"), "dictsort": ("case_sensitive", "by", "reverse"),
    "filesizeformat": ("binary",), "first": (), "float": ("default",), "int": ("default", "base"),
    "items": (), "join": ("d", "attribute"), "last": (), "length": (), "list": (),
    "lower": (), "map": ("attribute", "default"), "max": ("case_sensitive", "attribute"),
    "min": ("case_sensitive", "attribute"), "reject": (), "rejectattr": (),
    "replace": ("count",), "reverse": (), "round": ("precision", "method"), "select": (),
    "selectattr": (), "sort": ("reverse", "case_sensitive", "attribute"), "string": (),
    "striptags": (), "sum": ("attribute", "start"), "title": (), "tojson": (),
    "trim": ("chars",), "truncate": ("length", "killwords", "end", "leeway"),
    "unique": ("case_sensitive", "attribute"), "upper": (), "urlencode": (), "wordcount": (),
}
TESTS = ("defined", "undefined", "none", "boolean", "false", "true", "integer", "float",
         "number", "string", "mapping", "sequence", "iterable", "lower", "upper", "odd",
         "even", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<",
         "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "sameas")


def _environment() -> _Sandbox:
    env = _Sandbox(autoescape=False, undefined=ChainableUndefined, finalize=_finalize,
                   keep_trailing_newline=False)
    env.globals.clear()  # range, dict, lipsum, cycler, joiner, namespace: none is needed
    env.filters = {name: jinja2.filters.FILTERS[name] for name in FILTERS}
    env.filters["replace"] = _replace
    env.filters["round"] = _round
    env.filters[_COUNTED] = _counted
    env.tests = {name: env.tests[name] for name in TESTS}
    return env


_ENV = _environment()


# ---------------------------------------------------------------------------------------------
# The load-time check (first wall)


@dataclass(eq=False)
class Shape:
    """What a template expression holds, as far as the check knows.

    record: known keys only (the image model, `params`, `rule`); mapping: any key (Tags);
    list: items of `item`; scalar: text, number, bool; data: plain data of unknown shape
    (a param's value); loop: jinja's `loop`."""

    kind: str
    name: str
    fields: dict[str, Shape] = field(default_factory=dict)
    item: Shape | None = None
    numeric: bool = False


RECORD, MAPPING, SEQ, SCALAR, DATA, LOOP = "record", "mapping", "list", "scalar", "data", "loop"


def _annotation_shape(annotation: Any, name: str) -> Shape:
    kind, element = _kind(annotation)
    if kind == MODEL and element is not None:
        return _model_shape(element, name)
    if kind == LIST:
        item = (_model_shape(element, f"{name}[]") if element is not None
                else Shape(SCALAR, f"{name}[]"))
        return Shape(SEQ, name, item=item)
    if kind == DICT:
        return Shape(MAPPING, name, item=Shape(SCALAR, f"{name}[]"))
    bare = _strip_optional(annotation)
    return Shape(SCALAR, name, numeric=bare in (int, float))


def _model_shape(model: type[BaseModel], name: str) -> Shape:
    fields = {key: _annotation_shape(info.annotation, f"{name}.{key}")
              for key, info in model.model_fields.items()}
    return Shape(RECORD, name, fields=fields)


_IMAGE = _model_shape(Image, "image")
_DATA = Shape(DATA, "value")

_STATEMENT_NAMES = {
    "Assign": "set", "AssignBlock": "set", "Macro": "macro", "CallBlock": "call",
    "FilterBlock": "filter", "With": "with", "Include": "include", "Import": "import",
    "FromImport": "from ... import", "Extends": "extends", "Block": "block", "Scope": "scope",
    "ExprStmt": "do", "Break": "break", "Continue": "continue", "EvalContextModifier":
    "autoescape", "ScopedEvalContextModifier": "autoescape",
}
_ALLOWED = "text, {{ ... }}, {% if %} and {% for %}"


class _RefusedError(Exception):
    def __init__(self, text: str, node: nodes.Node) -> None:
        super().__init__(text)
        self.line = getattr(node, "lineno", 1) or 1


def _fail(node: nodes.Node, text: str) -> _RefusedError:
    return _RefusedError(f"message template: {text}", node)


class _Checker:
    """Walks a parsed template; raises _RefusedError at the first thing it does not allow."""

    def __init__(self, params: Collection[str]) -> None:
        param_fields = {name: Shape(DATA, f"params.{name}") for name in params}
        self.scopes: list[dict[str, Shape]] = [{
            "image": _IMAGE,
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
            raise _fail(node, f"{{% {tag} %}} is not allowed; a message is {_ALLOWED}")

    def loop(self, node: nodes.For) -> None:
        if node.recursive:
            raise _fail(node, "recursive loops are not allowed")
        if self.loops >= MAX_LOOP_DEPTH:
            raise _fail(node, f"loops may nest at most {MAX_LOOP_DEPTH} deep")
        over = self.expr(node.iter)
        if over.kind == SEQ and over.item is not None:
            item = over.item
        elif over.kind in (MAPPING, RECORD):  # iterating a mapping gives its keys
            item = Shape(SCALAR, f"a key of {over.name}")
        elif over.kind == SCALAR:
            item = Shape(SCALAR, f"a character of {over.name}")
        elif over.kind == DATA:
            item = _DATA
        else:
            raise _fail(node, f"cannot loop over {over.name}")
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
            inner = item.item if item.kind == SEQ and item.item is not None else _DATA
            return {n.name: inner for n in target.items}  # type: ignore[attr-defined]
        raise _fail(target, "a loop variable is a name or names (`for k, v in ...`)")

    # expressions ------------------------------------------------------------------------

    def lookup(self, node: nodes.Name) -> Shape:
        for scope in reversed(self.scopes):
            if node.name in scope:
                return scope[node.name]
        names = [n for scope in self.scopes for n in scope]
        hint = did_you_mean(node.name, names)
        raise _RefusedError(f"message template reads unknown variable {node.name!r}{hint}; "
                       f"available: {', '.join(dict.fromkeys(names))}", node)

    def expr(self, node: nodes.Node | None) -> Shape:
        if node is None:
            return _DATA
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            raise _fail(node, f"{_describe(node)} is not allowed; a message reads values "
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
        return Shape(SEQ, "list", item=_DATA)

    def expr_Tuple(self, node: nodes.Tuple) -> Shape:
        return self._items(node.items)

    def expr_List(self, node: nodes.List) -> Shape:
        return self._items(node.items)

    def expr_Dict(self, node: nodes.Dict) -> Shape:
        for pair in node.items:
            self.expr(pair.key)
            self.expr(pair.value)
        return Shape(MAPPING, "mapping", item=_DATA)

    def expr_CondExpr(self, node: nodes.CondExpr) -> Shape:
        for part in (node.test, node.expr1, node.expr2):
            self.expr(part)
        return _DATA

    def _operands(self, node: nodes.BinExpr) -> tuple[Shape, Shape]:
        return self.expr(node.left), self.expr(node.right)

    def _logic(self, node: nodes.BinExpr) -> Shape:
        self._operands(node)
        return _DATA

    expr_And = expr_Or = expr_Add = expr_Sub = expr_Div = expr_FloorDiv = _logic

    def _numbers_only(self, node: nodes.BinExpr) -> Shape:
        for shape, side in zip(self._operands(node), (node.left, node.right), strict=True):
            textual = shape.kind in (SEQ, MAPPING, RECORD) or (
                shape.kind == SCALAR and not shape.numeric and not _is_number(side))
            if textual:
                raise _fail(node, f"`{node.operator}` works on numbers only")
        return Shape(SCALAR, "number", numeric=True)

    expr_Mul = expr_Mod = _numbers_only

    def expr_Pow(self, node: nodes.Pow) -> Shape:
        raise _fail(node, "`**` is not allowed")

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
                raise _fail(node, f"{shape.name} cannot be sliced")
            return shape
        if isinstance(arg, nodes.Const) and isinstance(arg.value, (str, int)):
            return self.member(node, node.node, arg.value)
        self.expr(arg)
        shape = self.expr(node.node)
        if shape.kind in (RECORD, LOOP):
            raise _fail(node, f"read {shape.name} by constant names (`{shape.name}.Name`)")
        if shape.kind in (SEQ, MAPPING) and shape.item is not None:
            return shape.item
        return shape if shape.kind == SCALAR else _DATA

    def member(self, node: nodes.Node, of: nodes.Node, key: str | int) -> Shape:
        if isinstance(key, str) and key.startswith("_"):
            raise _RefusedError(f"message template may not read private attribute {key!r}", node)
        if isinstance(of, nodes.Name) and self._is_root_image(of):
            if self.image_fields is not None:
                self.image_fields.add(str(key))
            shape = _IMAGE
        else:
            shape = self.expr(of)
        return _member(node, shape, key)

    def expr_Filter(self, node: nodes.Filter) -> Shape:
        if node.name not in FILTERS:
            hint = did_you_mean(node.name, FILTERS)
            raise _fail(node, f"unknown filter {node.name!r}{hint}; a message may use: "
                              f"{', '.join(sorted(FILTERS))}")
        value = self.expr(node.node)
        self._arguments(node, FILTERS[node.name])
        item = value.item if value.kind == SEQ and value.item is not None else (
            value if value.kind == SCALAR else _DATA)
        if node.name in ("select", "reject"):
            self._test_name(node, 0)
        elif node.name in ("selectattr", "rejectattr"):
            self._attribute(node, _argument(node, 0, "attribute"), item)
            self._test_name(node, 1)
        elif node.name == "map":
            attribute = _keyword(node, "attribute")
            if attribute is None:  # map('filter', ...): a whitelisted filter by name
                self._filter_name(node)
                return Shape(SEQ, "list", item=_DATA)
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
            pair = Shape(SEQ, "(key, value)", item=_DATA)
            return Shape(SEQ, f"{value.name} | {node.name}", item=pair)
        numeric = node.name in ("abs", "count", "float", "int", "length", "round", "sum",
                                "wordcount")
        return Shape(SCALAR, f"{value.name} | {node.name}", numeric=numeric)

    def expr_Test(self, node: nodes.Test) -> Shape:
        if node.name not in TESTS:
            hint = did_you_mean(node.name, TESTS)
            raise _fail(node, f"unknown test {node.name!r}{hint}; a message may use: "
                              f"{', '.join(TESTS)}")
        self.expr(node.node)
        self._arguments(node, ())
        return Shape(SCALAR, "test")

    def _arguments(self, node: nodes.Filter | nodes.Test, keywords: tuple[str, ...]) -> None:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _fail(node, f"`{node.name}` takes no *args or **kwargs")
        for arg in node.args:
            self.expr(arg)
        for kwarg in node.kwargs:
            if kwarg.key not in keywords:
                known = f"; it takes {', '.join(keywords)}" if keywords else ""
                raise _fail(node, f"`{node.name}` has no argument {kwarg.key!r}{known}")
            self.expr(kwarg.value)

    def _test_name(self, node: nodes.Filter, index: int) -> None:
        if len(node.args) <= index:
            return
        arg = node.args[index]
        if not (isinstance(arg, nodes.Const) and arg.value in TESTS):
            raise _fail(node, f"`{node.name}` names a test ({', '.join(TESTS)}) as a "
                              "constant string")

    def _filter_name(self, node: nodes.Filter) -> None:
        arg = node.args[0] if node.args else None
        if not (isinstance(arg, nodes.Const) and arg.value in FILTERS and arg.value != "map"):
            raise _fail(node, "`map` takes attribute='Field' or the name of a filter")

    def _attribute(self, node: nodes.Filter, value: nodes.Node | None, item: Shape) -> Shape:
        if not (isinstance(value, nodes.Const) and isinstance(value.value, str | int)):
            raise _fail(node, f"`{node.name}` reads an attribute given as a constant string")
        shape = item
        for key in str(value.value).split("."):
            if key.startswith("_"):
                raise _RefusedError(f"message template may not read private attribute {key!r}",
                               node)
            shape = _member(node, shape, int(key) if key.isdigit() else key)
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


def _member(node: nodes.Node, shape: Shape, key: str | int) -> Shape:
    """The shape of `shape.key` / `shape[key]`; refuses a name the shape does not have."""
    if shape.kind == RECORD:
        if key in shape.fields:
            return shape.fields[str(key)]
        hint = did_you_mean(str(key), shape.fields)
        if shape.name == "params":
            declared = ", ".join(shape.fields) or "none"
            raise _fail(node, f"unknown param {key!r}{hint}; the rule declares: {declared}")
        raise _fail(node, f"{shape.name} has no field {key!r}{hint}")
    if shape.kind == MAPPING and shape.item is not None:
        return shape.item
    if shape.kind == SEQ and shape.item is not None:
        if isinstance(key, int):
            return shape.item
        raise _fail(node, f"{shape.name} is a list: loop over it "
                          f"(`{{% for x in {shape.name} %}}`) or take one item ([0])")
    if shape.kind == LOOP:
        if key in _LOOP_ATTRIBUTES:
            return shape.item if key in ("previtem", "nextitem") and shape.item else Shape(
                SCALAR, f"loop.{key}", numeric=key not in ("first", "last"))
        hint = did_you_mean(str(key), _LOOP_ATTRIBUTES)
        raise _fail(node, f"loop has no attribute {key!r}{hint}; it has "
                          f"{', '.join(sorted(_LOOP_ATTRIBUTES))}")
    if shape.kind == SCALAR:
        if isinstance(key, int):
            return Shape(SCALAR, f"{shape.name}[{key}]")
        raise _fail(node, f"{shape.name} is a single value, it has no {key!r} "
                          "(use filters, e.g. `| upper`)")
    return _DATA


def _private_access(tree: nodes.Template) -> None:
    """`_private` names are refused first, wherever they are (the clearest message)."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name: Any = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise _RefusedError(f"message template may not read private attribute {name!r}", node)


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except _RefusedError as exc:
        raise TemplateError(str(exc), exc.line) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"message template: {exc.message}", exc.lineno or 1) from None
    except RecursionError:
        raise TemplateError("message template: nested too deeply") from None


# ---------------------------------------------------------------------------------------------
# Compiling and rendering


def sandboxed(tree: nodes.Template) -> Template:
    """Compile a parsed template for the sandbox, every `{% for %}` iterating through
    `_counted`, which bounds the loops of one render."""
    for loop in tree.find_all(nodes.For):
        counted = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
        loop.iter = counted.set_environment(_ENV)
    return _ENV.from_string(tree)


def render_sandboxed(template: Template, data: dict[str, Any]) -> str:
    """Render over plain data only. jinja's render() merges its globals (a ChainMap, slow to
    iterate) into every new context; there are none, so the context is one plain dict."""
    ctx = Context(_ENV, {**data, _BUDGET: [MAX_ITERATIONS]}, None, template.blocks)
    return "".join(template.root_render_func(ctx)).strip()


def compile_message(source: str, params: Collection[str] = (), *,
                    quick: bool = True) -> Renderer:
    """Check and compile a message template; raises TemplateError.

    `params` are the names the rule declares. `quick=False` always renders through jinja
    (the reference the quick path is tested against)."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"message template is longer than {MAX_SOURCE} characters")
    checker = _Checker(params)
    with _refusals():
        tree = _ENV.parse(source)
        _private_access(tree)
        checker.body(tree.body)
        fast = _quick_renderer(tree) if quick else None
        template = sandboxed(tree)
    if fast is not None:
        return fast
    image_data = _image_data(checker.image_fields)

    def render(image: Image, variables: dict[str, Any]) -> str:
        return render_sandboxed(template, {**variables, "image": image_data(image)})

    return render


_PLAIN = (str, int, float, bool, type(None))


def json_value(value: Any) -> Any:
    """A value of the image model as the inventory's JSON holds it (plain data)."""
    return value if type(value) in _PLAIN else to_jsonable_python(value)


def plain(value: Any) -> Any:
    """YAML values (params) as plain data: dates become ISO text, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value if type(value) in _PLAIN else str(value)


def _image_data(names: set[str] | None) -> Callable[[Image], dict[str, Any]]:
    """`image` for the sandbox: the fields the template reads, as JSON data."""
    if names is None:
        return lambda image: image.model_dump(mode="json")
    getters = [(name, operator.attrgetter(name)) for name in sorted(names)]
    return lambda image: {name: json_value(get(image)) for name, get in getters}


# Most messages are text with `{{ image.Field }}` substitutions. Rendering those through the
# sandbox costs ~10 us per finding; this path gives the same output (mappings by item, None
# and undefined as "") in ~2 us. It reads only the names the check allowed, on the image model
# (each value converted to its JSON form) and on the plain variables, calls nothing but
# `str()` on plain data, and slices with constants.
Lookup = Callable[[Image, dict[str, Any]], Any]


def _step(value: Any, key: Any) -> Any:
    """One `.key` / `[key]` in the quick path, as the sandbox reads plain data."""
    if type(value) is dict:
        return value.get(key, _MISSING)
    if isinstance(value, BaseModel):  # a checked field name of the image model
        return getattr(value, key, _MISSING) if type(key) is str else _MISSING
    if type(value) in (list, str) and type(key) is int:
        try:
            return value[key]
        except IndexError:
            return _MISSING
    return _MISSING


def _lookup(node: nodes.Node) -> Lookup | None:
    """A compiled `name.attr['key']...` chain, or None for anything else."""
    keys: list[Any] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
        elif isinstance(node.arg, nodes.Const):
            keys.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name) or node.name not in VARIABLES:
        return None
    name, keys = node.name, keys[::-1]
    if name == "image":
        return _image_lookup(keys) if keys else lambda image, variables: json_value(image)

    def lookup(image: Image, variables: dict[str, Any]) -> Any:
        value = variables.get(name, _MISSING)
        for key in keys:
            if value is _MISSING:
                return value
            value = _step(value, key)
        return value

    return lookup


def _image_lookup(keys: list[Any]) -> Lookup:
    """`image.A.B...`: the leading fields of the image model read by one attrgetter (a None
    on the way is undefined), the rest (a tag, a list index) step by step."""
    shape, fields = _IMAGE, 0
    while fields < len(keys) and shape.kind == RECORD and keys[fields] in shape.fields:
        shape = shape.fields[keys[fields]]
        fields += 1
    read, rest = operator.attrgetter(".".join(keys[:fields])), keys[fields:]

    def lookup(image: Image, variables: dict[str, Any]) -> Any:
        try:
            value = read(image)
        except AttributeError:  # None on the way
            return _MISSING
        for key in rest:
            if value is _MISSING:
                return value
            value = _step(value, key)
        return value if type(value) in _PLAIN or value is _MISSING else json_value(value)

    return lookup


def _const_slice(node: nodes.Slice) -> slice | None:
    bounds: list[int | None] = []
    for part in (node.start, node.stop, node.step):
        if part is None:
            bounds.append(None)
        elif isinstance(part, nodes.Const) and type(part.value) is int:
            bounds.append(part.value)
        else:
            return None
    return slice(*bounds)


def _string_of(inner: Lookup) -> Lookup:
    """jinja's `x | string`: str(x); an undefined value is the empty string."""

    def get(image: Image, variables: dict[str, Any]) -> Any:
        value = inner(image, variables)
        return "" if value is _MISSING else str(value)

    return get


def _sliced(inner: Lookup, part: slice) -> Lookup:
    """jinja's `x[a:b]`, compiled by jinja as plain Python slicing: an undefined value stays
    undefined (renders empty), slicing what cannot be sliced raises as it does there."""

    def get(image: Image, variables: dict[str, Any]) -> Any:
        value = inner(image, variables)
        return _MISSING if value is _MISSING else value[part]

    return get


def _expression(node: nodes.Node) -> Lookup | None:
    """A lookup chain, optionally through `| string` and constant slices `[:10]`."""
    if isinstance(node, nodes.Filter):
        plain_filter = not (node.args or node.kwargs or node.dyn_args or node.dyn_kwargs)
        inner = (_expression(node.node) if plain_filter and node.name == "string" and node.node
                 else None)
        return _string_of(inner) if inner is not None else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
        part = _const_slice(node.arg)
        inner = _expression(node.node) if part is not None else None
        return _sliced(inner, part) if inner is not None and part is not None else None
    return _lookup(node)


def _quick_renderer(tree: nodes.Template) -> Renderer | None:
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts: list[str | Lookup] = []
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
            continue
        lookup = _expression(node)
        if lookup is None:
            return None
        parts.append(lookup)

    def render(image: Image, variables: dict[str, Any]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part(image, variables)
                out.append("" if value is None or value is _MISSING else str(value))
        return "".join(out).strip()

    return render
