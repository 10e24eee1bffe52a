"""Time `imgaudit collect --region all` against the fake endpoint with a fixed latency per call.

    python bench/bench_collect.py [--regions 20] [--images 2000] [--latency 0.05]
                                  [--concurrency 4]

Starts the fake ECS endpoint of the tests (tests/fakeecs) in this process, runs the CLI as a
separate process, and prints the wall time beside the lower bound: the longest chain of
dependent calls times the latency, given the concurrency (DescribeRegions, then per region
page 1 and the remaining pages `concurrency` at a time, `concurrency` regions at a time).
Also prints the API calls made against the minimum (1 DescribeRegions + per region
ceil(images/100) DescribeImages + 1 GetCallerIdentity).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

import synth  # noqa: E402
from fakeecs import KEY_ID, SECRET, FakeCloud, FakeEndpoint, api  # noqa: E402

from auditor.collector.params import listing_params  # noqa: E402
from auditor.models import Scope  # noqa: E402

REGION_IDS = (
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-zhangjiakou",
    "cn-huhehaote", "cn-wulanchabu", "cn-qingdao", "cn-chengdu", "cn-guangzhou",
    "cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-northeast-1",
    "ap-northeast-2", "eu-central-1", "eu-west-1", "us-west-1", "us-east-1",
    "me-east-1", "ap-south-1", "ap-southeast-6", "ap-southeast-7",
)


def build_cloud(regions: int, images: int, latency: float) -> FakeCloud:
    """`regions` regions of `images` own images each (synthetic, varied, all in scope)."""
    cloud = FakeCloud(regions={}, latency=latency, cache_pages=True)
    for n, region in enumerate(REGION_IDS[:regions]):
        doc = synth.generate(images, regions=1, seed=n + 1)
        batch = doc["regions"][0]["images"]
        for image in batch:
            image["ImageOwnerAlias"] = "self"
        cloud.add_images(region, batch)
    warm(cloud, images)
    return cloud


def warm(cloud: FakeCloud, images: int) -> None:
    """Render every page once before timing: the fake's CPU must not be what is measured."""
    (params,) = listing_params(Scope()).values()
    for region in cloud.regions:
        for page in range(1, max(1, math.ceil(images / 100)) + 1):
            api.describe_images(cloud, {**params, "RegionId": region, "PageNumber": str(page)})


def lower_bound(regions: int, images: int, latency: float, concurrency: int) -> float:
    """Longest chain of dependent calls x latency, for this concurrency."""
    pages = max(1, math.ceil(images / 100))
    per_region = 1 + math.ceil((pages - 1) / concurrency)
    waves = math.ceil(regions / concurrency)
    return latency * (1 + waves * per_region)


def command() -> list[str]:
    script = shutil.which("imgaudit")
    return [script] if script else [sys.executable, "-m", "auditor"]


def run(url: str, home: Path, output: Path, concurrency: int) -> float:
    env = dict(os.environ, HOME=str(home), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
               ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=url,
               IMGAUDIT_METADATA_URL=url)
    args = [*command(), "collect", "--region", "all", "--endpoint", url, "-q",
            "--concurrency", str(concurrency), "-o", str(output)]
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"imgaudit collect failed ({done.returncode}): {done.stderr}")
    return elapsed


def startup_time() -> float:
    started = time.perf_counter()
    subprocess.run([*command(), "--version"], capture_output=True, check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    cloud = build_cloud(args.regions, args.images, args.latency)
    with tempfile.TemporaryDirectory() as tmp, FakeEndpoint(cloud) as fake:
        output = Path(tmp) / "inventory.json"
        wall = run(fake.url, Path(tmp), output, args.concurrency)
        size = output.stat().st_size
    calls = Counter(c.action for c in cloud.calls)
    api_phase = max(c.finished or c.started for c in cloud.calls) - min(
        c.started for c in cloud.calls)
    pages = max(1, math.ceil(args.images / 100))
    minimum = 1 + args.regions * pages + 1
    bound = lower_bound(args.regions, args.images, args.latency, args.concurrency)
    startup = startup_time()
    print(f"{args.regions} regions x {args.images} images, {args.latency * 1000:.0f} ms per "
          f"call, concurrency {args.concurrency}")
    print(f"wall time      {wall:6.2f} s  (inventory {size / 1e6:.1f} MB)")
    print(f"process start  {startup:6.2f} s  (`imgaudit --version`)")
    print(f"API phase      {api_phase:6.2f} s  (first request in to last answer out, "
          "as the endpoint saw it)")
    print(f"lower bound    {bound:6.2f} s  -> wall / bound = {wall / bound:.2f}, "
          f"API phase / bound = {api_phase / bound:.2f}")
    print(f"API calls      {sum(calls.values())} (minimum {minimum}): "
          + ", ".join(f"{action} {n}" for action, n in sorted(calls.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
