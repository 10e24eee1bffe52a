"""A DescribeImages image turned into what the saved inventory holds, without validating it.

`collect -o` keeps an image only to write it: validating it into an `Image`, serialising that
record and freeing it was about 2.7 ms of the ~4 ms of CPU per 100-image page (issue 12,
target 4). `saved_image(item)` gives the image's mapping exactly as the inventory writes it
(`Image.model_dump_json(exclude_none=True)` is `orjson.dumps` of it, byte for byte: the
model's field order, wrapper levels collapsed, defaults filled in, None left out), or None
when the image holds anything unusual: then it takes the validated path (`page_body`), which
normalises values or keeps them raw in data-quality notes as before. So only the plainest
images come this way: each value of the JSON type of its field (no `"60"` for a number, no
number for a text), `CreationTime` in the API's one shape (`2019-11-15T06:07:05Z`), no field
the model lacks, none of the enrichments. The wrappers are collapsed, and `IsSelfShared`
spelled, by the models' own functions; validating the mapping (`SAVED_SHAPE`) gives the
`Image` the API's shape gives. `tests/test_saved_images.py` compares both paths over odd and
hostile values.

The collector holds such an image as a `SavedImage`: its JSON text, encoded at once in the
thread that read its page, and the two fields the collector still reads (`ImageId`, to
de-duplicate; `Tags`, to match tags past the API's tag cap). Encoding it there and freeing
one bytes object after writing is cheaper than holding a mapping of ~35 objects until the
region is written and freeing them one by one there.

The conversion is generated per shape of mapping (its keys and the types of their values),
from the models' field names and fixed lines only (never from the data's keys: a key the
model lacks sends the image to validation), and remembered (`auditor.canonical.PerShape`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel

from auditor.canonical import PerShape
from auditor.models import (
    DetectionItem,
    DiskDeviceMapping,
    Image,
    ImageDetection,
    tags_to_mapping,
)

SavedMapping = dict[str, Any]  # an image as the saved inventory holds it (see the module doc)


class SavedImage(NamedTuple):
    """An image collected only to be saved: its JSON as the saved inventory writes it."""

    ImageId: str
    Tags: dict[str, str]
    encoded: bytes  # UTF-8 JSON, byte for byte `Image.model_dump_json(exclude_none=True)`

    @classmethod
    def of(cls, mapping: SavedMapping) -> SavedImage:
        return cls(mapping["ImageId"], mapping["Tags"], orjson.dumps(mapping))


Record = Image | SavedImage  # an image as the collector holds it: `.ImageId`, `.Tags`
Convert = Callable[[dict[str, Any]], dict[str, Any] | None]

_NONE = type(None)
_API_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# Fields an API page never holds (the collector adds them): present, the image is validated.
_ENRICHED = {"SharePermission", "InstanceIds", "NotCollected"}




def api_time(value: str) -> str | None:
    """The API's time text when the model parses it with its own fast parse
    (`Image._parse_api_time`: 20 characters, `T` and `Z` in place, the first 19 read by
    `datetime.fromisoformat`), which writes it back the same; None for any other text
    (pydantic's parsing, on the validated path). The same test as the model's, without
    building the datetime: a quarter of the time."""
    if _API_TIME.fullmatch(value) is None:
        return None
    try:
        datetime.fromisoformat(value[:19])
    except ValueError:
        return None
    return value


def _tags(value: Any) -> dict[str, str] | None:
    """`Tags` collapsed as the model's own function collapses them, when every key and value
    is text. The API's usual `{"Tag": [{"TagKey": k, "TagValue": v}, ...]}` is read in one
    pass (what `tags_to_mapping` gives: the key and value are the ones it reads first);
    any other shape goes through `tags_to_mapping` itself."""
    if type(value) is dict and len(value) == 1 and type(pairs := value.get("Tag")) is list:
        tags = {}
        for tag in pairs:
            if type(tag) is not dict:
                break
            key, text = tag.get("TagKey"), tag.get("TagValue")
            if type(key) is not str or type(text) is not str:
                break
            tags[key] = text
        else:
            return tags
    tags = tags_to_mapping(value)
    if type(tags) is not dict:
        return None
    for key, text in tags.items():
        if type(key) is not str or type(text) is not str:
            return None
    return tags


def _unwrapped(value: Any, key: str) -> list[Any] | None:
    """The API's `{key: [...]}` (or a flat list) as the models collapse it; None: a null."""
    if type(value) is dict and value.keys() == {key}:
        value = value[key] or []
    return value if type(value) is list else None


def _each(model: type[BaseModel], wrapper: str) -> Callable[[Any], list[Any] | None]:
    """A list of nested objects (a null: empty), each converted; None when one cannot be."""
    def convert_all(value: Any) -> list[Any] | None:
        if value is None:
            return []
        items = _unwrapped(value, wrapper)
        if items is None:
            return None
        out = []
        for item in items:
            saved = convert(item) if type(item) is dict else None
            if saved is None:
                return None
            out.append(saved)
        return out

    convert = _saver(model).convert
    return convert_all


class _Saver:
    """The conversion of one model's API mappings, generated per shape."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.convert_of: PerShape[Convert] = PerShape(self.plan)

    def convert(self, data: dict[str, Any]) -> dict[str, Any] | None:
        convert = self.convert_of(data)
        return None if convert is None else convert(data)

    def plan(self, shape: tuple[Any, ...]) -> Convert | None:
        """The conversion of a mapping of this shape; None when no such mapping is plain."""
        half = len(shape) // 2
        kinds = dict(zip(shape[:half], shape[half:], strict=True))
        fields = self.model.model_fields
        if not kinds.keys() <= fields.keys() or kinds.keys() & _ENRICHED:
            return None  # a field the model lacks, or one the collector adds
        namespace: dict[str, Any] = {}
        lines, out = [], []
        for name, info in fields.items():
            key = repr(name)
            if name not in kinds:
                if info.is_required():
                    return None
                default = info.get_default(call_default_factory=True)
                if default is not None:  # Tags {}, lists []: written even when absent
                    out.append(f"{key}: {default!r}")
                continue
            how = self._how(name, info.annotation, kinds[name])
            if how is False:
                return None
            if how is True:
                out.append(f"{key}: data[{key}]")
            elif how is not None:  # a function whose None means "not plain"
                fn, var = f"_f{len(namespace)}", f"v{len(namespace)}"
                namespace[fn] = how
                lines += [f"    {var} = {fn}(data[{key}])", f"    if {var} is None: return None"]
                out.append(f"{key}: {var}")
            # how None: a null, left out as the inventory leaves it out
        if not lines and out == [f"{key!r}: data[{key!r}]" for key in kinds]:
            return _same  # already what the inventory holds, in the model's order
        code = "\n".join(["def convert(data):", *lines,
                          "    return {" + ", ".join(out) + "}"])
        exec(code, namespace)  # field names and fixed lines only
        convert: Convert = namespace["convert"]
        return convert

    def _how(self, name: str, annotation: Any, kind: type) -> Any:
        """How a value of type `kind` of this field is written: True as it is, None left
        out (a null), False not plain, else a function giving it (None: not plain)."""
        special = (self.model, name)
        if special == (Image, "Tags"):
            return _tags
        if special == (Image, "DiskDeviceMappings"):
            return _each(DiskDeviceMapping, "DiskDeviceMapping")
        if special == (ImageDetection, "Items"):
            return _each(DetectionItem, "Item")
        if kind is _NONE:
            return False if special == (Image, "ImageId") else None
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            (annotation,) = [a for a in typing.get_args(annotation) if a is not _NONE]
        if special == (Image, "ImageId"):
            return (lambda v: v or None) if kind is str else False
        if special == (Image, "CreationTime"):
            return api_time if kind is str else False
        if special == (Image, "IsSelfShared"):
            return Image._bool_as_text if kind in (str, bool) else False
        if annotation in (str, int, bool):
            return kind is annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return _saver(annotation).convert if kind is dict else False
        return False


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return data


_SAVERS: dict[type[BaseModel], _Saver] = {}


def _saver(model: type[BaseModel]) -> _Saver:
    if model not in _SAVERS:
        _SAVERS[model] = _Saver(model)
    return _SAVERS[model]


_IMAGE = _saver(Image)


def saved_image(item: Any) -> SavedMapping | None:
    """An API-shaped image as the saved inventory holds it; None: it needs validating."""
    return _IMAGE.convert(item) if type(item) is dict else None
