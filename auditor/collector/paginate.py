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

from auditor.collector.client import ApiClient, Call
from auditor.collector.pages import Page, parse_page
from auditor.collector.params import PAGE_SIZE
from auditor.collector.retry import Deadline
from auditor.errors import ApiError
from auditor.models import DataNote, Image
from auditor.responses import repeated

ECS_VERSION = "2014-05-26"

PageDone = Callable[[int], None]  # called with the number of images on each page received


@dataclass
class Listing:
    """What one listing produced: unique images in page order, and what went wrong."""

    total_count: int = 0
    pages: int = 0
    images: dict[str, Image] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[DataNote] = field(default_factory=list)  # values kept raw, repeated ImageIds

    def add_page(self, page: Page) -> None:
        if page.request_id:
            self.request_ids.append(page.request_id)
        for image in page.images:
            if self.images.setdefault(image.ImageId, image) is not image:
                self.notes.append(repeated(image.ImageId))
        self.failures += page.problems
        self.notes += page.notes


@dataclass(frozen=True)
class Pager:
    """Fetches the pages of one listing at one endpoint."""

    client: ApiClient
    base_url: str
    region: str
    params: dict[str, str]
    concurrency: int
    deadline: Deadline

    def fetch(self, page: int) -> Page:
        params = {**self.params, "RegionId": self.region, "PageNumber": str(page)}
        call = Call(self.base_url, "DescribeImages", ECS_VERSION, params, self.region)
        return self.client.call_parsed(call, parse_page, deadline=self.deadline)

    def listing(self, on_page: PageDone) -> Listing:
        """Every page; raises ApiError only when page 1 itself fails."""
        first = self.fetch(1)
        listing = Listing(total_count=first.total_count or 0)
        listing.pages = max(1, math.ceil(listing.total_count / PAGE_SIZE))
        listing.add_page(first)
        on_page(len(first.images))

        def fetch_safely(number: int) -> Page | ApiError:
            try:
                page = self.fetch(number)
            except ApiError as error:
                return error
            on_page(len(page.images))
            return page

        rest = range(2, listing.pages + 1)
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            results = list(pool.map(fetch_safely, rest))
        for number, result in zip(rest, results, strict=True):
            if isinstance(result, ApiError):
                listing.failures.append(f"{result}; page {number} of {listing.pages} "
                                        "not collected")
            else:
                listing.add_page(result)
        return listing
