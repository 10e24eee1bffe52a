"""Finding messages: jinja2 templates checked at load time, rendered over plain data.

A rule file is data, and the scan runs with cloud credentials in its environment, so a
message template must not reach the process. Two walls:

1. At load, the template's syntax tree is walked (`Checker`): it may read only the
   variables `image`, `params`, `rule`, `region`, `account` and loop variables, and only by
   names known to exist (a field of the image model, a declared param, `rule.id`...); it
   may use `{% if %}`, `{% for %}`, whitelisted filters and tests, and nothing else (no
   calls, `set`, macros, includes, `**`). Anything else is a load error, with a
   did-you-mean for a misspelt name.
2. At render time the template sees plain data only (str, int, float, bool, None, lists
   and dicts: the image as its JSON), in jinja's immutable sandbox with no globals, where
   `a.b` on a mapping reads the item `b` and nothing else (so `params.keys` is the param
   `keys`), nothing has attributes or can be called, and text cannot grow without bound.

The parts: `checker` (the first wall, over the expression `shapes`), `sandbox` (the second
wall), `data` (the plain data both see), `quick` (most messages are text with
substitutions; those skip jinja's runtime, with the same output) and `parts` (a message with
loops or filters: the sandbox renders only those parts, and remembers a part's text by the
values it reads when the image is a canonical mapping).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from jinja2 import TemplateSyntaxError

from auditor.canonical import RawImage
from auditor.engine.templates.checker import Checker, refuse_private_names
from auditor.engine.templates.data import Renderer, image_reader, json_value, plain
from auditor.engine.templates.parts import parts_renderer
from auditor.engine.templates.quick import quick_renderer
from auditor.engine.templates.sandbox import (
    _ENV,
    FILTERS,
    MAX_ITERATIONS,
    MAX_TEXT,
    TESTS,
    render_sandboxed,
    sandboxed,
)
from auditor.engine.templates.shapes import RULE_KEYS, VARIABLES, RefusedError
from auditor.models import Image

__all__ = ["FILTERS", "MAX_ITERATIONS", "MAX_SOURCE", "MAX_TEXT", "RULE_KEYS", "TESTS",
           "VARIABLES", "_ENV", "Renderer", "TemplateError", "compile_message", "json_value",
           "plain", "render_sandboxed", "sandboxed"]

MAX_SOURCE = 10_000  # characters of one template


class TemplateError(ValueError):
    """A template that cannot be used; `line` is the line inside the template."""

    def __init__(self, text: str, line: int = 1) -> None:
        super().__init__(text)
        self.line = line


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except RefusedError as exc:
        raise TemplateError(str(exc), exc.line) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"message template: {exc.message}", exc.lineno or 1) from None
    except (RecursionError, SyntaxError):  # SyntaxError: Python's own limits on the code
        # jinja generates (100 levels of indentation: a hundred nested `{% if %}`)
        raise TemplateError("message template: nested too deeply") from None


def compile_message(source: str, params: Collection[str] = (), *,
                    quick: bool = True) -> Renderer:
    """Check and compile a message template; raises TemplateError.

    `params` are the names the rule declares. `quick=False` always renders through jinja
    (the reference the quick path is tested against). Only what renders is compiled for the
    sandbox: a quick message nothing (text and lookups cannot fail to compile), another
    message each part the sandbox renders, which finds every problem jinja's compiler finds
    (such as a loop variable named `loop`); compiling the whole message besides was 60 % of
    loading the built-in rules' templates."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"message template is longer than {MAX_SOURCE} characters")
    checker = Checker(params)
    with _refusals():
        tree = _ENV.parse(source)
        refuse_private_names(tree)
        checker.body(tree.body)
        fast = quick_renderer(tree) if quick else None
        if fast is None and quick:  # loops or filters: the sandbox renders those parts only
            fast = parts_renderer(tree, params)
        if fast is not None:
            return fast
        template = sandboxed(tree)
    image_data = image_reader(checker.image_fields)

    def render(image: Image | RawImage, variables: dict[str, Any]) -> str:
        return render_sandboxed(template, {**variables, "image": image_data(image)})

    return render
