"""Terminal text: findings grouped by severity, then rule; a summary line; colour on a tty.

`--summary` keeps the counts per severity and rule and the verdict, without the findings;
waived findings are always counted, and listed (with their waiver) only with `--show-waived`.
Every string that came from the cloud, a config or a rule file goes through `v` (visible): a
control character in an image name must not reach the terminal raw or forge a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from unicodedata import east_asian_width

from auditor.findings import SEVERITIES, AuditResult, Finding, tag_groups
from auditor.reporters import ReportOptions, changes
from auditor.reporters.i18n import Catalogue, catalogue
from auditor.reporters.tags import tag_label
from auditor.safetext import visible as v

NOTES_SHOWN = 20  # data-quality notes on a terminal; every one is in the JSON report
_COLORS = {"critical": "1;35", "high": "1;31", "medium": "33", "low": "36", "info": "2",
           "fail": "1;31", "pass": "1;32", "warn": "1;33"}


def _paint(text: str, style: str, options: ReportOptions) -> str:
    return f"\033[{_COLORS[style]}m{text}\033[0m" if options.color else text


def _header(result: AuditResult, t: Catalogue) -> str:
    scan = result.scan
    regions = v(", ".join(scan.regions)) or t("text.no_regions")
    return t("text.header", version=scan.tool_version, images=scan.image_count,
             count=len(scan.regions), regions=regions, rules=len(result.rules)) + "\n"


def _finding_line(finding: Finding, t: Catalogue, result: AuditResult) -> str:
    """Region (with its account in a scan of several), image id (unless the message names
    it already), message and marks."""
    marks = []
    if finding.waiver is not None:
        waiver = finding.waiver
        marks.append(t("text.waiver_expired") if waiver.expired else
                     t("text.waived_until", expires=waiver.expires, owner=v(waiver.owner),
                       reason=v(waiver.reason)))
    if changes.is_new(result, finding):
        marks.append(t("text.new"))
    seen = changes.first_seen(finding, t)
    if seen is not None:
        marks.append(seen)
    suffix = f"  [{'; '.join(marks)}]" if marks else ""
    named = finding.message and finding.image_id in finding.message
    image = "" if named else f"{v(finding.image_id)}  "
    where = result.where(finding.region, finding.account_id)
    return f"    {v(where)}  {image}{v(finding.message)}{suffix}\n"


def _block(heading: str, style: str, findings: list[Finding], options: ReportOptions,
           t: Catalogue, result: AuditResult) -> str:
    """A heading with its count, then per rule a count line and (unless --summary) its findings.
    Nothing is padded into columns, so a CJK title (two cells a character) shifts nothing."""
    lines = [_paint(t("text.heading", name=heading, count=len(findings)), style, options) + "\n"]
    for rule_id, group in groupby(findings, key=lambda f: f.rule_id):
        items = list(group)
        title = t("text.heading", name=v(items[0].title), count=len(items))
        lines.append(f"  {v(rule_id)}  {title}\n")
        if not options.summary:
            lines.extend(_finding_line(f, t, result) for f in items)
    return "".join(lines)


def _by_severity(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
    for finding in findings:
        groups[finding.severity.value].append(finding)
    for items in groups.values():
        items.sort(key=lambda f: (f.rule_id, f.account_id or "", f.region, f.image_id))
    return groups


def _notes(result: AuditResult, options: ReportOptions, t: Catalogue) -> str:
    lines = []
    for region in result.regions:
        where = v(result.where(region.region, region.account_id))
        if not region.complete:
            detail = v("; ".join(region.errors)) or t("text.not_collected")
            lines.append(_paint(t("text.incomplete", region=where, detail=detail),
                                "fail", options))
        else:
            lines.extend(t("text.region_note", region=where, error=v(error))
                         for error in region.errors)
    for waiver in result.waivers:
        lines.append(_paint(t("text.waiver", state=t(f"text.waiver_state.{waiver.state}"),
                              rule=v(waiver.rule), images=v(t.selection(waiver)),
                              owner=v(waiver.owner), expires=waiver.expires), "warn", options))
    if result.data_quality:
        lines.append(t("text.data_quality", count=len(result.data_quality)))
        lines.extend(f"  {v(line)}" for line in result.data_quality_lines(NOTES_SHOWN))
    if result.baseline is not None:
        b = result.baseline
        lines.append(t("text.baseline", path=v(b.path), new=b.new, unchanged=b.unchanged,
                       fixed=len(b.fixed)))
    if result.history is not None:
        lines.append(changes.headline(result, t))
        lines.extend(f"  {line}" for line in changes.fixed_lines(result, t, _FIXED))
        lines += [ages] if (ages := changes.ages(result, t)) else []
    return "".join(line + "\n" for line in lines)


_FIXED = 20  # fixed findings named in the text; the JSON report lists them all


_VERDICTS = {0: ("verdict.pass", "pass"), 1: ("verdict.fail", "fail"),
             3: ("verdict.incomplete", "fail")}
_COLUMNS = ("rule", "severity", "evaluated", "passed", "failed", "waived", "compliance")
_UNKNOWN_COLUMNS = (*_COLUMNS[:6], "not_evaluated", "compliance")


def _accounts(result: AuditResult, t: Catalogue) -> str:
    """Per account of a scan of several: regions, images, open findings, complete or not."""
    rows = result.by_account()
    if not rows:
        return ""
    lines = [t("text.accounts", count=len(rows))]
    lines += [t("text.account_row", account=v(row.label), regions=row.regions,
                images=row.image_count, open=row.open,
                status=t("text.account_complete") if row.complete
                else t("text.account_incomplete", count=len(row.incomplete)))
              for row in rows]
    return "\n" + "".join(f"{line}\n" for line in lines)


def _posture(result: AuditResult, t: Catalogue) -> str:
    """Per rule run: images evaluated (its `when` selected), passed, failed, waived, and %;
    images not evaluated (data not collected) in a column of their own when there are any."""
    if not result.rules:
        return ""
    unknown = result.not_evaluated > 0
    rows = [[v(r.id), t.severity(r.severity.value), str(r.evaluated), str(r.passed),
             str(r.failed), str(r.waived), *([str(r.not_evaluated)] if unknown else []),
             t.compliance(r.compliance)] for r in result.rules]
    head = [t(f"posture.{name}") for name in (_UNKNOWN_COLUMNS if unknown else _COLUMNS)]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  " + "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                              for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in [head, *rows]]
    return f"\n{t('text.compliance_by_rule')}\n" + "".join(f"{line.rstrip()}\n" for line in lines)


_FRAMEWORK_COLUMNS = ("control", "status", "evaluated", "passed", "failed", "waived", "rules")


def _cells(text: str) -> int:
    """Terminal cells `text` takes: a CJK character takes two."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    fill = " " * (width - _cells(text))
    return text + fill if left else fill + text


def _frameworks(result: AuditResult, options: ReportOptions, t: Catalogue) -> str:
    """Per framework the rules map to: each control, its status, counts and rules."""
    if not result.frameworks:
        return ""
    out = [f"\n{t('text.compliance_by_framework')}\n"]
    for framework in result.frameworks:
        out.append(f"  {v(framework.title)}, {v(framework.version)} ({v(framework.id)})\n")
        head = [t(f"framework.{name}") if name in ("control", "status", "rules")
                else t(f"posture.{name}") for name in _FRAMEWORK_COLUMNS]
        rows = [[v(c.id), t(f"framework.status.{c.status.replace(' ', '_')}"), str(c.evaluated),
                 str(c.passed), str(c.failed), str(c.waived), v(", ".join(c.rules))]
                for c in framework.controls]
        widths = [max(_cells(row[i]) for row in [head, *rows]) for i in range(len(head))]
        for number, row in enumerate([head, *rows]):
            cells = [_pad(cell, w, left=i < 2 or i == 6)
                     for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
            if number and row[1] == t("framework.status.fail"):
                cells[1] = _paint(cells[1], "fail", options)
            out.append(("    " + "  ".join(cells)).rstrip() + "\n")
    out.append(f"  ({t('framework.counts_note')})\n")
    return "".join(out)


def _summary(result: AuditResult, options: ReportOptions, t: Catalogue) -> str:
    counts = result.counts_by_severity()
    waived = sum(1 for f in result.findings if f.suppressed)
    parts = t("text.separator").join(
        t("text.severity_count", count=counts[s], severity=t.severity(s)) for s in SEVERITIES)
    word, style = _VERDICTS[result.exit_code]
    return "\n" + t("text.summary", open=len(result.findings) - waived, counts=parts,
                    waived=waived, fail_on=result.fail_on,
                    verdict=_paint(t(word), style, options)) + "\n"


def _heading(severity: str, t: Catalogue) -> str:
    """CRITICAL in English, 严重 in Chinese (which has no upper case)."""
    return t.severity(severity).upper()


def _open_findings(result: AuditResult, options: ReportOptions, t: Catalogue) -> list[str]:
    """Open findings by severity, then rule; with --group-by-tag, first by the tag's value."""
    open_ = [f for f in result.findings if not f.suppressed]
    key = options.group_by_tag
    if key is None:
        return _severity_blocks(open_, options, t, result)
    out = []
    for group in tag_groups(open_, key):
        heading = t("text.heading", name=tag_label(group, key, t), count=len(group.findings))
        out.append("\n" + _paint(f"== {heading} ==", "warn", options) + "\n")
        out += _severity_blocks(group.findings, options, t, result)
    return out


def _severity_blocks(findings: list[Finding], options: ReportOptions, t: Catalogue,
                     result: AuditResult) -> list[str]:
    groups = _by_severity(findings)
    return ["\n" + _block(_heading(s, t), s, items, options, t, result)
            for s, items in groups.items() if items]


def render(result: AuditResult, options: ReportOptions) -> str:
    t = catalogue(result.lang)
    out = [_header(result, t)]
    out += _open_findings(result, options, t)
    waived = sorted((f for f in result.findings if f.suppressed),
                    key=lambda f: (f.rule_id, f.region, f.image_id))
    if waived and options.show_waived:
        out.append("\n" + _block(t("text.waived_heading"), "info", waived, options, t,
                                 result))
    notes = _notes(result, options, t)
    if notes:
        out.append("\n" + notes)
    out.append(_accounts(result, t))
    out.append(_posture(result, t))
    out.append(_frameworks(result, options, t))
    out.append(_summary(result, options, t))
    return "".join(out)
