"""One paged DescribeImages listing (one region, one owner alias).

Page 1 gives `TotalCount`; the remaining pages are fetched concurrently (bounded). Images are
de-duplicated by `ImageId`, keeping the first page's copy. A page that still fails after its
retries is recorded, and the pages that did arrive are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from auditor.collector.client import ApiClient, Call
from auditor.collector.params import PAGE_SIZE
from auditor.collector.retry import Deadline
from auditor.errors import ApiError

ECS_VERSION = "2014-05-26"

PageDone = Callable[[int], None]  # called with the number of images on each page received


@dataclass
class Listing:
    """What one listing produced: unique images in page order, and what went wrong."""

    total_count: int = 0
    pages: int = 0
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add_page(self, body: dict[str, Any]) -> None:
        if body.get("RequestId"):
            self.request_ids.append(str(body["RequestId"]))
        for image in page_images(body):
            image_id = image.get("ImageId")
            if image_id and image_id not in self.images:
                self.images[image_id] = image


def page_images(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `Images.Image` list of a page (tolerating a missing or flattened wrapper)."""
    images = body.get("Images") or []
    if isinstance(images, dict):
        images = images.get("Image") or []
    return [image for image in images if isinstance(image, dict)]


@dataclass(frozen=True)
class Pager:
    """Fetches the pages of one listing at one endpoint."""

    client: ApiClient
    base_url: str
    region: str
    params: dict[str, str]
    concurrency: int
    deadline: Deadline

    def fetch(self, page: int) -> dict[str, Any]:
        params = {**self.params, "RegionId": self.region, "PageNumber": str(page)}
        return self.client.call(
            Call(self.base_url, "DescribeImages", ECS_VERSION, params, self.region),
            deadline=self.deadline,
        )

    def listing(self, on_page: PageDone) -> Listing:
        """Every page; raises ApiError only when page 1 itself fails."""
        first = self.fetch(1)
        listing = Listing(total_count=_total_count(first, self.region))
        listing.pages = max(1, math.ceil(listing.total_count / PAGE_SIZE))
        listing.add_page(first)
        on_page(len(page_images(first)))

        def fetch_safely(page: int) -> dict[str, Any] | ApiError:
            try:
                body = self.fetch(page)
            except ApiError as error:
                return error
            on_page(len(page_images(body)))
            return body

        rest = range(2, listing.pages + 1)
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            results = list(pool.map(fetch_safely, rest))
        for page, result in zip(rest, results, strict=True):
            if isinstance(result, ApiError):
                listing.failures.append(f"{result}; page {page} of {listing.pages} not collected")
            else:
                listing.add_page(result)
        return listing


def _total_count(body: dict[str, Any], region: str) -> int:
    try:
        return int(body["TotalCount"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            code="InvalidResponse",
            message="the first page has no TotalCount",
            region=region,
            request_id=body.get("RequestId"),
        ) from None
