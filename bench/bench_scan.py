"""Scan benchmark: load, evaluate, and a whole `imgaudit scan --input` over synthetic images.

    python bench/bench_scan.py            # 100,000 images
    python bench/bench_scan.py -n 20000   # smaller

Prints images/second per phase, peak memory of the CLI process, and the ratio of the rule
engine's time to the four mission rules written by hand in plain Python over the same images.
Targets (issue 2): engine within 2x of hand-written, whole scan under 5 s, peak under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from synth import generate  # noqa: E402

from auditor.engine import builtin_rules_dir, evaluate, load_rules  # noqa: E402
from auditor.inventory import load_inputs  # noqa: E402
from auditor.models import Image, Inventory  # noqa: E402

MISSION = ("IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS")
TODAY = date(2026, 11, 27)


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def hand_written(images: list[Image]) -> int:
    """The four mission rules in plain Python; returns the number of violations."""
    hits = 0
    required = ("owner", "env")
    for image in images:
        is_self = image.ImageOwnerAlias == "self"
        if is_self and image.IsPublic is True:
            hits += 1
        features = image.Features
        nvme = features.NvmeSupport if features is not None else None
        if nvme is not None and nvme != "supported":
            hits += 1
        detection = image.DetectionOptions
        if detection is not None and any(i.RiskLevel == "High" for i in detection.Items):
            hits += 1
        if is_self and not all(key in image.Tags for key in required):
            hits += 1
    return hits


def bench_engine(inventory: Inventory, images: list[Image]) -> None:
    n = len(images)
    mission_files = [builtin_rules_dir() / f"{rule_id}.yaml" for rule_id in MISSION]
    mission = load_rules(mission_files, builtin=False)
    everything = load_rules([], builtin=True)
    t_hand, hand_hits = timed(lambda: hand_written(images))
    t_mission, mission_eval = timed(lambda: evaluate(inventory, mission, today=TODAY))
    t_all, all_eval = timed(lambda: evaluate(inventory, everything, today=TODAY))
    rules = len(everything.rules)
    print(f"hand-written, 4 mission rules : {t_hand:7.3f} s  ({t_hand / n / 4 * 1e6:.2f} us per "
          f"image x rule, {hand_hits} violations)")
    print(f"engine, same 4 rules          : {t_mission:7.3f} s  ({t_mission / n / 4 * 1e6:.2f} us "
          f"per image x rule, {len(mission_eval.findings)} findings)")
    print(f"ratio engine / hand-written   : {t_mission / t_hand:7.2f} x  (target <= 2)")
    print(f"engine, all {rules} built-in rules : {t_all:7.3f} s  ({n / t_all:,.0f} images/s, "
          f"{len(all_eval.findings)} findings)")
    if hand_hits != len(mission_eval.findings):
        print("WARNING: the engine and the hand-written rules disagree on the findings")


def bench_process(path: Path, n: int) -> None:
    command = [sys.executable, "-m", "auditor", "scan", "--input", str(path), "-q",
               "--format", "json", "--fail-on", "never"]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"whole scan as a process       : {wall:7.3f} s  ({n / wall:,.0f} images/s, exit "
          f"{done.returncode}, peak RSS {peak:,.0f} MiB)  (targets < 5 s, < 1024 MiB)")
    if done.returncode not in (0, 1):
        print(done.stderr.decode(errors="replace"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--images", type=int, default=100_000)
    args = parser.parse_args()
    n = args.images
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.json"
        t_gen, doc = timed(lambda: generate(n))
        path.write_text(json.dumps(doc))
        del doc
        size = path.stat().st_size / 2**20
        print(f"synthetic inventory           : {n:,} images, {size:,.1f} MiB ({t_gen:.2f} s)")
        t_load, inventory = timed(lambda: load_inputs([path]))
        print(f"(a) load and parse            : {t_load:7.3f} s  ({n / t_load:,.0f} images/s)")
        images = [image for region in inventory.regions for image in region.images]
        bench_engine(inventory, images)
        bench_process(path, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
