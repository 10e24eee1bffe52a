"""The report formats, listed once.

Each format is registered here: its name (`--format NAME`, the config file's `format:`), its
file option (`--NAME FILE`, every format but text, which only goes to standard output) and the
reporter module whose `render` writes it. The CLI options, the config key, the reporters'
registry and the docs (a test keeps README.md equal to this list) all read it. It sits at the
bottom of the layers so that the config file can name the formats without importing a
reporter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportFormat:
    name: str                 # --format NAME, and --NAME FILE when `written` is set
    reporter: str             # the module of auditor.reporters whose render() writes it
    written: str | None       # what `--NAME FILE` writes (its help); None: stdout only


REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("text", "text", None),
    ReportFormat("json", "json_report", "JSON report"),
    ReportFormat("sarif", "sarif", "SARIF"),
    ReportFormat("html", "html", "HTML report"),
    ReportFormat("junit", "junit", "JUnit XML"),
    ReportFormat("markdown", "markdown", "Markdown summary"),
)
FORMATS = tuple(fmt.name for fmt in REPORT_FORMATS)
FILE_FORMATS = tuple(fmt for fmt in REPORT_FORMATS if fmt.written)  # each has --NAME FILE
