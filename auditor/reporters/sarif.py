"""SARIF 2.1.0 for GitHub code scanning (DESIGN §6).

GitHub rejects a whole upload when one result lacks a usable physical location, so every
result points at a relative, scheme-less pseudo-path for its image, with the ARN beside it as
a logical location. Fixed findings are not written as `absent` results: GitHub ignores
`baselineState` and would open an alert for each; the run's properties count them instead.
With `--history` (and no `--baseline`, whose states win), `baselineState` is `new` or
`unchanged` against the last complete run of the scope, and each result's properties say when
it was first seen (`firstSeen`, `firstSeenRun`, `ageDays`).
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import quote

from auditor.findings import AuditResult, Finding, RuleInfo, Severity, image_arn
from auditor.reporters import ReportOptions
from auditor.reporters.i18n import Catalogue, catalogue
from auditor.reporters.sarif_model import (
    Invocation,
    Level,
    Location,
    Message,
    MultiformatMessage,
    Notification,
    ReportingConfiguration,
    ReportingDescriptor,
    ReportingDescriptorReference,
    ReportingDescriptorRelationship,
    Result,
    Run,
    RunAutomationDetails,
    SarifLog,
    Suppression,
    Taxon,
    Tool,
    ToolComponent,
    ToolComponentReference,
)

MAX_RESULTS = 25_000  # GitHub's limit per run
NOTES_SHOWN = 1000  # data-quality notifications; every note is in the JSON report
UNKNOWN_ACCOUNT = "unknown-account"
TOOL_NAME = "imgaudit"

# GitHub maps security-severity to its levels: >=9 critical, 7-8.9 high, 4-6.9 medium,
# 0.1-3.9 low. Info rules get none, so GitHub shows them as plain notes.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
LEVELS: dict[Severity, Level] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def render(result: AuditResult, options: ReportOptions) -> str:
    log = build(result, options)
    return log.model_dump_json(by_alias=True, exclude_none=True, indent=1) + "\n"


SARIF_LANGUAGE = {"en": None, "zh-CN": "zh-CN"}  # None: SARIF's default, en-US


def build(result: AuditResult, options: ReportOptions) -> SarifLog:
    """The SARIF log (one run). Ids, levels and property names stay as they are in every
    language; the run's `language` says which one its message strings are in."""
    t = catalogue(result.lang)
    taxonomies = _taxonomies(result)
    rules = [_descriptor(rule, t, _relationships(rule, taxonomies)) for rule in result.rules]
    index = {rule.id: i for i, rule in enumerate(result.rules)}
    findings = [f for f in result.findings if options.include_suppressed or not f.suppressed]
    findings.sort(key=lambda f: -f.severity.rank)  # stable: most severe kept when truncating
    kept = findings[:MAX_RESULTS]
    run = Run(
        tool=Tool(driver=ToolComponent(
            name=TOOL_NAME, version=result.scan.tool_version,
            semantic_version=result.scan.tool_version, rules=rules,
            supported_taxonomies=[ToolComponentReference(name=x.name, index=i)
                                  for i, x in enumerate(taxonomies)] or None,
        )),
        automation_details=RunAutomationDetails(id=automation_id(result)),
        invocations=[_invocation(result, len(findings), t)],
        results=[_result(result, f, index[f.rule_id], t) for f in kept],
        taxonomies=taxonomies or None,
        language=SARIF_LANGUAGE[result.lang],
        properties=_run_properties(result, len(findings) - len(kept)),
    )
    return SarifLog(runs=[run])


def artifact_uri(account_id: str | None, region: str, image_id: str) -> str:
    """Relative, scheme-less and never empty: what GitHub needs as a file location."""
    prefix = _uri_prefix(account_id or UNKNOWN_ACCOUNT, region)
    return f"{prefix}/{quote(image_id or '-', safe='')}"


@lru_cache(maxsize=256)
def _uri_prefix(account: str, region: str) -> str:
    return f"alibabacloud/ecs/{quote(account, safe='')}/{quote(region or '-', safe='')}/images"


def automation_id(result: AuditResult) -> str:
    """One id per account and region set, so split scans do not close each other's alerts."""
    regions = result.scan.regions or [r.region for r in result.regions]
    account = "+".join(result.scan.accounts) or result.scan.account_id or UNKNOWN_ACCOUNT
    return f"imgaudit/{account}/{'+'.join(sorted(set(regions))) or 'no-region'}/"


def _taxonomies(result: AuditResult) -> list[ToolComponent]:
    """One taxonomy per framework the rules map to, its taxa the controls (SARIF §3.19.3)."""
    return [ToolComponent(
        name=fw.id, full_name=fw.title, version=fw.version, information_uri=fw.url,
        taxa=[Taxon(id=c.id, short_description=MultiformatMessage(text=c.title) if c.title
                    else None) for c in fw.controls],
    ) for fw in result.frameworks]


def _relationships(rule: RuleInfo, taxonomies: list[ToolComponent]
                   ) -> list[ReportingDescriptorRelationship] | None:
    """The rule's controls as links to the run's taxa."""
    links = []
    for i, taxonomy in enumerate(taxonomies):
        taxa = [taxon.id for taxon in taxonomy.taxa or []]
        links += [ReportingDescriptorRelationship(target=ReportingDescriptorReference(
            id=control, index=taxa.index(control) if control in taxa else None,
            tool_component=ToolComponentReference(name=taxonomy.name, index=i)))
            for control in rule.frameworks.get(taxonomy.name, [])]
    return links or None


def _descriptor(rule: RuleInfo, t: Catalogue,
                relationships: list[ReportingDescriptorRelationship] | None = None
                ) -> ReportingDescriptor:
    description = rule.description or rule.title
    remediation = rule.remediation or t("sarif.no_remediation")
    links = [ref for ref in rule.references if ref.startswith(("https://", "http://"))]
    label = t("sarif.remediation")
    markdown = f"**{rule.title}**\n\n{description}\n\n**{label}:** {remediation}"
    if links:
        markdown += "\n\n" + "\n".join(f"- <{link}>" for link in links)
    controls = [f"{framework}/{control}" for framework, ids in rule.frameworks.items()
                for control in ids]
    properties: dict[str, object] = {
        "tags": ["security", "alibabacloud", "ecs-image", *rule.tags, *controls],
        "imgaudit-severity": rule.severity.value,
        # the rule's posture in this scan, counted by the engine (docs/json-report.md)
        "evaluated": rule.evaluated, "passed": rule.passed, "failed": rule.failed,
        "waived": rule.waived, "not_evaluated": rule.not_evaluated,
        "compliance": rule.compliance,
    }
    if rule.frameworks:  # the controls it evidences (also as tags and relationships)
        properties["frameworks"] = rule.frameworks
    if rule.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    return ReportingDescriptor(
        id=rule.id,
        name=rule.title,
        short_description=MultiformatMessage(text=rule.title),
        full_description=MultiformatMessage(text=description),
        help=MultiformatMessage(text=f"{description}\n\n{label}: {remediation}",
                                markdown=markdown),
        help_uri=links[0] if links else None,
        default_configuration=ReportingConfiguration(level=LEVELS[rule.severity]),
        relationships=relationships,
        properties=properties,
    )


def _result(result: AuditResult, finding: Finding, rule_index: int, t: Catalogue) -> Result:
    account = finding.account_id or result.scan.account_id
    location: Location = {"physicalLocation": {
        "artifactLocation": {"uri": artifact_uri(account, finding.region, finding.image_id)},
        "region": {"startLine": 1},
    }}
    arn = finding.resource or image_arn(finding.region, account, finding.image_id)
    if arn:
        location["logicalLocations"] = [
            {"name": finding.image_id, "fullyQualifiedName": arn, "kind": "resource"}]
    out: Result = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": _message(finding, t)},
        "locations": [location],
        "partialFingerprints": {"primaryLocationLineHash": finding.fingerprint},
        "properties": _result_properties(finding),
    }
    if result.baseline and finding.baseline_state:
        out["baselineState"] = finding.baseline_state
    elif result.history is not None and finding.first_seen_run is not None:
        out["baselineState"] = "new" if result.history.is_new(finding) else "unchanged"
    if finding.suppressed:
        out["suppressions"] = [_suppression(finding)]
    return out


def _message(finding: Finding, t: Catalogue) -> str:
    name = f" ({finding.image_name})" if finding.image_name else ""
    text = t("sarif.where", message=finding.message, image=finding.image_id, name=name,
             region=finding.region)
    if finding.waiver and finding.waiver.expired:
        text += t("sarif.waiver_expired", expires=finding.waiver.expires.isoformat())
    return text


def _suppression(finding: Finding) -> Suppression:
    waiver = finding.waiver
    assert waiver is not None
    return {
        "kind": "external",
        "status": "accepted",
        "justification": f"{waiver.reason} (owner: {waiver.owner}; "
                         f"expires {waiver.expires.isoformat()})",
        "properties": {"owner": waiver.owner, "expires": waiver.expires.isoformat()},
    }


def _result_properties(finding: Finding) -> dict[str, object]:
    props: dict[str, object] = {
        "severity": finding.severity.value,
        "region": finding.region,
        "imageId": finding.image_id,
        "evidence": [e.model_dump(mode="json") for e in finding.evidence],
    }
    if finding.image_name:
        props["imageName"] = finding.image_name
    if finding.owner_alias:
        props["ownerAlias"] = finding.owner_alias
    if finding.waiver and finding.waiver.expired:
        props["waiverExpired"] = finding.waiver.expires.isoformat()
    if finding.first_seen is not None:
        props["firstSeen"] = _utc(finding.first_seen)
        props["firstSeenRun"] = finding.first_seen_run
        props["ageDays"] = finding.age_days
    return props


def _invocation(result: AuditResult, total: int, t: Catalogue) -> Invocation:
    notes = [
        Notification(level="error", descriptor={"id": "incomplete-region"}, message=Message(
            text=t("sarif.incomplete", region=result.where(r.region, r.account_id),
                   errors="; ".join(r.errors) or t("sarif.unknown"))))
        for r in result.regions if not r.complete
    ]
    notes += [Notification(level="warning", descriptor={"id": "data-quality"},
                           message=Message(text=line))
              for line in result.data_quality_lines(NOTES_SHOWN)]
    notes += [Notification(level="warning", descriptor={"id": "waiver-expiring"},
                           message=Message(text=t("waiver.expiring", rule=w.rule,
                                                  images=t.selection(w), owner=w.owner,
                                                  expires=w.expires.isoformat())))
              for w in result.expiring_waivers]
    notes += [Notification(level="warning", descriptor={"id": "waiver-expired"},
                           message=Message(text=t("waiver.expired", rule=w.rule,
                                                  images=t.selection(w), owner=w.owner,
                                                  expires=w.expires.isoformat())))
              for w in result.expired_waivers]
    if total > MAX_RESULTS:
        notes.append(Notification(level="warning", descriptor={"id": "results-truncated"},
                                  message=Message(text=t(
                                      "sarif.truncated", total=total, limit=MAX_RESULTS))))
    args = result.scan.command_line
    return Invocation(
        execution_successful=result.scan.complete,
        command_line=shlex.join(args) if args else None,
        arguments=args or None,
        start_time_utc=_utc(result.scan.started_at),
        end_time_utc=_utc(result.scan.finished_at),
        tool_execution_notifications=notes,
    )


def _run_properties(result: AuditResult, dropped: int) -> dict[str, object]:
    props: dict[str, object] = {
        "complete": result.scan.complete,
        "regions": sorted({r.region for r in result.regions} | set(result.scan.regions)),
        "incompleteRegions": [result.where(r.region, r.account_id)
                              for r in result.regions if not r.complete],
        "omittedResults": dropped,
    }
    if result.baseline:
        props["baseline"] = {
            "path": result.baseline.path,
            "new": result.baseline.new,
            "unchanged": result.baseline.unchanged,
            "fixed": len(result.baseline.fixed),
        }
    if result.history:
        h = result.history
        props["history"] = {
            "path": h.path, "run": h.run, "previousRun": h.previous_run,
            "previousStartedAt": _utc(h.previous_started_at) if h.previous_started_at else None,
            "new": h.new, "fixed": len(h.fixed),
        }
    return props


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"
