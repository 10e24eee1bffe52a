"""Terminal text: findings grouped by severity, then rule; a summary line; colour on a tty.

`--summary` keeps the counts per severity and rule and the verdict, without the findings;
waived findings are always counted, and listed (with their waiver) only with `--show-waived`.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from auditor.findings import SEVERITIES, AuditResult, Finding
from auditor.reporters import ReportOptions

NOTES_SHOWN = 20  # data-quality notes on a terminal; every one is in the JSON report
_COLORS = {"critical": "1;35", "high": "1;31", "medium": "33", "low": "36", "info": "2",
           "fail": "1;31", "pass": "1;32", "warn": "1;33"}


def _paint(text: str, style: str, options: ReportOptions) -> str:
    return f"\033[{_COLORS[style]}m{text}\033[0m" if options.color else text


def _header(result: AuditResult) -> str:
    scan = result.scan
    regions = ", ".join(scan.regions) or "no regions"
    return (f"imgaudit {scan.tool_version}: {scan.images} images in {len(scan.regions)} "
            f"region(s) ({regions}), {len(result.rules)} rules\n")


def _finding_line(finding: Finding) -> str:
    """Region, image id (unless the message names it already), message and marks."""
    marks = []
    if finding.waiver is not None:
        waiver = finding.waiver
        marks.append("waiver expired" if waiver.expired else
                     f"waived until {waiver.expires}, owner {waiver.owner}: {waiver.reason}")
    if finding.baseline_state == "new":
        marks.append("new")
    suffix = f"  [{'; '.join(marks)}]" if marks else ""
    named = finding.message and finding.image_id in finding.message
    image = "" if named else f"{finding.image_id}  "
    return f"    {finding.region}  {image}{finding.message}{suffix}\n"


def _block(heading: str, style: str, findings: list[Finding], options: ReportOptions) -> str:
    """A heading with its count, then per rule a count line and (unless --summary) its findings."""
    lines = [_paint(f"{heading} ({len(findings)})", style, options) + "\n"]
    for rule_id, group in groupby(findings, key=lambda f: f.rule_id):
        items = list(group)
        lines.append(f"  {rule_id}  {items[0].title} ({len(items)})\n")
        if not options.summary:
            lines.extend(_finding_line(f) for f in items)
    return "".join(lines)


def _by_severity(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
    for finding in findings:
        groups[finding.severity.value].append(finding)
    for items in groups.values():
        items.sort(key=lambda f: (f.rule_id, f.region, f.image_id))
    return groups


def _notes(result: AuditResult, options: ReportOptions) -> str:
    lines = []
    for region in result.regions:
        if not region.complete:
            detail = "; ".join(region.errors) or "not collected"
            lines.append(_paint(f"INCOMPLETE {region.region}: {detail}", "fail", options))
        else:
            lines.extend(f"note: {region.region}: {error}" for error in region.errors)
    for waiver in result.waivers:
        images = ", ".join(waiver.images)
        what = "expired" if waiver.state == "expired" else "matches nothing (stale)"
        lines.append(_paint(f"waiver {what}: {waiver.rule} on {images} "
                            f"(owner {waiver.owner}, expires {waiver.expires})", "warn", options))
    if result.data_quality:
        lines.append(f"data quality: {len(result.data_quality)} value(s) kept raw or odd "
                     "input (no image was dropped):")
        lines.extend(f"  {line}" for line in result.data_quality_lines(NOTES_SHOWN))
    if result.baseline is not None:
        b = result.baseline
        lines.append(f"baseline {b.path}: {b.new} new, {b.unchanged} unchanged, "
                     f"{len(b.fixed)} fixed")
    return "".join(line + "\n" for line in lines)


def _summary(result: AuditResult, options: ReportOptions) -> str:
    counts = result.counts_by_severity()
    waived = sum(1 for f in result.findings if f.suppressed)
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES)
    verdicts = {0: ("PASSED", "pass"), 1: ("FAILED", "fail"), 3: ("INCOMPLETE", "fail")}
    word, style = verdicts[result.exit_code]
    return (f"\n{len(result.findings) - waived} findings ({parts}), {waived} waived; "
            f"fail-on {result.fail_on}: {_paint(word, style, options)}\n")


def render(result: AuditResult, options: ReportOptions) -> str:
    out = [_header(result)]
    groups = _by_severity(f for f in result.findings if not f.suppressed)
    out += ["\n" + _block(s.upper(), s, items, options) for s, items in groups.items() if items]
    waived = sorted((f for f in result.findings if f.suppressed),
                    key=lambda f: (f.rule_id, f.region, f.image_id))
    if waived and options.show_waived:
        out.append("\n" + _block("WAIVED", "info", waived, options))
    notes = _notes(result, options)
    if notes:
        out.append("\n" + notes)
    out.append(_summary(result, options))
    return "".join(out)
