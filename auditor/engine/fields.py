"""Field paths (`Features.NvmeSupport`, `Tags.owner`) resolved against the pydantic image model.

A path is checked once, at load time, and turned into a precompiled getter; a missing value
anywhere on the way (`Features` is null, a tag is absent) reads as None. So does an empty
string: the API sends `""` for what it did not set (`DetectionOptions.Status` of an image
never checked, `ProductCode` of a custom image), so `""` is missing for every operator.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from pydantic import BaseModel

from auditor.models import SAVED_SHAPE
from auditor.structs import optional
from auditor.yamlio import did_you_mean

Getter = Callable[[Any], Any]

# What kind of value a field holds; operators declare which kinds they accept.
STR, INT, FLOAT, BOOL, DATETIME, DICT, LIST, MODEL, ANY = (
    "string", "integer", "number", "boolean", "date-time", "mapping", "list", "object", "any",
)


@dataclass(frozen=True)
class FieldRef:
    """A resolved field path: what it holds and how to read it."""

    path: str
    kind: str
    get: Getter
    element: type[BaseModel] | None = None  # the item model of a list, or the nested model
    names: tuple[str, ...] = ()  # the attributes `get` reads, in order (for generated code)
    key: str | None = None  # the mapping key `get` reads after them (`Tags.<key>`)
    defaults: tuple[Any, ...] = ()  # each name's default in its model (a missing key reads so)

    def read(self, raw: Any) -> Any:
        """`get` on a canonical image's mapping (`auditor.canonical`) instead of the model:
        a missing key reads as the model's default, so the answer is the model's."""
        value = raw
        for name, default in zip(self.names, self.defaults, strict=True):
            if value is None:
                return None
            value = value.get(name, default)
        if self.key is not None:
            return None if value is None else value.get(self.key) or None
        return None if value == "" and self.kind in BLANKABLE else value

    def reader(self) -> Getter:
        """`read`, as a function of its own: for a field of the image itself (most of them),
        one `.get` without the walk along the path (explanations read 100,000s of values)."""
        if len(self.names) != 1 or self.key is not None:
            return self.read
        name, default = self.names[0], self.defaults[0]
        if self.kind in BLANKABLE:
            def blank(raw: Any) -> Any:
                value = None if raw is None else raw.get(name, default)
                return None if value == "" else value
            return blank
        return lambda raw: None if raw is None else raw.get(name, default)

    def modelled(self, value: Any) -> Any:
        """A value `read` from a canonical mapping as the model holds it: a nested object's
        mapping (or a list of them) validated into its model, so that showing the value
        whole (evidence, a message) shows exactly what the model would."""
        element = self.element
        if element is None or value is None:
            return value
        if self.kind == MODEL:
            return element.model_validate(value, context=SAVED_SHAPE)
        return [element.model_validate(item, context=SAVED_SHAPE) for item in value]


class FieldPathError(ValueError):
    """A path that names no field; the message carries a did-you-mean."""


def _kind(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    annotation, _ = optional(annotation)  # a wider union: ANY
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        is_model = isinstance(item, type) and issubclass(item, BaseModel)
        return LIST, item if is_model else None
    if origin is dict:
        return DICT, None
    simple = {str: STR, bool: BOOL, int: INT, float: FLOAT, datetime: DATETIME, date: DATETIME}
    if annotation in simple:
        return simple[annotation], None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return MODEL, annotation
    return ANY, None


BLANKABLE = (STR, ANY)  # kinds whose empty string reads as missing


def _chain_getter(names: list[str], kind: str) -> Getter:
    read = attrgetter(".".join(names))
    if len(names) == 1 and kind not in BLANKABLE:
        return read

    def get(obj: Any) -> Any:
        try:
            value = read(obj)
        except AttributeError:  # an object on the way is None
            return None
        return None if value == "" and kind in BLANKABLE else value

    return get


def _tag_getter(names: list[str], key: str) -> Getter:
    read = attrgetter(".".join(names))

    def get(obj: Any) -> Any:
        mapping = read(obj)
        return None if mapping is None else mapping.get(key) or None  # values are strings

    return get


def resolve(path: str, model: type[BaseModel]) -> FieldRef:
    """Resolve `path` against `model`; raises FieldPathError with a did-you-mean."""
    parts = path.split(".")
    names: list[str] = []
    current: type[BaseModel] | None = model
    kind, element = MODEL, None
    defaults: list[Any] = []
    for i, part in enumerate(parts):
        if kind == DICT:  # any key of a mapping (Tags.<key>): the rest is the key itself
            key = ".".join(parts[i:])
            return FieldRef(path, STR, _tag_getter(names, key), names=tuple(names), key=key,
                            defaults=tuple(defaults))
        if kind == LIST:
            raise FieldPathError(
                f"{'.'.join(names)!r} is a list: read its items with some/every/none, e.g. "
                f"{{{'.'.join(names)}: {{some: {{{'.'.join(parts[i:])}: ...}}}}}}"
            )
        if current is None or kind != MODEL:
            raise FieldPathError(f"field {'.'.join(names)!r} has no sub-fields")
        fields = current.model_fields
        if part not in fields:
            where = f" of {'.'.join(names)}" if names else ""
            hint = did_you_mean(part, fields) or f"; known: {', '.join(fields)}"
            raise FieldPathError(f"unknown field {part!r}{where}{hint}")
        names.append(part)
        defaults.append(fields[part].get_default(call_default_factory=True))
        kind, element = _kind(fields[part].annotation)
        current = element
    return FieldRef(path, kind, _chain_getter(names, kind), element, names=tuple(names),
                    defaults=tuple(defaults))


def field_paths(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Every field path a rule can name on `model`, with its kind: nested objects walked
    (`Features.NvmeSupport`), a mapping as `Tags.<key>`, a list's items as `List[].Field`
    (read with some/every/none)."""
    paths: dict[str, str] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        kind, element = _kind(info.annotation)
        if kind == DICT:
            paths[f"{path}.<key>"] = STR
        else:
            paths[path] = kind
        if element is not None:
            paths |= field_paths(element, f"{path}[]." if kind == LIST else f"{path}.")
    return paths
