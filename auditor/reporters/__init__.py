"""Reporters: pure functions from an AuditResult to the text of one format.

Which formats there are, and the module that renders each, is auditor.formats.REPORT_FORMATS;
a reporter module is imported when its format is first rendered. The CLI writes what they return.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from auditor.errors import UsageError
from auditor.findings import AuditResult
from auditor.formats import FORMATS, REPORT_FORMATS


@dataclass(frozen=True)
class ReportOptions:
    color: bool = False                 # ANSI colour (text on a terminal only)
    include_suppressed: bool = True     # SARIF: keep waived findings as suppressed results
    summary: bool = False               # text: counts per severity and rule, no findings
    show_waived: bool = False           # text: list waived findings too (always counted)


Reporter = Callable[[AuditResult, ReportOptions], str]


def _reporter(fmt: str) -> Reporter:
    """The render function of a registered format."""
    found = next((f for f in REPORT_FORMATS if f.name == fmt), None)
    if found is None:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(sorted(FORMATS))}")
    module = importlib.import_module(f"auditor.reporters.{found.reporter}")
    render_format: Reporter = module.render
    return render_format


def render(fmt: str, result: AuditResult, options: ReportOptions | None = None) -> str:
    return _reporter(fmt)(result, options or ReportOptions())
