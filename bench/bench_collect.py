"""Time `imgaudit collect --region all` against the fake endpoint with a fixed latency per call.

    python bench/bench_collect.py [--regions 20] [--images 2000] [--latency 0.05]
                                  [--concurrency 4] [--repeat 3] [--checkout DIR ...]
                                  [--profile FILE] [--library]

Starts the fake ECS endpoint of the tests (`python -m fakeecs`, in its own process, so its
CPU is not the collector's), runs the CLI as another process (its CPU seconds measured alone),
and prints the wall time and the API phase beside the lower bound: the longest chain of
dependent calls times the latency, given the concurrency (DescribeRegions, then per region
page 1 and the remaining pages `concurrency` at a time, `concurrency` regions at a time).
Also prints the API calls made against the minimum (1 DescribeRegions + per region
ceil(images/100) DescribeImages + 1 GetCallerIdentity). `--library` times the collector
alone (`collect()` in its own process, no CLI start-up and no inventory write).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROFILE_RATE = 250  # py-spy samples per second

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_process import KEY_ID, REPO, SECRET, Fake, py_spy  # noqa: E402  (bench/ is not a package)


def start_fake(regions: int, images: int, latency: float) -> Fake:
    """The fake of `regions` x `images` own images, in its own process."""
    return Fake(["--regions", str(regions), "--images", str(images)], latency)


# Where the collector's CPU goes: each GIL-holding sample goes to the first category one of
# whose markers is in a frame, looking from the innermost frame outwards.
CATEGORIES = (
    ("start-up: imports", ("_find_and_load",)),
    ("inventory write (spooled by region, then the file)",
     ("dump_inventory", "write_output", "inventory_file.py")),
    ("page -> saved images (typed: plain_page.py; else saved.py), odd ones -> Image records",
     ("parse_saved_page", "plain_page.py", "saved.py")),
    ("page -> Image records (pydantic + models.py hooks)", ("parse_page",)),
    ("signing", ("signing.py",)),
    ("watchdog, bounded reads", ("transport.py",)),
    ("HTTP: requests, urllib3, http.client", ("requests/", "urllib3/", "http/client")),
    ("thread pools, futures, page plan", ("concurrent/futures", "listing.py")),
    ("regions: merge, region ids", ("collect_region.py", "region_ids.py")),
    ("CLI, app", ("auditor/app", "auditor/cli", "click/")),
)


def profile_summary(raw: Path) -> list[tuple[str, int]]:
    """py-spy's raw (collapsed) stacks -> samples per category, largest first."""
    counts: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        category = "other"
        for frame in reversed(frames):
            found = next((name for name, marks in CATEGORIES
                          if any(mark in frame for mark in marks)), None)
            if found:
                category = found
                break
        counts[category] = counts.get(category, 0) + int(count)
    return sorted(counts.items(), key=lambda item: -item[1])


def lower_bound(regions: int, images: int, latency: float, concurrency: int) -> float:
    """Longest chain of dependent calls x latency, for this concurrency."""
    pages = max(1, math.ceil(images / 100))
    per_region = 1 + math.ceil((pages - 1) / concurrency)
    waves = math.ceil(regions / concurrency)
    return latency * (1 + waves * per_region)


# --library: the collector alone, `collect()` timed inside its process (no start-up, no CLI,
# no inventory write), under the GC pause the application enters around every command.
LIBRARY_RUN = """
import json, sys, time
from auditor.collector import CollectRequest, collect
from auditor.gcpause import gc_paused
with gc_paused():
    cpu, wall = time.process_time(), time.perf_counter()
    inventory = collect(CollectRequest(regions=["all"], endpoint=sys.argv[1],
                                       concurrency=int(sys.argv[2])))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"wall": wall, "cpu": cpu, "images": inventory.image_count}))
"""


def run(command: list[str], url: str, home: Path, concurrency: int,
        profile: Path | None = None, library: bool = False) -> dict[str, Any]:
    """One `imgaudit collect` process against the fake: wall and CPU seconds (user + system,
    of that process alone: the fake is another process), calls and API phase as the fake saw
    them. A fresh fake per run, so each run's call log is its own. With `library`, the wall
    and CPU seconds of the `collect()` call alone, as that process measured them."""
    env = dict(os.environ, HOME=str(home), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
               ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=url,
               IMGAUDIT_METADATA_URL=url)
    output = home / "inventory.json"
    args = [*command, "collect", "--region", "all", "--endpoint", url, "-q",
            "--concurrency", str(concurrency), "-o", str(output)]
    if library:
        args = [*command[:-2], "-c", LIBRARY_RUN, url, str(concurrency)]
    if profile is not None:  # GIL-holding samples only: where the CPU goes, not the waits
        args = [py_spy(), "record", "--gil", "-r", str(PROFILE_RATE), "-f", "raw", "-o",
                str(profile), "--", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"imgaudit collect failed ({done.returncode}): {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if library:
        return {**json.loads(done.stdout.splitlines()[-1]), "size": 0}
    return {"wall": wall, "cpu": cpu, "size": output.stat().st_size}


def command(checkout: str | None) -> tuple[str, list[str]]:
    """(label, argv): this checkout's `imgaudit`, or `python -m auditor` from another one
    (for a before/after comparison in one run: `git archive REV | tar -x -C DIR`). Run from
    inside the tree: `-m` and `-c` put the working directory first on sys.path, so from
    anywhere else they would import the package found there instead."""
    tree = REPO if checkout is None else Path(checkout).resolve()
    return ("this" if checkout is None else checkout,
            ["env", "-C", str(tree), f"PYTHONPATH={tree}", sys.executable, "-m", "auditor"])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration")
    parser.add_argument("--checkout", action="append", default=[],
                        help="also run the collector of this source tree (repeatable); runs "
                             "alternate between configurations, medians are printed")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="after the timed runs, one more run of this checkout under "
                             "py-spy (pip install py-spy): raw stacks to FILE, and a summary "
                             "of where the collector's CPU goes")
    parser.add_argument("--library", action="store_true",
                        help="time the collector alone: `collect()` called in a process of "
                             "its own, its wall and CPU seconds measured around the call (no "
                             "start-up, CLI or inventory write)")
    args = parser.parse_args(argv)
    configs = [command(None), *(command(c) for c in args.checkout)]
    pages = max(1, math.ceil(args.images / 100))
    minimum = 1 + args.regions * pages + 1
    bound = lower_bound(args.regions, args.images, args.latency, args.concurrency)
    print(f"{args.regions} regions x {args.images} images, {args.latency * 1000:.0f} ms per "
          f"call, concurrency {args.concurrency}; lower bound {bound:.2f} s; minimum calls "
          f"{minimum}")
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in configs}
    for n in range(args.repeat):
        for label, argv_ in configs:
            fake = start_fake(args.regions, args.images, args.latency)
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    measured = run(argv_, fake.url, Path(tmp), args.concurrency,
                                   library=args.library)
                finally:
                    seen = fake.close()
            measured |= {"phase": seen["api_phase"], "calls": sum(seen["calls"].values()),
                         "actions": seen["calls"], "load": load()}
            results[label].append(measured)
            print(f"run {n + 1} {label:>12}: wall {measured['wall']:5.2f} s, API phase "
                  f"{measured['phase']:5.2f} s, CPU {measured['cpu']:5.2f} s, "
                  f"{measured['calls']} calls, load {measured['load']}", flush=True)
    print(f"{'':>14} {'wall':>6} {'API phase':>9} {'outside':>7} {'wall/bound':>10} "
          f"{'phase/bound':>11} {'CPU s':>6} {'calls':>5}  (medians of {args.repeat}; outside: "
          "wall - API phase, i.e. start-up, credentials, inventory write, exit)")
    for label, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        phase = statistics.median(r["phase"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        calls = max(r["calls"] for r in runs)
        outside = statistics.median(r["wall"] - r["phase"] for r in runs)
        print(f"{label:>14} {wall:6.2f} {phase:9.2f} {outside:7.2f} {wall / bound:10.2f} "
              f"{phase / bound:11.2f} {cpu:6.2f} {calls:5d}")
    for label, runs in results.items():
        print(f"{label}: calls " + ", ".join(f"{a} {n}" for a, n in
                                             sorted(runs[-1]["actions"].items()))
              + (f"; inventory {runs[-1]['size'] / 1e6:.1f} MB" if runs[-1]["size"] else ""))
    if args.profile is not None:
        print_profile(args, configs[0][1])
    start = statistics.median(startup_time(argv_) for _ in range(3) for _, argv_ in configs[:1])
    print(f"process start {start:.2f} s (`imgaudit --version`, part of the wall time)")
    return 0


def print_profile(args: argparse.Namespace, argv: list[str]) -> None:
    fake = start_fake(args.regions, args.images, args.latency)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(argv, fake.url, Path(tmp), args.concurrency, args.profile)
        finally:
            seen = fake.close()
    summary = profile_summary(args.profile)
    total = sum(n for _, n in summary) or 1
    print(f"profile (py-spy --gil, {PROFILE_RATE} Hz; slower than the timed runs: API phase "
          f"{seen['api_phase']:.2f} s): where the collector process holds the GIL")
    for name, n in summary:
        print(f"  {n / PROFILE_RATE:5.2f} s {100 * n / total:5.1f} %  {name}")


def startup_time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([*argv, "--version"], capture_output=True, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
