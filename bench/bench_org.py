"""Time an organisation scan: `imgaudit collect --resource-directory --sharing --instances`
against the fake endpoint, the issue's shape by default (issue 9, "Measure").

    python bench/bench_org.py [--accounts 50] [--regions 4] [--images 500] [--shared 20]
                              [--instances 1000] [--latency 0.05] [--concurrency 16]
                              [--plain] [--profile DIR]

The fake (`python -m fakeecs --accounts N ...`, in its own process, so its CPU is not the
collector's) serves a Resource Directory of `--accounts` accounts (the caller's management
account and N-1 members), each with `--regions` x `--images` images of its own (every page
rendered before the run), `--shared` of them shared (spread over the regions in turn; one in
ten published to everyone), and `--instances` instances spread evenly over the regions, one
in ten of each region's running a public system image that the listing of self images does
not hold. The CLI runs as another process: `collect --resource-directory --region all
--sharing --instances` (`--plain`: without the two enrichments), each member read through its
ResourceDirectoryAccountAccessRole.

The minimum calls of each kind (`Shape.minimum`), from the API's page sizes (100 for
ListAccounts, DescribeImages, DescribeImageSharePermission and DescribeInstances' MaxResults):

- GetCallerIdentity 1 (whose account is the caller's), DescribeRegions 1 (`--region all`);
- ListAccounts ceil(accounts / 100): the directory lists every account, the caller's too;
- AssumeRole accounts - 1: one per member, whose keys outlive the scan;
- DescribeImages: per account-region ceil(images / 100) pages of the self listing, and one
  lookup by ImageId (the 100 ids per call are far more than the one system image the region's
  instances run outside the listing) where at least ten instances run, so one runs it;
- DescribeImageSharePermission: one per shared image, per account (each is shared with one
  account: one page); no other image needs it;
- DescribeInstances: per account-region max(1, ceil(its instances / 100)) pages (a region
  without instances still answers one empty page).

Prints each kind's calls against that minimum, and the wall time against two bounds: the
issue's latency x minimum calls / concurrency, and the chain bound (the longest sequence of
dependent calls given `--concurrency` account-regions at a time: see `chain_bound`). Also the
API phase as the fake saw it (first request in to last answer out), the most calls in flight
and their mean over the phase and in each of its seconds (the ramp-up, the steady state, the
tail), and the CPU seconds of each process (the fake's while serving). `--profile DIR` runs the
collector under py-spy (GIL samples; slower than the timed run) and writes its raw stacks to
DIR/org.raw with a per-function summary.
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
from fake_process import KEY_ID, REPO, SECRET, Fake, py_spy

PAGE = 100  # the largest page of ListAccounts, DescribeImages, DescribeInstances, ...
PROFILE_RATE = 250  # py-spy samples per second


@dataclass(frozen=True)
class Shape:
    """The organisation: accounts (the caller's included), regions and images per account,
    shared images and instances per account (for the enrichments)."""

    accounts: int = 50
    regions: int = 4
    images: int = 500
    shared: int = 20
    instances: int = 1000

    def fake_args(self) -> list[str]:
        return ["--accounts", str(self.accounts), "--regions", str(self.regions),
                "--images", str(self.images), "--shared", str(self.shared),
                "--instances", str(self.instances)]

    def region_instances(self) -> list[int]:
        """Instances per region of an account, as the fake spreads them."""
        n, r = self.instances, self.regions
        return [n * (i + 1) // r - n * i // r for i in range(r)]

    def minimum(self, enriched: bool = True) -> dict[str, int]:
        """The fewest calls of each kind that can read the organisation (module docstring)."""
        pages = max(1, math.ceil(self.images / PAGE))
        calls = {"GetCallerIdentity": 1, "DescribeRegions": 1,
                 "ListAccounts": max(1, math.ceil(self.accounts / PAGE)),
                 "AssumeRole": self.accounts - 1,
                 "DescribeImages": self.accounts * self.regions * pages}
        if not enriched:
            return calls
        per_region = self.region_instances()
        lookups = sum(1 for n in per_region if n >= 10)
        if lookups:
            calls["DescribeImages by ImageId"] = self.accounts * lookups
        if self.shared:
            calls["DescribeImageSharePermission"] = self.accounts * self.shared
        calls["DescribeInstances"] = self.accounts * sum(max(1, math.ceil(n / PAGE))
                                                         for n in per_region)
        return calls

    def chain_bound(self, latency: float, concurrency: int, enriched: bool = True) -> float:
        """The longest chain of dependent calls x latency: ListAccounts' pages, an AssumeRole,
        then `concurrency` account-regions at a time, each: page 1 of its listing, then the
        other pages `concurrency` at a time, its DescribeInstances pages (one after the other,
        beside the listing), then the lookup by ImageId, then its shared images at once."""
        pages = max(1, math.ceil(self.images / PAGE))
        listing = 1 + math.ceil((pages - 1) / concurrency)
        per_region = listing
        if enriched:
            most = max(self.region_instances())
            per_region = max(listing, max(1, math.ceil(most / PAGE))) + (most >= 10)
            shared = math.ceil(self.shared / self.regions)
            per_region += math.ceil(shared / concurrency)
        waves = math.ceil(self.accounts * self.regions / concurrency)
        start = math.ceil(self.accounts / PAGE) + 1
        return latency * (start + waves * per_region)


def run(url: str, home: Path, concurrency: int, enriched: bool,
        profile: Path | None = None) -> dict[str, Any]:
    """One `imgaudit collect --resource-directory` process: wall and CPU seconds, what the
    inventory holds."""
    env = dict(os.environ, HOME=str(home), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
               ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=url,
               IMGAUDIT_RESOURCEMANAGER_ENDPOINT=url, IMGAUDIT_METADATA_URL=url,
               ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    output = home / "inventory.json"
    args = [sys.executable, "-m", "auditor", "collect", "--resource-directory", "--region",
            "all", "--endpoint", url, "-q", "--concurrency", str(concurrency), "-o",
            str(output), *(["--sharing", "--instances"] if enriched else [])]
    if profile is not None:  # GIL-holding samples only: where the CPU goes, not the waits
        args = [py_spy(), "record", "--gil", "-r", str(PROFILE_RATE), "-f", "raw", "-o",
                str(profile), "--", *args]
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
    regions = inventory["regions"]
    images = [i for r in regions for i in r["images"]]
    return {"wall": wall, "cpu": cpu, "size": output.stat().st_size, "images": len(images),
            "accounts": len({r.get("account_id") for r in regions}), "regions": len(regions),
            "incomplete": sum(not r["complete"] for r in regions),
            "shared": sum(i.get("SharePermission") is not None for i in images),
            "running": sum(len(i.get("InstanceIds") or ()) for i in images)}


def profile_summary(raw: Path, top: int = 25) -> list[tuple[str, int]]:
    """py-spy's raw (collapsed) stacks -> the functions most often on the stack (inclusive
    samples: a function counts once per sample it is anywhere in), largest first."""
    counts: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        for frame in set(stack.split(";")):
            counts[frame] = counts.get(frame, 0) + int(count)
    return sorted(counts.items(), key=lambda item: -item[1])[:top]


def measure(shape: Shape, args: argparse.Namespace,
            profile: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run against a fresh fake: (what the collector's run measured, what the fake saw)."""
    fake = Fake(shape.fake_args(), args.latency)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            measured = run(fake.url, Path(tmp), args.concurrency, not args.plain, profile)
        finally:
            seen = fake.close(timeout=300)
    return measured, seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=Shape.accounts)
    parser.add_argument("--regions", type=int, default=Shape.regions)
    parser.add_argument("--images", type=int, default=Shape.images)
    parser.add_argument("--shared", type=int, default=Shape.shared,
                        help="shared images per account")
    parser.add_argument("--instances", type=int, default=Shape.instances,
                        help="instances per account")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plain", action="store_true",
                        help="collect without --sharing and --instances")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="after the timed run, one more under py-spy (pip install "
                             "py-spy): raw stacks in DIR/org.raw, and a summary")
    args = parser.parse_args(argv)
    if args.latency <= 0 or args.concurrency < 1:
        parser.error("--latency must be above 0 and --concurrency at least 1")
    shape = Shape(args.accounts, args.regions, args.images, args.shared, args.instances)
    enriched = not args.plain
    minimum = shape.minimum(enriched)
    print(f"{shape.accounts} accounts x {shape.regions} regions x {shape.images} images "
          f"({shape.accounts * shape.regions * shape.images} images), "
          + (f"{shape.shared} shared and {shape.instances} instances per account, "
             if enriched else "no enrichment, ")
          + f"{args.latency * 1000:.0f} ms per call, --concurrency {args.concurrency}",
          flush=True)
    measured, seen = measure(shape, args)
    calls: dict[str, int] = seen["calls"]
    print(f"{'call':<30} {'made':>6} {'minimum':>8}")
    for action in sorted(set(calls) | set(minimum)):
        made, least = calls.get(action, 0), minimum.get(action, 0)
        print(f"{action:<30} {made:>6} {least:>8}" + ("" if made == least else "  <- not "
                                                      "the minimum"))
    total, least = sum(calls.values()), sum(minimum.values())
    print(f"{'total':<30} {total:>6} {least:>8}")
    issue_bound = args.latency * least / args.concurrency
    chain = shape.chain_bound(args.latency, args.concurrency, enriched)
    wall, phase = measured["wall"], seen["api_phase"]
    print(f"wall {wall:.2f} s (API phase {phase:.2f} s, the rest is start-up, credentials "
          f"and the inventory write: {measured['size'] / 1e6:.0f} MB)")
    print(f"bound latency x calls / concurrency = {issue_bound:.2f} s: wall/bound "
          f"{wall / issue_bound:.2f}, phase/bound {phase / issue_bound:.2f}")
    print(f"chain bound (dependent calls, --concurrency account-regions at once) = "
          f"{chain:.2f} s: wall/bound {wall / chain:.2f}, phase/bound {phase / chain:.2f}")
    print(f"calls in flight: at most {seen['in_flight']}, on average "
          f"{seen['busy'] / phase if phase else 0:.1f} over the API phase; by second: "
          + " ".join(f"{n:.0f}" for n in seen["in_flight_by_second"]))
    serving = seen["cpu_seconds"] - seen["set_up_cpu_seconds"]
    print(f"CPU: imgaudit {measured['cpu']:.2f} s, the fake {serving:.2f} s serving (and "
          f"{seen['set_up_cpu_seconds']:.2f} s setting up, before the run), "
          f"{os.cpu_count()} cores, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"read {measured['images']} images in {measured['regions']} account-regions of "
          f"{measured['accounts']} accounts ({measured['incomplete']} incomplete); "
          f"{measured['shared']} share permissions, {measured['running']} instances on "
          f"images; the fake accepted {seen['connections']} connections")
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        raw = args.profile / "org.raw"
        _, seen = measure(shape, args, raw)
        summary = profile_summary(raw)
        total_samples = sum(int(line.rpartition(" ")[2])
                            for line in raw.read_text().splitlines()) or 1
        print(f"profile (py-spy --gil, {PROFILE_RATE} Hz; API phase {seen['api_phase']:.2f} "
              f"s under it): functions holding the GIL, inclusive")
        for frame, n in summary:
            print(f"  {n / PROFILE_RATE:6.2f} s {100 * n / total_samples:5.1f} %  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
