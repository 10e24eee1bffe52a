"""Serve a synthetic cloud from its own process (for `bench/bench_collect.py` and
`bench/bench_org.py`):

    PYTHONPATH=tests python -m fakeecs [--regions 20] [--images 2000] [--latency 0.05]
                                       [--accounts 1] [--shared 0] [--instances 0]

Prints the endpoint's URL on the first line of stdout, then serves until stdin closes (or
reads a line), and prints a JSON summary of the calls it answered on the last line: per action
counts (DescribeImages by ImageId, the lookups of images instances run, apart), the API phase
(first request in to last answer out), the most calls in flight at once and the mean in each
second, and the process's CPU seconds (its set-up's apart). Every page of the image listings is rendered once before the URL is printed, so the
fake's own CPU is not measured.

`--accounts N` (for `bench/bench_org.py`) makes the caller the management account of a
Resource Directory of N accounts: N-1 members, each with the same regions and images as
the caller (the same records, each member's pages rendered for it).

No image is shared unless `--shared K`: K images of each account (spread over the regions
in turn) are shared as `FakeCloud.share` records it, so the listing's IsSelfShared / IsPublic
and DescribeImageSharePermission agree: each with one account (a member of the organisation,
or for every third image an account outside it), every tenth published (group `all`) instead.
`--instances M` starts M instances in each account (spread evenly over the regions); in each
region every tenth instance runs a public system image (not in the listing of self images, so
the collector looks it up by id), the others run the region's own images in turn.
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
from .cloud import ACCOUNT_ID, CallRecord, FakeCloud, Member, image
from .server import FakeEndpoint

REGION_IDS = (
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-zhangjiakou",
    "cn-huhehaote", "cn-wulanchabu", "cn-qingdao", "cn-chengdu", "cn-guangzhou",
    "cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-northeast-1",
    "ap-northeast-2", "eu-central-1", "eu-west-1", "us-west-1", "us-east-1",
    "me-east-1", "ap-south-1", "ap-southeast-6", "ap-southeast-7",
)
SYSTEM_IMAGE = "aliyun_3_x64_20G_alibase_20250101.vhd"  # what every tenth instance runs
OUTSIDE = 5 * 10**15  # account ids outside the organisation start here


def member_id(n: int) -> str:
    return f"{1000000000000000 + n}"


def synthetic_cloud(regions: int, images: int, latency: float, accounts: int = 1,
                    shared: int = 0, instances: int = 0) -> FakeCloud:
    """`regions` regions of `images` own images each (bench/synth.py: varied, all in scope)
    in each of `accounts` accounts, `shared` of them shared and `instances` instances per
    account (see the module docstring); every page of the listing the collector asks for
    rendered once."""
    if not 1 <= regions <= len(REGION_IDS):
        raise SystemExit(f"--regions: 1 to {len(REGION_IDS)}")
    if not 0 <= shared <= regions * images:
        raise SystemExit(f"--shared: 0 to {regions * images} (the images of an account)")
    if instances < 0:
        raise SystemExit("--instances: 0 or more")
    cloud = FakeCloud(regions={}, latency=latency, cache_pages=True)
    for n, region in enumerate(REGION_IDS[:regions]):
        batch = api.synth.generate(images, regions=1, seed=n + 1)["regions"][0]["images"]
        for record in batch:  # shared only as `_share` says, so the listing and shares agree
            record.update(ImageOwnerAlias="self", IsSelfShared=False, IsPublic=False)
            record.pop("SharePermission", None)
        cloud.add_images(region, batch)
    if instances:
        for region in cloud.regions:
            cloud.add_images(region, [image(SYSTEM_IMAGE, ImageOwnerAlias="system", IsPublic=True,
                                            ImageName="aliyun_3_x64_20G_alibase_20250101")])
    members = [cloud.add_member(Member(member_id(n), f"member-{n:03d}",
                                       regions=dict(cloud.regions))).account_id
               for n in range(1, accounts)]
    _share(cloud, shared, members)
    for account in [ACCOUNT_ID, *members]:
        _run(cloud, account, instances)
    (params,) = listing_params(Scope()).values()
    for account in [ACCOUNT_ID, *members]:
        for region in cloud.regions:
            for page in range(1, max(1, math.ceil(images / 100)) + 1):
                api.describe_images(cloud, {**params, "RegionId": region,
                                            "PageNumber": str(page)}, account)
    return cloud


def _share(cloud: FakeCloud, shared: int, members: list[str]) -> None:
    """`shared` images of the caller's, the regions in turn (every account holds the same
    records, so each account has them shared)."""
    own = {region: [i for i in listed if i["ImageOwnerAlias"] == "self"]
           for region, listed in cloud.regions.items()}
    names = list(own)
    for k in range(shared):
        region = names[k % len(names)]
        image_id = own[region][k // len(names)]["ImageId"]
        if k % 10 == 9:
            cloud.share(region, image_id, groups=["all"])
        elif k % 3 == 0 or not members:
            cloud.share(region, image_id, accounts=[str(OUTSIDE + k)])
        else:
            cloud.share(region, image_id, accounts=[members[k % len(members)]])


def _run(cloud: FakeCloud, account: str, instances: int) -> None:
    """`instances` instances of `account`, the regions' shares as even as can be."""
    names = list(cloud.regions)
    for r, region in enumerate(names):
        count = instances * (r + 1) // len(names) - instances * r // len(names)
        own = [i["ImageId"] for i in cloud.regions[region] if i["ImageOwnerAlias"] == "self"]
        for j in range(count):
            image_id = SYSTEM_IMAGE if j % 10 == 9 else own[j % len(own)]
            cloud.run(region, image_id, prefix=f"i-{account}-", account=account)


def in_flight(calls: list[CallRecord]) -> int:
    """The most calls the endpoint was answering at once."""
    events = sorted([(c.started, 1) for c in calls]
                    + [(c.finished or c.started, -1) for c in calls])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def _kind(call: CallRecord) -> str:
    lookup = call.action == "DescribeImages" and "ImageId" in call.params
    return "DescribeImages by ImageId" if lookup else call.action


def by_second(calls: list[CallRecord]) -> list[float]:
    """The mean number of calls in flight in each second of the API phase (how full the
    client kept its concurrency: the start, the steady state, the tail)."""
    if not calls:
        return []
    start = min(c.started for c in calls)
    end = max(c.finished or c.started for c in calls)
    busy = [0.0] * (int(end - start) + 1)
    for call in calls:
        first, last = call.started - start, (call.finished or call.started) - start
        for second in range(int(first), int(last) + 1):
            busy[second] += min(last, second + 1) - max(first, second)
    return [round(b, 1) for b in busy]


def summary(cloud: FakeCloud, set_up_cpu: float = 0.0) -> dict[str, Any]:
    """What the endpoint saw: calls per kind, the API phase in seconds, the most in flight
    and the mean in flight per second, the CPU seconds of the set-up and of the serving."""
    with cloud.lock:
        calls = list(cloud.calls)
    phase = (max(c.finished or c.started for c in calls) - min(c.started for c in calls)
             if calls else 0.0)
    return {"calls": dict(Counter(_kind(c) for c in calls)), "api_phase": phase,
            "in_flight": in_flight(calls), "busy": sum((c.finished or c.started) - c.started
                                                       for c in calls),
            "in_flight_by_second": by_second(calls), "connections": cloud.connections,
            "cpu_seconds": time.process_time(), "set_up_cpu_seconds": set_up_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakeecs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--accounts", type=int, default=1,
                        help="accounts of a Resource Directory (the caller's included)")
    parser.add_argument("--shared", type=int, default=0,
                        help="images shared (or published) in each account")
    parser.add_argument("--instances", type=int, default=0, help="instances in each account")
    args = parser.parse_args(argv)
    cloud = synthetic_cloud(args.regions, args.images, args.latency, args.accounts,
                            args.shared, args.instances)
    set_up = time.process_time()
    with FakeEndpoint(cloud) as fake:
        print(fake.url, flush=True)
        sys.stdin.readline()
    print(json.dumps(summary(cloud, set_up)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
