"""One paged DescribeImages listing (one region, one owner scope).

Page 1 gives `TotalCount`, which plans the pages; the others are fetched concurrently, at most
`concurrency` in flight, so the plan is bounded by what the pages deliver rather than by what
`TotalCount` claims: fetching stops at a short page (the end of the listing), at a page that
brings no image not already seen (a server repeating itself), and after MAX_PAGES pages. A
`TotalCount` that cannot be a count (negative, or beyond MAX_PAGES pages) is recorded as an
error. Images are de-duplicated by `ImageId`, keeping the first page's copy. A page that
still fails after its retries is recorded, and the pages that did arrive are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from auditor.collector.client import ApiClient, Call
from auditor.collector.page_body import Page, SavedPage, parse_page, parse_saved_page
from auditor.collector.params import PAGE_SIZE
from auditor.collector.retry import Deadline
from auditor.collector.saved import Record
from auditor.errors import ApiError
from auditor.models import DataNote
from auditor.responses import repeated

ECS_VERSION = "2014-05-26"
MAX_PAGES = 1000  # 100,000 images per listing: more than any account holds, bounded memory

PageDone = Callable[[int], None]  # called with the number of images on each page received


@dataclass
class Listing:
    """What one listing produced: unique images in page order, and what went wrong."""

    total_count: int = 0
    images: dict[str, Record] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[DataNote] = field(default_factory=list)  # values kept raw, repeated ImageIds

    def add_page(self, page: Page | SavedPage) -> None:
        if page.request_id:
            self.request_ids.append(page.request_id)
        for image in page.images:
            image_id = image.ImageId
            if self.images.setdefault(image_id, image) is not image:
                self.notes.append(repeated(image_id))
        self.errors += page.errors
        self.notes += page.notes


def _shown(count: int) -> str:
    """A count as a message shows it: a huge one by its length, not hundreds of digits."""
    text = str(count)
    return text if len(text) <= 20 else f"of {len(text)} digits"


def planned_pages(total_count: int) -> int:
    """Pages that `TotalCount` announces (at least 1, at most MAX_PAGES)."""
    return max(1, min(MAX_PAGES, _pages_for(total_count)))


def _pages_for(total_count: int) -> int:
    return -(-total_count // PAGE_SIZE)  # integer ceiling: TotalCount may be 10**400


@dataclass
class _Plan:
    """Which pages to ask for next; shrinks as soon as a page shows where the listing ends."""

    last: int                     # the last page worth asking for
    more: bool                    # full pages beyond `last` are worth following (see below)
    next: int = 2
    seen: set[str] = field(default_factory=set)
    stop_note: str | None = None

    def take(self) -> int | None:
        if self.next > self.last or self.next > MAX_PAGES:
            return None
        self.next += 1
        return self.next - 1

    def arrived(self, number: int, page: Page | SavedPage) -> None:
        ids = {image.ImageId for image in page.images}
        if ids and ids <= self.seen and len(ids) >= PAGE_SIZE:
            self.last = min(self.last, number)
            self.stop_note = f"page {number} repeats images of earlier pages; listing stopped"
        elif len(page.images) < PAGE_SIZE:
            self.last = min(self.last, number)  # a short page ends the listing
        elif self.more and number == self.last:
            self.last = number + 1  # TotalCount was too small: follow full pages
        self.seen |= ids


@dataclass(frozen=True)
class Pager:
    """Fetches the pages of one listing at one endpoint."""

    client: ApiClient
    base_url: str
    region: str
    params: dict[str, str]
    concurrency: int
    deadline: Deadline
    saved: bool = False  # the images are only saved: plain ones are not validated

    def fetch(self, page: int) -> Page | SavedPage:
        params = {**self.params, "RegionId": self.region, "PageNumber": str(page)}
        call = Call(self.base_url, "DescribeImages", ECS_VERSION, params, self.region)
        if self.saved:
            return self.client.call_parsed(call, parse_saved_page, deadline=self.deadline)
        return self.client.call_parsed(call, parse_page, deadline=self.deadline)

    def listing(self, on_page: PageDone) -> Listing:
        """Every page; raises ApiError only when page 1 itself fails."""
        first = self.fetch(1)
        total: int | None = first.total_count
        listing = Listing(total_count=total or 0)
        listing.add_page(first)
        on_page(len(first.images))
        if total is None:
            listing.errors.append(f"{self.region}: page 1 has no TotalCount")
            total = -1  # plan by the pages alone
        elif total < 0:
            listing.errors.append(f"{self.region}: TotalCount {total} is not a count")
        elif _pages_for(total) > MAX_PAGES:
            listing.errors.append(
                f"{self.region}: TotalCount {_shown(total)} is beyond {MAX_PAGES} pages of "
                f"{PAGE_SIZE}; at most {MAX_PAGES} pages are read")
        plan = _Plan(last=planned_pages(total), more=len(first.images) > total)
        plan.arrived(1, first)
        results = self._fetch_rest(plan, on_page)
        for number in sorted(results):
            result = results[number]
            if isinstance(result, ApiError):
                listing.errors.append(f"{result}; page {number} of {plan.last} "
                                        "not collected")
            else:
                listing.add_page(result)
        if plan.stop_note:
            listing.errors.append(f"{self.region}: {plan.stop_note}")
        return listing

    def _fetch_rest(self, plan: _Plan, on_page: PageDone) -> dict[int, Page | SavedPage | ApiError]:
        """Pages 2.. of the plan, `concurrency` at a time, re-planned as each one arrives.

        Each of `concurrency` threads takes the plan's next page, fetches it, tells the plan
        what arrived and takes the next: the thread that read a page asks for the next one
        at once, with no future, waiter or hand-over to another thread between them (their
        GIL-holding time in `bench_collect.py --profile`: 0.26 s, now 0.09 s with the
        threads themselves)."""
        results: dict[int, Page | SavedPage | ApiError] = {}
        lock = threading.Lock()  # the plan and the results

        def fetch_in_turn() -> None:
            while True:
                with lock:
                    number = plan.take()
                if number is None:
                    return
                result: Page | SavedPage | ApiError
                try:
                    result = self.fetch(number)
                except ApiError as error:
                    result = error
                else:
                    on_page(len(result.images))
                with lock:
                    results[number] = result
                    if not isinstance(result, ApiError):
                        plan.arrived(number, result)

        workers = max(1, self.concurrency)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for running in [pool.submit(fetch_in_turn) for _ in range(workers)]:
                running.result()
        return results
