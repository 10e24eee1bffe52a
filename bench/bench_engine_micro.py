"""Micro-benchmark of the rule engine alone: the four mission rules in YAML vs by hand.

    python bench/bench_engine_micro.py [-n 100000] [--repeat 3]

Both sides get the same 100,000 validated images and produce the list of failing images per
rule, so the first ratio compares like with like (the condition evaluation). The full
`evaluate()` (findings with evidence, messages, fingerprints, sorted) is timed separately, with
its cost per finding.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from synth import generate  # noqa: E402

from auditor.engine import RuleSet, builtin_rules_dir, evaluate, load_rules  # noqa: E402
from auditor.engine.evaluate import failing  # noqa: E402
from auditor.gcpause import gc_paused  # noqa: E402
from auditor.models import Image, Inventory  # noqa: E402

MISSION = ("IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS")
TODAY = date(2026, 11, 27)


def hand_written(images: list[Image]) -> list[list[Image]]:
    """The four rules in plain Python, same semantics as the YAML (missing = non-compliant)."""
    public = [i for i in images if i.ImageOwnerAlias == "self" and i.IsPublic is not False]
    nvme = [i for i in images if (i.Features.NvmeSupport if i.Features else None) != "supported"]
    risky = [i for i in images if i.DetectionOptions is not None
             and any(item.RiskLevel == "High" for item in i.DetectionOptions.Items)]
    required = ("owner", "env")
    tags = [i for i in images if i.ImageOwnerAlias == "self"
            and not all(key in i.Tags for key in required)]
    return [public, nvme, risky, tags]


def engine(ruleset: RuleSet, images: list[Image]) -> list[list[Image]]:
    return [failing(rule, images, TODAY) for rule in ruleset.rules]


def best(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--images", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    gc.disable()
    inventory = Inventory.model_validate(generate(args.images))
    gc.enable()
    images = [image for region in inventory.regions for image in region.images]
    n, cells = len(images), len(images) * len(MISSION)
    ruleset = load_rules([builtin_rules_dir() / f"{r}.yaml" for r in MISSION], builtin=False)
    t_hand, hand = best(lambda: hand_written(images), args.repeat)
    t_engine, hits = best(lambda: engine(ruleset, images), args.repeat)
    assert [len(h) for h in hand] == [len(h) for h in hits], "engine and hand-written disagree"
    t_eval, result = best(lambda: evaluate(inventory, ruleset, today=TODAY), args.repeat)
    found = len(result.findings)
    print(f"{n:,} images x {len(MISSION)} rules, {sum(map(len, hits)):,} failures")
    print(f"hand-written conditions : {t_hand:6.3f} s  {t_hand / cells * 1e6:5.2f} us/image x rule")
    print(f"engine conditions       : {t_engine:6.3f} s  {t_engine / cells * 1e6:5.2f} us/image x "
          f"rule  ratio {t_engine / t_hand:4.2f}x (target <= 2)")
    print(f"engine evaluate()       : {t_eval:6.3f} s  ({found:,} findings, "
          f"{(t_eval - t_engine) / max(found, 1) * 1e6:5.1f} us per finding built)")
    return 0


if __name__ == "__main__":
    with gc_paused():  # as `imgaudit` runs every command (auditor/gcpause.py)
        STATUS = main()
    raise SystemExit(STATUS)
