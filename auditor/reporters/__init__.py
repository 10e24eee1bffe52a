"""Reporters: pure functions from an AuditResult to the text of one format.

Which formats there are, and the module that renders each, is auditor.formats.REPORT_FORMATS;
a reporter module is imported when its format is first rendered. The CLI writes what they return.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

from auditor.errors import UsageError
from auditor.findings import AuditResult
from auditor.formats import FORMATS, REPORT_FORMATS


@dataclass(frozen=True)
class ReportOptions:
    color: bool = False                 # ANSI colour (text on a terminal only)
    include_suppressed: bool = True     # SARIF: keep waived findings as suppressed results
    summary: bool = False               # text: counts per severity and rule, no findings
    show_waived: bool = False           # text: list waived findings too (always counted)
    group_by_tag: str | None = None     # text, Markdown, HTML: findings by this image tag


Reporter = Callable[[AuditResult, ReportOptions], str]
Pieces = Callable[[AuditResult, ReportOptions], Iterable[str]]


def _module(fmt: str) -> ModuleType:
    """The reporter module of a registered format."""
    found = next((f for f in REPORT_FORMATS if f.name == fmt), None)
    if found is None:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(sorted(FORMATS))}")
    return importlib.import_module(f"auditor.reporters.{found.reporter}")


def render(fmt: str, result: AuditResult, options: ReportOptions | None = None) -> str:
    render_format: Reporter = _module(fmt).render
    return render_format(result, options or ReportOptions())


def render_pieces(fmt: str, result: AuditResult,
                  options: ReportOptions | None = None) -> Iterable[str]:
    """The report in pieces to write in turn, never joined: a reporter module's `pieces`
    when it has one (the JSON report: its findings a few thousand at a time), else its text."""
    pieces: Pieces | None = getattr(_module(fmt), "pieces", None)
    if pieces is None:
        return [render(fmt, result, options)]
    return pieces(result, options or ReportOptions())
