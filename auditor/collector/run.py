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
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from auditor import __version__
from auditor.collector import (
    CollectRequest,
    ProgressCallback,
    Record,
    RegionCallback,
    RegionSink,
    metadata,
    sts,
)
from auditor.collector.accounts import Account
from auditor.collector.client import ApiClient, new_session
from auditor.collector.collect_region import RegionJob, collect_region
from auditor.collector.credentials import CredentialOptions, resolve_credentials
from auditor.collector.enrich import mark_organization
from auditor.collector.organisation import (
    DEFAULT_RESOURCEMANAGER_ENDPOINT,
    AccountClients,
    Members,
    members,
    with_caller,
)
from auditor.collector.params import listing_params
from auditor.collector.region_ids import (
    check_endpoint,
    check_known,
    describe_regions,
    requested_regions,
)
from auditor.errors import ApiError, CredentialsError, UsageError
from auditor.models import DataNote, Inventory, RegionInventory

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


def _known_regions(client: ApiClient, request: CollectRequest) -> list[str] | None:
    """DescribeRegions' list; None when it fails and no `all` needs it."""
    try:
        return describe_regions(client, request.endpoint)
    except ApiError as error:
        if error.code.startswith(AUTH_CODES):
            raise CredentialsError(
                f"the API refused the credentials from {client.credentials.source}: {error}"
            ) from None
        accounts = request.accounts or ()
        if "all" in request.regions or any("all" in (a.regions or ()) for a in accounts):
            raise
        log.warning("cannot check the region ids, collecting them as given: %s", error)
        return None


def _regions(client: ApiClient, request: CollectRequest) -> list[str]:
    """The region ids to collect: DescribeRegions' list for `all`, else checked against it."""
    requested_regions(request.regions)
    return _expanded(list(request.regions), _known_regions(client, request))


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


@dataclass
class _Handover:
    """Gives each finished region to the caller's sink (`collect(sink=...)`), then lets its
    images go. Streaming, on a thread of its own, so that the region's worker goes on to the
    next region at once; else (share permissions are marked once every region is in) at the
    end, by `finish`."""

    sink: RegionSink | None
    streaming: bool
    saved: bool = False  # the sink only saves the images: plain ones are not validated
    _pool: ThreadPoolExecutor | None = None
    _handed: list[Future[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.sink is not None and self.streaming:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgaudit-sink")

    def give(self, region: RegionInventory, records: list[Record]) -> None:
        """A region whose images are final (called from the region's worker thread)."""
        if self._pool is not None:
            self._handed.append(self._pool.submit(self._hand, region, records))

    def _hand(self, region: RegionInventory, records: list[Record]) -> None:
        assert self.sink is not None
        self.sink(region, records)
        region.images = []

    def finish(self, regions: list[RegionInventory]) -> None:
        """Every region handed over (waiting for the sink's thread); its error raised."""
        if self.sink is None:
            return
        if not self.streaming:
            for region in regions:
                self._hand(region, list(region.images))
        for handed in self._handed:
            handed.result()

    def close(self) -> None:
        """No region is handed over any more; waits for the one being handed (Ctrl-C)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _handover(sink: RegionSink | None, request: CollectRequest) -> Iterator[_Handover]:
    handover = _Handover(sink, streaming=not request.sharing,
                         saved=sink is not None and not (request.sharing or request.instances))
    try:
        yield handover
    finally:
        handover.close()


@dataclass(frozen=True)
class _Work:
    """One region of one account (`account` None: the caller's, in a one-account scan)."""

    region: str
    account: Account | None = None


def _collect_all(
    clients: AccountClients, request: CollectRequest, work: list[_Work], progress: _Progress,
    handover: _Handover,
) -> list[RegionInventory]:
    """Every region of every account, `request.concurrency` at once."""
    listings = listing_params(request.scope)
    pages_at_once = request.page_concurrency or request.concurrency
    progress.total = len(work)

    def run(item: _Work) -> RegionInventory:
        records: list[Record] = []
        try:
            client = clients.client(item.account) if item.account else clients.caller
        except CredentialsError as error:
            result = RegionInventory(region=item.region, complete=False, errors=[str(error)])
        else:
            job = RegionJob(client, item.region, request.endpoint, listings, pages_at_once,
                            request.retry, functools.partial(progress.page, item.region),
                            request.sharing, request.instances, handover.saved)
            result, records = collect_region(job)
        if item.account is not None:
            result.account_id = item.account.id
        progress.region_done(item.region)
        handover.give(result, records)
        return result

    pool = ThreadPoolExecutor(max_workers=request.concurrency)
    try:
        results = list(pool.map(run, work))
    except BaseException:  # Ctrl-C: no region or page starts any more; in-flight calls end
        clients.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return sorted(results, key=lambda r: (r.region, r.account_id or ""))


def _mark_organization(request: CollectRequest, results: list[RegionInventory],
                       accounts: set[str]) -> None:
    """`InOrganization` on every account a shared image names: one of the scan's accounts
    (the self images of each account name it as their ImageOwnerId too)."""
    if request.sharing:
        owners = {str(i.ImageOwnerId) for r in results for i in r.images
                  if i.ImageOwnerAlias == "self" and i.ImageOwnerId}
        mark_organization((i for r in results for i in r.images), accounts | owners)


def collect_inventory(
    request: CollectRequest,
    *,
    progress: ProgressCallback | None = None,
    on_region: RegionCallback | None = None,
    sink: RegionSink | None = None,
) -> Inventory:
    """The inventory of every region asked for; see the module docstring for what raises."""
    with _handover(sink, request) as handover:
        return _collect_inventory(request, _Progress(progress, on_region), handover)


def _collect_inventory(request: CollectRequest, progress: _Progress,
                       handover: _Handover) -> Inventory:
    _check_request(request)
    listing_params(request.scope)  # bad filters fail before any network traffic
    if request.regions or not request.organisation:
        requested_regions(request.regions)
    pages_at_once = request.page_concurrency or request.concurrency
    # a region's pages, and its instance listing beside them (auditor/collector/enrich.py)
    with new_session(request.concurrency * (pages_at_once + 1) + 2) as session:
        credentials = resolve_credentials(_credential_options(request), session)
        client = ApiClient(session, credentials, signature=request.signature,
                           timeout=request.timeout, retry=request.retry)
        if request.organisation:
            return _organisation(session, client, request, progress, handover)
        clients = AccountClients(session, client, None, _sts_endpoint(request),
                                 request.role_name)
        with ThreadPoolExecutor(max_workers=1) as side:
            account: Future[str | None] | None = None
            if request.lookup_account:
                account = side.submit(_account_id, client, _sts_endpoint(request))
            regions = _regions(client, request)
            results = _collect_all(clients, request, [_Work(r) for r in regions], progress,
                                   handover)
            account_id = account.result() if account is not None else None
    _mark_organization(request, results, {account_id} if account_id else set())
    handover.finish(results)
    return Inventory(
        tool_version=__version__,
        collected_at=datetime.now(timezone.utc),
        source="api",
        account_id=account_id,
        scope=request.scope,
        regions=results,
    )


def _resourcemanager_endpoint(request: CollectRequest) -> str:
    return (request.resourcemanager_endpoint
            or os.environ.get("IMGAUDIT_RESOURCEMANAGER_ENDPOINT")
            or DEFAULT_RESOURCEMANAGER_ENDPOINT).rstrip("/")


def _organisation(session: requests.Session, client: ApiClient, request: CollectRequest,
                  progress: _Progress, handover: _Handover) -> Inventory:
    """Every account (the file's, the directory's, the caller's) x its regions."""
    sts_endpoint = _sts_endpoint(request)
    with ThreadPoolExecutor(max_workers=2) as side:
        caller = side.submit(_account_id, client, sts_endpoint)
        listed = (side.submit(members, client, _resourcemanager_endpoint(request))
                  if request.resource_directory else None)
        known = _known_regions(client, request) if _wants_regions(request) else None
        caller_id = caller.result()
        directory = listed.result() if listed is not None else Members()
    for skipped in directory.skipped:
        log.warning("%s", skipped)
    accounts = _merged_accounts(request, directory, caller_id)
    work = _account_work(request, accounts, known)
    clients = AccountClients(session, client, caller_id, sts_endpoint, request.role_name)
    results = _collect_all(clients, request, work, progress, handover)
    _mark_organization(request, results, {a.id for a in accounts} | (
        {caller_id} if caller_id else set()))
    handover.finish(results)
    return Inventory(
        tool_version=__version__,
        collected_at=datetime.now(timezone.utc),
        source="api",
        account_id=caller_id if len(accounts) == 1 and accounts[0].id == caller_id else None,
        account_names={a.id: a.name for a in accounts if a.name} or None,
        scope=request.scope,
        regions=results,
        notes=[DataNote(source="ListAccounts", message=text) for text in directory.skipped],
    )


def _wants_regions(request: CollectRequest) -> bool:
    """Whether any region id is to be checked (or `all` expanded) by DescribeRegions."""
    return bool(request.regions) or any(a.regions for a in request.accounts or ())


def _merged_accounts(request: CollectRequest, directory: Members,
                     caller_id: str | None) -> list[Account]:
    """The file's accounts, then the directory's members not in it; the caller's own first
    unless left out. UsageError when nothing is left to scan."""
    accounts = list(request.accounts or ())
    listed = {a.id for a in accounts}
    accounts += [a for a in directory.accounts if a.id not in listed]
    if request.caller_account and caller_id is None:
        log.warning("the caller's account id is unknown (STS GetCallerIdentity failed): "
                    "it is scanned only if it is listed")
    accounts = with_caller(accounts, caller_id, request.caller_account)
    if not request.caller_account:
        accounts = [a for a in accounts if a.id != caller_id]
    if not accounts:
        raise UsageError("no account to scan: the Resource Directory lists no active member "
                         "and the caller's own account is left out")
    return accounts


def _account_work(request: CollectRequest, accounts: list[Account],
                  known: list[str] | None) -> list[_Work]:
    """Each account's regions (its own, else --region), region-major so that the first jobs
    assume the roles of different accounts at once."""
    default = _expanded(list(request.regions), known) if request.regions else []
    per_account = []
    for account in accounts:
        regions = _expanded(list(account.regions), known) if account.regions else default
        if not regions:
            raise UsageError(f"account {account.label} has no region to scan: give --region "
                             "(or `regions:` in the accounts file)")
        per_account.append((account, regions))
    rounds = max(len(regions) for _, regions in per_account)
    return [_Work(regions[n], account) for n in range(rounds)
            for account, regions in per_account if n < len(regions)]


def _expanded(wanted: list[str], known: list[str] | None) -> list[str]:
    wanted = requested_regions(wanted)
    if known is None:
        return wanted
    if "all" in wanted:
        return known
    check_known(wanted, known)
    return wanted


