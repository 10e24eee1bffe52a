"""JUnit XML for CI test views (GitLab, Jenkins): one test case per rule.

A rule fails when one of its findings fails the gate (open, at or above `--fail-on`, new when
a baseline is given), so the test view agrees with the exit code. Its single <failure> lists
those findings one line per image: Jenkins, GitLab and most viewers show only the first
<failure> of a test case, so one element per finding would hide all but one. The rule's other
findings (waived, below the threshold, unchanged since the baseline) are listed in its
<system-out>. An incomplete region is an <error> test case of its own. A rule's <properties>
carry its counts and the controls it evidences (`framework.ID`, docs/frameworks.md).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timezone

from auditor.findings import AuditResult, Finding, RuleInfo, fail_threshold
from auditor.reporters import ReportOptions, changes
from auditor.reporters.i18n import Catalogue, catalogue
from auditor.safetext import escape
from auditor.safetext import visible as v

SUITE = "imgaudit"
NOTES_SHOWN = 1000  # data-quality notes listed; every one is in the JSON report
FIXED_SHOWN = 1000  # fixed findings (with --history) listed; every one is in the JSON report
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(result: AuditResult, options: ReportOptions) -> str:
    t = catalogue(result.lang)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_rule[finding.rule_id].append(finding)
    rules_suite = _suite(f"{SUITE}.rules", result)
    for rule in result.rules:
        rules_suite.append(_rule_case(result, rule, by_rule.get(rule.id, []), t))
    scan_suite = _suite(f"{SUITE}.scan", result)
    for region in result.regions:
        where = v(result.where(region.region, region.account_id))
        case = _case(f"{SUITE}.region", t("junit.region", region=where))
        if not region.complete:
            errors = [v(e) for e in region.errors]
            error = ET.SubElement(case, "error", message=_clean(
                t("junit.region_incomplete", region=where,
                  errors="; ".join(errors) or t("junit.unknown"))),
                type="IncompleteScan")
            error.text = _clean("\n".join(errors))
        scan_suite.append(case)
    if result.data_quality:
        scan_suite.append(_data_quality_case(result, t))
    if result.history is not None:
        scan_suite.append(_history_case(result, t))
    for waiver in result.expiring_waivers:  # a warning, not a failure: it still holds today
        line = t("waiver.expiring", rule=v(waiver.rule), images=v(t.selection(waiver)),
                 owner=v(waiver.owner),
                 expires=waiver.expires.isoformat())
        case = _case(f"{SUITE}.waiver", line)
        ET.SubElement(case, "system-out").text = _clean(line)
        scan_suite.append(case)
    for waiver in result.expired_waivers:  # a failure: an expired waiver fails the gate
        line = t("waiver.expired", rule=v(waiver.rule), images=v(t.selection(waiver)),
                 owner=v(waiver.owner), expires=waiver.expires.isoformat())
        case = _case(f"{SUITE}.waiver", line)
        ET.SubElement(case, "failure", type="ExpiredWaiver", message=_clean(line))
        scan_suite.append(case)
    root = ET.Element("testsuites", name=SUITE)
    root.extend([rules_suite, scan_suite])
    _count(root, [rules_suite, scan_suite])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _data_quality_case(result: AuditResult, t: Catalogue) -> ET.Element:
    """A passing case (nothing was lost) whose <system-out> lists the values kept raw."""
    case = _case(f"{SUITE}.data", t("junit.data_quality", count=len(result.data_quality)))
    out = ET.SubElement(case, "system-out")
    out.text = _clean("\n".join(v(line) for line in result.data_quality_lines(NOTES_SHOWN)))
    return case


def _history_case(result: AuditResult, t: Catalogue) -> ET.Element:
    """A passing case (history is information, not a verdict): what changed since the last
    complete run, the fixed findings and the open ones by age in its <system-out>."""
    assert result.history is not None
    case = _case(f"{SUITE}.history", t("junit.history", run=result.history.run))
    ages = changes.ages(result, t)
    lines = [changes.headline(result, t), *changes.fixed_lines(result, t, FIXED_SHOWN),
             *([ages] if ages else [])]
    ET.SubElement(case, "system-out").text = _clean("\n".join(lines))
    return case


def _suite(name: str, result: AuditResult) -> ET.Element:
    seconds = (result.scan.finished_at - result.scan.started_at).total_seconds()
    return ET.Element("testsuite", name=name, hostname=v(result.scan.account_id or ""),
                      timestamp=_utc(result.scan.started_at), time=f"{seconds:.3f}")


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _case(classname: str, name: str) -> ET.Element:
    return ET.Element("testcase", classname=_clean(classname), name=_clean(name), time="0")


def _rule_case(result: AuditResult, rule: RuleInfo, findings: list[Finding],
               t: Catalogue) -> ET.Element:
    """The <failure> type is the severity id; its message and text are in the report's
    language."""
    case = _case(f"{SUITE}.{rule.severity.value}", f"{v(rule.id)}: {v(rule.title)}")
    properties = ET.SubElement(case, "properties")  # the rule's posture (engine counts)
    for name, value in (("evaluated", rule.evaluated), ("passed", rule.passed),
                        ("failed", rule.failed), ("waived", rule.waived),
                        ("not_evaluated", rule.not_evaluated),
                        ("compliance", rule.compliance_text)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for framework, controls in rule.frameworks.items():  # the controls it evidences
        ET.SubElement(properties, "property", name=f"framework.{framework}",
                      value=_clean(", ".join(controls)))
    open_ = [f for f in findings if result.fails_gate(f)]
    others = [f for f in findings if not result.fails_gate(f)]
    if open_:
        message = t("junit.failure", rule=v(rule.id), severity=t.severity(rule.severity.value),
                    images=t.plural("junit.images", len(open_)), title=v(rule.title))
        failure = ET.SubElement(case, "failure", type=rule.severity.value,
                                message=_clean(message))
        lines = [_line(f, t, result) for f in open_]
        if rule.remediation:
            lines.append(t("junit.remediation", text=v(rule.remediation, newlines=True)))
        failure.text = _clean("\n".join(lines))
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join(_other_line(f, result, t) for f in others))
    return case


def _line(finding: Finding, t: Catalogue, result: AuditResult) -> str:
    name = f" ({v(finding.image_name)})" if finding.image_name else ""
    extra = ""
    if finding.waiver and finding.waiver.expired:
        extra = t("junit.waiver_expired", expires=finding.waiver.expires.isoformat())
    if finding.baseline_state:
        extra += f" [{t('baseline.' + finding.baseline_state)}]"
    seen = changes.first_seen(finding, t)
    if seen is not None:
        new = result.history is not None and result.history.is_new(finding)
        extra += f" [{t('baseline.new') + '; ' if new else ''}{seen}]"
    where = v(result.where(finding.region, finding.account_id))
    return f"{where} {v(finding.image_id)}{name}: {v(finding.message)}{extra}"


def _other_line(finding: Finding, result: AuditResult, t: Catalogue) -> str:
    """A finding that does not fail the gate, and why."""
    waiver = finding.waiver
    if finding.suppressed and waiver is not None:
        where = result.where(finding.region, finding.account_id)
        return t("junit.waived", region=v(where), image=v(finding.image_id),
                 message=v(finding.message), reason=v(waiver.reason), owner=v(waiver.owner),
                 expires=waiver.expires.isoformat())
    below = finding.severity.rank < fail_threshold(result.fail_on)
    why = t("junit.below") if below else t("junit.unchanged")
    return f"{why}: {_line(finding, t, result)}"


def _count(root: ET.Element, suites: list[ET.Element]) -> None:
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        cases = suite.findall("testcase")
        counts = {"tests": len(cases),
                  "failures": sum(1 for c in cases if c.find("failure") is not None),
                  "errors": sum(1 for c in cases if c.find("error") is not None),
                  "skipped": 0}
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters, even as references: show any left."""
    return _XML_INVALID.sub(escape, text)
