"""The JSON report: the AuditResult as documented in docs/json-report.md (versioned).

Compact, one line: the report is for machines and `--baseline`; indenting 100,000 findings
made it 18% larger and 40% slower to write (bench/bench_scan.py). `jq .` pretty-prints it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from pydantic import TypeAdapter

from auditor.findings import AuditResult, Finding
from auditor.reporters import ReportOptions

_FINDINGS = TypeAdapter(list[Finding])
_PIECE = 5000  # findings serialised at a time


def render(result: AuditResult, options: ReportOptions) -> str:
    return "".join(pieces(result, options))


def pieces(result: AuditResult, options: ReportOptions) -> Iterator[str]:
    """The report as `model_dump_json` writes it, its findings serialised a piece at a time
    and handed on to be written as they come: serialising 100,000s at once held the
    serialiser's buffer, its bytes and the text, three copies of a 100 MB report, beside the
    findings at the scan's peak of memory."""
    marker = f'"{uuid.uuid4().hex}"'  # stands for the findings list in the rest of the report
    rest = result.model_copy(update={"findings": marker[1:-1]})
    head, tail = rest.model_dump_json(by_alias=True, warnings=False).split(marker)
    yield head + "["
    findings = result.findings
    for start in range(0, len(findings), _PIECE):
        text = _FINDINGS.dump_json(findings[start:start + _PIECE], by_alias=True).decode()
        yield ("," if start else "") + text[1:-1]
    yield "]" + tail + "\n"
