"""Enrichments of one region's images: who each shared image is shared with, which instances
run each image.

Sharing: one paged DescribeImageSharePermission per self image that is shared (`IsSelfShared`)
or published (`IsPublic`), and for no other image. Usage: every instance of the region
(DescribeInstances, paged by NextToken), then the images the instances run that the listing
did not hold, looked up by id (DescribeImages `ImageId=a,b,...`), so an image of another
account in use (a community image) is audited whatever the owner scope.

A call that fails after its retries loses nothing: the image is kept, the enrichment is named
in its `NotCollected` (rules that read it report the image as not evaluated), and the region
says what is missing in its errors (the scan is then incomplete: exit 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from auditor.collector.client import ApiClient, Call
from auditor.collector.listing import ECS_VERSION
from auditor.collector.page_body import parse_page
from auditor.collector.params import PAGE_SIZE
from auditor.collector.retry import Deadline
from auditor.errors import ApiError
from auditor.models import IMAGE_STATUSES, DataNote, Image, ImageSharePermission, is_shared
from auditor.responses import read_instance_page, read_share_page

MAX_SHARE_PAGES = 100     # 10,000 accounts per image, far beyond the API's share quota
MAX_INSTANCE_PAGES = 10_000  # a million instances per region
LOOKUP_BATCH = PAGE_SIZE  # image ids per DescribeImages lookup: every answer fits one page


@dataclass
class Enrichment:
    """What a region's enrichment added: errors (what is missing) and notes."""

    errors: list[str] = field(default_factory=list)
    notes: list[DataNote] = field(default_factory=list)
    added: list[Image] = field(default_factory=list)  # images looked up because they run


def _missing(image: Image, name: str) -> None:
    image.NotCollected = sorted({*(image.NotCollected or []), name})


def share_params(region: str, image_id: str, page: int) -> dict[str, str]:
    """DescribeImageSharePermission's parameters for one page."""
    return {"RegionId": region, "ImageId": image_id, "PageNumber": str(page),
            "PageSize": str(PAGE_SIZE)}


def instance_params(region: str, token: str | None) -> dict[str, str]:
    """DescribeInstances' parameters: paged by NextToken (PageNumber is being retired)."""
    return {"RegionId": region, "MaxResults": str(PAGE_SIZE)} | (
        {"NextToken": token} if token else {})


def lookup_params(region: str, image_ids: list[str], alias: str) -> dict[str, str]:
    """DescribeImages by id, in every state, expired subscriptions included; no alias lists
    every owner but marketplace."""
    return {"RegionId": region, "ImageId": ",".join(image_ids),
            "Status": ",".join(IMAGE_STATUSES), "ShowExpired": "true",
            "PageSize": str(PAGE_SIZE), "PageNumber": "1"} | (
        {"ImageOwnerAlias": alias} if alias else {})


def share_permission(client: ApiClient, base_url: str, region: str, image_id: str,
                     deadline: Deadline) -> ImageSharePermission:
    """Every page of the image's share permission; ApiError when one fails."""
    accounts, groups = [], []
    for number in range(1, MAX_SHARE_PAGES + 1):
        call = Call(base_url, "DescribeImageSharePermission", ECS_VERSION,
                    share_params(region, image_id, number), region)
        page = client.call_parsed(call, read_share_page, deadline=deadline)
        accounts += page.permission.Accounts
        if number == 1:
            groups = page.permission.ShareGroups
        total = page.total_count
        if page.entries < PAGE_SIZE or (total is not None and len(accounts) >= total):
            break
    return ImageSharePermission(Accounts=accounts, ShareGroups=groups)


def enrich_sharing(client: ApiClient, base_url: str, region: str, images: Iterable[Image],
                   deadline: Deadline, concurrency: int, result: Enrichment) -> None:
    """SharePermission on every shared self image, `concurrency` images at a time."""
    shared = [image for image in images if is_shared(image)]
    if not shared:
        return

    def one(image: Image) -> None:
        try:
            image.SharePermission = share_permission(client, base_url, region, image.ImageId,
                                                     deadline)
        except ApiError as error:
            _missing(image, "SharePermission")
            result.errors.append(f"image {image.ImageId}: who it is shared with is unknown "
                                 f"({error})")

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(shared)))) as pool:
        list(pool.map(one, shared))


def running_images(client: ApiClient, base_url: str, region: str,
                   deadline: Deadline) -> dict[str, list[str]]:
    """image id -> ids of the region's instances that run it; ApiError when a page fails."""
    running: dict[str, list[str]] = {}
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_INSTANCE_PAGES):
        call = Call(base_url, "DescribeInstances", ECS_VERSION, instance_params(region, token),
                    region)
        page = client.call_parsed(call, read_instance_page, deadline=deadline)
        for instance_id, image_id in page.instances:
            if image_id:
                running.setdefault(image_id, []).append(instance_id)
        token = page.next_token
        if not token:
            return {image_id: sorted(set(ids)) for image_id, ids in running.items()}
        if token in seen:
            raise _listing_error(region, f"NextToken {token[:40]!r} came back twice")
        seen.add(token)
    raise _listing_error(region, f"more than {MAX_INSTANCE_PAGES} pages of instances")


def _listing_error(region: str, message: str) -> ApiError:
    return ApiError(code="InvalidResponse", message=message, region=region,
                    action="DescribeInstances")


def lookup_images(client: ApiClient, base_url: str, region: str, image_ids: list[str],
                  deadline: Deadline) -> list[Image]:
    """The images of `image_ids` that exist, of any owner and state, looked up by id: without
    an owner alias (the API then answers custom, shared, community and public images), then
    the ones still missing as marketplace images (which only that alias lists)."""
    found: dict[str, Image] = {}
    for alias in ("", "marketplace"):
        wanted = [i for i in image_ids if i not in found]
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start:start + LOOKUP_BATCH]
            call = Call(base_url, "DescribeImages", ECS_VERSION,
                        lookup_params(region, batch, alias), region)
            page = client.call_parsed(call, parse_page, deadline=deadline)
            found |= {i.ImageId: i for i in page.images if i.ImageId in batch}
    return [found[i] for i in image_ids if i in found]


def enrich_usage(client: ApiClient, base_url: str, region: str, images: list[Image],
                 running: dict[str, list[str]] | ApiError, deadline: Deadline,
                 result: Enrichment) -> None:
    """InstanceIds on every image (and on the images looked up because instances run them);
    `running` is `running_images`' answer, or the error that listing ended with."""
    if isinstance(running, ApiError):
        for image in images:
            _missing(image, "InstanceIds")
        result.errors.append(f"which instances run the images is unknown ({running})")
        return
    for image in images:
        image.InstanceIds = running.get(image.ImageId, [])
    listed = {image.ImageId for image in images}
    unlisted = sorted(set(running) - listed)
    if not unlisted:
        return
    try:
        added = lookup_images(client, base_url, region, unlisted, deadline)
    except ApiError as error:
        result.errors.append(f"images run by instances but not listed could not be looked up "
                             f"({error}): {', '.join(unlisted[:20])}"
                             + (" ..." if len(unlisted) > 20 else ""))
        return
    for image in added:
        image.InstanceIds = running[image.ImageId]
    result.added += added
    gone = sorted(set(unlisted) - {image.ImageId for image in added})
    result.notes += [DataNote(message=f"instances {', '.join(running[i])} run this image, "
                              "which no lookup finds (deleted, or not visible to this "
                              "account)", region=region, image_id=i) for i in gone]


def mark_organization(images: Iterable[Image], members: set[str]) -> None:
    """`InOrganization` on every account an image is shared with."""
    for image in images:
        if image.SharePermission is not None:
            for account in image.SharePermission.Accounts:
                account.InOrganization = account.AliyunId in members
