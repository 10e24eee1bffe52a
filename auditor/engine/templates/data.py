"""The plain data a message template sees: params from YAML and fields of the image model
as JSON values (str, int, float, bool, None, lists and dicts), nothing with attributes."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic_core import to_jsonable_python

from auditor.models import Image

MISSING = object()  # an undefined value

# `image` and the other variables (params, rule, region, account) -> the message.
Renderer = Callable[[Image, dict[str, Any]], str]


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


def image_reader(names: set[str] | None) -> Callable[[Image], dict[str, Any]]:
    """`image` for the sandbox: the fields the template reads, as JSON data."""
    if names is None:
        return lambda image: image.model_dump(mode="json")
    getters = [(name, operator.attrgetter(name)) for name in sorted(names)]
    return lambda image: {name: json_value(get(image)) for name, get in getters}
