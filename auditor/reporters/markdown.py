"""Markdown for a GitHub job summary or a pull-request comment.

GitHub caps both at 65,536 characters, so the text is built against a budget: the summary
always fits, and finding rows are added, most severe first, until the budget is spent, with a
note saying how many were left out. Cloud strings are escaped so that an image name cannot
add markup, links, HTML or table columns.
"""

from __future__ import annotations

import re
from collections import Counter

from auditor.findings import SEVERITIES, AuditResult, Finding
from auditor.reporters import ReportOptions
from auditor.safetext import visible

LIMIT = 65_000
TOP_FINDINGS = 200
CELL_MAX = 160
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")
_EMOJI = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦", "info": "⬜"}


def cell(text: object, limit: int = CELL_MAX) -> str:
    """Plain text made safe for one Markdown table cell."""
    value = " ".join(visible(str(text)).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    value = _SPECIAL.sub(r"\\\1", value)
    return value.replace("@", "@\u200b")  # no @mentions from cloud strings


NOTES_SHOWN = 20  # data-quality notes listed; every one is in the JSON report


def render(result: AuditResult, options: ReportOptions) -> str:
    head = "\n".join(_header(result)) + "\n"
    lines = _rules_table(result)
    body = _fit(lines, LIMIT // 4, "rules")
    body += _findings_section(result, LIMIT - len(head) - len(body) - 200)
    return head + body


def _header(result: AuditResult) -> list[str]:
    scan = result.scan
    failing = len(result.failing)
    verdict = "❌ fails" if failing else "✅ passes"
    lines = [f"## imgaudit: {verdict} the gate (fail on {result.fail_on} and above)", ""]
    incomplete = [r for r in result.regions if not r.complete]
    if incomplete:
        names = ", ".join(cell(r.region) for r in incomplete)
        lines += [f"> [!CAUTION]\n> **Incomplete scan**: {names} could not be fully read; "
                  "findings there may be missing.", ""]
    regions = ", ".join(cell(r) for r in scan.regions) or "none"
    account = scan.account_id or ", ".join(scan.accounts) or "unknown"
    lines += [f"Account **{cell(account)}** · regions {regions} · "
              f"{scan.images} images · scanned {scan.finished_at:%Y-%m-%d %H:%M} UTC · "
              f"imgaudit {cell(scan.tool_version)}", ""]
    lines += _severity_table(result)
    if result.baseline:
        b = result.baseline
        lines += ["", f"**Since the baseline** {cell(b.path)}: {b.new} new, "
                      f"{b.unchanged} unchanged, {len(b.fixed)} fixed."]
    if result.expired_waivers:
        lines += ["", f"⚠️ {len(result.expired_waivers)} waiver(s) expired: their findings "
                      "are open again."]
    if result.data_quality:
        lines += ["", f"**Data quality**: {len(result.data_quality)} value(s) kept raw "
                      "(no image was dropped):", ""]
        lines += [f"- {cell(line)}" for line in result.data_quality_lines(NOTES_SHOWN)]
    lines += ["", f"**{failing}** finding(s) fail the gate."]
    return lines


def _severity_table(result: AuditResult) -> list[str]:
    open_ = result.counts_by_severity()
    total = result.counts_by_severity(include_suppressed=True)
    new = Counter(f.severity.value for f in result.findings
                  if f.baseline_state == "new" and not f.suppressed)
    head = "| Severity | Open | Waived |" + (" New |" if result.baseline else "")
    rule = "|---|--:|--:|" + ("--:|" if result.baseline else "")
    rows = [head, rule]
    for sev in SEVERITIES:
        row = f"| {_EMOJI[sev]} {sev} | {open_[sev]} | {total[sev] - open_[sev]} |"
        rows.append(row + (f" {new[sev]} |" if result.baseline else ""))
    return rows


def _rules_table(result: AuditResult) -> list[str]:
    counts = Counter(f.rule_id for f in result.findings if not f.suppressed)
    if not counts:
        return []
    titles = {r.id: r for r in result.rules}
    lines = ["", "### By rule", "", "| Rule | Severity | Title | Open |", "|---|---|---|--:|"]
    for rule_id, count in counts.most_common():
        rule = titles.get(rule_id)
        severity = rule.severity.value if rule else "?"
        title = rule.title if rule else ""
        lines.append(f"| {cell(rule_id, 60)} | {severity} | {cell(title)} | {count} |")
    return lines


def _findings_section(result: AuditResult, budget: int) -> str:
    open_ = sorted((f for f in result.findings if not f.suppressed),
                   key=lambda f: (-f.severity.rank, f.baseline_state != "new", f.rule_id))
    if not open_:
        return "\n\nNo open findings.\n"
    extra = " Baseline |" if result.baseline else ""
    lines = ["", "### Top findings", "", "| Severity | Rule | Image | Region | Message |" + extra,
             "|---|---|---|---|---|" + ("---|" if result.baseline else "")]
    lines += [_finding_row(f, result.baseline is not None) for f in open_[:TOP_FINDINGS]]
    text = _fit(lines, budget, "findings", extra=max(0, len(open_) - TOP_FINDINGS))
    return text


def _finding_row(f: Finding, baseline: bool) -> str:
    image = cell(f.image_id, 60) + (f" {cell(f.image_name, 60)}" if f.image_name else "")
    expired = " (waiver expired)" if f.waiver and f.waiver.expired else ""
    row = (f"| {_EMOJI[f.severity.value]} {f.severity.value} | {cell(f.rule_id, 60)} | "
           f"{image} | {cell(f.region)} | {cell(f.message)}{expired} |")
    return row + (f" {f.baseline_state or ''} |" if baseline else "")


def _fit(lines: list[str], budget: int, what: str, extra: int = 0) -> str:
    """Lines joined up to `budget` characters, with a note on how many rows were left out."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget:
            left = len(lines) - i + extra
            out.append(f"\n_… {left} more {what} not shown; see the HTML or JSON report._")
            return "\n".join(out) + "\n"
        out.append(line)
        used += len(line) + 1
    if extra:
        out.append(f"\n_… {extra} more {what} not shown; see the HTML or JSON report._")
    return "\n".join(out) + "\n"
