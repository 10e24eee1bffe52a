"""Reading the history: runs, one run's changes, the difference between two runs.

A finding is open at run R of its scope when its stretch began at or before R and was not
fixed by R (run ids grow with every recording, so they order runs). Incomplete runs are shown
as such; what they did not look at was left open by the recorder, never counted as fixed.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from auditor.errors import UsageError
from auditor.findings import SEVERITIES, trusted
from auditor.history.models import FindingState, RunDetail, RunDiff, RunInfo
from auditor.history.scope import parse_key

_RUNS = """SELECT r.id, r.started_at, r.finished_at, r.tool_version, r.source, r.scope_id, s.key,
    r.complete, r.incomplete_regions, r.images, r.counts, r.rule_counts, r.waived,
    (SELECT count(*) FROM findings f WHERE f.scope_id = r.scope_id AND f.first_seen_run = r.id),
    (SELECT count(*) FROM findings f WHERE f.scope_id = r.scope_id AND f.fixed_run = r.id)
    FROM runs r JOIN scopes s ON s.id = r.scope_id"""

_STATES = """SELECT f.fingerprint, f.rule_id, coalesce(ru.title, f.rule_id), f.severity,
    f.image_id, f.image_name, f.region, f.account, f.first_seen_at, f.first_seen_run,
    f.fixed_at, f.fixed_run, f.last_seen_run,
    EXISTS (SELECT 1 FROM waived w WHERE w.finding_id = f.id AND w.from_run <= :run
            AND (w.to_run IS NULL OR w.to_run > :run))
    FROM findings f LEFT JOIN rules ru ON ru.id = f.rule_id WHERE f.scope_id = :scope AND """
_OPEN_AT = "f.first_seen_run <= :at AND (f.fixed_run IS NULL OR f.fixed_run > :at)"
_ORDER = " ORDER BY f.rule_id, f.region, f.image_id"


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _run(row: tuple[Any, ...]) -> RunInfo:
    counts = json.loads(row[10])
    return RunInfo(
        id=row[0], started_at=utc(row[1]), finished_at=utc(row[2]), tool_version=row[3],
        source=row[4], scope_id=row[5], scope=parse_key(row[6]), complete=bool(row[7]),
        incomplete_regions=json.loads(row[8]), image_count=row[9],
        counts={s: counts.get(s, 0) for s in SEVERITIES}, rule_counts=json.loads(row[11]),
        waived=row[12], new=row[13], fixed=row[14])


def list_runs(conn: sqlite3.Connection, scope_id: int | None = None) -> list[RunInfo]:
    """Every run in recording order, or those of one scope."""
    where = "" if scope_id is None else " WHERE r.scope_id = ?"
    params = () if scope_id is None else (scope_id,)
    return [_run(row) for row in conn.execute(_RUNS + where + " ORDER BY r.id", params)]


def get_run(conn: sqlite3.Connection, ref: str) -> RunInfo:
    """A run by id, or `latest`; a usage error naming the way to see them otherwise."""
    if ref == "latest":
        row = conn.execute(_RUNS + " ORDER BY r.id DESC LIMIT 1").fetchone()
    elif ref.isdigit():
        row = conn.execute(_RUNS + " WHERE r.id = ?", (int(ref),)).fetchone()
    else:
        raise UsageError(f"run {ref!r}: expected a run id (a number) or `latest`")
    if row is None:
        raise UsageError(f"no run {ref} in this history; `imgaudit history list` shows them")
    return _run(row)


def _states(conn: sqlite3.Connection, as_of: RunInfo, where: str,
            at: int | None = None) -> list[FindingState]:
    """The findings `where` selects (`:at` is run `at`, by default `as_of`), as of `as_of`."""
    params = {"run": as_of.id, "at": as_of.id if at is None else at, "scope": as_of.scope_id}
    return [_state(row, as_of) for row in conn.execute(_STATES + where + _ORDER, params)]


def _state(row: tuple[Any, ...], as_of: RunInfo) -> FindingState:
    """The finding as `as_of` knew it: a fix recorded later is not shown.

    A stored `last_seen_run` is NULL while the scope's latest run saw the finding; set, it is
    the last run that did (its region was incomplete since, or it is fixed).
    """
    fixed = row[11] is not None and row[11] <= as_of.id
    end = row[10] if fixed else int(as_of.started_at.timestamp())
    last_seen = row[12] if row[12] is not None and (fixed or row[12] < as_of.id) else as_of.id
    return trusted(FindingState, {  # values of our own file, typed by the schema: ~3x faster
        "fingerprint": row[0], "rule_id": row[1], "title": row[2], "severity": row[3],
        "image_id": row[4], "image_name": row[5], "region": row[6], "account": row[7],
        "first_seen": utc(row[8]), "first_seen_run": row[9], "last_seen_run": last_seen,
        "fixed_at": utc(row[10]) if fixed else None, "fixed_run": row[11] if fixed else None,
        "waived": bool(row[13]), "age_days": max(0, (end - row[8]) // 86400)})


def show_run(conn: sqlite3.Connection, ref: str) -> RunDetail:
    """A run with the findings it saw first and those it found fixed."""
    run = get_run(conn, ref)
    return RunDetail(run=run, new=_states(conn, run, "f.first_seen_run = :run"),
                     fixed=_states(conn, run, "f.fixed_run = :run"))


def open_at(conn: sqlite3.Connection, at: int, as_of: RunInfo) -> dict[str, FindingState]:
    """The findings open (waived or not) at run `at`, as of run `as_of`, by fingerprint."""
    return {s.fingerprint: s for s in _states(conn, as_of, _OPEN_AT, at)}


def diff_runs(conn: sqlite3.Connection, ref_a: str, ref_b: str) -> RunDiff:
    """What is new at B, fixed by B, and still open, compared with A (same scope only)."""
    run_a, run_b = get_run(conn, ref_a), get_run(conn, ref_b)
    if run_a.scope_id != run_b.scope_id:
        raise UsageError(f"runs {run_a.id} and {run_b.id} have different scopes "
                         f"({run_a.scope.describe()} vs {run_b.scope.describe()}); "
                         "compare runs of the same scope")
    if run_a.id > run_b.id:
        raise UsageError(f"run {run_a.id} is newer than run {run_b.id}; give the older first")
    before, after = open_at(conn, run_a.id, run_b), open_at(conn, run_b.id, run_b)
    return RunDiff(
        from_run=run_a, to_run=run_b,
        new=[s for fp, s in after.items() if fp not in before],
        fixed=[s for fp, s in before.items() if fp not in after],
        open=[s for fp, s in after.items() if fp in before])
