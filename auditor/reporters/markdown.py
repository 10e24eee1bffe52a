"""Markdown for a GitHub job summary or a pull-request comment.

GitHub caps both at 65,536 characters, so the text is built against a budget: the summary
always fits, and finding rows are added, most severe first, until the budget is spent, with a
note saying how many were left out. Cloud strings are escaped so that an image name cannot
add markup, links, HTML or table columns.
"""

from __future__ import annotations

import re
from collections import Counter

from auditor.findings import SEVERITIES, AuditResult, Finding, tag_groups
from auditor.reporters import ReportOptions, changes
from auditor.reporters.i18n import Catalogue, catalogue
from auditor.reporters.tags import image_count, tag_label
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
FIXED_SHOWN = 20  # fixed findings (with --history) named; every one is in the JSON report


def render(result: AuditResult, options: ReportOptions) -> str:
    t = catalogue(result.lang)
    head = "\n".join(_header(result, t)) + "\n"
    lines = _rules_table(result, t)
    body = _fit(lines, LIMIT // 4, t, "rules")
    body += _fit(_frameworks_section(result, t), LIMIT // 8, t, "controls")
    body += _findings_section(result, LIMIT - len(head) - len(body) - 200, t,
                              options.group_by_tag)
    return head + body


def _header(result: AuditResult, t: Catalogue) -> list[str]:
    scan = result.scan
    gate_failures = len(result.gate_failures)
    fails = gate_failures or result.expired_waivers  # an expired waiver fails the gate too
    # an incomplete scan never passes (exit 3): without failures it has no verdict
    title = "fail" if fails else "pass" if result.scan.complete else "incomplete"
    lines = [t(f"md.title.{title}", fail_on=result.fail_on), ""]
    incomplete = [r for r in result.regions if not r.complete]
    if incomplete:
        names = ", ".join(cell(result.where(r.region, r.account_id)) for r in incomplete)
        lines += [t("md.incomplete", regions=names), ""]
    regions = ", ".join(cell(r) for r in scan.regions) or t("md.none")
    account = scan.account_id or ", ".join(
        result.account_label(a) for a in scan.accounts) or t("md.unknown")
    lines += [t("md.scope", account=cell(account), regions=regions,
                images=scan.image_count, time=f"{scan.finished_at:%Y-%m-%d %H:%M}",
                version=cell(scan.tool_version)), ""]
    lines += _severity_table(result, t)
    lines += _accounts_table(result, t)
    if result.baseline:
        b = result.baseline
        lines += ["", t("md.baseline", path=cell(b.path), new=b.new, unchanged=b.unchanged,
                        fixed=len(b.fixed))]
    if result.history:
        lines += ["", changes.headline(result, t, cell)]
        if result.history.fixed:
            lines += ["", t("md.history_fixed", previous=result.history.previous_run,
                            count=len(result.history.fixed)), ""]
            lines += [f"- {line}" for line in changes.fixed_lines(result, t, FIXED_SHOWN, cell)]
        lines += ["", ages] if (ages := changes.ages(result, t)) else []
    if result.expired_waivers:
        lines += ["", t("md.expired_waivers", count=len(result.expired_waivers)), ""]
        lines += ["- " + t("waiver.expired", rule=cell(w.rule, 60), images=cell(t.selection(w)),
                           owner=cell(w.owner), expires=w.expires.isoformat())
                  for w in result.expired_waivers]
    if result.expiring_waivers:
        lines += ["", t("md.expiring_waivers", count=len(result.expiring_waivers)), ""]
        lines += ["- " + t("waiver.expiring", rule=cell(w.rule, 60), images=cell(t.selection(w)),
                           owner=cell(w.owner),
                           expires=w.expires.isoformat())
                  for w in result.expiring_waivers]
    if result.data_quality:
        lines += ["", t("md.data_quality", count=len(result.data_quality)), ""]
        lines += [f"- {cell(line)}" for line in result.data_quality_lines(NOTES_SHOWN)]
    lines += ["", t("md.gate_failures", count=gate_failures)]
    return lines


def _accounts_table(result: AuditResult, t: Catalogue) -> list[str]:
    """Per account of a scan of several: regions, images, open findings, what is missing."""
    rows = result.by_account()
    if not rows:
        return []
    lines = ["", t("md.accounts"), "", t("md.accounts_head"), "|---|--:|--:|--:|---|"]
    lines += [f"| {cell(row.label)} | {row.regions} | {row.image_count} | {row.open} | "
              f"{t('md.account_complete') if row.complete else cell('; '.join(row.incomplete))}"
              " |" for row in rows]
    return lines


def _severity_table(result: AuditResult, t: Catalogue) -> list[str]:
    open_ = result.counts_by_severity()
    total = result.counts_by_severity(include_suppressed=True)
    new = Counter(f.severity.value for f in result.findings
                  if changes.is_new(result, f) and not f.suppressed)
    changed = result.baseline is not None or result.history is not None
    head = t("md.severity_head") + (t("md.new_head") if changed else "")
    rule = "|---|--:|--:|" + ("--:|" if changed else "")
    rows = [head, rule]
    for sev in SEVERITIES:
        row = f"| {_EMOJI[sev]} {t.severity(sev)} | {open_[sev]} | {total[sev] - open_[sev]} |"
        rows.append(row + (f" {new[sev]} |" if changed else ""))
    return rows


def _rules_table(result: AuditResult, t: Catalogue) -> list[str]:
    """Every rule run, passing ones too: the engine's counts, most open findings first."""
    if not result.rules:
        return []
    open_ = Counter(f.rule_id for f in result.findings if not f.suppressed)
    rules = sorted(result.rules, key=lambda r: (-open_[r.id], -r.severity.rank, r.id))
    unknown = result.not_evaluated > 0  # a column of its own only when there are any
    extra = f" {t('md.not_evaluated')} |" if unknown else ""
    lines = ["", t("md.compliance_by_rule"), "", t("md.compliance_head") + extra,
             "|---|---|---|--:|--:|--:|--:|--:|--:|" + ("--:|" if unknown else "")]
    lines += [f"| {cell(r.id, 60)} | {t.severity(r.severity.value)} | {cell(r.title)} "
              f"| {r.evaluated} | {r.passed} | {r.failed} | {r.waived} | {open_[r.id]} "
              f"| {t.compliance(r.compliance)} |" + (f" {r.not_evaluated} |" if unknown else "")
              for r in rules]
    return lines


def _frameworks_section(result: AuditResult, t: Catalogue) -> list[str]:
    """Per framework the rules map to: each control, its title, status, rules and counts."""
    if not result.frameworks:
        return []
    lines = ["", t("md.compliance_by_framework")]
    for fw in result.frameworks:
        heading = t("md.framework_heading", title=cell(fw.title), version=cell(fw.version),
                    id=cell(fw.id, 60))
        lines += ["", heading, "", t("md.framework_head"), "|---|---|---|---|--:|--:|--:|--:|"]
        for c in fw.controls:
            status = t(f"framework.status.{c.status.replace(' ', '_')}")
            mark = "❌ " if c.status == "fail" else "✅ " if c.status == "pass" else ""
            lines.append(f"| {cell(c.id, 30)} | {cell(c.title or '')} | {mark}{status} "
                         f"| {cell(', '.join(c.rules))} | {c.evaluated} | {c.passed} "
                         f"| {c.failed} | {c.waived} |")
    return [*lines, "", f"_{t('framework.counts_note')}_"]


def _findings_section(result: AuditResult, budget: int, t: Catalogue,
                      group_by_tag: str | None = None) -> str:
    open_ = sorted((f for f in result.findings if not f.suppressed),
                   key=lambda f: (-f.severity.rank, not changes.is_new(result, f), f.rule_id))
    if not open_:
        return "\n\n" + t("md.no_findings") + "\n"
    extra = t("md.baseline_head") if result.baseline else ""
    extra += t("md.history_head") if result.history else ""
    head = [t("md.findings_head") + extra,
            "|---|---|---|---|---|" + ("---|" if result.baseline else "")
            + ("---|" if result.history else "")]
    if group_by_tag is not None:
        return _grouped_findings(result, open_, head, budget, t, group_by_tag)
    lines = ["", t("md.top_findings"), "", *head]
    lines += [_finding_row(f, result, t) for f in open_[:TOP_FINDINGS]]
    text = _fit(lines, budget, t, "findings", extra=max(0, len(open_) - TOP_FINDINGS))
    return text


def _grouped_findings(result: AuditResult, open_: list[Finding], head: list[str],
                      budget: int, t: Catalogue, key: str) -> str:
    """--group-by-tag: a table of the tag's values (images, open findings), then per value
    its findings, most severe first; TOP_FINDINGS rows in all."""
    groups = tag_groups(open_, key)
    lines = ["", "### " + t("tag.by_tag", key=cell(key, 60)), "",
             t("tag.head", key=cell(key, 60)), "|---|--:|--:|"]
    lines += [f"| {tag_label(g, key, t, cell)} | {image_count(g)} | {len(g.findings)} |"
              for g in groups]
    lines += ["", t("md.top_findings")]
    shown = 0
    for group in groups:
        rows = group.findings[:TOP_FINDINGS - shown]
        if not rows:
            break
        lines += ["", f"#### {tag_label(group, key, t, cell)} ({len(group.findings)})", "",
                  *head, *(_finding_row(f, result, t) for f in rows)]
        shown += len(rows)
    return _fit(lines, budget, t, "findings", extra=len(open_) - shown)


def _finding_row(f: Finding, result: AuditResult, t: Catalogue) -> str:
    image = cell(f.image_id, 60) + (f" {cell(f.image_name, 60)}" if f.image_name else "")
    expired = t("md.waiver_expired") if f.waiver and f.waiver.expired else ""
    row = (f"| {_EMOJI[f.severity.value]} {t.severity(f.severity.value)} | "
           f"{cell(f.rule_id, 60)} | {image} | {cell(result.where(f.region, f.account_id))} | "
           f"{cell(f.message)}{expired} |")
    if result.baseline:
        row += f" {t(f'baseline.{f.baseline_state}') if f.baseline_state else ''} |"
    if result.history:
        new = f"**{t('baseline.new')}** · " if result.history.is_new(f) else ""
        row += f" {new}{changes.first_seen(f, t) or ''} |"
    return row


def _fit(lines: list[str], budget: int, t: Catalogue, what: str, extra: int = 0) -> str:
    """Lines joined up to `budget` characters, with a note on how many rows were left out."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + len(line) + 1 > budget:
            out.append("\n" + t(f"md.more.{what}", count=len(lines) - i + extra))
            return "\n".join(out) + "\n"
        out.append(line)
        used += len(line) + 1
    if extra:
        out.append("\n" + t(f"md.more.{what}", count=extra))
    return "\n".join(out) + "\n"
