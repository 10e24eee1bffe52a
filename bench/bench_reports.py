"""Time and size of every report format for a large synthetic audit result.

    python bench/bench_reports.py [--findings 100000] [--seed 0] [--baseline] [--repeat 3]
                                  [--browser]

With --browser, the HTML report is also opened in headless Chromium (/usr/bin/chromium, via
Playwright) and the time to first table, to filter by severity and to sort is printed.

Targets (issue 4): SARIF and JSON under 3 s each, HTML under 5 s and under 30 MB.
SARIF keeps GitHub's 25,000 most severe results; its gzipped size must stay under 10 MB.
"""

from __future__ import annotations

import argparse
import gzip
import random
import time
from datetime import date, datetime, timedelta, timezone

from auditor.findings import (
    SEVERITIES,
    AppliedWaiver,
    AuditResult,
    BaselineSummary,
    Evidence,
    Finding,
    RegionReport,
    RuleInfo,
    ScanInfo,
    Severity,
    fingerprint,
    image_arn,
)
from auditor.gcpause import gc_paused
from auditor.reporters import FORMATS, ReportOptions, render

ACCOUNT = "1234567890123456"
REGIONS = ["cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1", "eu-central-1"]
OWNERS = ["self", "others", "system", "marketplace"]
TARGETS = {"json": 3.0, "sarif": 3.0, "html": 5.0}


def synthetic_result(n: int, seed: int = 0, baseline: bool = False) -> AuditResult:
    """`n` varied findings over 30 rules, about 3 findings an image, 2% waived."""
    rng = random.Random(seed)
    rules = [RuleInfo(id=f"IMG{i:03d}", title=f"Synthetic rule {i} about image settings",
                      severity=Severity(SEVERITIES[i % 5]),
                      description=f"Rule {i} checks one property of every image. " * 3,
                      remediation=f"Change the image so that rule {i} passes.")
             for i in range(30)]
    findings = [_finding(rng, rules, i) for i in range(n)]
    if baseline:
        for f in findings:
            f.baseline_state = "new" if rng.random() < 0.1 else "unchanged"
    now = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
    return AuditResult(
        scan=ScanInfo(tool_version="0.1.0", started_at=now,
                      finished_at=now + timedelta(minutes=4), account_id=ACCOUNT,
                      command_line=["imgaudit", "scan", "--region", ",".join(REGIONS)],
                      source="api", owners=OWNERS, regions=REGIONS, images=n // 3),
        regions=[RegionReport(region=r, complete=True, images=n // 15) for r in REGIONS],
        rules=rules, findings=findings,
        baseline=BaselineSummary(path="prev.json", new=n // 10, unchanged=n - n // 10)
        if baseline else None,
    )


def _finding(rng: random.Random, rules: list[RuleInfo], i: int) -> Finding:
    rule = rules[rng.randrange(len(rules))]
    region = REGIONS[rng.randrange(len(REGIONS))]
    image_id = f"m-{region[:2]}{i // 3:017x}"
    waiver = None
    if rng.random() < 0.02:
        waiver = AppliedWaiver(reason="accepted risk for a legacy workload", owner="team-a",
                               expires=date(2027, 1, 1) + timedelta(days=rng.randrange(400)),
                               expired=rng.random() < 0.2)
    return Finding(
        rule_id=rule.id, severity=rule.severity, title=rule.title,
        message=f"{rule.title}: value {rng.randrange(10_000)} is out of policy",
        image_id=image_id, image_name=f"app-{rng.randrange(5000)}-base-{i // 3 % 97}",
        region=region, owner_alias=OWNERS[i % 4],
        evidence=[Evidence(path=f"Field{rng.randrange(12)}", actual=rng.randrange(500),
                           expected="at most 100")],
        fingerprint=fingerprint(rule.id, region, image_id),
        resource=image_arn(region, ACCOUNT, image_id), waiver=waiver,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true", help="mark findings new/unchanged")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format; best and worst")
    parser.add_argument("--browser", action="store_true", help="time the HTML page in Chromium")
    args = parser.parse_args()
    started = time.perf_counter()
    result = synthetic_result(args.findings, args.seed, args.baseline)
    print(f"built {len(result.findings):,} findings in {time.perf_counter() - started:.2f} s")
    print(f"{'format':<10}{'best s':>8}{'worst s':>9}{'MB':>8}{'gzip MB':>9}  target (best)")
    for fmt in FORMATS:
        times = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            text = render(fmt, result, ReportOptions())
            times.append(time.perf_counter() - started)
        seconds = min(times)
        data = text.encode("utf-8")
        zipped = len(gzip.compress(data, 6)) / 1e6
        target = TARGETS.get(fmt)
        verdict = "" if target is None else (
            f"< {target:.0f} s {'ok' if seconds < target else 'MISSED'}")
        if fmt == "html":
            verdict += f", < 30 MB {'ok' if len(data) < 30e6 else 'MISSED'}"
        print(f"{fmt:<10}{seconds:>8.2f}{max(times):>9.2f}{len(data) / 1e6:>8.2f}{zipped:>9.2f}"
              f"  {verdict}")
    if args.browser:
        browse(render("html", result, ReportOptions()))
    return 0


def browse(page_html: str) -> None:
    """Seconds the page takes in Chromium to show its table, filter it and sort it."""
    import tempfile
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = Path(folder) / "report.html"
        path.write_text(page_html, encoding="utf-8")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page()
        steps = [("open to first rows", lambda: (page.goto(path.as_uri()),
                                                 page.wait_for_selector("#rows tr"))),
                 ("filter out info", lambda: page.uncheck('input[value="info"]')),
                 ("sort by image", lambda: page.click('th[data-sort="image"]')),
                 ("open image detail", lambda: page.locator("#rows tr").first.click())]
        for name, step in steps:
            started = time.perf_counter()
            step()
            print(f"browser: {name:<20}{time.perf_counter() - started:6.2f} s")
        print(f"browser: {page.inner_text('#shown')}")
        browser.close()


if __name__ == "__main__":
    with gc_paused():  # as `imgaudit` runs every command (auditor/gcpause.py)
        STATUS = main()
    raise SystemExit(STATUS)
