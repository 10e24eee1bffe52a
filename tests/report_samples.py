"""AuditResult samples for the reporter tests, built directly from the typed records."""

from __future__ import annotations

from datetime import date, datetime, timezone

from auditor.findings import (
    AppliedWaiver,
    AuditResult,
    Evidence,
    Finding,
    RegionReport,
    RuleInfo,
    ScanInfo,
    Severity,
    fingerprint,
    image_arn,
)

ACCOUNT = "1234567890123456"
XSS_NAME = '<script>window.__pwned = 1</script>"><img src=x onerror="window.__pwned=2">'
XSS_DESCRIPTION = "</script><script>window.__pwned = 3</script> \u2028 & <b>bold</b>"

RULES = [
    RuleInfo(id="IMG001", title="Image is shared publicly", severity=Severity.CRITICAL,
             description="Public images expose their content to every account.",
             remediation="Cancel the public share.", references=["https://example.com/r1"],
             tags=["sharing"]),
    RuleInfo(id="IMG002", title="Image is not encrypted", severity=Severity.HIGH,
             description="Snapshots of the image are stored without encryption.",
             remediation="Copy the image with encryption on."),
    RuleInfo(id="IMG003", title="Image is older than 365 days", severity=Severity.MEDIUM,
             description="Old images miss security updates.", remediation="Rebuild it."),
    RuleInfo(id="IMG004", title="Image has no owner tag", severity=Severity.LOW,
             description="Every image needs an owner tag.", remediation="Tag it."),
    RuleInfo(id="IMG005", title="Image description is empty", severity=Severity.INFO),
]


def finding(rule: RuleInfo, image_id: str, region: str = "cn-hangzhou", *,
            name: str | None = "web-base", owner: str | None = "self",
            waiver: AppliedWaiver | None = None, account: str | None = ACCOUNT,
            message: str | None = None) -> Finding:
    return Finding(
        rule_id=rule.id, severity=rule.severity, title=rule.title,
        message=message or f"{rule.title}: {image_id}", image_id=image_id, image_name=name,
        region=region, owner_alias=owner,
        evidence=[Evidence(path="IsPublic", actual=True, expected="false")],
        fingerprint=fingerprint(rule.id, region, image_id),
        resource=image_arn(region, account, image_id), waiver=waiver,
    )


WAIVED = AppliedWaiver(reason="golden image, shared on purpose", owner="platform-team",
                       expires=date(2027, 6, 30), expired=False)
EXPIRED = AppliedWaiver(reason="migration pending", owner="ops",
                        expires=date(2026, 1, 31), expired=True)


def sample_result(*, account: str | None = ACCOUNT, complete: bool = True) -> AuditResult:
    """Two regions, every severity, one waived, one expired waiver, one hostile image."""
    crit, high, med, low, info = RULES
    findings = [
        finding(crit, "m-public1", account=account),
        finding(crit, "m-golden", waiver=WAIVED, account=account),
        finding(high, "m-public1", account=account),
        finding(high, "m-old2", "cn-shanghai", owner="system", account=account),
        finding(med, "m-old2", "cn-shanghai", owner="system", waiver=EXPIRED, account=account),
        finding(low, "m-xss", name=XSS_NAME, account=account, message=XSS_DESCRIPTION),
        finding(info, "m-xss", name=XSS_NAME, account=account),
    ]
    regions = [RegionReport(region="cn-hangzhou", complete=True, images=4),
               RegionReport(region="cn-shanghai", complete=complete, images=1,
                            errors=[] if complete else ["Throttling.User (RequestId R-1)"])]
    return AuditResult(
        scan=ScanInfo(
            tool_version="0.1.0",
            started_at=datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc),
            finished_at=datetime(2026, 11, 27, 8, 1, 30, tzinfo=timezone.utc),
            command_line=["imgaudit", "scan", "--region", "cn-hangzhou,cn-shanghai"],
            account_id=account, source="api", owners=["self", "system"],
            regions=["cn-shanghai", "cn-hangzhou"], images=5, complete=complete,
        ),
        regions=regions, rules=RULES, findings=findings,
    )
