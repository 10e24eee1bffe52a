"""The one reader of API data: DescribeImages pages (collector, `--input`) and saved images,
and the enrichment calls' pages (DescribeImageSharePermission, DescribeInstances).

`read_page` takes a parsed response body, `read_image` one image; both are used by the
collector (`auditor.collector.page_body`) and by `--input` (`auditor.inventory`), so what they
accept, normalise and note is the same everywhere. One odd value never drops an image: what
pydantic's lax mode cannot normalise is taken out of the image (the field then reads as
absent) and kept, raw, in a `DataNote` naming the image, the field and the value. Only an entry
that is no image at all (not an object, no usable ImageId) is left out, and said so.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, Field, ValidationError

from auditor.models import (
    API_SHAPE,
    SAVED_SHAPE,
    DataNote,
    Image,
    ImageSharePermission,
    collapse_api_shape,
)
from auditor.safetext import visible

_MAX_ROUNDS = 8  # each round takes out every value that failed; nesting is at most 3 deep


@dataclass
class Page:
    """One DescribeImages response body, read."""

    total_count: int | None
    request_id: str | None
    region_id: str | None
    images: list[Image]
    notes: list[DataNote] = field(default_factory=list)  # values kept raw: nothing lost
    errors: list[str] = field(default_factory=list)  # entries left out: the listing is short
    entries: int = 0  # how many entries `Images.Image` held


def read_image(item: Any, *, api: bool) -> tuple[Image | None, list[DataNote]]:
    """One image (API-shaped when `api`), and notes for the values that were kept raw.

    None (with a note saying why) only when the entry is not an image at all."""
    try:
        return Image.model_validate(item, context=API_SHAPE if api else SAVED_SHAPE), []
    except ValidationError:
        pass
    if not isinstance(item, dict):
        return None, [DataNote(message="an entry of the image list is not an object, left out",
                               value=item)]
    data = copy.deepcopy(collapse_api_shape(item) if api else item)
    notes: list[DataNote] = []
    for _ in range(_MAX_ROUNDS):
        try:
            image = Image.model_validate(data, context=SAVED_SHAPE)  # collapsed above
        except ValidationError as exc:
            if not _take_out(data, exc, notes):
                break
            continue
        image_id = image.ImageId
        return image, [n.model_copy(update={"image_id": image_id}) for n in notes]
    raw_id = item.get("ImageId")
    return None, [DataNote(message="an entry without a usable ImageId, left out",
                           field="ImageId", value=raw_id)]


def _take_out(data: dict[str, Any], exc: ValidationError, notes: list[DataNote]) -> bool:
    """Normalise or remove each failing value of `data`; False when ImageId itself failed."""
    errors = sorted(exc.errors(), key=lambda e: e["loc"], reverse=True)  # list items backwards
    for error in errors:
        loc = error["loc"]
        if not loc or loc[0] == "ImageId":
            return False
        parent = _parent(data, loc)
        if parent is None:
            continue
        value = parent[loc[-1]]
        if error["type"] == "string_type" and type(value) is bool:
            parent[loc[-1]] = "true" if value else "false"  # the API's own spelling
            continue
        del parent[loc[-1]]
        notes.append(DataNote(message=f"kept raw, read as absent: {error['msg']}",
                              field=_path(loc), value=value))
    return True


def _parent(data: Any, loc: tuple[Any, ...]) -> Any:
    """The container holding `loc`'s last part, or None when the path is gone."""
    for part in loc[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    last = loc[-1]
    if isinstance(data, dict) and last in data:
        return data
    if isinstance(data, list) and isinstance(last, int) and 0 <= last < len(data):
        return data
    return None


def _path(loc: tuple[Any, ...]) -> str:
    """`("DiskDeviceMappings", 0, "Size")` -> `DiskDeviceMappings[0].Size`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def image_entries(doc: dict[str, Any]) -> tuple[list[Any], list[DataNote]]:
    """The `Images.Image` entries of a response body (a flat `Images` list also reads)."""
    images = doc.get("Images")
    if isinstance(images, dict):
        images = images.get("Image")
    if images is None:
        return [], []
    if isinstance(images, list):
        return images, []
    return [], [DataNote(message="Images is neither a list nor {\"Image\": [...]}; no image read",
                         field="Images", value=images)]


def total_count(doc: dict[str, Any]) -> tuple[int | None, list[DataNote]]:
    """The body's TotalCount: None, with a note, when it is missing or no count at all."""
    if "TotalCount" not in doc:
        return None, [DataNote(message="no TotalCount: completeness cannot be checked")]
    value = doc["TotalCount"]
    count = value if type(value) is int else _int_text(value)
    if count is None or count < 0:
        return None, [DataNote(message="TotalCount is not a count: completeness cannot be "
                                       "checked", field="TotalCount", value=value)]
    return count, []


def _int_text(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        return int(value)
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**53:
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_page(doc: Any) -> Page:
    """A parsed DescribeImages body; ValueError when it is not a JSON object at all."""
    if not isinstance(doc, dict):
        raise ValueError("a DescribeImages response is a JSON object")
    entries, notes = image_entries(doc)
    count, count_notes = total_count(doc)
    page = Page(count, _text(doc.get("RequestId")), _text(doc.get("RegionId")), [],
                notes + count_notes, entries=len(entries))
    for index, entry in enumerate(entries):
        image, image_notes = read_image(entry, api=True)
        if image is None:
            page.errors.append(f"image entry #{index + 1} left out: {image_notes[0].message}"
                                 + _id_hint(entry))
        else:
            page.images.append(image)
            page.notes += image_notes
    return page


def _id_hint(entry: Any) -> str:
    raw = entry.get("ImageId") if isinstance(entry, dict) else None
    return f" (ImageId {raw!r})" if raw is not None else ""


def repeated(image_id: str, region: str | None = None) -> DataNote:
    """The note for an ImageId met again: the collector and `--input` both keep the first."""
    return DataNote(message="listed more than once; the first copy is kept", region=region,
                    image_id=image_id)


# The enrichment calls' answers (auditor.collector.enrich): read strictly, since a page that
# cannot be read leaves the image's enrichment unknown (`Image.NotCollected`), never guessed.


@dataclass
class SharePage:
    """One DescribeImageSharePermission page: the image's accounts and groups on it."""

    total_count: int | None
    request_id: str | None
    permission: ImageSharePermission
    entries: int  # accounts on this page (TotalCount counts accounts)


def read_share_page(body: bytes) -> SharePage:
    """A DescribeImageSharePermission body; ValueError when it is no such answer."""
    doc = orjson.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("a DescribeImageSharePermission answer is a JSON object")
    try:
        permission = ImageSharePermission.model_validate(
            {"Accounts": doc.get("Accounts"), "ShareGroups": doc.get("ShareGroups")})
    except ValidationError as exc:
        raise ValueError(f"unreadable share permission: {_first_problem(exc)}") from None
    count, _ = total_count(doc)
    if any(not account.AliyunId for account in permission.Accounts):
        raise ValueError("a shared account without an AliyunId")
    return SharePage(count, _text(doc.get("RequestId")), permission, len(permission.Accounts))


class _Instance(BaseModel):
    InstanceId: str = Field(min_length=1)
    ImageId: str | None = None


class _InstanceList(BaseModel):
    Instance: list[_Instance] = Field(default_factory=list)


class _InstancesBody(BaseModel):
    Instances: _InstanceList | None = None
    NextToken: str | None = None
    RequestId: str | None = None


@dataclass
class InstancePage:
    """One DescribeInstances page: (InstanceId, ImageId) of each instance, and the token of
    the next page ("" or None: this was the last)."""

    instances: list[tuple[str, str | None]]
    next_token: str | None
    request_id: str | None


def read_instance_page(body: bytes) -> InstancePage:
    """The two fields imgaudit needs of each instance; ValueError when it is no such answer."""
    try:
        doc = _InstancesBody.model_validate_json(body)
    except ValidationError as exc:
        raise ValueError(f"unreadable instance list: {_first_problem(exc)}") from None
    instances = doc.Instances.Instance if doc.Instances else []
    return InstancePage([(i.InstanceId, i.ImageId or None) for i in instances],
                        doc.NextToken or None, doc.RequestId)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins the pairs: any left is lone


def mend_surrogates(doc: Any, notes: list[DataNote]) -> Any:
    """Parsed JSON (from the standard library, which reads lone UTF-16 surrogate escapes
    that orjson refuses) with each lone surrogate replaced by U+FFFD, keys too: one note per
    string, naming the image entry it is in and the field path from there."""
    return _mend(doc, "", notes, None)


def _mend(value: Any, path: str, notes: list[DataNote], image: str | None) -> Any:
    if isinstance(value, str):
        if not _LONE_SURROGATE.search(value):
            return value
        notes.append(DataNote(message="a lone UTF-16 surrogate, no character, replaced by "
                                      "U+FFFD", image_id=image, field=path or None,
                              value=visible(value)))
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mend(item, f"{path}[{i}]", notes, image) for i, item in enumerate(value)]
    if isinstance(value, dict):
        own = value.get("ImageId")
        if isinstance(own, str):  # an image entry: what is in it is its own
            image, path = _LONE_SURROGATE.sub("\ufffd", own), ""
        return {_mend(key, path, notes, image):
                _mend(item, f"{path}.{key}" if path else key, notes, image)
                for key, item in value.items()}
    return value

