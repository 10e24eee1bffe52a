"""What a just-recorded run changed since the last complete run of its scope, for its reports.

Compared with the last *complete* run, because an incomplete one says little about what is
gone. Read in the recording transaction, so no other scan's run can slip in between.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from auditor.findings import AuditResult, FixedFinding, HistorySummary, Severity
from auditor.history.queries import utc

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


def changes_since_complete(conn: sqlite3.Connection, run_id: int) -> RunChanges:
    scope_id = conn.execute("SELECT scope_id FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    row = conn.execute("SELECT id, started_at FROM runs WHERE scope_id = ? AND id < ? AND "
                       "complete ORDER BY id DESC LIMIT 1", (scope_id, run_id)).fetchone()
    first_seen = {fp: (at, run) for fp, at, run in conn.execute(
        "SELECT fingerprint, first_seen_at, first_seen_run FROM findings "
        "WHERE scope_id = ? AND fixed_run IS NULL", (scope_id,))}
    if row is None:
        return RunChanges(run_id, None, None, first_seen, [])
    params = {"scope": scope_id, "previous": row[0], "run": run_id}
    fixed = [FixedFinding(fingerprint=fp, rule_id=rule, severity=Severity(severity), title=title,
                          image_id=image, region=region)
             for fp, rule, severity, title, image, region in conn.execute(_FIXED, params)
             if fp not in first_seen]  # gone, then back: not fixed
    return RunChanges(run_id, row[0], utc(row[1]), first_seen, fixed)


def annotate(result: AuditResult, changes: RunChanges, path: str) -> AuditResult:
    """A copy of `result` whose findings say when they were first seen, with the summary."""
    times = {at: utc(at) for at, _ in set(changes.first_seen.values())}  # a few per run
    findings = []
    for finding in result.findings:
        at, run = changes.first_seen.get(finding.fingerprint, (None, None))
        findings.append(finding.model_copy(update={
            "first_seen": None if at is None else times[at], "first_seen_run": run}))
    previous = changes.previous_run
    new = sum(1 for f in findings if previous is None or (f.first_seen_run or 0) > previous)
    summary = HistorySummary(path=path, run=changes.run, previous_run=previous,
                             previous_started_at=changes.previous_started_at, new=new,
                             fixed=changes.fixed)
    return result.model_copy(update={"findings": findings, "history": summary})
