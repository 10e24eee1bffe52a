"""A DescribeImages page of plain values, decoded and type-checked in one pass (msgspec).

`collect -o` keeps an image only to write it. Most pages hold nothing unusual: every field the
API documents, of the type it documents, and no other. Such a page is decoded by msgspec in C
into Structs of the API's shape (`auditor.structs`: the models' fields, types and order, the
API's wrapper levels, no enrichment). A few lines of Python per image collapse the wrappers
(`Tags` as a mapping), and msgspec encodes the image at once as the saved inventory writes it
(`SavedImage`: the model's field order, None fields left out, byte for byte
`model_dump_json(exclude_none=True)`). That replaces orjson's parse, the Python conversion of
`saved.py`, the mappings held until the region is written, and most of the freeing: from
about 1.1-1.8 ms to 0.6 ms of CPU per 100-image page, read, written and freed (issue 12,
target 4).

Whatever the Structs refuse takes the path it took before (`page_body.parse_saved_page`
without this, then `read_page`), so an odd page gives the same images, notes and errors:
- any key the models (or the page) do not declare, an enrichment among them;
- any value not of its field's JSON type: `"60"` for a number, a number for a text, `true`
  for `IsSelfShared` (the API's text is `"true"` or `"false"`, the only ones taken here);
- an integer beyond 64 signed bits, a `TotalCount` past 2**53;
- `CreationTime` in any shape but the API's (`2019-11-15T06:07:05Z`), or no real date;
- an empty `ImageId`, a wrapper without its one key (`{"Tag": [...]}`), a tag without its
  `TagKey` or `TagValue` text, a flat list where the API has a wrapper;
- JSON that is not strictly valid UTF-8 JSON (a lone surrogate escape, NaN, a stray byte).
`tests/test_saved_images.py` compares the paths over odd and hostile pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from auditor.collector.saved import SavedImage, api_time
from auditor.models import ENRICHMENTS, DetectionItem, DiskDeviceMapping, Image, ImageDetection
from auditor.structs import INT64, OMIT, STRICT, Shape, struct_of

_OPTIONS = STRICT
_MAX_COUNT = 2**53  # a TotalCount beyond what a JSON number holds exactly goes to read_page

# The nested objects the API lists inside a wrapper are as the models declare them.
_LISTED = Shape("Api", options=_OPTIONS, scalars={int: INT64})


def _wrapper(key: str, item: type[msgspec.Struct]) -> Any:
    """The API's `{key: [item, ...]}` (its list may be null; the key may not be missing)."""
    return msgspec.defstruct(f"{key}List", [(key, list[item] | None)],  # type: ignore[valid-type]
                             module=__name__, **_OPTIONS) | None


_Tag = msgspec.defstruct("Tag", [("TagKey", str), ("TagValue", str)], module=__name__,
                         **_OPTIONS)
_API = Shape("Api", options=_OPTIONS, scalars={int: INT64}, types={
    (Image, "CreationTime"): str | None,  # the API's own shape only: `api_time` below
    (Image, "IsSelfShared"): Literal["true", "false"] | None,
    (Image, "Tags"): _wrapper("Tag", _Tag),
    (Image, "DiskDeviceMappings"): _wrapper("DiskDeviceMapping",
                                            struct_of(DiskDeviceMapping, _LISTED)),
    (ImageDetection, "Items"): _wrapper("Item", struct_of(DetectionItem, _LISTED)),
    **{(Image, name): OMIT for name in (*ENRICHMENTS, "NotCollected")},
})
_Images = msgspec.defstruct("Images", [("Image", list[struct_of(Image, _API)], [])],  # type: ignore[misc]
                            module=__name__, **_OPTIONS)
_Page = msgspec.defstruct("DescribeImagesPage", [
    ("TotalCount", Annotated[int, msgspec.Meta(ge=0, le=_MAX_COUNT)]),
    ("RequestId", str | None, None),
    ("RegionId", str | None, None),
    ("PageNumber", INT64 | None, None),
    ("PageSize", INT64 | None, None),
    ("Images", _Images | None, None),
], module=__name__, **_OPTIONS)
_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Page)
_encode = msgspec.json.Encoder().encode  # None fields left out (`omit_defaults`)


@dataclass
class PlainPage:
    total_count: int
    request_id: str | None
    images: list[Image | SavedImage]  # SavedImage only (the type SavedPage holds)


def read_plain_page(body: bytes) -> PlainPage | None:
    """The page with its images as the saved inventory holds them; None when anything in it
    is unusual (see the module doc): then it is read as before."""
    try:
        page = _DECODER.decode(body)
    except msgspec.DecodeError:  # a ValidationError too
        return None
    saved: list[Image | SavedImage] = []
    for image in [] if page.Images is None else page.Images.Image:
        if image.CreationTime is not None and api_time(image.CreationTime) is None:
            return None
        tags = image.Tags
        image.Tags = tags = {} if tags is None or tags.Tag is None else {
            tag.TagKey: tag.TagValue for tag in tags.Tag}
        disks = image.DiskDeviceMappings
        image.DiskDeviceMappings = [] if disks is None else disks.DiskDeviceMapping or []
        detection = image.DetectionOptions
        if detection is not None:
            detection.Items = [] if detection.Items is None else detection.Items.Item or []
        saved.append(SavedImage(image.ImageId, tags, _encode(image)))
    return PlainPage(page.TotalCount, page.RequestId, saved)
