"""One DescribeImages page read straight from its bytes into `Image` records.

The fast path validates the whole body in pydantic-core (no intermediate Python dicts); a
page that fails it is read again image by image, so one unreadable image is reported by id
and the others are kept. A body that is not JSON, or lacks TotalCount, raises ValueError:
the client retries that as a transient `InvalidResponse`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from auditor.models import Image


class _ImageList(BaseModel):
    items: list[Image] = Field(default_factory=list, alias="Image")


class _PageBody(BaseModel):
    TotalCount: int
    RequestId: str | None = None
    Images: _ImageList | None = None


@dataclass
class Page:
    total_count: int
    request_id: str | None
    images: list[Image]
    problems: list[str] = field(default_factory=list)


def raw_images(doc: dict[str, Any]) -> list[Any]:
    """The `Images.Image` list of a parsed page (tolerating a missing or flat wrapper)."""
    images = doc.get("Images") or []
    if isinstance(images, dict):
        images = images.get("Image") or []
    return images if isinstance(images, list) else []


def _one_by_one(doc: dict[str, Any]) -> Page:
    try:
        total = int(doc["TotalCount"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("the page has no TotalCount") from None
    images, problems = [], []
    for item in raw_images(doc):
        try:
            images.append(Image.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "image"
            image_id = item.get("ImageId") if isinstance(item, dict) else None
            problems.append(f"image {image_id} unreadable: {where}: {error['msg']}")
    request_id = doc.get("RequestId")
    return Page(total, str(request_id) if request_id else None, images, problems)


def parse_page(body: bytes) -> Page:
    """The page's TotalCount, RequestId and images; ValueError when the body is unusable."""
    try:
        page = _PageBody.model_validate_json(body)
    except ValidationError:
        doc = json.loads(body)  # ValueError (JSONDecodeError) when truncated or not JSON
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object") from None
        return _one_by_one(doc)
    images = page.Images.items if page.Images else []
    return Page(page.TotalCount, page.RequestId, images)
