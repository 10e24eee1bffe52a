"""The JSON report: the AuditResult as documented in docs/json-report.md (versioned)."""

from __future__ import annotations

from auditor.findings import AuditResult
from auditor.reporters import ReportOptions


def render(result: AuditResult, options: ReportOptions) -> str:
    return result.model_dump_json(by_alias=True, indent=1) + "\n"
