"""One collection run: credentials, regions, then every region concurrently (bounded).

A region that fails keeps what it collected and is marked incomplete with the reason; the
other regions finish. Only problems that make the whole run meaningless raise: bad options,
no credentials, credentials the API refuses, or `--region all` when DescribeRegions fails.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone

from auditor import __version__
from auditor.collector import (
    CollectRequest,
    ProgressCallback,
    RegionCallback,
    metadata,
    sts,
)
from auditor.collector.client import ApiClient, new_session
from auditor.collector.collect_region import RegionJob, collect_region
from auditor.collector.credentials import CredentialOptions, resolve_credentials
from auditor.collector.params import listing_params
from auditor.collector.region_ids import (
    check_endpoint,
    check_known,
    describe_regions,
    requested_regions,
)
from auditor.errors import ApiError, CredentialsError, UsageError
from auditor.gcpause import gc_paused
from auditor.models import Inventory, RegionInventory

log = logging.getLogger("imgaudit.collector")

AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken",
              "IncompleteSignature", "InvalidTimeStamp", "InvalidAccessKeySecret")


def _check_request(request: CollectRequest) -> None:
    if request.signature not in ("v1", "v3"):
        raise UsageError(f"signature {request.signature!r}: choose v3 or v1")
    if request.concurrency < 1 or (request.page_concurrency or 1) < 1:
        raise UsageError("concurrency must be at least 1")
    check_endpoint(request.endpoint)


def _credential_options(request: CollectRequest) -> CredentialOptions:
    env = dict(os.environ)
    return CredentialOptions(
        profile=request.profile,
        config_path=request.aliyun_config,
        sts_endpoint=(request.sts_endpoint or env.get("IMGAUDIT_STS_ENDPOINT") or "").rstrip("/")
        or None,
        metadata_url=request.metadata_url or env.get("IMGAUDIT_METADATA_URL")
        or metadata.DEFAULT_METADATA_URL,
        environ=env,
        timeout=request.timeout,
    )


def _sts_endpoint(request: CollectRequest) -> str:
    return (request.sts_endpoint or os.environ.get("IMGAUDIT_STS_ENDPOINT")
            or sts.DEFAULT_STS_ENDPOINT).rstrip("/")


def _regions(client: ApiClient, request: CollectRequest) -> list[str]:
    """The region ids to collect: DescribeRegions' list for `all`, else checked against it."""
    wanted = requested_regions(request.regions)
    try:
        known = describe_regions(client, request.endpoint)
    except ApiError as error:
        if error.code.startswith(AUTH_CODES):
            raise CredentialsError(
                f"the API refused the credentials from {client.credentials.source}: {error}"
            ) from None
        if "all" in wanted:
            raise
        log.warning("cannot check the region ids, collecting them as given: %s", error)
        return wanted
    if "all" in wanted:
        return known
    check_known(wanted, known)
    return wanted


def _account_id(client: ApiClient, sts_endpoint: str) -> str | None:
    try:
        return sts.caller_account_id(client, sts_endpoint)
    except ApiError as error:
        log.warning("account id unknown (ARNs will lack it): %s", error)
        return None


class _Progress:
    """Serialises the callbacks (workers call them from many threads) and keeps the counts."""

    def __init__(self, callback: ProgressCallback | None, on_region: RegionCallback | None,
                 total: int = 0) -> None:
        self.callback = callback
        self.on_region = on_region
        self.total = total
        self.done = 0
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[int, int]] = {}

    def region_done(self, region: str) -> None:
        with self.lock:
            self.done += 1
            if self.on_region is not None:
                self.on_region(region, self.done, self.total)

    def page(self, region: str, image_count: int) -> None:
        with self.lock:
            page_count, seen = self.counts.get(region, (0, 0))
            self.counts[region] = (page_count + 1, seen + image_count)
            if self.callback is not None:
                self.callback(region, page_count + 1, seen + image_count)


def _collect_all(
    client: ApiClient, request: CollectRequest, regions: list[str], progress: _Progress
) -> list[RegionInventory]:
    listings = listing_params(request.scope)
    pages_at_once = request.page_concurrency or request.concurrency
    jobs = [
        RegionJob(client, region, request.endpoint, listings, pages_at_once, request.retry,
                  functools.partial(progress.page, region))
        for region in regions
    ]
    progress.total = len(jobs)

    def run(job: RegionJob) -> RegionInventory:
        result = collect_region(job)
        progress.region_done(job.region)
        return result

    pool = ThreadPoolExecutor(max_workers=request.concurrency)
    try:
        results = list(pool.map(run, jobs))
    except BaseException:  # Ctrl-C: no region or page starts any more; in-flight calls end
        client.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return sorted(results, key=lambda r: r.region)


def collect_inventory(
    request: CollectRequest,
    *,
    progress: ProgressCallback | None = None,
    on_region: RegionCallback | None = None,
) -> Inventory:
    """The inventory of every region asked for; see the module docstring for what raises."""
    # tens of thousands of new records: no cyclic GC passes holding the GIL the I/O threads need
    with gc_paused():
        return _collect_inventory(request, _Progress(progress, on_region))


def _collect_inventory(request: CollectRequest, progress: _Progress) -> Inventory:
    _check_request(request)
    listing_params(request.scope)  # bad filters fail before any network traffic
    requested_regions(request.regions)
    pages_at_once = request.page_concurrency or request.concurrency
    with new_session(request.concurrency * pages_at_once + 2) as session:
        credentials = resolve_credentials(_credential_options(request), session)
        client = ApiClient(session, credentials, signature=request.signature,
                           timeout=request.timeout, retry=request.retry)
        with ThreadPoolExecutor(max_workers=1) as side:
            account: Future[str | None] | None = None
            if request.lookup_account:
                account = side.submit(_account_id, client, _sts_endpoint(request))
            regions = _regions(client, request)
            results = _collect_all(client, request, regions, progress)
            account_id = account.result() if account is not None else None
    return Inventory(
        tool_version=__version__,
        collected_at=datetime.now(timezone.utc),
        source="api",
        account_id=account_id,
        scope=request.scope,
        regions=results,
    )
