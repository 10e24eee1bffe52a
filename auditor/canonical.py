"""Saved images that need no validation: their parsed mapping already is what `Image` holds.

Validating every image of a saved inventory with pydantic was half of a scan (issue 12). Most
saved images hold each field in the JSON type of the model's field, so the engine can read the
parsed mapping directly (`auditor.engine.codegen`, raw mode) and build the `Image` only for the
images a rule flags. `canonical(item)` decides that, exactly and cheaply: True only when
`Image.model_validate(item, context=SAVED_SHAPE)` would succeed without a data-quality note and
every value the model would hold equals the mapping's (a missing field reads as the model's
default). Anything unusual answers False, and the image takes the validated path.

A few values are normalised in place, by the same functions the model uses, so that the mapping
then holds what the model would: `CreationTime` (the model's own parser: a `datetime`),
`IsSelfShared` (the model's own `"true"`/`"false"` spelling), a shared account's `SharedTime`
(pydantic's own datetime parsing) and an integer in a text field (pydantic's
`coerce_numbers_to_str`: its decimal text). Validating the normalised mapping gives the same
`Image` as validating the original. Decisions are remembered per shape (the keys and the
types of the values), so most images cost two tuples and a lookup, plus their nested values.
`tests/test_canonical.py` compares both paths over odd and hostile values.

`scan --input` decodes saved images with `auditor.typed` first (msgspec, in C), whose types
accept only what this check keeps and normalise as it does (`creation_time`, `datetime_text`,
`Image._bool_as_text`, decimal text); only the images it refuses come here.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeGuard, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from auditor.models import (
    SAVED_SHAPE,
    DetectionItem,
    DiskDeviceMapping,
    Image,
    ImageDetection,
    ImageFeatures,
    ImageSecureBootOptions,
    ImageSharePermission,
    SharedAccount,
    ShareGroup,
    lacking,
    shared,
)
from auditor.structs import optional

RawImage = dict[str, Any]  # a saved image's parsed JSON, canonical (see `canonical`)
Check = Callable[[dict[str, Any]], bool]

# The models' own `mode="before"` validators, by (model, field): each is applied as the model
# applies it; `tests/test_canonical.py` checks that no model has a validator not listed here.
_KNOWN_VALIDATORS: set[tuple[type[BaseModel], str]] = {
    (Image, "CreationTime"), (Image, "IsSelfShared"), (ImageDetection, "Items"),
    (ImageSharePermission, "Accounts"), (ImageSharePermission, "ShareGroups"),
}
_MAX_SHAPES = 4096  # distinct shapes remembered per model; past that, decided each time
_NONE = type(None)
_DATETIME = TypeAdapter(datetime)  # pydantic's own parsing of a datetime field


def datetime_text(value: Any) -> Any:
    """A datetime field's text as pydantic parses it; the text itself when it cannot."""
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        return value


# What a value of an allowed type needs, as lines of the generated check: `{v}` is the
# value's expression, `{k}` its key, `{c}` a nested model's check. No line: the type is enough.
_NON_EMPTY = "if not {v}: return False"  # ImageId: min_length=1
_REPLACED = "x = {f}({v})\nif type(x) is not {t}: return False\ndata[{k}] = x"
_TEXT_OF_NUMBER = "data[{k}] = str({v})"  # coerce_numbers_to_str: an integer's decimal text
_ALL_TEXT = "for x in {v}:\n    if type(x) is not str: return False"
_ALL_TEXT_VALUES = "for x in {v}.values():\n    if type(x) is not str: return False"
_EACH = "for x in {v}:\n    if type(x) is not dict or not {c}(x): return False"
_NESTED = "if not {c}({v}): return False"


def _action(need: tuple[str, dict[str, Any]]) -> Callable[[dict[str, Any], str], bool]:
    """A need's lines as a function of (mapping, key)."""
    template, values = need
    namespace = {f"_{label}": value for label, value in values.items()}
    code = template.format(v="data[key]", k="key", **{label: f"_{label}" for label in values})
    body = "".join(f"    {line}\n" for line in code.splitlines())
    exec(f"def act(data, key):\n{body}    return True\n", namespace)  # fixed lines only
    action: Callable[[dict[str, Any], str], bool] = namespace["act"]
    return action


F = TypeVar("F")


class PerShape(Generic[F]):
    """What `plan` makes of each shape of mapping (its keys, then their values' types),
    remembered for at most `_MAX_SHAPES` shapes (past that, planned each time). Most mappings
    have the shape of the one before, which is looked at first. Shared by the canonical check
    and the collector's saved images (`auditor/collector/saved.py`)."""

    def __init__(self, plan: Callable[[tuple[Any, ...]], F | None]) -> None:
        self.plan = plan
        self.shapes: dict[tuple[Any, ...], F | None] = {}
        self.last: tuple[Any, ...] | None = None
        self.last_planned: F | None = None

    def __call__(self, data: dict[str, Any]) -> F | None:
        shape = (*data, *map(type, data.values()))
        if shape != self.last:
            try:
                planned = self.shapes[shape]
            except KeyError:
                planned = self.plan(shape)
                if len(self.shapes) < _MAX_SHAPES:
                    self.shapes[shape] = planned
            self.last, self.last_planned = shape, planned
        return self.last_planned


class _Model:
    """The canonical check of one model's mappings: the value types allowed per field and
    what some values need. The image's mappings are checked per shape (its keys and their
    value types): one check function is generated per shape (from field names and fixed lines
    only) and remembered. A nested object's few values are checked one by one (`items`)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.types: dict[str, dict[type, tuple[str, dict[str, Any]] | None]] = {}
        self.check_of: PerShape[Check] = PerShape(self.plan)
        self.fields: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        self.required = frozenset(name for name, info in model.model_fields.items()
                                  if info.is_required())
        for name, info in model.model_fields.items():
            self.types[name] = self._field(name, info.annotation)
            self.fields.append((name, info.get_default(call_default_factory=True),
                                _plain_converter(info.annotation)))
        # per field: the value types that need nothing; per (field, type): what it needs
        self.ok = {name: frozenset(t for t, need in allowed.items() if need is None)
                   for name, allowed in self.types.items()}
        self.fix = {(name, t): _action(need) for name, allowed in self.types.items()
                    for t, need in allowed.items() if need is not None}

    def items(self, data: dict[str, Any]) -> bool:
        """The check of a nested object's mapping, value by value."""
        ok, fix = self.ok, self.fix
        for key, value in data.items():
            kinds = ok.get(key)
            if kinds is None or type(value) in kinds:
                continue  # a field the API added later, or a value that needs nothing
            action = fix.get((key, type(value)))
            if action is None or not action(data, key):
                return False
        return True

    def plain(self, data: dict[str, Any]) -> dict[str, Any]:
        """What `to_jsonable_python` gives of the model validated from this canonical
        mapping: every field in the model's order (a missing one as its default), then the
        fields the API added later, values as JSON data."""
        out = {}
        for name, default, convert in self.fields:
            value = data.get(name, default)
            out[name] = value if convert is None or value is None else convert(value)
        if not data.keys() <= self.types.keys():
            out.update((key, value) for key, value in data.items() if key not in self.types)
        return out

    def _field(self, name: str, annotation: Any) -> dict[type, tuple[str, dict[str, Any]] | None]:
        allowed: dict[type, tuple[str, dict[str, Any]] | None] = {}
        annotation, nullable = optional(annotation)
        if nullable:
            allowed[_NONE] = None
        special = (self.model, name)
        if special == (Image, "ImageId"):
            allowed[str] = (_NON_EMPTY, {})
        elif special == (Image, "CreationTime"):  # the model's own fast parse, else pydantic's
            allowed[str] = (_REPLACED, {"f": creation_time, "t": datetime})
        elif special == (Image, "IsSelfShared"):  # the model's own "true"/"false" spelling
            allowed[str] = allowed[bool] = (_REPLACED, {"f": Image._bool_as_text, "t": str})
        elif annotation is str:
            allowed[str], allowed[int] = None, (_TEXT_OF_NUMBER, {})
        elif annotation in (int, bool):
            allowed[annotation] = None
        elif annotation is datetime:
            allowed[str] = (_REPLACED, {"f": datetime_text, "t": datetime})
        elif typing.get_origin(annotation) is dict:  # Tags: dict[str, str]
            allowed[dict] = (_ALL_TEXT_VALUES, {})
        elif typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            allowed[list] = ((_ALL_TEXT, {}) if item is str
                             else (_EACH, {"c": _check(item).items}))
        else:  # a nested model
            allowed[dict] = (_NESTED, {"c": _check(annotation).items})
        return allowed

    def plan(self, shape: tuple[Any, ...]) -> Check | None:
        """The check of a mapping of this shape, or None when it is not canonical."""
        half = len(shape) // 2
        if not self.required <= set(shape[:half]):  # no ImageId: validation says so
            return None
        namespace: dict[str, Any] = {}
        lines = ["def check(data):"]
        for key, kind in zip(shape[:half], shape[half:], strict=True):
            allowed = self.types.get(key)
            if allowed is None:
                continue  # a field the API added later: kept as it is (extra="allow")
            if kind not in allowed:
                return None
            need = allowed[kind]
            if need is None:
                continue
            template, values = need
            names = {}
            for label, value in values.items():
                names[label] = f"_{label}{len(namespace)}"
                namespace[names[label]] = value
            code = template.format(v=f"data[{key!r}]", k=repr(key), **names)
            lines += ["    " + line for line in code.splitlines()]
        lines.append("    return True")
        exec("\n".join(lines), namespace)  # field names and fixed lines only
        check: Check = namespace["check"]
        return check

    def check(self, data: dict[str, Any]) -> bool:
        check = self.check_of(data)
        return check is not None and check(data)


def _plain_converter(annotation: Any) -> Callable[[Any], Any] | None:
    """How a canonical value of this annotation becomes JSON data (None: it is already)."""
    annotation, _ = optional(annotation)
    if annotation is datetime:
        return to_jsonable_python
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            inner = _check(item).plain
            return lambda value: [inner(x) for x in value]
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _check(annotation).plain
    return None


def plain_of(model: type[BaseModel], value: Any) -> Any:
    """`to_jsonable_python` of the model (or list of models) validated from a canonical
    mapping (or list of them), without validating it (see `_Model.plain`)."""
    inner = _check(model).plain
    return [inner(x) for x in value] if type(value) is list else inner(value)


_API_TIME = Image._parse_api_time  # bound once: binding it costs as much as the parse


def creation_time(value: str) -> Any:
    """`Image.CreationTime` as the model parses it: its own fast parse of the API's shape;
    any other text as pydantic parses it."""
    parsed = _API_TIME(value)
    return parsed if type(parsed) is datetime else datetime_text(value)


_MODELS: dict[type[BaseModel], _Model] = {}


def _check(model: type[BaseModel]) -> _Model:
    if model not in _MODELS:
        _MODELS[model] = _Model(model)
    return _MODELS[model]


MODELS = (Image, DiskDeviceMapping, DetectionItem, ImageDetection, ImageFeatures,
          ImageSecureBootOptions, ImageSharePermission, SharedAccount, ShareGroup)
_IMAGE = _check(Image)


def canonical(item: Any) -> TypeGuard[RawImage]:
    """Whether a saved image's parsed JSON can be read as it is (normalised in place)."""
    return type(item) is dict and _IMAGE.check(item)


def known_validators() -> set[tuple[type[BaseModel], str]]:
    """The models' `before` field validators this module applies as the models do."""
    return set(_KNOWN_VALIDATORS)


def missing_enrichments_raw(raw: RawImage) -> set[str]:
    """`models.missing_enrichments` of a canonical image's mapping."""
    get = raw.get
    unknown_sharing = get("SharePermission") is None and shared(
        get("ImageOwnerAlias"), get("IsSelfShared"), get("IsPublic"))
    return lacking(get("NotCollected"), get("InstanceIds"), unknown_sharing)


def image_of(raw: RawImage) -> Image:
    """The Image of a canonical mapping (for a finding, which shows the record)."""
    return Image.model_validate(raw, context=SAVED_SHAPE)


def as_image(image: Image | dict[str, Any]) -> Image:
    """An Image as it is; a mapping as the saved inventory holds it (a canonical image's, or
    the collector's saved image: `collector/saved.py`) validated as a saved image is."""
    return image_of(image) if isinstance(image, dict) else image
