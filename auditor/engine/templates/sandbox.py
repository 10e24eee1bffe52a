"""The second wall: jinja's immutable sandbox over plain data, with no globals, whitelisted
filters and tests, and bounds on text growth and loop iterations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jinja2.filters
from jinja2 import ChainableUndefined, Template, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from auditor.engine.templates.data import MISSING

MAX_TEXT = 100_000  # characters a string operation may produce while rendering
MAX_ITERATIONS = 1_000  # loop items one message may go through, all loops together

LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last",
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


def loop_limit() -> SecurityError:
    """What a render that loops past its budget raises."""
    return SecurityError(f"a message may not loop more than {MAX_ITERATIONS} times")


@pass_context
def _counted(context: Context, value: Any) -> Iterator[Any]:
    """The items of a loop, counted against the render's budget (nested loops over long
    lists could otherwise run for hours)."""
    budget = context.parent[_BUDGET]
    for item in value:
        budget[0] -= 1
        if budget[0] < 0:
            raise loop_limit()
        yield item


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja's immutable sandbox over plain data: mappings have items and no attributes,
    nothing is called, `**` and `%` formatting are refused, repetition is bounded."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            value = obj.get(attribute, MISSING)
            return self.undefined(obj=obj, name=attribute) if value is MISSING else value
        if isinstance(obj, LoopContext) and attribute in LOOP_ATTRIBUTES:
            return getattr(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is dict:
            try:
                value = obj.get(argument, MISSING)
            except TypeError:  # an unhashable key
                value = MISSING
            return self.undefined(obj=obj, name=argument) if value is MISSING else value
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
    return render_part(template, data, [MAX_ITERATIONS]).strip()


def render_part(template: Template, data: dict[str, Any], budget: list[int]) -> str:
    """`render_sandboxed` of one part of a message, its loops counted against `budget` (the
    iterations left to the whole message), its text not stripped."""
    ctx = Context(_ENV, {**data, _BUDGET: budget}, None, template.blocks)
    return "".join(template.root_render_func(ctx))
