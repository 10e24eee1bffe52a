"""What a template expression holds, as the load-time check knows it, and how reading
`shape.key` is checked (a misspelt name is refused with a did-you-mean)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes
from pydantic import BaseModel

from auditor.engine.fields import DICT, LIST, MODEL, _kind
from auditor.engine.templates.sandbox import LOOP_ATTRIBUTES
from auditor.models import Image
from auditor.structs import optional
from auditor.yamlio import did_you_mean

VARIABLES = ("image", "params", "rule", "region", "account")
RULE_KEYS = ("id", "title", "severity")

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
        return model_shape(element, name)
    if kind == LIST:
        item = (model_shape(element, f"{name}[]") if element is not None
                else Shape(SCALAR, f"{name}[]"))
        return Shape(SEQ, name, item=item)
    if kind == DICT:
        return Shape(MAPPING, name, item=Shape(SCALAR, f"{name}[]"))
    bare, _ = optional(annotation)
    return Shape(SCALAR, name, numeric=bare in (int, float))


def model_shape(model: type[BaseModel], name: str) -> Shape:
    fields = {key: _annotation_shape(info.annotation, f"{name}.{key}")
              for key, info in model.model_fields.items()}
    return Shape(RECORD, name, fields=fields)


IMAGE = model_shape(Image, "image")
ANY_DATA = Shape(DATA, "value")


class RefusedError(Exception):
    def __init__(self, text: str, node: nodes.Node) -> None:
        super().__init__(text)
        self.line = getattr(node, "lineno", 1) or 1


def refuse(node: nodes.Node, text: str) -> RefusedError:
    return RefusedError(f"message template: {text}", node)


def member(node: nodes.Node, shape: Shape, key: str | int) -> Shape:
    """The shape of `shape.key` / `shape[key]`; refuses a name the shape does not have."""
    if shape.kind == RECORD:
        if key in shape.fields:
            return shape.fields[str(key)]
        hint = did_you_mean(str(key), shape.fields)
        if shape.name == "params":
            declared = ", ".join(shape.fields) or "none"
            raise refuse(node, f"unknown param {key!r}{hint}; the rule declares: {declared}")
        raise refuse(node, f"{shape.name} has no field {key!r}{hint}")
    if shape.kind == MAPPING and shape.item is not None:
        return shape.item
    if shape.kind == SEQ and shape.item is not None:
        if isinstance(key, int):
            return shape.item
        raise refuse(node, f"{shape.name} is a list: loop over it "
                          f"(`{{% for x in {shape.name} %}}`) or take one item ([0])")
    if shape.kind == LOOP:
        if key in LOOP_ATTRIBUTES:
            return shape.item if key in ("previtem", "nextitem") and shape.item else Shape(
                SCALAR, f"loop.{key}", numeric=key not in ("first", "last"))
        hint = did_you_mean(str(key), LOOP_ATTRIBUTES)
        raise refuse(node, f"loop has no attribute {key!r}{hint}; it has "
                          f"{', '.join(sorted(LOOP_ATTRIBUTES))}")
    if shape.kind == SCALAR:
        if isinstance(key, int):
            return Shape(SCALAR, f"{shape.name}[{key}]")
        raise refuse(node, f"{shape.name} is a single value, it has no {key!r} "
                          "(use filters, e.g. `| upper`)")
    return ANY_DATA
