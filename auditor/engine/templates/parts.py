"""Messages with loops or filters, rendered a part at a time.

A message such as `{{ image.ImageId }} ... {% for item in ... %}...{% endfor %}` is text,
substitutions the quick path renders (`quick.py`), and parts only the sandbox can render: a
`{% for %}`, an `{% if %}`, an expression with filters. Each such part is compiled alone and
rendered in the sandbox over the same plain data, its loops counted against the budget of the
whole message, and the parts' texts joined and stripped as jinja renders the whole. For a
canonical image's mapping (`auditor.canonical`: the data a scan reads), a part's text is
remembered by the values it reads (its image fields and variables, as exact JSON): the same
values always render the same text, so findings that share them (the same risk items, the
same missing tags) render the part once. A part whose values rarely repeat stops remembering.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson
from jinja2 import nodes

from auditor.canonical import RawImage
from auditor.engine.templates.checker import Checker
from auditor.engine.templates.data import MISSING, Renderer, image_reader
from auditor.engine.templates.quick import Lookup, expression
from auditor.engine.templates.sandbox import (
    _ENV,
    MAX_ITERATIONS,
    loop_limit,
    render_part,
    sandboxed,
)
from auditor.engine.templates.shapes import VARIABLES
from auditor.models import Image

MAX_REMEMBERED = 4096  # texts remembered per part
_TRIAL = 512  # renders after which a part remembers on only if a quarter of them repeated


class _Part:
    """One part only the sandbox renders; its texts remembered by the values it reads."""

    def __init__(self, node: nodes.Node, params: Collection[str]) -> None:
        checker = Checker(params)
        checker.body([node])
        self.fields = sorted(checker.image_fields) if checker.image_fields is not None else None
        self.names = sorted({name.name for name in node.find_all(nodes.Name)}
                            & set(VARIABLES) - {"image"})
        tree = nodes.Template([node], lineno=1)
        tree.set_environment(_ENV)
        self.template = sandboxed(tree)
        self.data = image_reader(checker.image_fields)
        self.texts: dict[bytes, tuple[str, int]] = {}
        self.remembering = self.fields is not None
        self.renders = self.repeats = 0

    def key(self, raw: RawImage, variables: dict[str, Any]) -> bytes | None:
        """The values the part reads, as exact JSON (a date by its repr: its zone too); None
        when they cannot be written (an integer past 64 bits)."""
        fields = self.fields or ()
        try:
            return orjson.dumps([[variables.get(name) for name in self.names],
                                 [raw.get(field) for field in fields]],
                                option=orjson.OPT_PASSTHROUGH_DATETIME, default=repr)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return None

    def render(self, image: Image | RawImage, variables: dict[str, Any],
               budget: list[int]) -> str:
        key = self.key(image, variables) if self.remembering and type(image) is dict else None
        if key is not None:
            self.renders += 1
            known = self.texts.get(key)
            if known is not None:
                self.repeats += 1
                text, used = known
                budget[0] -= used  # the loops it ran count as if it ran them again
                if budget[0] < 0:
                    raise loop_limit()
                return text
            if self.renders == _TRIAL and self.repeats * 4 < self.renders:
                self.remembering = False
                self.texts.clear()
        left = budget[0]
        text = render_part(self.template, {**variables, "image": self.data(image)}, budget)
        if key is not None and self.remembering and len(self.texts) < MAX_REMEMBERED:
            self.texts[key] = (text, left - budget[0])
        return text


def parts_renderer(tree: nodes.Template, params: Collection[str]) -> Renderer | None:
    """The message rendered a part at a time (a fresh parse of a checked template: its
    loops are wrapped here); None when no part needs the sandbox (the quick path's)."""
    parts: list[str | Lookup | _Part] = []
    for node in tree.body:
        children = node.nodes if isinstance(node, nodes.Output) else [node]
        for child in children:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
            elif isinstance(node, nodes.Output) and (found := expression(child)) is not None:
                parts.append(found)
            elif isinstance(node, nodes.Output):
                parts.append(_Part(nodes.Output([child], lineno=child.lineno), params))
            else:
                parts.append(_Part(child, params))
    if not any(isinstance(part, _Part) for part in parts):
        return None

    def render(image: Image | RawImage, variables: dict[str, Any]) -> str:
        budget = [MAX_ITERATIONS]
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, _Part):
                out.append(part.render(image, variables, budget))
            else:
                value = part(image, variables)
                out.append("" if value is None or value is MISSING else str(value))
        return "".join(out).strip()

    return render
