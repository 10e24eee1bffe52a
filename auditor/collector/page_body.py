"""One DescribeImages page read straight from its bytes into `Image` records.

The fast path validates the whole body in pydantic-core (no intermediate Python dicts); a
page that fails it is read by `auditor.responses.read_page`, the one reader that `--input`
uses too: an odd value is kept raw in a data-quality note (`Page.notes`) and its image kept;
an entry that is no image at all is a `Page.errors` line. A body that is not JSON, or has
no usable TotalCount, raises ValueError: the client retries that as a transient
`InvalidResponse`.
"""

from __future__ import annotations

import orjson
from pydantic import BaseModel, Field, ValidationError

from auditor.models import API_SHAPE, Image
from auditor.responses import Page, read_page

__all__ = ["Page", "parse_page"]


class _ImageList(BaseModel):
    items: list[Image] = Field(default_factory=list, alias="Image")


class _PageBody(BaseModel):
    TotalCount: int = Field(ge=0, le=2**53, strict=True)  # anything else: read_page
    RequestId: str | None = None
    RegionId: str | None = None
    Images: _ImageList | None = None


def parse_page(body: bytes) -> Page:
    """The page's TotalCount, RequestId, images and notes; ValueError when it is unusable."""
    try:
        fast = _PageBody.model_validate_json(body, context=API_SHAPE)
    except ValidationError:
        page = read_page(orjson.loads(body))  # orjson.JSONDecodeError is a ValueError
        if page.total_count is None:
            raise ValueError("the page has no usable TotalCount") from None
        return page
    images = fast.Images.items if fast.Images else []
    return Page(fast.TotalCount, fast.RequestId, fast.RegionId, images, entries=len(images))
