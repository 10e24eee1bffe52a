"""Reporters: pure functions from an AuditResult to the text of one format.

The registry is one plain dict; the CLI writes what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from auditor.errors import UsageError
from auditor.findings import AuditResult


@dataclass(frozen=True)
class ReportOptions:
    color: bool = False                 # ANSI colour (text on a terminal only)
    include_suppressed: bool = True     # SARIF: keep waived findings as suppressed results
    summary: bool = False               # text: counts per severity and rule, no findings
    show_waived: bool = False           # text: list waived findings too (always counted)


Reporter = Callable[[AuditResult, ReportOptions], str]


def _registry() -> dict[str, Reporter]:
    from auditor.reporters import html, json_report, junit, markdown, sarif, text

    return {
        "text": text.render,
        "json": json_report.render,
        "sarif": sarif.render,
        "html": html.render,
        "junit": junit.render,
        "markdown": markdown.render,
    }


FORMATS = ("text", "json", "sarif", "html", "junit", "markdown")


def render(fmt: str, result: AuditResult, options: ReportOptions | None = None) -> str:
    reporters = _registry()
    if fmt not in reporters:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(sorted(reporters))}")
    return reporters[fmt](result, options or ReportOptions())
