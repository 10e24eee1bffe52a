"""Terminal text: findings grouped by severity, then rule; a summary line; colour on a tty.

`--summary` keeps the counts per severity and rule and the verdict, without the findings;
waived findings are always counted, and listed (with their waiver) only with `--show-waived`.
Every string that came from the cloud, a config or a rule file goes through `v` (visible): a
control character in an image name must not reach the terminal raw or forge a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from auditor.findings import SEVERITIES, AuditResult, Finding
from auditor.reporters import ReportOptions
from auditor.safetext import visible as v

NOTES_SHOWN = 20  # data-quality notes on a terminal; every one is in the JSON report
_COLORS = {"critical": "1;35", "high": "1;31", "medium": "33", "low": "36", "info": "2",
           "fail": "1;31", "pass": "1;32", "warn": "1;33"}


def _paint(text: str, style: str, options: ReportOptions) -> str:
    return f"\033[{_COLORS[style]}m{text}\033[0m" if options.color else text


def _header(result: AuditResult) -> str:
    scan = result.scan
    regions = v(", ".join(scan.regions)) or "no regions"
    return (f"imgaudit {scan.tool_version}: {scan.images} images in {len(scan.regions)} "
            f"region(s) ({regions}), {len(result.rules)} rules\n")


def _finding_line(finding: Finding, previous_run: int | None = None) -> str:
    """Region, image id (unless the message names it already), message and marks."""
    marks = []
    if finding.waiver is not None:
        waiver = finding.waiver
        marks.append("waiver expired" if waiver.expired else
                     f"waived until {waiver.expires}, owner {v(waiver.owner)}: {v(waiver.reason)}")
    if finding.baseline_state == "new" or _new_in_history(finding, previous_run):
        marks.append("new")
    if finding.first_seen is not None:
        marks.append(f"first seen {finding.first_seen:%Y-%m-%d} (run {finding.first_seen_run})")
    suffix = f"  [{'; '.join(marks)}]" if marks else ""
    named = finding.message and finding.image_id in finding.message
    image = "" if named else f"{v(finding.image_id)}  "
    return f"    {v(finding.region)}  {image}{v(finding.message)}{suffix}\n"


def _new_in_history(finding: Finding, previous_run: int | None) -> bool:
    """First seen after the last complete run of the scope (with --history)."""
    run = finding.first_seen_run
    return run is not None and (previous_run is None or run > previous_run)


def _block(heading: str, style: str, findings: list[Finding], options: ReportOptions,
           previous_run: int | None = None) -> str:
    """A heading with its count, then per rule a count line and (unless --summary) its findings."""
    lines = [_paint(f"{heading} ({len(findings)})", style, options) + "\n"]
    for rule_id, group in groupby(findings, key=lambda f: f.rule_id):
        items = list(group)
        lines.append(f"  {v(rule_id)}  {v(items[0].title)} ({len(items)})\n")
        if not options.summary:
            lines.extend(_finding_line(f, previous_run) for f in items)
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
            detail = v("; ".join(region.errors)) or "not collected"
            lines.append(_paint(f"INCOMPLETE {v(region.region)}: {detail}", "fail", options))
        else:
            lines.extend(f"note: {v(region.region)}: {v(error)}" for error in region.errors)
    for waiver in result.waivers:
        images = v(", ".join(waiver.images))
        what = "expired" if waiver.state == "expired" else "matches nothing (stale)"
        lines.append(_paint(f"waiver {what}: {v(waiver.rule)} on {images} "
                            f"(owner {v(waiver.owner)}, expires {waiver.expires})", "warn",
                            options))
    if result.data_quality:
        lines.append(f"data quality: {len(result.data_quality)} value(s) kept raw or odd "
                     "input (no image was dropped):")
        lines.extend(f"  {v(line)}" for line in result.data_quality_lines(NOTES_SHOWN))
    if result.baseline is not None:
        b = result.baseline
        lines.append(f"baseline {v(b.path)}: {b.new} new, {b.unchanged} unchanged, "
                     f"{len(b.fixed)} fixed")
    if result.history is not None:
        lines.append(_history_note(result))
    return "".join(line + "\n" for line in lines)


_FIXED = 20  # fixed findings named in the text; the JSON report lists them all


def _history_note(result: AuditResult) -> str:
    h = result.history
    assert h is not None
    if h.previous_run is None:
        return (f"history {v(h.path)}: run {h.run}, no earlier complete run of this scope: "
                f"{h.new} new")
    since = f"{h.previous_started_at:%Y-%m-%d %H:%M} UTC" if h.previous_started_at else "?"
    fixed = "".join(f"\n  fixed: {v(f.rule_id)} {v(f.region)} {v(f.image_id)}"
                    for f in h.fixed[:_FIXED])
    more = f"\n  ... and {len(h.fixed) - _FIXED} more fixed" if len(h.fixed) > _FIXED else ""
    return (f"history {v(h.path)}: run {h.run}; since run {h.previous_run} ({since}): {h.new} "
            f"new, {len(h.fixed)} fixed{fixed}{more}")


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
    previous = result.history.previous_run if result.history is not None else None
    out += ["\n" + _block(s.upper(), s, items, options, previous)
            for s, items in groups.items() if items]
    waived = sorted((f for f in result.findings if f.suppressed),
                    key=lambda f: (f.rule_id, f.region, f.image_id))
    if waived and options.show_waived:
        out.append("\n" + _block("WAIVED", "info", waived, options, previous))
    notes = _notes(result, options)
    if notes:
        out.append("\n" + notes)
    out.append(_summary(result, options))
    return "".join(out)
