"""Finding messages: jinja2 templates compiled at load time, rendered in a sandbox.

The engine imports jinja2's sandbox for this one purpose (a rule file can never run code).
Output is plain text; reporters escape it for their format. Templates are checked at load:
syntax, the variables they read (`image`, `params`, `rule`, `region`), and no access to
underscore attributes; at render time the sandbox still refuses unsafe access, and a failing
render falls back to the rule's title instead of stopping the scan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from auditor.yamlio import did_you_mean

VARIABLES = ("image", "params", "rule", "region")

Renderer = Callable[[dict[str, Any]], str]


def _finalize(value: Any) -> Any:
    return "" if value is None else value


_DATA = (str, int, float, bool, type(None), datetime, date, list, dict, BaseModel)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a quick yes for reading plain data attributes.

    Reading a public attribute whose value is data (not a callable) cannot run code; every
    other access, and every call, still goes through jinja's own checks.
    """

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(value, _DATA) and not attr.startswith("_"):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """jinja's own `obj.attribute`, returning public data at once (data is never the
        `str.format` method jinja wraps, and `is_safe_attribute` says yes to it): a third of
        the time of a message with a loop."""
        if attribute.startswith("_"):
            return super().getattr(obj, attribute)
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            return super().getattr(obj, attribute)  # item lookup, or undefined
        if isinstance(value, _DATA):
            return value
        fmt = self.wrap_str_format(value)
        if fmt is not None:
            return fmt
        if self.is_safe_attribute(obj, attribute, value):
            return value
        return self.unsafe_undefined(obj, attribute)


_ENV = _Sandbox(
    autoescape=False, undefined=ChainableUndefined, finalize=_finalize, keep_trailing_newline=False
)


class TemplateError(ValueError):
    """A template that cannot be used; `line` is the line inside the template."""

    def __init__(self, text: str, line: int = 1) -> None:
        super().__init__(text)
        self.line = line


def _private_access(tree: nodes.Template) -> str | None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name: Any
        if isinstance(node, nodes.Getattr):
            name = node.attr
        else:
            name = getattr(getattr(node, "arg", None), "value", None)
        if isinstance(name, str) and name.startswith("_"):
            return name
    return None


def compile_message(source: str) -> Renderer:
    """Check and compile a message template; raises TemplateError."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"message template: {exc.message}", exc.lineno or 1) from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(VARIABLES))
    if unknown:
        hint = did_you_mean(unknown[0], VARIABLES)
        raise TemplateError(
            f"message template reads unknown variable {unknown[0]!r}{hint}; "
            f"available: {', '.join(VARIABLES)}"
        )
    private = _private_access(tree)
    if private:
        raise TemplateError(f"message template may not read private attribute {private!r}")
    fast = _fast_renderer(tree)
    if fast is not None:
        return fast
    template = _ENV.from_string(source)
    env_globals = dict(_ENV.globals)

    def render(context: dict[str, Any]) -> str:
        # jinja's render() merges its globals (a ChainMap, slow to iterate) into every new
        # context; building the context from a plain dict gives the same text, several times
        # faster.
        ctx = Context(_ENV, {**env_globals, **context}, None, template.blocks)
        return "".join(template.root_render_func(ctx)).strip()

    return render


# Most messages are text with `{{ image.Field }}` substitutions. Rendering those through the
# sandbox costs ~100 us per finding; this path gives the same output (jinja's lookup order,
# None and undefined as "") in ~2 us. It reads attributes only, calls nothing but `str()` on a
# value (`| string`, as every output does) and slices with constants; private names were
# refused above, so it is no less safe than the sandbox.
_MISSING = object()
Lookup = Callable[[dict[str, Any]], Any]


def _get_attr(obj: Any, name: Any) -> Any:
    """jinja's `a.b`: attribute first, then item."""
    try:
        return getattr(obj, name)
    except (AttributeError, TypeError):
        pass
    try:
        return obj[name]
    except (TypeError, LookupError, AttributeError):
        return _MISSING


def _get_item(obj: Any, key: Any) -> Any:
    """jinja's `a['b']`: item first, then attribute."""
    try:
        return obj[key]
    except (TypeError, LookupError, AttributeError):
        pass
    if isinstance(key, str):
        return getattr(obj, key, _MISSING)
    return _MISSING


def _lookup(node: nodes.Node) -> Lookup | None:
    """A compiled `name.attr['key']...` chain, or None for anything else."""
    steps: list[tuple[Callable[[Any, Any], Any], Any]] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            steps.append((_get_attr, node.attr))
        elif isinstance(node.arg, nodes.Const):
            steps.append((_get_item, node.arg.value))
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name) or node.name not in VARIABLES:
        return None
    name, steps = node.name, steps[::-1]

    def lookup(context: dict[str, Any]) -> Any:
        value = context.get(name, _MISSING)
        for step, arg in steps:
            if value is _MISSING:
                break
            value = step(value, arg)
        return value

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

    def get(context: dict[str, Any]) -> Any:
        value = inner(context)
        return "" if value is _MISSING else str(value)

    return get


def _sliced(inner: Lookup, part: slice) -> Lookup:
    """jinja's `x[a:b]`, compiled by jinja as plain Python slicing: an undefined value stays
    undefined (renders empty), slicing what cannot be sliced raises as it does there."""

    def get(context: dict[str, Any]) -> Any:
        value = inner(context)
        return _MISSING if value is _MISSING else value[part]

    return get


def _expression(node: nodes.Node) -> Lookup | None:
    """A lookup chain, optionally through `| string` and constant slices `[:10]`."""
    if isinstance(node, nodes.Filter):
        plain = not (node.args or node.kwargs or node.dyn_args or node.dyn_kwargs)
        inner = _expression(node.node) if plain and node.name == "string" and node.node else None
        return _string_of(inner) if inner is not None else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
        part = _const_slice(node.arg)
        inner = _expression(node.node) if part is not None else None
        return _sliced(inner, part) if inner is not None and part is not None else None
    return _lookup(node)


def _fast_renderer(tree: nodes.Template) -> Renderer | None:
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

    def render(context: dict[str, Any]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part(context)
                out.append("" if value is None or value is _MISSING else str(value))
        return "".join(out).strip()

    return render
