"""The history store's semantics on audit results with chosen times: state over time, scopes,
what incomplete runs may not conclude, ages, times to fix, schema versions and migrations."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from report_samples import RULES, WAIVED, finding, sample_result

from auditor import history
from auditor.errors import InputError
from auditor.findings import AuditResult, Finding, RegionReport, Severity, fingerprint
from auditor.history import schema, store

T0 = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
CRIT, HIGH, MED, LOW, INFO = RULES


def result(findings: list[Finding], day: int, *, regions: tuple[str, ...] = ("cn-hangzhou",),
           incomplete: tuple[str, ...] = (), rules: list | None = None) -> AuditResult:
    base = sample_result()
    when = T0 + timedelta(days=day)
    scan = base.scan.model_copy(update={"started_at": when, "finished_at": when,
                                        "regions": list(regions), "complete": not incomplete})
    return base.model_copy(update={
        "scan": scan, "findings": findings, "rules": RULES if rules is None else rules,
        "regions": [RegionReport(region=r, complete=r not in incomplete, images=1)
                    for r in regions]})


def record(path: Path, res: AuditResult) -> int:
    with history.open_history(path, write=True) as conn:
        return history.record_run(conn, res)


def read(path: Path):
    return history.open_history(path, write=False)


def test_ages_and_mean_time_to_fix_come_from_first_seen_and_fixed_times(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    a, b = finding(HIGH, "m-a"), finding(LOW, "m-b")
    record(db, result([a, b], 0))
    record(db, result([b], 10))           # m-a fixed after 10 days
    record(db, result([b, finding(CRIT, "m-c")], 40))
    with read(db) as conn:
        trend = history.trend(conn)
        diff = history.diff_runs(conn, "1", "3")
    assert trend.time_to_fix["high"].model_dump() == {"fixed": 1, "mean_days": 10.0}
    ages = {bucket.label: bucket.counts for bucket in trend.open_by_age}
    assert ages["30-90 days"]["low"] == 1 and ages["< 7 days"]["critical"] == 1
    assert [(s.image_id, s.age_days, s.fixed_run) for s in diff.fixed] == [("m-a", 10, 2)]
    assert [(s.image_id, s.age_days, s.first_seen) for s in diff.open] == [("m-b", 40, T0)]
    assert [(s.image_id, s.first_seen_run) for s in diff.new] == [("m-c", 3)]
    assert [p.new for p in trend.runs] == [2, 0, 1] and [p.fixed for p in trend.runs] == [0, 1, 0]


def test_a_finding_that_comes_back_is_new_again(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    a = finding(HIGH, "m-a")
    for day, findings in enumerate([[a], [], [a]]):
        record(db, result(findings, day))
    with read(db) as conn:
        assert [s.image_id for s in history.diff_runs(conn, "2", "3").new] == ["m-a"]
        again = history.show_run(conn, "3").new[0]
    assert (again.first_seen_run, again.age_days) == (3, 0)


def test_incomplete_regions_and_rules_that_did_not_run_stay_open(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    regions = ("cn-hangzhou", "cn-shanghai")
    hz, sh = finding(HIGH, "m-a"), finding(LOW, "m-b", "cn-shanghai")
    med = finding(MED, "m-c")
    record(db, result([hz, sh, med], 0, regions=regions))
    without_medium = [r for r in RULES if r.id != MED.id]
    record(db, result([], 1, regions=regions, incomplete=("cn-shanghai",), rules=without_medium))
    with read(db) as conn:
        run2 = history.show_run(conn, "2")
        still = history.diff_runs(conn, "1", "2").open
    assert [s.image_id for s in run2.fixed] == ["m-a"]  # only what the run looked at
    assert {(s.image_id, s.last_seen_run) for s in still} == {("m-b", 1), ("m-c", 1)}
    record(db, result([sh, med], 2, regions=regions))
    with read(db) as conn:
        assert {s.last_seen_run for s in history.diff_runs(conn, "1", "3").open} == {3}


def test_an_incomplete_scan_without_an_incomplete_region_fixes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record(db, result([finding(HIGH, "m-a")], 0))
    res = result([], 1)
    res = res.model_copy(update={"scan": res.scan.model_copy(update={"complete": False})})
    record(db, res)
    with read(db) as conn:
        assert history.show_run(conn, "2").fixed == []


def test_scopes_keep_their_own_state(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    regions = ("cn-hangzhou", "cn-shanghai")
    record(db, result([finding(HIGH, "m-a"), finding(LOW, "m-b", "cn-shanghai")], 0,
                      regions=regions))
    record(db, result([], 1))  # a narrower scan: cn-hangzhou only, finds nothing
    record(db, result([], 2, regions=regions))
    with read(db) as conn:
        runs = history.list_runs(conn)
        wide = history.trend(conn, runs[0].scope_id)
    assert [r.scope_id for r in runs] == [1, 2, 1]
    assert (runs[1].fixed, runs[2].fixed) == (0, 2)
    assert [p.id for p in wide.runs] == [1, 3]


def test_waivers_and_severity_changes_are_state_over_time(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    waived = finding(HIGH, "m-a", waiver=WAIVED)
    record(db, result([waived], 0))
    record(db, result([finding(HIGH, "m-a")], 1))  # the waiver was removed
    overridden = finding(HIGH, "m-a").model_copy(update={"severity": Severity.CRITICAL})
    record(db, result([overridden], 2))  # a config file raised the rule's severity
    with read(db) as conn:
        first = history.diff_runs(conn, "1", "1").open[0]
        second = history.diff_runs(conn, "1", "2").open[0]
        runs = history.list_runs(conn)
        third = history.diff_runs(conn, "2", "3").open[0]
    assert (first.waived, second.waived) == (True, False)
    assert [(r.waived, r.counts["high"]) for r in runs[:2]] == [(1, 0), (0, 1)]
    assert third.severity == "critical" and third.first_seen_run == 1


def test_recording_writes_only_what_changed(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    findings = [finding(LOW, f"m-{i}") for i in range(50)]
    record(db, result(findings, 0))
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT count(*) FROM findings").fetchone()[0]
    conn.close()
    record(db, result(findings[1:], 1))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM findings").fetchone()[0] == before
        assert conn.execute("SELECT count(*) FROM findings WHERE fixed_run IS NOT NULL"
                            ).fetchone()[0] == 1
    conn.close()


# --- schema versions -----------------------------------------------------------------------

V1_TABLES = {"scopes", "runs", "rules", "findings", "waived"}


def test_a_new_file_carries_our_identity_and_version(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record(db, result([], 0))
    with sqlite3.connect(db) as conn:
        assert schema.header(conn) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert tables >= V1_TABLES


def test_the_switch_to_wal_meeting_another_lock_is_not_an_error(tmp_path: Path) -> None:
    """The switch to WAL runs after the commit (the run is recorded) and needs the file alone;
    SQLite refuses it at once, with no busy wait, while another connection holds a lock. That
    once turned a recorded run into "locked ... nothing was written" (exit 2) when two scans
    recorded into a new file at once (test_history_cli's two-process test, 1 run in ~150)."""
    db = tmp_path / "h.db"
    record(db, result([], 0))
    writer = sqlite3.connect(db, isolation_level=None, timeout=0)
    writer.execute("PRAGMA journal_mode = DELETE")  # the file as before its first switch
    other = sqlite3.connect(db, isolation_level=None, timeout=0)
    other.execute("BEGIN")
    other.execute("SELECT count(*) FROM sqlite_master").fetchone()  # another reader's lock
    try:
        store._use_wal(writer, tries=3)  # gives up quietly, the run stays recorded
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        other.close()
        writer.close()
    record(db, result([], 1))  # the next writer switches it
    with read(db) as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")] == [1, 2]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_file_opens_and_records_with_this_code(tmp_path: Path) -> None:
    """A file as imgaudit's first history release wrote it, from a frozen copy of its schema:
    editing version 1 in place instead of adding a migration fails here."""
    db = tmp_path / "h.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript((Path(__file__).parent / "data" / "history_v1.sql").read_text())
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    record(db, result([finding(HIGH, "m-a")], 0))
    with read(db) as conn:
        assert [r.new for r in history.list_runs(conn)] == [1]


def test_migrations_bring_a_file_forward_and_keep_its_data(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record(db, result([finding(HIGH, "m-a")], 0))
    step = "ALTER TABLE runs ADD COLUMN note TEXT; CREATE INDEX runs_note ON runs (note);"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    schema.migrate(conn, (*schema.MIGRATIONS, step))
    conn.execute("COMMIT")
    assert schema.header(conn)[1] == schema.SCHEMA_VERSION + 1
    assert conn.execute("SELECT count(*), max(note) FROM runs").fetchone() == (1, None)
    conn.close()


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    record(db, result([finding(HIGH, "m-a")], 0))
    before = db.read_bytes()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, (*schema.MIGRATIONS, "ALTER TABLE runs ADD COLUMN x; BROKEN SQL;"))
    conn.execute("ROLLBACK")
    assert schema.header(conn)[1] == schema.SCHEMA_VERSION
    conn.close()
    assert db.read_bytes() == before


def test_an_empty_file_is_a_new_history_but_not_for_reading(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.touch()
    with pytest.raises(InputError, match="an empty file, not an imgaudit history yet"):
        read(db).__enter__()
    record(db, result([], 0))
    with read(db) as conn:
        assert len(history.list_runs(conn)) == 1


def test_accounts_are_looked_at_region_by_region(tmp_path: Path) -> None:
    """Two accounts in one scan: a region incomplete for one says nothing of the other's."""
    db = tmp_path / "h.db"

    def of(account: str, image_id: str) -> Finding:
        f = finding(HIGH, image_id)
        return f.model_copy(update={"account_id": account, "fingerprint": fingerprint(
            HIGH.id, "cn-hangzhou", image_id, account)})

    def scan(findings: list[Finding], day: int, incomplete: str | None) -> AuditResult:
        res = result(findings, day)
        regions = [RegionReport(region="cn-hangzhou", account_id=a, complete=a != incomplete,
                                images=1) for a in ("111", "222")]
        info = res.scan.model_copy(update={"accounts": ["111", "222"], "account_id": None,
                                           "complete": incomplete is None})
        return res.model_copy(update={"scan": info, "regions": regions})

    record(db, scan([of("111", "m-a"), of("222", "m-b")], 0, None))
    record(db, scan([], 1, incomplete="111"))
    with read(db) as conn:
        run = history.show_run(conn, "2")
        still = history.diff_runs(conn, "1", "2").open
    assert [(s.account, s.image_id) for s in run.fixed] == [("222", "m-b")]
    assert [(s.account, s.image_id) for s in still] == [("111", "m-a")]
    assert run.run.scope.accounts == ["111", "222"]


@pytest.mark.parametrize(("waited", "words"), [(0.0, "SQLite refused at once"),
                                                (0.3, "waited 0.2 s")])
def test_a_lock_refusal_says_whether_it_waited(tmp_path: Path, waited: float,
                                               words: str) -> None:
    """SQLite refuses some locks at once (no busy wait, where waiting could deadlock): the
    error then does not claim the whole timeout was waited."""
    with pytest.raises(InputError) as caught, store._sqlite_errors(tmp_path / "h.db", 0.2):
        time.sleep(waited)
        raise sqlite3.OperationalError("database is locked")
    assert f"locked by another imgaudit ({words}); nothing was written" in str(caught.value)
