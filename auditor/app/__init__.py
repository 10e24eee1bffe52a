"""One function per command, called by the CLI with parsed options; each returns an exit code.

Each name is imported from its module when first used (PEP 562), so that a command imports
only what it runs: `imgaudit collect` neither the rule engine, the reporters nor the history
store (about half of the CLI's start-up).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.app.collect import run_collect
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
    from auditor.app.scan import ScanOptions, run_scan

_MODULES = {
    "auditor.app.collect": ("run_collect",),
    "auditor.app.history": ("history_diff", "history_list", "history_prune", "history_show",
                            "history_trend"),
    "auditor.app.output": ("is_stdout",),
    "auditor.app.rules": ("ListFilter", "rules_explain", "rules_list", "rules_schema",
                          "rules_show", "rules_test", "rules_validate"),
    "auditor.app.scan": ("ScanOptions", "run_scan"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)


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
