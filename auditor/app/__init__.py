"""One function per command, called by the CLI with parsed options; each returns an exit code."""

from auditor.app.rules import (
    ListFilter,
    rules_list,
    rules_schema,
    rules_show,
    rules_test,
    rules_validate,
)
from auditor.app.scan import ScanOptions, run_collect, run_scan, write_atomic

__all__ = [
    "ListFilter",
    "ScanOptions",
    "rules_list",
    "rules_schema",
    "rules_show",
    "rules_test",
    "rules_validate",
    "run_collect",
    "run_scan",
    "write_atomic",
]
