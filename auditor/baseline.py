"""Baselines: compare a scan with an earlier JSON report of ours, finding by fingerprint.

A baseline only means something for the same scope: findings of a region the previous scan did
not cover would all look new, and those of a region it could not finish would look fixed. So a
different scope, or an incomplete previous scan, is refused rather than half-used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import InputError
from auditor.findings import (
    REPORT_SCHEMA,
    REPORT_SCHEMA_VERSION,
    AuditResult,
    BaselineSummary,
    Finding,
    FixedFinding,
    ScanInfo,
    fingerprint,
)
from auditor.yamlio import read_bounded

MAX_BASELINE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class BaselineReport:
    """The parts of a previous report a baseline needs: its scope and its findings."""

    path: str
    scan: ScanInfo
    findings: dict[str, Finding]  # by fingerprint


def load_baseline(path: Path) -> BaselineReport:
    """Read a JSON report written by `imgaudit scan --json`; InputError if it is not one."""
    text = _read_text(path)
    try:  # the fast path, parsed and checked in one go (a 100,000-finding report is 60 MB)
        previous = AuditResult.model_validate_json(text)
    except ValidationError as exc:
        _check_header(path, _parse(path, text))  # a clearer message when it is not ours at all
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(path, f"not a valid imgaudit JSON report: {where}: {first['msg']} "
                               f"({exc.error_count()} problem(s))") from None
    if not previous.scan.complete:
        missing = ", ".join(previous.where(r.region, r.account_id)
                            for r in previous.regions if not r.complete) or "unknown"
        raise InputError(path, f"the baseline scan was incomplete (regions: {missing}); "
                               "use the report of a complete scan")
    return BaselineReport(str(path), previous.scan,
                          _by_fingerprint(previous))


def apply_baseline(result: AuditResult, baseline: BaselineReport,
                   baseline_path: str) -> AuditResult:
    """A copy of `result` whose findings are marked new or unchanged, with the fixed ones."""
    _check_scope(result.scan, baseline)
    findings = [f.model_copy(update={"baseline_state": _state(f, baseline)})
                for f in result.findings]
    current = {f.fingerprint for f in findings}
    ran = {rule.id for rule in result.rules}  # a rule not run this time fixed nothing
    fixed = [_fixed(f) for fp, f in baseline.findings.items()
             if fp not in current and f.rule_id in ran]
    unchanged = sum(1 for f in findings if f.baseline_state == "unchanged")
    summary = BaselineSummary(path=baseline_path, new=len(findings) - unchanged,
                              unchanged=unchanged, fixed=fixed)
    return result.model_copy(update={"findings": findings, "baseline": summary})


def _state(finding: Finding, baseline: BaselineReport) -> str:
    """`unchanged` when the baseline had it open, or waived and it is waived still.

    A finding the baseline had waived that is open now (its waiver was removed) is `new`:
    nobody accepted it as open, so it must be able to fail the gate.
    """
    before = baseline.findings.get(finding.fingerprint)
    if before is None or (before.suppressed and not finding.suppressed):
        return "new"
    return "unchanged"


def _read_text(path: Path) -> str:
    """A regular file of at most MAX_BASELINE_BYTES (a 100,000-finding report is 60 MB)."""
    if not path.exists() and not path.is_symlink():
        raise InputError(path, "baseline file not found", unreadable=True)
    data = read_bounded(path, MAX_BASELINE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"cannot read the baseline: {exc}") from None


def _parse(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(path, "not a report: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                               "--baseline takes a report written with --json") from None


def _check_header(path: Path, data: Any) -> None:
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != REPORT_SCHEMA:
        raise InputError(path, f"not an imgaudit JSON report (schema {schema!r}, expected "
                               f"{REPORT_SCHEMA!r}); --baseline takes a report written with "
                               "--json")
    version = data.get("schema_version")
    if version != REPORT_SCHEMA_VERSION:
        raise InputError(path, f"report schema version {version!r} is not supported "
                               f"(this imgaudit reads version {REPORT_SCHEMA_VERSION})")


def _check_scope(scan: ScanInfo, baseline: BaselineReport) -> None:
    old = baseline.scan
    differences = []
    if set(old.regions) != set(scan.regions):
        differences.append(f"regions {_names(old.regions)} vs {_names(scan.regions)}")
    if set(old.owners) != set(scan.owners):
        differences.append(f"owners {_names(old.owners)} vs {_names(scan.owners)}")
    old_accounts, accounts = _accounts(old), _accounts(scan)
    if old_accounts and accounts and old_accounts != accounts:
        differences.append(f"account {_names(sorted(old_accounts))} vs "
                           f"{_names(sorted(accounts))}")
    if differences:
        raise InputError(baseline.path, "the baseline covers a different scope ("
                         + "; ".join(differences) + "); compare scans of the same scope")


def _accounts(scan: ScanInfo) -> set[str]:
    return set(scan.accounts) or ({scan.account_id} if scan.account_id else set())


def _by_fingerprint(previous: AuditResult) -> dict[str, Finding]:
    """The baseline's findings by fingerprint, as this version computes it: a report written
    before findings carried their account used the rule, region and image alone."""
    account = previous.scan.account_id
    findings = {}
    for finding in previous.findings:
        key = finding.fingerprint
        if account and "account_id" not in finding.model_fields_set and key == fingerprint(
                finding.rule_id, finding.region, finding.image_id):
            key = fingerprint(finding.rule_id, finding.region, finding.image_id, account)
        findings[key] = finding
    return findings


def _names(values: list[str]) -> str:
    return ",".join(sorted(values)) or "(none)"


def _fixed(finding: Finding) -> FixedFinding:
    return FixedFinding(fingerprint=finding.fingerprint, rule_id=finding.rule_id,
                        severity=finding.severity, title=finding.title,
                        image_id=finding.image_id, region=finding.region)
