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

`Decoding` reads one input: a JSON document whole (then image by image when anything is
refused), or JSON Lines a line at a time. A text field takes integers once one was found
holding one (so the fix checks only those), and when most images are refused it stops
trying (a refusal at an image's end costs what decoding it does).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeGuard

import msgspec
import orjson
from annotated_types import MinLen
from pydantic import BaseModel

from auditor.canonical import RawImage, creation_time, datetime_text, known_validators
from auditor.models import INVENTORY_FORMAT, Image, Inventory, RegionInventory
from auditor.structs import INT64, STRICT, Shape, optional, struct_of

_NONE = type(None)
_OPTIONS: dict[str, Any] = {**STRICT, "kw_only": True}

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


class _Walk:
    """A walk of the models for `auditor.structs.struct_of`: what its Structs take where
    the saved shape differs from the models (`types`: a text field also takes an integer,
    `_VALIDATED`), and the function that converts a decoded object to what its model holds
    (`fixes`, generated from field names and fixed lines only). Whatever it does not know
    (a type, a constraint, a validator, an alias, a default) raises TypeError."""

    def __init__(self, numbers: frozenset[tuple[type[BaseModel], str]] | None) -> None:
        self.numbers = numbers  # the text fields that take an integer (None: every one)
        self.texts: set[tuple[type[BaseModel], str]] = set()
        self.types: dict[tuple[type[BaseModel], str], Any] = {}
        self.fixes: dict[type[BaseModel], Fix | None] = {}
        self.namespace: dict[str, Any] = {"datetime": datetime}

    def fix(self, model: type[BaseModel]) -> Fix | None:
        """The model's fix, None when it has nothing to do."""
        if model in self.fixes:
            return self.fixes[model]
        unknown = set(model.__pydantic_decorators__.model_validators) - (
            {"_collapse"} if model is Image else set())  # a saved image is never collapsed
        if unknown:
            raise TypeError(f"{model.__name__}: model validators {sorted(unknown)} are not "
                            "honoured here")
        lines = ["def fix(o):"]
        for name, info in model.model_fields.items():
            if info.alias is not None or info.validation_alias is not None:
                raise TypeError(f"{model.__name__}.{name}: an alias is not decoded here")
            default = info.get_default(call_default_factory=True)
            if not info.is_required() and default is not None and (
                    type(default) not in (list, dict) or default):
                raise TypeError(f"{model.__name__}.{name}: default {default!r} is not "
                                "decoded here")
            lines += ["    " + line.replace("{v}", f"o.{name}")
                      for line in self.field(model, name, info.annotation, info.metadata)]
            if info.is_required() and (model, name) in self.types:  # struct_of: default None
                raise TypeError(f"{model.__name__}.{name}: required, but of a type "
                                "replaced here")
        namespace = dict(self.namespace)
        exec("\n".join([*lines, "    return True"]), namespace)  # field names, fixed lines
        self.fixes[model] = namespace["fix"] if len(lines) > 1 else None
        return self.fixes[model]

    def _lines(self, template: list[str], function: Callable[..., Any]) -> list[str]:
        """A template's lines calling `function` (by a name of the generated code's own)."""
        name = f"_f{len(self.namespace)}"
        self.namespace[name] = function
        return [line.replace("{f}", name) for line in template]

    def field(self, model: type[BaseModel], name: str, annotation: Any,
              metadata: list[Any]) -> list[str]:
        """The lines that convert one field's decoded value (`{v}`) to what the model holds
        (and, in `types`, what it decodes from where that is not the field's own type)."""
        inner, nullable = optional(annotation)
        validated = {field for decorator in model.__pydantic_decorators__.field_validators
                     .values() for field in decorator.info.fields}
        if name in validated and (model, name) not in _VALIDATED:
            raise TypeError(f"{model.__name__}.{name}: its validator is not honoured here")
        for constraint in metadata:  # ImageId's: text only, as `canonical` takes it
            if not isinstance(constraint, MinLen) or inner is not str:
                raise TypeError(f"{model.__name__}.{name}: {constraint!r} is not decoded here")
            return []
        special = _VALIDATED.get((model, name))
        if special is not None:
            self.types[model, name] = special[0] | None if nullable else special[0]
            return special[1].splitlines()
        if inner is str:  # a text field: maybe an integer too, made its text (as `canonical`)
            self.texts.add((model, name))
            if self.numbers is not None and (model, name) not in self.numbers:
                return []
            self.types[model, name] = str | INT64 | None if nullable else str | INT64
            return _TEXT_OF_NUMBER
        if inner in (bool, int):
            return []
        if inner is datetime:  # its text (the shape's scalar), parsed after decoding
            return self._lines(_TIME, _TIMES.get((model, name), datetime_text))
        origin, args = typing.get_origin(inner), typing.get_args(inner)
        if (origin, args) in ((dict, (str, str)), (list, (str,))):
            return []  # every value text, as `canonical` wants
        if origin is list and len(args) == 1 and issubclass(args[0], BaseModel):
            nested = self.fix(args[0])
            return [] if nested is None else self._lines(_EACH, nested)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            nested = self.fix(inner)
            return [] if nested is None else self._lines(_NESTED, nested)
        raise TypeError(f"{model.__name__}.{name}: {annotation!r} is not decoded here")


Numbers = frozenset[tuple[type[BaseModel], str]] | None  # text fields taking integers (all)


def _typed(model: type[BaseModel], numbers: Numbers = None,
           ) -> tuple[type[msgspec.Struct], Fix, Shape]:
    """The Struct of the model's saved objects, its fix, and the shape (every Struct made)."""
    walk = _Walk(numbers)
    fix = walk.fix(model) or (lambda decoded: True)
    shape = Shape("Saved", types=walk.types, options=_OPTIONS,
                  scalars={int: INT64, datetime: str})
    return struct_of(model, shape), fix, shape


_FULL = _Walk(None)
_FULL.fix(Image)
_TEXTS = frozenset(_FULL.texts)  # every text field, of every model an image nests
_LEARNED = 4  # text fields learnt one by one to take integers; past that, every one does
_TRIED_ALONE = 32  # images refused one by one before most being refused gives up


def structs() -> dict[type[BaseModel], type[msgspec.Struct]]:
    """The Struct made of each model, every text field taking integers (for tests)."""
    return dict(_typed(Image)[2].built)


# A saved inventory document: its metadata's values as JSON text, and its images, decoded
# (`_Kind.whole`) or as JSON text (`_EACH_IMAGE`); unknown keys refused (they are errors the
# model reports when the document is read the old way).
def _document_type(images: Any) -> type[msgspec.Struct]:
    unset = (msgspec.UnsetType, msgspec.UNSET)
    region = msgspec.defstruct("Region", [
        (name, images | unset[0] if name == "images" else msgspec.Raw | unset[0], unset[1])
        for name in RegionInventory.model_fields], **_OPTIONS)
    return msgspec.defstruct("Document", [
        (name, list[region] | unset[0] if name == "regions"  # type: ignore[valid-type]
         else msgspec.Raw | unset[0], unset[1])
        for name in (*Inventory.model_fields, "layout")], **_OPTIONS)


_EACH_IMAGE = msgspec.json.Decoder(_document_type(list[msgspec.Raw]))


class _RefusedError(Exception):
    """The document cannot be read this way."""


class _Kind:
    """The decoders of saved images whose text fields `numbers` may hold integers (each other
    text field decodes text only, and its fix has nothing to do for it)."""

    def __init__(self, numbers: Numbers) -> None:
        struct, self.fix, _ = _typed(Image, numbers)
        self.image = msgspec.json.Decoder(struct)
        # a JSON Lines line, `{"region": ..., ["account_id": ...,] "image": {...}}`
        self.line = msgspec.json.Decoder(msgspec.defstruct("Line", [
            ("region", str), ("image", struct), ("account_id", str | None, None)],
            **_OPTIONS))
        self.whole = msgspec.json.Decoder(_document_type(list[struct]))  # type: ignore[valid-type]

    def fixed(self, entries: list[Any]) -> list[Any]:
        """A document's images decoded, their values fixed (`_RefusedError` when a time
        won't parse)."""
        fix = self.fix
        for entry in entries:
            if not fix(entry):
                raise _RefusedError
        return entries


_KINDS: dict[Numbers, _Kind] = {}
_MAX_KINDS = 64


def _kind(numbers: Numbers) -> _Kind:
    kind = _KINDS.get(numbers)
    if kind is None:
        kind = _Kind(numbers)
        if len(_KINDS) < _MAX_KINDS:
            _KINDS[numbers] = kind
    return kind


_INT_IN_TEXT = re.compile(r"got `int` - at `(?P<path>.*)`$")  # msgspec's ValidationError
# where an image is in what each decoder reads: alone, in a line, in a document
_ALONE, _IN_LINE = re.compile(r"\$"), re.compile(r"\$\.image")
_IN_WHOLE = re.compile(r"\$\.regions\[\d+\]\.images\[\d+\]")


def _text_field(path: str) -> tuple[type[BaseModel], str] | None:
    """The text field at this path from an image (`.DiskDeviceMappings[0].Size`), if any."""
    names = re.findall(r"\.(\w+)", path)
    model: Any = Image
    for name in names[:-1]:
        info = model.model_fields.get(name) if isinstance(model, type) and issubclass(
            model, BaseModel) else None
        if info is None:
            return None
        model, _ = optional(info.annotation)
        if typing.get_origin(model) is list:
            (model,) = typing.get_args(model)
    field = (model, names[-1]) if names else None
    return field if field in _TEXTS else None


class Decoding:
    """Saved images decoded, text fields first taking text only: a text field found holding
    an integer (msgspec says where) takes integers from then on (after `_LEARNED` of them,
    every text field does), and what it refused is decoded again. What each kind decodes,
    its fix turns into the same mapping (`record`); only the checks it makes differ: a text
    field's check costs ~0.05 us an image, ~0.1 s over 100,000 images with every one."""

    def __init__(self) -> None:
        self.numbers: Numbers = frozenset()
        self.tried = self.refused = 0  # images, one by one

    @property
    def given_up(self) -> bool:
        """Most images refused (a field the API added since, say): the rest are not tried,
        since a refusal at an image's end costs what decoding it does (0.45 s more over
        100,000 images than reading them the old way)."""
        return self.refused > _TRIED_ALONE and 2 * self.refused > self.tried

    def _learn(self, refused: msgspec.ValidationError, root: re.Pattern[str]) -> bool:
        """Whether the refusal was an integer in a text field, now taken."""
        match = _INT_IN_TEXT.search(str(refused))
        at = None if match is None else root.match(match["path"])
        if match is None or at is None or self.numbers is None:
            return False
        field = _text_field(match["path"][at.end():])
        if field is None or field in self.numbers:
            return False
        self.numbers = self.numbers | {field} if len(self.numbers) < _LEARNED else None
        return True

    def image(self, data: bytes | bytearray | memoryview | msgspec.Raw) -> Any:
        """One saved image's JSON decoded, its values fixed; None when it is refused."""
        return self._one(data, _ALONE, lambda kind: kind.image, lambda image: image)

    def line(self, text: bytes) -> tuple[str, str | None, Any] | None:
        """A JSON Lines image line as (region, account id, decoded image); None when it is
        refused."""
        decoded = self._one(text, _IN_LINE, lambda kind: kind.line, lambda line: line.image)
        return None if decoded is None else (decoded.region, decoded.account_id,
                                             decoded.image)

    def _one(self, data: bytes | bytearray | memoryview | msgspec.Raw, root: re.Pattern[str],
             decoder: Callable[[_Kind], msgspec.json.Decoder[Any]],
             image: Callable[[Any], Any]) -> Any:
        """`data` decoded by a kind's `decoder` (learning from its refusals), the `image` in
        it fixed; None when it is refused (and when most were: `given_up`)."""
        if self.given_up:
            return None
        self.tried += 1
        while True:
            kind = _kind(self.numbers)
            try:
                decoded = decoder(kind).decode(data)
            except msgspec.ValidationError as refused:
                if self._learn(refused, root):
                    continue
                decoded = None
            except (msgspec.DecodeError, RecursionError):
                decoded = None
            if decoded is None or not kind.fix(image(decoded)):
                self.refused += 1
                return None
            return decoded

    def document(self, data: bytes | bytearray | memoryview) -> dict[str, Any] | None:
        """A saved inventory document as its parsed JSON, each image decoded, or (when the
        image is refused) the parsed JSON orjson gives of it, to be read the old way. The
        whole document is decoded at once; when anything in it is refused, image by image.
        None when that is refused too, or orjson refuses an image: the whole document is then
        read the old way (its notes name places in the whole document)."""
        try:
            while True:
                kind = _kind(self.numbers)
                try:
                    decoded: Any = kind.whole.decode(data)
                except msgspec.ValidationError as refused:
                    if self._learn(refused, _IN_WHOLE):
                        continue
                    raise _RefusedError from None
                return _fields_of(decoded, kind.fixed)
        except (_RefusedError, msgspec.DecodeError, RecursionError):
            pass
        try:
            return _fields_of(_EACH_IMAGE.decode(data), self._each)
        except (msgspec.DecodeError, RecursionError, orjson.JSONDecodeError):
            return None

    def _each(self, entries: list[Any]) -> list[Any]:
        """Images as JSON text: each decoded, or parsed by orjson when it is refused."""
        for index, raw in enumerate(entries):
            one = self.image(raw)
            entries[index] = orjson.loads(memoryview(raw)) if one is None else one
        return entries


def _fields(obj: Any) -> dict[str, Any]:
    """A decoded object's given fields (their JSON text) but images, parsed as orjson would."""
    return {name: orjson.loads(memoryview(value)) for name in obj.__struct_fields__
            if name not in ("images", "regions") and (value := getattr(obj, name))
            is not msgspec.UNSET}


def _fields_of(decoded: Any, images: Callable[[list[Any]], list[Any]]) -> dict[str, Any] | None:
    """A decoded document as its parsed JSON, `images` making each region's images; None
    when it is no saved inventory (a raw DescribeImages page, say)."""
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


# A decoded image: read by attribute, its values those of its Image (the same names, the
# nested objects and lists of them decoded images too); the engine judges it as it is
Decoded = msgspec.Struct


def decoded(item: Any) -> TypeGuard[Decoded]:
    """Whether a saved image entry was decoded (else it is orjson's parse of it)."""
    return isinstance(item, msgspec.Struct)


def record(decoded: Decoded) -> RawImage:
    """A decoded image as its canonical mapping (`auditor.canonical`), the one its orjson
    parse gives: for what is shown of a flagged image, and for reading it as an Image."""
    mapping: RawImage = msgspec.to_builtins(decoded, builtin_types=(datetime,))
    return mapping


def image(data: bytes | bytearray | memoryview | msgspec.Raw) -> Any:
    """`Decoding().image`: one image alone."""
    return Decoding().image(data)


def line(text: bytes) -> tuple[str, str | None, Any] | None:
    """`Decoding().line`: one line alone."""
    return Decoding().line(text)


def document(data: bytes | bytearray | memoryview) -> dict[str, Any] | None:
    """`Decoding().document`."""
    return Decoding().document(data)
