"""The plain data a message template sees: params from YAML and fields of the image model
as JSON values (str, int, float, bool, None, lists and dicts), nothing with attributes."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic_core import to_jsonable_python

from auditor.canonical import RawImage, as_image, image_of, plain_of
from auditor.engine.fields import resolve
from auditor.models import Image

MISSING = object()  # an undefined value

# `image` (an Image, or a canonical image's mapping: `auditor.canonical`) and the other
# variables (params, rule, region, account) -> the message.
Renderer = Callable[[Image | RawImage, dict[str, Any]], str]


PLAIN = (str, int, float, bool, type(None))


def json_value(value: Any) -> Any:
    """A value of the image model as the inventory's JSON holds it (plain data)."""
    return value if type(value) in PLAIN else to_jsonable_python(value)


def plain(value: Any) -> Any:
    """YAML values (params) as plain data: dates become ISO text, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value if type(value) in PLAIN else str(value)


def raw_reader(names: list[str], *, as_json: bool = False) -> Callable[[RawImage], Any]:
    """`attrgetter` of these model fields on a canonical image's mapping: a missing key reads
    as the model's default, a None on the way as undefined (MISSING), and a nested object
    (or list of them) as its model, so that what follows reads exactly as on the Image.
    `as_json`: a nested object as `json_value` gives its model (`canonical.plain_of`)."""
    if not names:
        return image_of
    ref = resolve(".".join(names), Image)
    steps = list(zip(ref.names, ref.defaults, strict=True))
    element = ref.element

    def read(raw: RawImage) -> Any:
        value: Any = raw
        for name, default in steps:
            if value is None:
                return MISSING
            value = value.get(name, default)
        if as_json and element is not None and value is not None:
            return plain_of(element, value)
        return ref.modelled(value)

    return read


def image_reader(names: set[str] | None) -> Callable[[Image | RawImage], dict[str, Any]]:
    """`image` for the sandbox: the fields the template reads, as JSON data."""
    if names is None:
        return lambda image: as_image(image).model_dump(mode="json")
    getters = [(name, operator.attrgetter(name), raw_reader([name], as_json=True))
               for name in sorted(names)]

    def data(image: Image | RawImage) -> dict[str, Any]:
        if type(image) is dict:
            return {name: json_value(read(image)) for name, _, read in getters}
        return {name: json_value(get(image)) for name, get, _ in getters}

    return data
