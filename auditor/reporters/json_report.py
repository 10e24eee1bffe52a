"""The JSON report: the AuditResult as documented in docs/json-report.md (versioned).

Compact, one line: the report is for machines and `--baseline`; indenting 100,000 findings
made it 18% larger and 40% slower to write (bench/bench_scan.py). `jq .` pretty-prints it.
"""

from __future__ import annotations

from auditor.findings import AuditResult
from auditor.reporters import ReportOptions


def render(result: AuditResult, options: ReportOptions) -> str:
    text = result.model_dump_json(by_alias=True)
    text += "\n"  # in place (the only reference): no second copy of a 100 MB report
    return text
