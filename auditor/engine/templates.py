"""Finding messages: jinja2 templates compiled at load time, rendered in a sandbox.

The engine imports jinja2's sandbox for this one purpose (a rule file can never run code).
Output is plain text; reporters escape it for their format. Templates are checked at load:
syntax, the variables they read (`image`, `params`, `rule`, `region`), and no access to
underscore attributes; at render time the sandbox still refuses unsafe access, and a failing
render falls back to the rule's title instead of stopping the scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from auditor.yamlio import did_you_mean

VARIABLES = ("image", "params", "rule", "region")

Renderer = Callable[[dict[str, Any]], str]


def _finalize(value: Any) -> Any:
    return "" if value is None else value


_ENV = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=ChainableUndefined, finalize=_finalize, keep_trailing_newline=False
)


class TemplateError(ValueError):
    """A template that cannot be used; `line` is the line inside the template."""

    def __init__(self, text: str, line: int = 1) -> None:
        super().__init__(text)
        self.line = line


def _private_access(tree: nodes.Template) -> str | None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
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
    template = _ENV.from_string(source)

    def render(context: dict[str, Any]) -> str:
        return template.render(context).strip()

    return render
