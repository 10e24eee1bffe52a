"""The posture over time of one scope, and pruning old runs.

All figures come from the stored state in a few grouped queries: counts per run are the run's
own, ages and times to fix come from the findings' first-seen and fixed times.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from auditor.errors import UsageError
from auditor.findings import SEVERITIES
from auditor.history.models import AgeBucket, FixTime, PruneResult, Trend, TrendPoint
from auditor.history.queries import list_runs

# (from days, to days (exclusive; None: no end)) for the age of open findings; reports word
# them in their own language (auditor.reporters.i18n), from these bounds
AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 7), (7, 30), (30, 90), (90, 365),
                                                   (365, None))
_DAY = 86400

_OPEN_NOT_WAIVED = """SELECT severity, first_seen_at FROM findings f
    WHERE scope_id = ? AND fixed_run IS NULL
    AND NOT EXISTS (SELECT 1 FROM waived w WHERE w.finding_id = f.id AND w.to_run IS NULL)"""
_FIX_TIMES = """SELECT severity, count(*), avg(fixed_at - first_seen_at) FROM findings
    WHERE scope_id = ? AND fixed_run IS NOT NULL GROUP BY severity"""


def trend(conn: sqlite3.Connection, scope_id: int | None = None) -> Trend:
    """Counts per run, open findings by age and mean time to fix, for one scope (by default
    the scope of the latest run)."""
    if scope_id is None:
        row = conn.execute("SELECT scope_id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            raise UsageError("the history holds no runs yet")
        scope_id = int(row[0])
    runs = list_runs(conn, scope_id)
    if not runs:
        raise UsageError(f"no runs of scope {scope_id} in this history; `imgaudit history "
                         "list` shows the scopes")
    as_of = runs[-1].started_at
    return Trend(
        scope_id=scope_id, scope=runs[-1].scope, as_of=as_of,
        runs=[TrendPoint(id=r.id, started_at=r.started_at, complete=r.complete,
                         counts=r.counts, new=r.new, fixed=r.fixed) for r in runs],
        open_by_age=_ages(conn, scope_id, int(as_of.timestamp())),
        time_to_fix=_fix_times(conn, scope_id))


def bucket_name(min_days: int, max_days: int | None) -> str:
    """A bucket's `label` in the JSON answers (`7-30 days`): a fixed English name for scripts
    and the English `history trend`; a report words the bounds in its own language."""
    if max_days is None:
        return f">= {min_days} days"
    return f"< {max_days} days" if min_days == 0 else f"{min_days}-{max_days} days"


def _ages(conn: sqlite3.Connection, scope_id: int, as_of: int) -> list[AgeBucket]:
    counts = [dict.fromkeys(SEVERITIES, 0) for _ in AGE_BUCKETS]
    for severity, first_seen in conn.execute(_OPEN_NOT_WAIVED, (scope_id,)):
        days = max(0, as_of - first_seen) // _DAY
        index = next(i for i, (_, high) in enumerate(AGE_BUCKETS) if high is None or days < high)
        counts[index][severity] = counts[index].get(severity, 0) + 1
    return [AgeBucket(label=bucket_name(low, high), min_days=low, max_days=high, counts=count,
                      total=sum(count.values()))
            for (low, high), count in zip(AGE_BUCKETS, counts, strict=True)]


def _fix_times(conn: sqlite3.Connection, scope_id: int) -> dict[str, FixTime]:
    times = dict.fromkeys(SEVERITIES, FixTime(fixed=0, mean_days=None))
    for severity, fixed, mean_seconds in conn.execute(_FIX_TIMES, (scope_id,)):
        times[severity] = FixTime(fixed=fixed, mean_days=round(mean_seconds / _DAY, 1))
    return times


def prune(conn: sqlite3.Connection, keep_days: int, now: datetime) -> PruneResult:
    """Forget runs older than `keep_days` and findings fixed before then.

    Each scope keeps its latest run, so the next scan still knows what it follows; open
    findings are kept whatever their age (their first-seen time is their own, not a run's).
    """
    cutoff = now - timedelta(days=keep_days)
    limit = int(cutoff.timestamp())
    runs = conn.execute(
        "DELETE FROM runs WHERE started_at <= ? AND id NOT IN "
        "(SELECT max(id) FROM runs GROUP BY scope_id)", (limit,)).rowcount
    findings = conn.execute("DELETE FROM findings WHERE fixed_at <= ?", (limit,)).rowcount
    conn.execute("DELETE FROM scopes WHERE id NOT IN (SELECT scope_id FROM runs) "
                 "AND id NOT IN (SELECT scope_id FROM findings)")
    kept = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    return PruneResult(keep_days=keep_days, cutoff=cutoff, runs_removed=runs,
                       findings_removed=findings, runs_kept=kept)
