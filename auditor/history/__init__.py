"""The run history: an embedded SQLite file of scans and their findings' state over time.

It reads audit results and knows nothing of collectors or reporters; `auditor.app` records
runs into it and the CLI's `imgaudit history` commands read it. See docs/history.md.
"""

from auditor.history.changes import RunChanges, annotate, changes_since_complete
from auditor.history.models import (
    HISTORY_SCHEMA,
    AgeBucket,
    FindingState,
    FixTime,
    PruneResult,
    RunDetail,
    RunDiff,
    RunInfo,
    RunList,
    Trend,
    TrendPoint,
)
from auditor.history.queries import diff_runs, get_run, list_runs, show_run
from auditor.history.record import record_run
from auditor.history.scope import Scope
from auditor.history.store import DEFAULT_TIMEOUT, check_history, compact, open_history
from auditor.history.trend import AGE_BUCKETS, prune, trend

__all__ = [
    "AGE_BUCKETS",
    "DEFAULT_TIMEOUT",
    "HISTORY_SCHEMA",
    "AgeBucket",
    "FindingState",
    "FixTime",
    "PruneResult",
    "RunChanges",
    "RunDetail",
    "RunDiff",
    "RunInfo",
    "RunList",
    "Scope",
    "Trend",
    "TrendPoint",
    "annotate",
    "changes_since_complete",
    "check_history",
    "compact",
    "diff_runs",
    "get_run",
    "list_runs",
    "open_history",
    "prune",
    "record_run",
    "show_run",
    "trend",
]
