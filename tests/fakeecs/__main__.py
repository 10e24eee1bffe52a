"""Serve a synthetic cloud from its own process (for `bench/bench_collect.py`):

    PYTHONPATH=tests python -m fakeecs [--regions 20] [--images 2000] [--latency 0.05]
                                       [--accounts 1]

Prints the endpoint's URL on the first line of stdout, then serves until stdin closes (or
reads a line), and prints a JSON summary of the calls it answered on the last line: per action
counts, the API phase (first request in to last answer out) and the process's CPU seconds.
Every page is rendered once before the URL is printed, so the fake's own CPU is not measured.
`--accounts N` (for `bench/bench_org.py`) makes the caller the management account of a
Resource Directory of N accounts: N-1 members, each with the same regions and images as
the caller (the same records, each member's pages rendered for it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from typing import Any

from auditor.collector.params import listing_params
from auditor.models import Scope

from . import api
from .cloud import ACCOUNT_ID, FakeCloud, Member
from .server import FakeEndpoint

REGION_IDS = (
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-zhangjiakou",
    "cn-huhehaote", "cn-wulanchabu", "cn-qingdao", "cn-chengdu", "cn-guangzhou",
    "cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-northeast-1",
    "ap-northeast-2", "eu-central-1", "eu-west-1", "us-west-1", "us-east-1",
    "me-east-1", "ap-south-1", "ap-southeast-6", "ap-southeast-7",
)


def synthetic_cloud(regions: int, images: int, latency: float, accounts: int = 1) -> FakeCloud:
    """`regions` regions of `images` own images each (bench/synth.py: varied, all in scope)
    in each of `accounts` accounts, every page of the listing the collector asks for rendered
    once."""
    if not 1 <= regions <= len(REGION_IDS):
        raise SystemExit(f"--regions: 1 to {len(REGION_IDS)}")
    cloud = FakeCloud(regions={}, latency=latency, cache_pages=True)
    for n, region in enumerate(REGION_IDS[:regions]):
        batch = api.synth.generate(images, regions=1, seed=n + 1)["regions"][0]["images"]
        for image in batch:
            image["ImageOwnerAlias"] = "self"
        cloud.add_images(region, batch)
    members = [cloud.add_member(Member(f"{1000000000000000 + n}", f"member-{n:03d}",
                                       regions=dict(cloud.regions))).account_id
               for n in range(1, accounts)]
    (params,) = listing_params(Scope()).values()
    for account in [ACCOUNT_ID, *members]:
        for region in cloud.regions:
            for page in range(1, max(1, math.ceil(images / 100)) + 1):
                api.describe_images(cloud, {**params, "RegionId": region,
                                            "PageNumber": str(page)}, account)
    return cloud


def summary(cloud: FakeCloud) -> dict[str, Any]:
    """What the endpoint saw: calls per action and the API phase in seconds."""
    with cloud.lock:
        calls = list(cloud.calls)
    phase = (max(c.finished or c.started for c in calls) - min(c.started for c in calls)
             if calls else 0.0)
    return {"calls": dict(Counter(c.action for c in calls)), "api_phase": phase,
            "connections": cloud.connections, "cpu_seconds": time.process_time()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakeecs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--accounts", type=int, default=1,
                        help="accounts of a Resource Directory (the caller's included)")
    args = parser.parse_args(argv)
    cloud = synthetic_cloud(args.regions, args.images, args.latency, args.accounts)
    with FakeEndpoint(cloud) as fake:
        print(fake.url, flush=True)
        sys.stdin.readline()
    print(json.dumps(summary(cloud)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
