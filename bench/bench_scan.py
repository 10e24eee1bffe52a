"""Scan benchmark: load, evaluate, report, a whole `imgaudit scan --input` over synthetic images.

    python bench/bench_scan.py            # 100,000 images
    python bench/bench_scan.py -n 20000   # smaller

Prints per phase the time and images/second, then the whole CLI run as a process with its peak
memory. The four mission rules are also written by hand in plain Python over the same images,
in the same run, and compared with the engine twice:
  conditions only: deciding which images fail (engine: the rule's generated filter);
  full: building the Finding objects too (same message, evidence, fingerprint, ARN; both sides
  build records with the same `findings.trusted`, so the difference is the engine's own cost).
Both comparisons check that the two sides agree on every (rule, region, image) finding.
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
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from hand_rules import hand_failing, hand_findings  # noqa: E402
from synth import generate  # noqa: E402

from auditor.app.scan import ScanOptions, build_result  # noqa: E402
from auditor.engine import builtin_rules_dir, evaluate, load_rules  # noqa: E402
from auditor.engine.evaluate import failing  # noqa: E402
from auditor.gcpause import gc_paused  # noqa: E402
from auditor.inventory import load_inputs  # noqa: E402
from auditor.models import Image, Inventory  # noqa: E402
from auditor.reporters import ReportOptions, render  # noqa: E402

MISSION = ("IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS")
TODAY = date(2026, 11, 27)


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def line(label: str, seconds: float, detail: str) -> None:
    print(f"{label:<34}: {seconds:7.3f} s  {detail}")


def _regions(inventory: Inventory) -> list[tuple[str, list[Any]]]:
    return [(r.region, r.images) for r in inventory.regions]


def engine_failing(rules: list[Any], images: list[Image]) -> list[list[Image]]:
    """The engine deciding which images fail (each rule's generated filter), no findings."""
    return [failing(rule, images, TODAY) for rule in rules]


def pairs(rule_ids: list[str], failing_lists: list[list[Image]]) -> set[tuple[str, str]]:
    return {(rule_id, image.ImageId)
            for rule_id, hits in zip(rule_ids, failing_lists, strict=True) for image in hits}


def bench_mission(inventory: Inventory, n: int) -> None:
    files = [builtin_rules_dir() / f"{rule_id}.yaml" for rule_id in MISSION]
    rules = load_rules(files, builtin=False).rules
    rules.sort(key=lambda rule: MISSION.index(rule.id))  # hand_failing's order
    images = [image for region in inventory.regions for image in region.images]
    t_hand, hand = timed(lambda: hand_failing(images))
    t_engine, engine = timed(lambda: engine_failing(rules, images))
    per = n * len(MISSION) / 1e6
    line("conditions, 4 rules, hand-written", t_hand, f"({t_hand / per:.2f} us per image x rule)")
    line("conditions, 4 rules, engine", t_engine, f"({t_engine / per:.2f} us per image x rule)")
    same = pairs(list(MISSION), hand) == pairs([r.id for r in rules], engine)
    print(f"{'  ratio engine / hand-written':<34}: {t_engine / t_hand:7.2f} x  (target <= 2; "
          f"{sum(map(len, engine))} failing (rule, image) pairs, "
          f"{'both sides agree' if same else 'the two sides DISAGREE'})")
    mission = load_rules(files, builtin=False)
    account = inventory.account_id
    t_hand, hand_f = timed(lambda: hand_findings(inventory, account))
    t_engine, evaluation = timed(lambda: evaluate(inventory, mission, today=TODAY))
    line("findings, 4 rules, hand-written", t_hand, f"({len(hand_f)} findings)")
    line("findings, 4 rules, engine", t_engine, f"({len(evaluation.findings)} findings)")
    same = [f.model_dump_json() for f in hand_f] == [
        f.model_dump_json() for f in evaluation.findings]
    print(f"{'  ratio engine / hand-written':<34}: {t_engine / t_hand:7.2f} x  (target <= 2; "
          f"{'identical findings, in order' if same else 'the findings DIFFER'})")


def bench_phases(path: Path, n: int) -> None:
    """The phases of `imgaudit scan --input` in this process, as app/scan.py runs them."""
    t_rules, ruleset = timed(lambda: load_rules([], builtin=True))
    line("load built-in rules", t_rules, f"({len(ruleset.rules)} rules)")
    t_load, inventory = timed(lambda: load_inputs([path]))
    line("(a) load and parse", t_load, f"({n / t_load:,.0f} images/s, peak RSS so far "
         f"{peak_mib():,.0f} MiB)")
    bench_mission(inventory, n)
    t_all, evaluation = timed(lambda: evaluate(inventory, ruleset, today=TODAY))
    line(f"(b) evaluate all {len(ruleset.rules)} built-in rules", t_all,
         f"({n / t_all:,.0f} images/s, {len(evaluation.findings)} findings)")
    options = ScanOptions(inputs=[path], fail_on="never")
    started = datetime.now(timezone.utc)
    t_result, result = timed(lambda: build_result(inventory, ruleset, evaluation, options,
                                                  started))
    t_json, text = timed(lambda: render("json", result, ReportOptions()))
    line("assemble result + JSON report", t_result + t_json,
         f"({len(text) / 2**20:,.1f} MiB of JSON; peak RSS of this process "
         f"{peak_mib():,.0f} MiB)")


def bench_process(path: Path, n: int) -> None:
    command = [sys.executable, "-m", "auditor", "scan", "--input", str(path), "-q",
               "--format", "json", "--fail-on", "never"]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - start
    line("(c) whole scan as a process", wall, f"({n / wall:,.0f} images/s, exit "
         f"{done.returncode}, peak RSS {peak_mib(resource.RUSAGE_CHILDREN):,.0f} MiB)  "
         "(targets < 5 s, < 1024 MiB)")
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
        print(f"{'synthetic inventory':<34}: {n:,} images, {size:,.1f} MiB ({t_gen:.2f} s)")
        bench_process(path, n)  # first, while this process is still small
        with gc_paused():  # as `imgaudit` runs every command (auditor/gcpause.py)
            bench_phases(path, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
