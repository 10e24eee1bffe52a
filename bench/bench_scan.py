"""Scan benchmark: a whole `imgaudit scan --input` over synthetic images, beside the floor.

    python bench/bench_scan.py              # 100,000 images, 3 alternating runs
    python bench/bench_scan.py -n 20000     # smaller
    python bench/bench_scan.py --million    # also 1,000,000 images (JSON Lines): memory, time
    python bench/bench_scan.py --checkout /tmp/before   # also an older tree, in the same runs

First, whole processes, run alternately (floor, mission rules, every rule, ...) so that a
noisy machine disturbs each side alike; the median of `--runs` runs of each, CPU (user +
system) and wall seconds, and peak memory (max RSS):
  floor: `../shared/bench/floor_scan.py`, called as it is: the four mission rules written as a
  one-off script over the JSON file with orjson (no validation, no rule language);
  mission: `imgaudit scan --input` with the same four rules, same file, JSON report on stdout;
  all rules: every built-in rule, same file; and both over the same inventory saved as JSON
  Lines (read a line at a time, images let go after each batch).
With `--million`, a 1,000,000-image JSON Lines inventory (written a region at a time, never
held) is scanned once with the mission rules and once with every rule, beside the 100,000-image
one: peak memory, and the time ratio 1M / 100k (10 is linear).
With `--checkout DIR` (a tree made by `git archive REV | tar -x -C DIR`), that tree's mission
and every-rule scans of the JSON file join the alternating runs: before and after side by side.
Then the phases of a scan in this process (read and parse, images read as canonical mappings,
evaluate, assemble and render), and the four mission rules written by hand in plain Python,
compared with the engine (over validated Images) twice:
  conditions only: deciding which images fail (engine: the rule's generated filter);
  full: building the Finding objects too (same message, evidence, fingerprint, ARN; both sides
  build records with the same `findings.trusted`, so the difference is the engine's own cost).
Both comparisons check that the two sides agree on every (rule, region, image) finding.
Targets (issue 12): mission rules within 1.5x of the floor (CPU and wall), every rule under
5 s, peak under 400 MiB at 100,000 images; (issue 2) engine within 2x of hand-written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from hand_rules import hand_failing, hand_findings  # noqa: E402

from auditor import typed  # noqa: E402
from auditor.app.scan import ScanOptions, build_result  # noqa: E402
from auditor.engine import builtin_rules_dir, evaluate, load_rules  # noqa: E402
from auditor.engine.evaluate import evaluate_batches, failing  # noqa: E402
from auditor.gcpause import gc_paused  # noqa: E402
from auditor.inventory import load_inputs, open_inputs  # noqa: E402
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
    """The phases of `imgaudit scan --input` in this process, as app/scan.py runs them: the
    input read, parsed and its images decoded (auditor/typed.py), its images given to the
    engine as they are (decoded, or canonical mappings: auditor/canonical.py for those the
    decoder refused), the rules evaluated over them, the result assembled and rendered. Then
    the engine beside hand-written rules, over validated Images (`load_inputs`)."""
    t_rules, ruleset = timed(lambda: load_rules([], builtin=True))
    line("load built-in rules", t_rules, f"({len(ruleset.rules)} rules)")
    t_open, stream = timed(lambda: open_inputs([path]))
    line("(a) read, parse and decode (auditor/typed.py)", t_open,
         f"({n / t_open:,.0f} images/s)")
    t_read, batches = timed(lambda: list(stream.records()))
    decoded = sum(map(typed.decoded, (i for _, _, images in batches for i in images)))
    raw = sum(isinstance(i, dict) for _, _, images in batches for i in images)
    line("(b) images batched (the refused: canonical check)", t_read,
         f"({decoded:,} decoded, {raw:,} canonical mappings, of {n:,}; peak RSS so far "
         f"{peak_mib():,.0f} MiB)")
    t_all, evaluation = timed(lambda: evaluate_batches(batches, ruleset, today=TODAY))
    line(f"(c) evaluate all {len(ruleset.rules)} built-in rules", t_all,
         f"({n / t_all:,.0f} images/s, {len(evaluation.findings)} findings)")
    summary = stream.summary()
    options = ScanOptions(inputs=[path], fail_on="never")
    started = datetime.now(timezone.utc)
    t_result, result = timed(lambda: build_result(summary, ruleset, evaluation, options,
                                                  started))
    t_json, text = timed(lambda: render("json", result, ReportOptions()))
    line("(d) assemble result + JSON report", t_result + t_json,
         f"({len(text) / 2**20:,.1f} MiB of JSON; peak RSS of this process "
         f"{peak_mib():,.0f} MiB)")
    bench_mission(load_inputs([path]), n)


FLOOR = HERE.parent.parent / "shared" / "bench" / "floor_scan.py"


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds
    peak: float  # MiB (max RSS)


def run_process(command: list[str], stdout: Path) -> Run:
    """One process; its own CPU time and peak memory (os.wait4), stdout to a file."""
    with stdout.open("wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} exited {code}:\n{err.read().decode()}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def scan_command(path: Path, rules: tuple[str, ...] = (), tree: str | None = None) -> list[str]:
    """`imgaudit scan` of this checkout, or of the tree `tree` (run from inside it: `-m` puts
    the working directory first on sys.path)."""
    selected = [arg for rule in rules for arg in ("--rule", rule)]
    where = [] if tree is None else ["env", "-C", tree, f"PYTHONPATH={tree}"]
    return [*where, sys.executable, "-m", "auditor", "scan", "--input", str(path), "-q",
            "--format", "json", "--fail-on", "never", *selected]


def median_run(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(r, k) for r in runs) for k in ("wall", "cpu", "peak")))


def show(label: str, run: Run, note: str = "") -> None:
    print(f"  {label:<28}{run.cpu:>8.2f}{run.wall:>9.2f}{run.peak:>10,.0f}  {note}")


def same_findings(floor_out: Path, ours_out: Path) -> str:
    """Whether the floor and imgaudit report the same (rule, region, image) findings (each
    side words its messages its own way: the floor's lack the region the rules' name)."""
    def keys(path: Path) -> set[tuple[str, ...]]:
        doc = json.loads(path.read_bytes())
        return {(f["rule_id"], f["region"], f["image_id"]) for f in doc["findings"]}
    floor, ours = keys(floor_out), keys(ours_out)
    return (f"same {len(ours):,} findings as the floor" if floor == ours
            else f"findings DIFFER from the floor ({len(floor ^ ours):,} not in both)")


def compare(path: Path, lines: Path, runs: int, out: Path, checkouts: list[str]) -> None:
    """Floor and imgaudit (and the other checkouts) alternately, `runs` times each; medians."""
    sides = {
        "floor (JSON)": [sys.executable, str(FLOOR), str(path)],
        "mission rules (JSON)": scan_command(path, MISSION),
        "every rule (JSON)": scan_command(path),
        "mission rules (JSON Lines)": scan_command(lines, MISSION),
        "every rule (JSON Lines)": scan_command(lines),
    }
    for tree in checkouts:
        sides[f"mission rules, {tree}"] = scan_command(path, MISSION, tree)
        sides[f"every rule, {tree}"] = scan_command(path, (), tree)
    done: dict[str, list[Run]] = {label: [] for label in sides}
    for _ in range(runs):
        for n, (label, command) in enumerate(sides.items()):
            done[label].append(run_process(command, out / f"{n}.json"))
    agree = same_findings(out / "0.json", out / "1.json")
    med = {label: median_run(found) for label, found in done.items()}
    floor, mission = med["floor (JSON)"], med["mission rules (JSON)"]
    print(f"whole processes, median of {runs} alternating runs (CPU = user + system):")
    print(f"  {'':<28}{'CPU s':>8}{'wall s':>9}{'peak MiB':>10}")
    show("floor (JSON)", floor, "../shared/bench/floor_scan.py, as it is")
    show("mission rules (JSON)", mission, agree)
    print(f"  {'  ratio mission / floor':<28}{mission.cpu / floor.cpu:>7.2f}x"
          f"{mission.wall / floor.wall:>8.2f}x{'':>10}  (target <= 1.5x, CPU and wall)")
    show("every rule (JSON)", med["every rule (JSON)"], "(target < 5 s)")
    show("mission rules (JSON Lines)", med["mission rules (JSON Lines)"])
    show("every rule (JSON Lines)", med["every rule (JSON Lines)"], "(target < 400 MiB)")
    for tree in checkouts:
        other = med[f"mission rules, {tree}"]
        print(f"  {tree} (JSON):")
        show("  mission rules", other, f"{other.cpu / floor.cpu:.2f}x the floor's CPU, "
                                       f"{other.wall / floor.wall:.2f}x its wall")
        show("  every rule", med[f"every rule, {tree}"])


def synth(n: int, path: Path, *flags: str) -> None:
    """Written by another process: this one stays small, since a child's peak memory counts
    its parent's at the moment it starts (the kernel's max RSS survives exec)."""
    subprocess.run([sys.executable, str(HERE / "synth.py"), str(n), "-o", str(path), *flags],
                   check=True, stderr=subprocess.DEVNULL)


def scale(small: Path, folder: Path, out: Path) -> None:
    """1,000,000 images as JSON Lines beside 100,000: peak memory and the time ratio."""
    big = folder / "million.jsonl"
    t_gen, _ = timed(lambda: synth(1_000_000, big, "--lines"))
    print(f"1,000,000 images as JSON Lines: {big.stat().st_size / 2**20:,.0f} MiB "
          f"({t_gen:.0f} s to write); one run each:")
    print(f"  {'':<28}{'CPU s':>8}{'wall s':>9}{'peak MiB':>10}")
    for label, rules in (("mission rules", MISSION), ("every rule", ())):
        one, many = (run_process(scan_command(p, rules), out / "scale.json") for p in (small, big))
        show(f"{label}, 100,000", one)
        show(f"{label}, 1,000,000", many,
             f"1M / 100k: CPU {many.cpu / one.cpu:.1f}x, wall {many.wall / one.wall:.1f}x "
             "(10x is linear)")
    big.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--images", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each process")
    parser.add_argument("--million", action="store_true", help="also scan 1,000,000 images")
    parser.add_argument("--no-phases", action="store_true", help="whole processes only")
    parser.add_argument("--checkout", action="append", default=[], metavar="DIR",
                        help="also scan with this older tree, in the same alternating runs")
    args = parser.parse_args()
    n = args.images
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, lines = folder / "inventory.json", folder / "inventory.jsonl"
        t_gen, _ = timed(lambda: synth(n, path))
        synth(n, lines, "--lines")  # the same images, one per line
        size = path.stat().st_size / 2**20
        print(f"{'synthetic inventory':<34}: {n:,} images, {size:,.1f} MiB ({t_gen:.2f} s)")
        checkouts = [str(Path(tree).resolve()) for tree in args.checkout]
        compare(path, lines, args.runs, folder, checkouts)  # first, while this process is small
        if args.million:
            scale(lines, folder, folder)
        if not args.no_phases:
            with gc_paused():  # as `imgaudit` runs every command (auditor/gcpause.py)
                bench_phases(path, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
