"""A year of daily scans recorded in one history file: its size and the time of each command.

    python bench/bench_history.py [--runs 365] [--images 10000] [--change 0.01] [--seed 0]

Each run is a complete scan of `--images` images in five regions with about three findings an
image (2% waived); between runs `--change` of the findings change: half are fixed, as many new
ones appear. Every run is recorded through the real store (`open_history` + `record_run`, one
transaction each, with its integrity check); the commands run as a user runs them.

Targets (issue 10): the file under 50 MB, recording one run under 1 s, `history trend` over the
year under 1 s. Last, the HTML report of the last run with its year of trend (what `scan
--history --html` writes): its size and render time, beside the same report without history.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from auditor.app.history import HistoryOptions, history_diff, history_list, history_trend
from auditor.findings import (
    SEVERITIES,
    AppliedWaiver,
    AuditResult,
    Finding,
    RegionReport,
    RuleInfo,
    ScanInfo,
    Severity,
    fingerprint,
)
from auditor.history import annotate, changes_since_complete, open_history, record_run
from auditor.reporters import ReportOptions, render

REGIONS = ["cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1", "eu-central-1"]
T0 = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
RULES = [RuleInfo(id=f"IMG-SYNTH-{i:02d}", title=f"Synthetic rule {i}",
                  severity=Severity(SEVERITIES[i % 5])) for i in range(30)]
WAIVER = AppliedWaiver(reason="accepted", owner="ops", expires=date(2099, 1, 1), expired=False)


def make_finding(rng: random.Random, image: int) -> Finding:
    rule = rng.choice(RULES)
    region = REGIONS[image % len(REGIONS)]
    image_id = f"m-{region[:3]}{image:016d}"
    return Finding(rule_id=rule.id, severity=rule.severity, title=rule.title,
                   message=f"{image_id} breaks {rule.id}", image_id=image_id,
                   image_name=f"image-{image}", region=region,
                   fingerprint=fingerprint(rule.id, region, image_id),
                   waiver=WAIVER if rng.random() < 0.02 else None)


def result_for(day: int, images: int, findings: list[Finding]) -> AuditResult:
    when = T0 + timedelta(days=day)
    scan = ScanInfo(tool_version="0.1.0", started_at=when, finished_at=when + timedelta(minutes=3),
                    account_id="1234567890123456", source="api", owners=["self"],
                    regions=REGIONS, images=images)
    return AuditResult(scan=scan, rules=RULES, findings=findings,
                       regions=[RegionReport(region=r, complete=True, images=images // 5)
                                for r in REGIONS])


def evolve(rng: random.Random, findings: list[Finding], images: int, change: float) -> None:
    """Fix half of `change` of the findings and add as many new ones, in place."""
    count = max(1, int(len(findings) * change / 2))
    for _ in range(count):
        findings.pop(rng.randrange(len(findings)))
    present = {f.fingerprint for f in findings}
    added = 0
    while added < count:
        new = make_finding(rng, rng.randrange(images * 2))  # existing images and new ones
        if new.fingerprint not in present:
            findings.append(new)
            present.add(new.fingerprint)
            added += 1


def timed_command(func, *args) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    func(*args, io.StringIO())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    findings: dict[str, Finding] = {}
    while len(findings) < args.images * 3:
        f = make_finding(rng, rng.randrange(args.images))
        findings[f.fingerprint] = f
    current = list(findings.values())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite"
        times = []
        result = result_for(0, args.images, current)
        for day in range(args.runs):
            result = result_for(day, args.images, list(current))
            start = time.perf_counter()
            with open_history(path, write=True) as conn:
                record_run(conn, result)
            times.append(time.perf_counter() - start)
            evolve(rng, current, args.images, args.change)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        report(args, times, size, len(current), path)
        html_report(result, path)


def report(args: argparse.Namespace, times: list[float], size: int, findings: int,
           path: Path) -> None:
    options = HistoryOptions(path=path, fmt="json")
    print(f"{args.runs} daily runs, {args.images:,} images, ~{findings:,} findings a run, "
          f"{args.change:.0%} changing per run")
    main_size = os.path.getsize(path) / 2**20
    print(f"history file:          {size / 2**20:8.1f} MB  (main {main_size:.1f} MB; "
          "target < 50 MB)")
    print(f"record one run:        {statistics.median(times):8.3f} s median, "
          f"{max(times):.3f} s max, {times[0]:.3f} s the first (target < 1 s)")
    print(f"history trend (json):  {timed_command(history_trend, options, None):8.3f} s "
          "in process (target < 1 s)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "auditor", "history", "trend", "--history", str(path),
                    "--format", "json"], check=True, stdout=subprocess.DEVNULL)
    print(f"imgaudit history trend:{time.perf_counter() - start:8.3f} s as a command "
          "(Python start-up included)")
    print(f"history list (json):   {timed_command(history_list, options):8.3f} s")
    print(f"history diff 1 {args.runs}:  "
          f"{timed_command(history_diff, options, '1', str(args.runs)):8.3f} s")


def html_report(last: AuditResult, path: Path) -> None:
    """The last run's HTML report as the scan writes it: annotated from the history (first
    seen, age, the trend of every run) and rendered."""
    start = time.perf_counter()
    with open_history(path, write=False) as conn:
        run = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
        annotated = annotate(last, changes_since_complete(conn, run), str(path))
    annotate_time = time.perf_counter() - start
    timings = {}
    for name, result in (("with a year of trend", annotated), ("without history", last)):
        start = time.perf_counter()
        page = render("html", result, ReportOptions())
        timings[name] = (time.perf_counter() - start, len(page.encode()))
    print(f"HTML, last run ({len(last.findings):,} findings, "
          f"{len(annotated.history.trend) if annotated.history else 0} runs of trend):")
    print(f"  read the history for it: {annotate_time:8.3f} s")
    for name, (seconds, size) in timings.items():
        print(f"  {name:22s} {size / 2**20:8.2f} MB, rendered in {seconds:.3f} s")


if __name__ == "__main__":
    main()
