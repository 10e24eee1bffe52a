"""What a just-recorded run changed since the last complete run of its scope, for its reports.

Compared with the last *complete* run, because an incomplete one says little about what is
gone. Read in the recording transaction, so no other scan's run can slip in between.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from auditor.findings import (
    AgeCount,
    AuditResult,
    FixedFinding,
    HistorySummary,
    Severity,
    TrendRun,
)
from auditor.history.models import Trend
from auditor.history.queries import utc
from auditor.history.trend import trend

_DAY = 86400

_FIXED = """SELECT f.fingerprint, f.rule_id, f.severity, coalesce(r.title, f.rule_id),
    f.image_id, f.region FROM findings f LEFT JOIN rules r ON r.id = f.rule_id
    WHERE f.scope_id = :scope AND f.first_seen_run <= :previous
    AND f.fixed_run > :previous AND f.fixed_run <= :run
    ORDER BY f.rule_id, f.region, f.image_id"""


@dataclass(frozen=True)
class RunChanges:
    run: int
    previous_run: int | None
    previous_started_at: datetime | None
    first_seen: dict[str, tuple[int, int]]  # open findings: fingerprint -> (Unix time, run)
    fixed: list[FixedFinding]
    trend: Trend


def changes_since_complete(conn: sqlite3.Connection, run_id: int) -> RunChanges:
    scope_id = conn.execute("SELECT scope_id FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    row = conn.execute("SELECT id, started_at FROM runs WHERE scope_id = ? AND id < ? AND "
                       "complete ORDER BY id DESC LIMIT 1", (scope_id, run_id)).fetchone()
    first_seen = {fp: (at, run) for fp, at, run in conn.execute(
        "SELECT fingerprint, first_seen_at, first_seen_run FROM findings "
        "WHERE scope_id = ? AND fixed_run IS NULL", (scope_id,))}
    so_far = trend(conn, scope_id)
    if row is None:
        return RunChanges(run_id, None, None, first_seen, [], so_far)
    params = {"scope": scope_id, "previous": row[0], "run": run_id}
    fixed = [FixedFinding(fingerprint=fp, rule_id=rule, severity=Severity(severity), title=title,
                          image_id=image, region=region)
             for fp, rule, severity, title, image, region in conn.execute(_FIXED, params)
             if fp not in first_seen]  # gone, then back: not fixed
    return RunChanges(run_id, row[0], utc(row[1]), first_seen, fixed, so_far)


def annotate(result: AuditResult, changes: RunChanges, path: str) -> AuditResult:
    """A copy of `result` whose findings say when they were first seen and how many days ago
    (whole days to this scan's start), with the summary and the scope's trend so far."""
    times = {at: utc(at) for at, _ in set(changes.first_seen.values())}  # a few per run
    started = int(result.scan.started_at.timestamp())
    findings = []
    for finding in result.findings:
        at, run = changes.first_seen.get(finding.fingerprint, (None, None))
        findings.append(finding.model_copy(update={
            "first_seen": None if at is None else times[at], "first_seen_run": run,
            "age_days": None if at is None else max(0, started - at) // _DAY}))
    previous = changes.previous_run
    new = sum(1 for f in findings if previous is None or (f.first_seen_run or 0) > previous)
    so_far = changes.trend
    summary = HistorySummary(
        path=path, run=changes.run, previous_run=previous,
        previous_started_at=changes.previous_started_at, new=new, fixed=changes.fixed,
        trend=[TrendRun(run=r.id, started_at=r.started_at, complete=r.complete,
                        counts=r.counts, new=r.new, fixed=r.fixed) for r in so_far.runs],
        ages=[AgeCount(label=a.label, min_days=a.min_days, max_days=a.max_days,
                       counts=a.counts) for a in so_far.open_by_age])
    return result.model_copy(update={"findings": findings, "history": summary})
