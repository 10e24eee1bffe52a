"""Time an organisation scan: `imgaudit collect --resource-directory` against the fake endpoint.

    python bench/bench_org.py [--accounts 50] [--regions 4] [--images 500] [--latency 0.05]
                              [--concurrency 16] [--shared 0] [--instances 0]

The fake (`python -m fakeecs --accounts N ...`, in its own process, so its CPU is not the
collector's) serves a Resource Directory of `--accounts` accounts (the caller's management
account and N-1 members, each with `--regions` x `--images` images of its own, every page
rendered before the run). The CLI runs as another process: `collect --resource-directory
--region all`, each member read through its ResourceDirectoryAccountAccessRole.

Prints the calls of each kind against the minimum (1 GetCallerIdentity, 1 DescribeRegions,
ceil(accounts/100) ListAccounts, accounts-1 AssumeRole, accounts x regions x
ceil(images/100) DescribeImages) and the wall time against two bounds: the issue's
latency x calls / concurrency, and the chain bound (dependent calls: caller identity, regions
and members at once, then per account-region page 1 and its other pages at once, `concurrency`
account-regions at a time; a member's first region also waits for its AssumeRole).

The organisation's shape is `Shape`: `--shared` images shared per account and `--instances`
per account are passed to the fake for the sharing and usage enrichments (their calls are
counted by the fake like any other; `Shape.minimum` names what each kind needs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_process import KEY_ID, REPO, SECRET, Fake

PAGE = 100  # DescribeImages' and ListAccounts' largest page


@dataclass(frozen=True)
class Shape:
    """The organisation: accounts (the caller's included), regions and images per account,
    shared images and instances per account (for the enrichments)."""

    accounts: int = 50
    regions: int = 4
    images: int = 500
    shared: int = 0
    instances: int = 0

    def fake_args(self) -> list[str]:
        args = ["--accounts", str(self.accounts), "--regions", str(self.regions),
                "--images", str(self.images)]
        if self.shared:
            args += ["--shared", str(self.shared)]
        if self.instances:
            args += ["--instances", str(self.instances)]
        return args

    def minimum(self) -> dict[str, int]:
        """The fewest calls of each kind that can read the organisation."""
        pages = max(1, math.ceil(self.images / PAGE))
        calls = {"GetCallerIdentity": 1, "DescribeRegions": 1,
                 "ListAccounts": max(1, math.ceil(self.accounts / PAGE)),
                 "AssumeRole": self.accounts - 1,
                 "DescribeImages": self.accounts * self.regions * pages}
        if self.shared:  # one DescribeImageSharePermission page per shared image
            calls["DescribeImageSharePermission"] = self.accounts * self.shared
        if self.instances:  # DescribeInstances pages of 100, per account-region
            per_region = math.ceil(self.instances / self.regions / PAGE)
            calls["DescribeInstances"] = self.accounts * self.regions * max(1, per_region)
        return calls

    def chain_bound(self, latency: float, concurrency: int) -> float:
        """The longest chain of dependent calls x latency for this concurrency."""
        pages = max(1, math.ceil(self.images / PAGE))
        per_region = 1 + math.ceil((pages - 1) / concurrency)
        waves = math.ceil(self.accounts * self.regions / concurrency)
        start = math.ceil(self.accounts / PAGE) + 1  # ListAccounts pages, then AssumeRole
        return latency * (start + waves * per_region)


def run(url: str, home: Path, concurrency: int) -> dict[str, Any]:
    """One `imgaudit collect --resource-directory` process: wall seconds, inventory size."""
    env = dict(os.environ, HOME=str(home), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
               ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=url,
               IMGAUDIT_RESOURCEMANAGER_ENDPOINT=url, IMGAUDIT_METADATA_URL=url,
               ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    output = home / "inventory.json"
    args = [sys.executable, "-m", "auditor", "collect", "--resource-directory", "--region",
            "all", "--endpoint", url, "-q", "--concurrency", str(concurrency), "-o",
            str(output)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False,
                          cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"imgaudit collect failed ({done.returncode}): {done.stderr[-2000:]}")
    inventory = json.loads(output.read_bytes())
    images = sum(len(r["images"]) for r in inventory["regions"])
    accounts = {r.get("account_id") for r in inventory["regions"]}
    return {"wall": wall, "cpu": cpu, "size": output.stat().st_size, "images": images,
            "accounts": len(accounts), "regions": len(inventory["regions"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=Shape.accounts)
    parser.add_argument("--regions", type=int, default=Shape.regions)
    parser.add_argument("--images", type=int, default=Shape.images)
    parser.add_argument("--shared", type=int, default=0, help="shared images per account")
    parser.add_argument("--instances", type=int, default=0, help="instances per account")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    shape = Shape(args.accounts, args.regions, args.images, args.shared, args.instances)
    minimum = shape.minimum()
    print(f"{shape.accounts} accounts x {shape.regions} regions x {shape.images} images "
          f"({shape.accounts * shape.regions * shape.images} images), {args.latency * 1000:.0f}"
          f" ms per call, --concurrency {args.concurrency}", flush=True)
    fake = Fake(shape.fake_args(), args.latency)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            measured = run(fake.url, Path(tmp), args.concurrency)
        finally:
            seen = fake.close(timeout=120)
    calls: dict[str, int] = seen["calls"]
    print(f"{'call':<30} {'made':>6} {'minimum':>8}")
    for action in sorted(set(calls) | set(minimum)):
        print(f"{action:<30} {calls.get(action, 0):>6} {minimum.get(action, 0):>8}")
    total, least = sum(calls.values()), sum(minimum.values())
    print(f"{'total':<30} {total:>6} {least:>8}")
    issue_bound = args.latency * least / args.concurrency
    chain = shape.chain_bound(args.latency, args.concurrency)
    wall, phase = measured["wall"], seen["api_phase"]
    print(f"wall {wall:.2f} s (API phase {phase:.2f} s, the rest is start-up, credentials "
          f"and the inventory write: {measured['size'] / 1e6:.0f} MB); imgaudit's CPU "
          f"{measured['cpu']:.2f} s, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"bound latency x calls / concurrency = {issue_bound:.2f} s: wall/bound "
          f"{wall / issue_bound:.2f}, phase/bound {phase / issue_bound:.2f}")
    print(f"chain bound (pages of a region at once, --concurrency regions at once) = "
          f"{chain:.2f} s: wall/bound {wall / chain:.2f}, phase/bound {phase / chain:.2f}")
    print(f"read {measured['images']} images in {measured['regions']} account-regions of "
          f"{measured['accounts']} accounts; the fake used {seen['cpu_seconds']:.1f} CPU s, "
          f"{seen['connections']} connections")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
