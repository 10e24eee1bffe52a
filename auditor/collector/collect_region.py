"""Collect one region: one listing per owner scope, merged and de-duplicated by ImageId.

When a listing's unique images disagree with its `TotalCount` (images created or deleted while
paging), the listing is taken again once; a second disagreement is recorded in the region's
`errors`. Fewer images than `TotalCount` also marks the region incomplete: a deletion while
paging pulls later pages forward, so an image that still exists may never have been seen.
More images than `TotalCount` loses nothing, and the region stays complete. A listing that
fails after its retries marks the region incomplete and says which pages are missing.

A listing filtered by tags that reaches the API's cap of TAG_CAP images may have been cut
short, silently: it is taken again without the tag filter, and the tags are matched here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import cast

from auditor.collector.client import ApiClient
from auditor.collector.enrich import Enrichment, enrich_sharing, enrich_usage, running_images
from auditor.collector.listing import Listing, Pager
from auditor.collector.params import TAG_CAP, has_tags, tag_filters, without_tags
from auditor.collector.region_ids import endpoint_for
from auditor.collector.retry import Deadline, RetryPolicy
from auditor.collector.saved import Record
from auditor.errors import ApiError
from auditor.models import DataNote, Image, RegionInventory

log = logging.getLogger("imgaudit.collector")


@dataclass(frozen=True)
class RegionJob:
    client: ApiClient
    region: str
    endpoint: str | None
    listings: dict[str, dict[str, str]]  # owner scope -> request parameters
    page_concurrency: int
    retry: RetryPolicy
    on_page: Callable[[int], None]
    sharing: bool = False    # DescribeImageSharePermission for each shared self image
    instances: bool = False  # DescribeInstances, and the images instances run looked up
    saved: bool = False  # the images are only saved: plain ones are kept as saved mappings


@dataclass
class _Merged:
    images: dict[str, Record] = field(default_factory=dict)
    total_count: int = 0
    request_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[DataNote] = field(default_factory=list)
    complete: bool = True

    def add(self, listing: Listing, region: str) -> None:
        self.total_count += listing.total_count
        self.request_ids += listing.request_ids
        self.notes += [note.model_copy(update={"region": region}) for note in listing.notes]
        for image_id, image in listing.images.items():
            self.images.setdefault(image_id, image)
        if listing.errors:
            self.complete = False
            self.errors += [f"{region}: {error}" if error.startswith("image ") else error
                            for error in listing.errors]


def _count_note(region: str, owner: str, listing: Listing) -> str:
    missing = len(listing.images) < listing.total_count
    return (
        f"{region}: owner {owner}: TotalCount {listing.total_count} but "
        f"{len(listing.images)} unique images listed, twice (images created or deleted "
        "during the scan); "
        + ("images may be missing" if missing else "every page was read, nothing is missing")
    )


def _listing(pager: Pager, job: RegionJob, owner: str) -> tuple[Listing, str | None]:
    """A listing, taken again once when its count disagrees with TotalCount."""
    listing = pager.listing(job.on_page)
    if listing.errors or len(listing.images) == listing.total_count:
        return listing, None
    log.info("%s: owner %s: %d unique images for TotalCount %d; listing again",
             job.region, owner, len(listing.images), listing.total_count)
    listing = pager.listing(job.on_page)
    if listing.errors or len(listing.images) == listing.total_count:
        return listing, None
    return listing, _count_note(job.region, owner, listing)


def _capped(listing: Listing, params: dict[str, str]) -> bool:
    return bool(tag_filters(params)) and not listing.errors and (
        listing.total_count >= TAG_CAP or len(listing.images) >= TAG_CAP)


def _tagged_listing(pager: Pager, job: RegionJob, owner: str) -> tuple[Listing, str | None]:
    """The listing; past the tag cap, the listing without tags, filtered by them here."""
    listing, note = _listing(pager, job, owner)
    if not _capped(listing, pager.params):
        return listing, note
    wanted = tag_filters(pager.params)
    log.info("%s: owner %s: %d images match the tags, the API's cap; listing without the "
             "tag filter", job.region, owner, listing.total_count)
    listing, note = _listing(replace(pager, params=without_tags(pager.params)), job, owner)
    listing.images = {i: image for i, image in listing.images.items()
                      if has_tags(image.Tags, wanted)}
    listing.total_count = len(listing.images)
    return listing, note


def _running(job: RegionJob, base_url: str, deadline: Deadline) -> dict[str, list[str]] | ApiError:
    try:
        return running_images(job.client, base_url, job.region, deadline)
    except ApiError as error:
        return error


def collect_region(job: RegionJob) -> tuple[RegionInventory, list[Record]]:
    """The region's inventory and its images; never raises an ApiError (it lands in
    `errors`). The images are the inventory's own `images`, except for a job that only saves
    them (`RegionJob.saved`, no enrichment): then the inventory's `images` stay empty, and
    the list holds them, plain ones as the saved inventory's mappings. Instances are listed
    while the images are, on a thread of their own."""
    deadline = Deadline(job.retry.region_budget)
    base_url = endpoint_for(job.region, job.endpoint)
    region, records = _images(job, base_url, deadline)
    if records is not None:
        return region, records
    if not job.instances:
        region = _enriched(job, region, None, base_url, deadline)
        return region, list(region.images)
    with ThreadPoolExecutor(max_workers=1) as side:
        running = side.submit(_running, job, base_url, deadline)
        region = _enriched(job, region, running, base_url, deadline)
        return region, list(region.images)


def _enriched(job: RegionJob, region: RegionInventory,
              running: Future[dict[str, list[str]] | ApiError] | None, base_url: str,
              deadline: Deadline) -> RegionInventory:
    """The region with its enrichments: usage first (its lookups add images), then sharing."""
    result = Enrichment()
    if running is not None:
        enrich_usage(job.client, base_url, job.region, region.images, running.result(),
                     deadline, result)
        region.images += result.added
    if job.sharing:
        enrich_sharing(job.client, base_url, job.region, region.images, deadline,
                       job.page_concurrency, result)
    region.errors += result.errors
    region.notes += result.notes
    region.complete = region.complete and not result.errors
    return region


def _images(job: RegionJob, base_url: str,
            deadline: Deadline) -> tuple[RegionInventory, list[Record] | None]:
    """The region's image listings, merged; its records apart when the job only saves them
    (else None: they are the region's `images`)."""
    saved = job.saved and not job.sharing and not job.instances
    merged = _Merged()
    for owner, params in job.listings.items():
        pager = Pager(job.client, base_url, job.region, params, job.page_concurrency, deadline,
                      saved)
        try:
            listing, note = _tagged_listing(pager, job, owner)
        except ApiError as error:
            merged.complete = False
            merged.errors.append(f"{error}; owner {owner}: no page collected")
            continue
        merged.add(listing, job.region)
        if note:
            merged.errors.append(note)
            merged.complete = merged.complete and len(listing.images) > listing.total_count
    records = list(merged.images.values())
    region = RegionInventory(
        region=job.region,
        complete=merged.complete,
        total_count=merged.total_count,
        # not saved: the pager validated every image (a filter here would drop one silently)
        images=[] if saved else cast(list[Image], records),
        request_ids=merged.request_ids,
        errors=merged.errors,
        notes=merged.notes,
    )
    return region, records if saved else None
