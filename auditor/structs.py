"""msgspec Structs that mirror the pydantic models, for JSON decoded and type-checked in one pass.

msgspec decodes JSON straight into typed objects in C, refusing any value not of its field's
type: a page or an image of plain values costs one call, and everything else can then take
the validated path (pydantic and the models' own hooks) unchanged. `struct_of(model, shape)`
walks the model's fields: the same names in the same order, each of the field's JSON type
(`str`, `int`, `bool`, lists, mappings; `None` where the model allows it; a nested model is a
nested Struct of the same shape), the model's length and range constraints kept. A *shape*
says where a document differs from the models (the API's wrapper levels, fields it never
holds): a field's type replaced (its default then None), or the field left out (`OMIT`).
An annotation the walk does not know raises TypeError, so a new kind of field is never
decoded loosely. Built once per (model, shape), when first asked for.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import annotated_types
import msgspec
from pydantic import BaseModel
from pydantic.fields import FieldInfo

OMIT: Any = object()  # in `Shape.types`: the field is not in the Struct
# The options of every Struct here: a key the models do not name refused (msgspec would drop
# it; the models keep it), defaults left out of what is encoded or converted, and no cyclic
# GC tracking (decoded JSON holds no cycles)
STRICT: Mapping[str, Any] = {"forbid_unknown_fields": True, "omit_defaults": True, "gc": False}
# Only a signed 64-bit integer decodes: orjson (the paths these decoders stand in for) reads
# one past 64 bits as a float, which the validated path then takes, rounded; msgspec bounds
# no wider, so 2**63 to 2**64 - 1 go the old way too
INT64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_SCALARS = (str, int, bool, float, datetime)
# pydantic's constraint objects, each by the name both pydantic and msgspec give its bound
_BOUNDS = {annotated_types.MinLen: "min_length", annotated_types.MaxLen: "max_length",
           annotated_types.Ge: "ge", annotated_types.Gt: "gt", annotated_types.Le: "le",
           annotated_types.Lt: "lt"}


@dataclass(frozen=True, eq=False)
class Shape:
    """How documents of one kind differ from the models, and the Structs' options."""

    name: str  # appended to each model's name: `ImageApi`
    types: Mapping[tuple[type[BaseModel], str], Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=lambda: STRICT)
    scalars: Mapping[type, Any] = field(default_factory=dict)  # e.g. int -> a bounded int
    built: dict[type[BaseModel], type[msgspec.Struct]] = field(default_factory=dict)


def optional(annotation: Any) -> tuple[Any, bool]:
    """`X | None` as `(X, True)`; any other annotation (a wider union too) as it is, False."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def struct_of(model: type[BaseModel], shape: Shape) -> type[msgspec.Struct]:
    """The Struct of `model`'s documents of this shape (see the module doc)."""
    if model not in shape.built:
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        for name, info in model.model_fields.items():
            replaced = shape.types.get((model, name))
            if replaced is OMIT:
                continue
            if replaced is not None:
                fields.append((name, replaced, None))
                continue
            kind = _constrained(_json_type(info.annotation, shape), info)
            fields.append((name, kind) if info.is_required() else (name, kind, _default(info)))
        shape.built[model] = msgspec.defstruct(f"{model.__name__}{shape.name}", fields,
                                               module=__name__, **shape.options)
    return shape.built[model]


def _json_type(annotation: Any, shape: Shape) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        converted = [_json_type(arg, shape) for arg in args]
        union = converted[0]
        for arg in converted[1:]:
            union = union | arg
        return union
    if origin is list:
        return list[_json_type(args[0], shape)]  # type: ignore[misc]
    if origin is dict:
        return dict[_json_type(args[0], shape), _json_type(args[1], shape)]  # type: ignore[misc]
    if annotation is type(None) or annotation is Any:
        return annotation
    if annotation in _SCALARS:
        return shape.scalars.get(annotation, annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_of(annotation, shape)
    raise TypeError(f"no JSON type for the annotation {annotation!r}")


def _constrained(kind: Any, info: FieldInfo) -> Any:
    """The field's length and range constraints (`Field(min_length=1)`) as msgspec's, on
    its value (a null stays allowed where the model allows it, as pydantic does)."""
    bounds: dict[str, Any] = {}
    for constraint in info.metadata:
        if type(constraint) not in _BOUNDS:
            raise TypeError(f"no msgspec form for the constraint {constraint!r}")
        name = _BOUNDS[type(constraint)]
        bounds[name] = getattr(constraint, name)
    if not bounds:
        return kind
    value, nullable = optional(kind)
    constrained: Any = Annotated[value, msgspec.Meta(**bounds)]
    return constrained | None if nullable else constrained


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return msgspec.field(default_factory=info.default_factory)  # type: ignore[arg-type]
    return info.default
