"""One function per command, called by the CLI with parsed options; each returns an exit code."""

from auditor.app.history import (
    history_diff,
    history_list,
    history_prune,
    history_show,
    history_trend,
)
from auditor.app.output import is_stdout
from auditor.app.rules import (
    ListFilter,
    rules_explain,
    rules_list,
    rules_schema,
    rules_show,
    rules_test,
    rules_validate,
)
from auditor.app.scan import ScanOptions, run_collect, run_scan

__all__ = [
    "ListFilter",
    "ScanOptions",
    "history_diff",
    "history_list",
    "history_prune",
    "history_show",
    "history_trend",
    "is_stdout",
    "rules_explain",
    "rules_list",
    "rules_schema",
    "rules_show",
    "rules_test",
    "rules_validate",
    "run_collect",
    "run_scan",
]
