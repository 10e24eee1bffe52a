"""Region ids and their endpoints; DescribeRegions for `--region all` and for checking ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from auditor.errors import ApiError, UsageError

if TYPE_CHECKING:
    from auditor.collector.client import ApiClient

# DescribeRegions is answered by any regional endpoint; this one exists for every account.
HOME_REGION = "cn-hangzhou"
REGION_ID = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+\Z")


def endpoint_for(region: str, override: str | None) -> str:
    """`override` (tests, proxies, VPC endpoints) or https://ecs.<region>.aliyuncs.com."""
    if override:
        return override.rstrip("/")
    return f"https://ecs.{region}.aliyuncs.com"


def check_endpoint(url: str | None) -> None:
    """An endpoint must be an http(s) URL without path, query or fragment."""
    if url is None:
        return
    if not re.match(r"^https?://[^/?#\s]+/?$", url):
        raise UsageError(f"--endpoint {url!r}: expected https://HOST[:PORT]")


def requested_regions(regions: list[str]) -> list[str]:
    """The ids asked for, de-duplicated; `all` is handled by the caller."""
    wanted = list(dict.fromkeys(r.strip() for r in regions if r.strip()))
    if not wanted:
        raise UsageError("no region given: --region ID (repeatable) or --region all")
    bad = [r for r in wanted if r != "all" and not REGION_ID.match(r)]
    if bad:
        raise UsageError(f"malformed region id {', '.join(bad)} (expected e.g. cn-hangzhou)")
    return wanted


def describe_regions(client: ApiClient, endpoint: str | None) -> list[str]:
    """Every region id the account can use, sorted. Ids that are not region ids are left
    out: they become host names (`ecs.<region>.aliyuncs.com`), so a hostile answer must not
    be able to send the signed requests elsewhere."""
    # Imported here: the account file's checks use REGION_ID, and a scan of a saved
    # inventory (which reads the CLI's options, hence this module) needs no HTTP client.
    from auditor.collector.client import Call
    from auditor.collector.listing import ECS_VERSION

    call = Call(endpoint_for(HOME_REGION, endpoint), "DescribeRegions", ECS_VERSION, {})
    body = client.call(call)
    wrapper = body.get("Regions")
    regions = wrapper.get("Region") if isinstance(wrapper, dict) else None
    if not isinstance(regions, list):
        regions = []
    ids = sorted({r["RegionId"] for r in regions if isinstance(r, dict)
                  and isinstance(r.get("RegionId"), str) and REGION_ID.match(r["RegionId"])})
    if not ids:
        request_id = body.get("RequestId")
        raise ApiError(code="InvalidResponse", message="DescribeRegions listed no region",
                       request_id=str(request_id)[:80] if request_id else None,
                       action="DescribeRegions")
    return ids


def check_known(wanted: list[str], known: list[str]) -> None:
    """Refuse region ids the account does not have, before any listing starts."""
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise UsageError(
            f"unknown region {', '.join(unknown)}; this account has: {', '.join(known)}"
        )
