"""Recording one scan: a `runs` row, and the findings' state moved forward to this run.

Only what changed is written: a finding seen again costs nothing, a new one gets a row, a gone
one is marked fixed. A run only marks fixed what it looked at: a finding of a region that was
incomplete in this run, or of a rule that did not run, stays open, because not seeing it there
proves nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.findings import SEVERITIES, AuditResult, Finding
from auditor.history.scope import scope_key

# fingerprint, then (id, severity, rule id, region, last seen run, account) of each open finding
_OPEN = """SELECT fingerprint, id, severity, rule_id, region, last_seen_run, account
           FROM findings WHERE scope_id = ? AND fixed_run IS NULL"""
_WAIVED = """SELECT w.finding_id, w.rowid FROM waived w JOIN findings f ON f.id = w.finding_id
             WHERE f.scope_id = ? AND f.fixed_run IS NULL AND w.to_run IS NULL"""
_State = tuple[int, str, str, str, "int | None", "str | None"]


@dataclass
class _Changes:
    """The writes one run makes, batched: a stable estate makes almost none."""

    severity: list[tuple[str, int]] = field(default_factory=list)
    seen_again: list[tuple[int]] = field(default_factory=list)
    unseen: list[tuple[int | None, int]] = field(default_factory=list)
    fixed: list[tuple[int, int | None, int]] = field(default_factory=list)
    waive: list[tuple[int, int]] = field(default_factory=list)
    unwaive: list[tuple[int, int]] = field(default_factory=list)

    def apply(self, conn: sqlite3.Connection, run_id: int) -> None:
        at = conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        conn.executemany("UPDATE findings SET severity = ? WHERE id = ?", self.severity)
        conn.executemany("UPDATE findings SET last_seen_run = NULL WHERE id = ?",
                         self.seen_again)
        conn.executemany("UPDATE findings SET last_seen_run = ? WHERE id = ?", self.unseen)
        conn.executemany(f"UPDATE findings SET fixed_run = ?, fixed_at = {int(at):d}, "
                         "last_seen_run = ? WHERE id = ?", self.fixed)
        conn.executemany("INSERT INTO waived (finding_id, from_run) VALUES (?, ?)", self.waive)
        conn.executemany("UPDATE waived SET to_run = ? WHERE rowid = ?", self.unwaive)


def record_run(conn: sqlite3.Connection, result: AuditResult) -> int:
    """Record `result` as a new run (the caller holds the write transaction); its id."""
    findings = _unique(result.findings)
    scope_id = _scope_id(conn, scope_key(result.scan))
    previous = conn.execute("SELECT max(id) FROM runs WHERE scope_id = ?",
                            (scope_id,)).fetchone()[0]
    run_id = _insert_run(conn, scope_id, result, findings)
    _save_rule_titles(conn, result)
    open_: dict[str, _State] = {row[0]: row[1:] for row in conn.execute(_OPEN, (scope_id,))}
    waived: dict[int, int] = dict(conn.execute(_WAIVED, (scope_id,)).fetchall())
    changes = _Changes()
    for fingerprint, (finding, suppressed) in findings.items():
        state = open_.pop(fingerprint, None)
        if state is None:
            _insert_finding(conn, scope_id, run_id, result, finding, suppressed)
        else:
            _seen_again(changes, run_id, state, finding, suppressed, waived.get(state[0]))
    looked_at, rules = _looked_at(result)
    for state in open_.values():  # open before, not seen now
        finding_id, _, rule_id, region, last_seen, account = state
        last_seen = previous if last_seen is None else last_seen
        if looked_at(account, region) and rule_id in rules:
            changes.fixed.append((run_id, last_seen, finding_id))
            if finding_id in waived:
                changes.unwaive.append((run_id, waived[finding_id]))
        elif state[4] is None:  # not looked at: open still, last seen by the run before
            changes.unseen.append((last_seen, finding_id))
    changes.apply(conn, run_id)
    return run_id


def _unique(findings: list[Finding]) -> dict[str, tuple[Finding, bool]]:
    """By fingerprint (the same image given twice is one finding), with whether it is waived."""
    unique: dict[str, tuple[Finding, bool]] = {}
    for f in findings:
        unique.setdefault(f.fingerprint, (f, f.waiver is not None and not f.waiver.expired))
    return unique


def _scope_id(conn: sqlite3.Connection, key: str) -> int:
    conn.execute("INSERT OR IGNORE INTO scopes (key) VALUES (?)", (key,))
    return int(conn.execute("SELECT id FROM scopes WHERE key = ?", (key,)).fetchone()[0])


def _insert_run(conn: sqlite3.Connection, scope_id: int, result: AuditResult,
                findings: dict[str, tuple[Finding, bool]]) -> int:
    scan = result.scan
    open_findings = [f for f, suppressed in findings.values() if not suppressed]
    by_severity = Counter(f.severity.value for f in open_findings)
    rule_counts = Counter(f.rule_id for f in open_findings)
    cursor = conn.execute(
        "INSERT INTO runs (scope_id, started_at, finished_at, tool_version, source, complete,"
        " incomplete_regions, images, counts, rule_counts, waived)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (scope_id, int(scan.started_at.timestamp()), int(scan.finished_at.timestamp()),
         scan.tool_version, scan.source, scan.complete,
         json.dumps(sorted(r.region for r in result.regions if not r.complete)), scan.image_count,
         json.dumps({s: by_severity[s] for s in SEVERITIES}),
         json.dumps(dict(sorted(rule_counts.items()))), len(findings) - len(open_findings)))
    return int(cursor.lastrowid or 0)


def _save_rule_titles(conn: sqlite3.Connection, result: AuditResult) -> None:
    conn.executemany("INSERT OR REPLACE INTO rules (id, title) VALUES (?, ?)",
                     [(r.id, r.title) for r in result.rules])


def _insert_finding(conn: sqlite3.Connection, scope_id: int, run_id: int, result: AuditResult,
                    finding: Finding, suppressed: bool) -> None:
    cursor = conn.execute(
        "INSERT INTO findings (scope_id, fingerprint, rule_id, severity, image_id, image_name,"
        " region, account, first_seen_run, first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (scope_id, finding.fingerprint, finding.rule_id, finding.severity.value,
         finding.image_id, finding.image_name, finding.region,
         finding.account_id or result.scan.account_id, run_id,
         int(result.scan.started_at.timestamp())))
    if suppressed:
        conn.execute("INSERT INTO waived (finding_id, from_run) VALUES (?, ?)",
                     (cursor.lastrowid, run_id))


def _seen_again(changes: _Changes, run_id: int, state: _State, finding: Finding,
                suppressed: bool, waiver_row: int | None) -> None:
    """Only what differs is written: severity (a config override), a gap closed, a waiver."""
    finding_id, severity, _, _, last_seen, _ = state
    if finding.severity != severity:  # a str enum equals its value
        changes.severity.append((finding.severity.value, finding_id))
    if last_seen is not None:
        changes.seen_again.append((finding_id,))
    if suppressed and waiver_row is None:
        changes.waive.append((finding_id, run_id))
    elif not suppressed and waiver_row is not None:
        changes.unwaive.append((run_id, waiver_row))


def _looked_at(result: AuditResult) -> tuple[Callable[[str | None, str], bool], set[str]]:
    """Whether this run saw all of an account's region, and the rules it ran.

    A region is looked at when it was collected completely for that account (or for the whole
    scan when regions carry no account). An incomplete scan that names no incomplete region (an
    account-level failure) looked at nothing completely.
    """
    complete = {r.region for r in result.regions if r.complete}
    incomplete = {(r.account_id, r.region) for r in result.regions if not r.complete}
    if not result.scan.complete and not incomplete:
        complete = set()

    def looked_at(account: str | None, region: str) -> bool:
        return (region in complete and (account, region) not in incomplete
                and (None, region) not in incomplete)

    return looked_at, {r.id for r in result.rules}
