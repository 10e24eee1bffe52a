"""Saved images decoded and type-checked in C (msgspec), instead of parsed by orjson and then
checked in Python (`auditor.canonical`).

The msgspec types are Structs generated from the pydantic models (`Image` and the models it
nests), field by field, so they cannot drift from them: a field of a type, constraint or
validator not mapped here stops the import (and `tests/test_typed.py`). A value decodes only
when the canonical check would keep it, and a fix generated per model then normalises what
that check normalises, with the same functions: an integer in a text field becomes its
decimal text, a JSON boolean `IsSelfShared` `"true"`/`"false"`, a time's text the model's own
parse (`canonical.creation_time`, `canonical.datetime_text`; msgspec's own datetime differs:
it rounds past 6 fraction digits, its zones are other classes). So an image's mapping
(`record`) is what `canonical` makes of its orjson parse. Anything else is refused, and the
image is read as before (orjson, `canonical`, validation with its data-quality notes):
- a field the models do not name (the models keep it, `extra="allow"`; msgspec would drop it);
- a value the model would read otherwise or note: another JSON type, an empty `ImageId`, an
  integer outside 64 signed bits (orjson reads one past 64 bits as a float), a time that
  does not parse;
- what the models' `before` validators would change (`_VALIDATED`): an `IsSelfShared` text
  other than `"true"`/`"false"`, a null or wrapped list;
- text msgspec will not read (bytes that are not UTF-8, a lone surrogate escape).

A missing field and one given as its default read alike (the engine reads a missing key as
the model's default: `auditor.engine.codegen`), so defaults are left out of the mapping
(`omit_defaults`: smaller mappings, made faster).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson
from annotated_types import MinLen
from pydantic import BaseModel

from auditor.canonical import RawImage, creation_time, datetime_text, known_validators
from auditor.models import INVENTORY_FORMAT, Image, Inventory, RegionInventory

_NONE = type(None)
# Only a signed 64-bit integer decodes here: orjson reads one past 64 bits as a float (which
# the model then takes, rounded), and msgspec bounds no further (2**63 to 2**64 - 1 go the old
# way, which reads them as they are)
_INT = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_OPTIONS: dict[str, Any] = {"forbid_unknown_fields": True, "omit_defaults": True,
                            "gc": False, "kw_only": True}

# The models' `before` validators (`canonical.known_validators()`): the type that decodes only
# values each keeps or normalises as the line after decoding does (None: the field's own
# type, since the validator changes only null, which that type refuses, and API wrappers,
# which are not lists). `{v}` is the field's value.
_VALIDATED: dict[tuple[type[BaseModel], str], tuple[Any, str] | None] = {
    (Image, "CreationTime"): None,  # text, then the model's own parse (`_TIMES`)
    # the model's own spelling, "true"/"false" (`Image._bool_as_text`), of a JSON boolean
    (Image, "IsSelfShared"): (Literal["true", "false"] | bool,
                              'if type({v}) is bool: {v} = "true" if {v} else "false"'),
    **{key: None for key in known_validators() if key[0] is not Image},  # lists: null -> []
}
# How each time field's text is parsed: the model's own validator, else pydantic's parse
_TIMES: dict[tuple[type[BaseModel], str], Callable[[str], Any]] = {
    (Image, "CreationTime"): creation_time,
}
# After decoding: an integer in a text field becomes its decimal text (pydantic's
# `coerce_numbers_to_str`, as `canonical` does); a time's text is parsed (False: it won't).
# `{v}` is the value, `{f}` the function used.
_TEXT_OF_NUMBER = ["if type({v}) is int: {v} = str({v})"]
_TIME = ["if {v} is not None:", "    x = {f}({v})",
         "    if type(x) is not datetime: return False", "    {v} = x"]
_NESTED = ["if {v} is not None and not {f}({v}): return False"]
_EACH = ["for x in {v}:", "    if not {f}(x): return False"]

Fix = Callable[[Any], bool]  # converts a decoded object's values in place; False: one won't


def _optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not _NONE]
        if len(args) == 1:
            return args[0], True
    return annotation, False


class _Types:
    """The msgspec type of each model (a Struct), and the function that converts what was
    decoded to what the model holds (generated from field names and fixed lines only)."""

    def __init__(self) -> None:
        self.structs: dict[type[BaseModel], type[msgspec.Struct]] = {}
        self.fixes: dict[type[BaseModel], Fix] = {}
        self.namespace: dict[str, Any] = {"datetime": datetime}

    def struct(self, model: type[BaseModel]) -> type[msgspec.Struct]:
        if model in self.structs:
            return self.structs[model]
        unknown = set(model.__pydantic_decorators__.model_validators) - (
            {"_collapse"} if model is Image else set())  # a saved image is never collapsed
        if unknown:
            raise TypeError(f"{model.__name__}: model validators {sorted(unknown)} are not "
                            "honoured here")
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        lines = ["def fix(o):"]
        for name, info in model.model_fields.items():
            if info.alias is not None or info.validation_alias is not None:
                raise TypeError(f"{model.__name__}.{name}: an alias is not decoded here")
            kind, code = self.field_type(model, name, info.annotation, info.metadata)
            lines += ["    " + line.replace("{v}", f"o.{name}") for line in code]
            if info.is_required():
                fields.append((name, kind))
                continue
            default = info.get_default(call_default_factory=True)
            if default is None:
                fields.append((name, kind, None))
            elif type(default) in (list, dict) and not default:
                fields.append((name, kind, msgspec.field(default_factory=type(default))))
            else:
                raise TypeError(f"{model.__name__}.{name}: default {default!r} is not "
                                "decoded here")
        self.structs[model] = msgspec.defstruct(model.__name__, fields, **_OPTIONS)
        namespace = dict(self.namespace)
        exec("\n".join([*lines, "    return True"]), namespace)  # field names, fixed lines
        self.fixes[model] = namespace["fix"]
        return self.structs[model]

    def _lines(self, template: list[str], function: Callable[..., Any]) -> list[str]:
        """A template's lines calling `function` (by a name of the generated code's own)."""
        name = f"_f{len(self.namespace)}"
        self.namespace[name] = function
        return [line.replace("{f}", name) for line in template]

    def field_type(self, model: type[BaseModel], name: str, annotation: Any,
                   metadata: list[Any]) -> tuple[Any, list[str]]:
        """The strict msgspec type of one model field, and the lines that convert its
        decoded value (`{v}`) to what the model holds."""
        inner, optional = _optional(annotation)
        validated = {field for decorator in model.__pydantic_decorators__.field_validators
                     .values() for field in decorator.info.fields}
        if name in validated and (model, name) not in _VALIDATED:
            raise TypeError(f"{model.__name__}.{name}: its validator is not honoured here")
        special = _VALIDATED.get((model, name))
        kind, code = ((special[0], special[1].splitlines()) if special is not None
                      else self.plain_type(model, name, inner))
        for constraint in metadata:  # ImageId's: text only, as `canonical` takes it
            if not isinstance(constraint, MinLen) or inner is not str:
                raise TypeError(f"{model.__name__}.{name}: {constraint!r} is not decoded here")
            kind, code = Annotated[str, msgspec.Meta(min_length=constraint.min_length)], []
        return (kind | None if optional else kind), code

    def plain_type(self, model: type[BaseModel], name: str,
                   annotation: Any) -> tuple[Any, list[str]]:
        if annotation is str:
            return str | _INT, _TEXT_OF_NUMBER
        if annotation is bool:
            return bool, []
        if annotation is int:
            return _INT, []
        if annotation is datetime:  # its text, parsed after decoding
            return str, self._lines(_TIME, _TIMES.get((model, name), datetime_text))
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is dict and args == (str, str):
            return dict[str, str], []  # every value text, as `canonical` wants
        if origin is list and args == (str,):
            return list[str], []
        if origin is list and len(args) == 1 and issubclass(args[0], BaseModel):
            struct = self.struct(args[0])
            return list[struct], self._lines(_EACH, self.fixes[args[0]])  # type: ignore[valid-type]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            struct = self.struct(annotation)
            return struct, self._lines(_NESTED, self.fixes[annotation])
        raise TypeError(f"{model.__name__}.{name}: {annotation!r} is not decoded here")


_TYPES = _Types()
IMAGE = _TYPES.struct(Image)
_FIX_IMAGE = _TYPES.fixes[Image]
_IMAGE = msgspec.json.Decoder(IMAGE)


def structs() -> dict[type[BaseModel], type[msgspec.Struct]]:
    """The Struct made of each model (for tests)."""
    return dict(_TYPES.structs)


def image(data: bytes | bytearray | memoryview | msgspec.Raw) -> Any:
    """One saved image's JSON as an IMAGE, its times parsed; None when it is refused."""
    try:
        decoded = _IMAGE.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    return decoded if _FIX_IMAGE(decoded) else None


def record(decoded: Any) -> RawImage:
    """An IMAGE as the mapping the engine reads (`auditor.canonical`'s canonical image)."""
    mapping: RawImage = msgspec.to_builtins(decoded, builtin_types=(datetime,))
    return mapping


# A JSON Lines image line, `{"region": ..., ["account_id": ...,] "image": {...}}`
_LINE = msgspec.defstruct("Line", [("region", str), ("image", IMAGE),
                                   ("account_id", str | None, None)], **_OPTIONS)
_LINES = msgspec.json.Decoder(_LINE)


def line(text: bytes) -> tuple[str, str | None, Any] | None:
    """A JSON Lines image line as (region, account id, IMAGE); None when it is refused."""
    try:
        decoded: Any = _LINES.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not _FIX_IMAGE(decoded.image):
        return None
    return decoded.region, decoded.account_id, decoded.image


# A saved inventory document: its metadata's values as JSON text, and its images, decoded
# (`_WHOLE`) or as JSON text (`_EACH_IMAGE`); unknown keys refused (they are errors the model
# reports when the document is read the old way).
def _document_type(images: Any) -> type[msgspec.Struct]:
    unset = (msgspec.UnsetType, msgspec.UNSET)
    region = msgspec.defstruct("Region", [
        (name, images | unset[0] if name == "images" else msgspec.Raw | unset[0], unset[1])
        for name in RegionInventory.model_fields], **_OPTIONS)
    return msgspec.defstruct("Document", [
        (name, list[region] | unset[0] if name == "regions"  # type: ignore[valid-type]
         else msgspec.Raw | unset[0], unset[1])
        for name in (*Inventory.model_fields, "layout")], **_OPTIONS)


_WHOLE = msgspec.json.Decoder(_document_type(list[IMAGE]))  # type: ignore[valid-type]
_EACH_IMAGE = msgspec.json.Decoder(_document_type(list[msgspec.Raw]))


class _RefusedError(Exception):
    """The document cannot be read this way."""


def _fields(obj: Any) -> dict[str, Any]:
    """A decoded object's given fields (their JSON text) but images, parsed as orjson would."""
    return {name: orjson.loads(memoryview(value)) for name in obj.__struct_fields__
            if name not in ("images", "regions") and (value := getattr(obj, name))
            is not msgspec.UNSET}


def _whole(entries: list[Any]) -> list[Any]:
    """Images decoded: their times parsed (`_RefusedError` when one won't)."""
    for entry in entries:
        if not _FIX_IMAGE(entry):
            raise _RefusedError
    return entries


def _each(entries: list[Any]) -> list[Any]:
    """Images as JSON text: each decoded, or parsed by orjson when it is refused."""
    for index, raw in enumerate(entries):
        one = image(raw)
        entries[index] = orjson.loads(memoryview(raw)) if one is None else one
    return entries


def document(data: bytes | bytearray | memoryview) -> dict[str, Any] | None:
    """A saved inventory document as its parsed JSON, each image an IMAGE, or (when the image
    is refused) the parsed JSON orjson gives of it, to be read the old way. The whole document
    is decoded at once; when anything in it is refused, image by image. None when that is
    refused too, or orjson refuses an image: the whole document is then read the old way
    (its notes name places in the whole document)."""
    for decoder, images in ((_WHOLE, _whole), (_EACH_IMAGE, _each)):
        try:
            decoded: Any = decoder.decode(data)
            doc = _fields(decoded)
            if doc.get("format") != INVENTORY_FORMAT:
                return None
            if decoded.regions is not msgspec.UNSET:
                doc["regions"] = []
                for region in decoded.regions:
                    doc["regions"].append(_fields(region))
                    if region.images is not msgspec.UNSET:
                        doc["regions"][-1]["images"] = images(region.images)
            return doc
        except (_RefusedError, msgspec.DecodeError, RecursionError):
            continue
        except orjson.JSONDecodeError:
            return None
    return None
