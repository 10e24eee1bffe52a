"""The history file's SQLite schema, its identity and its forward migrations.

A history file says what it is in its header: `PRAGMA application_id` holds imgaudit's magic
number (so a foreign SQLite file is recognised and refused, never written to) and
`PRAGMA user_version` the schema version. `MIGRATIONS[i]` takes a file from version `i` to
`i + 1`; a file is brought forward by applying the steps it lacks inside the caller's
transaction, so a failed upgrade leaves it as it was.

Findings are stored as state over time, not copied per run: one `findings` row is one
continuous stretch during which a finding (scope + fingerprint) was present, from the run that
first saw it to the run that found it fixed. A year of daily scans of a stable estate adds one
`runs` row per scan and rows only for what changed.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x696D6741  # "imgA": imgaudit history files
SCHEMA_VERSION = 1

_V1 = """
CREATE TABLE scopes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE    -- canonical JSON: accounts, regions, owners, statuses, filters
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused after a prune: ids order the runs
    scope_id INTEGER NOT NULL REFERENCES scopes(id),
    started_at INTEGER NOT NULL,            -- Unix seconds, UTC
    finished_at INTEGER NOT NULL,
    tool_version TEXT NOT NULL,
    source TEXT NOT NULL,                   -- api | file
    complete INTEGER NOT NULL,
    incomplete_regions TEXT NOT NULL,       -- JSON list
    images INTEGER NOT NULL,
    counts TEXT NOT NULL,                   -- JSON {severity: open (not waived) findings}
    rule_counts TEXT NOT NULL,              -- JSON {rule id: open findings}
    waived INTEGER NOT NULL
);
CREATE INDEX runs_scope ON runs (scope_id, id);
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    scope_id INTEGER NOT NULL REFERENCES scopes(id),
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    image_id TEXT NOT NULL,
    image_name TEXT,
    region TEXT NOT NULL,
    account TEXT,
    first_seen_run INTEGER NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_run INTEGER,                  -- NULL while the scope's latest run saw it
    fixed_run INTEGER,                      -- NULL while open
    fixed_at INTEGER
);
CREATE UNIQUE INDEX findings_open ON findings (scope_id, fingerprint) WHERE fixed_run IS NULL;
CREATE INDEX findings_first ON findings (scope_id, first_seen_run);
CREATE INDEX findings_fixed ON findings (scope_id, fixed_run);
CREATE TABLE waived (
    finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    from_run INTEGER NOT NULL,
    to_run INTEGER                          -- NULL while the waiver still suppresses it
);
CREATE INDEX waived_finding ON waived (finding_id);
"""

# MIGRATIONS[i] brings a file from schema version i to i + 1 (0 is a new, empty file).
MIGRATIONS: tuple[str, ...] = (_V1,)
assert len(MIGRATIONS) == SCHEMA_VERSION


def header(conn: sqlite3.Connection) -> tuple[int, int]:
    """The file's (application_id, user_version)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(app_id), int(version)


def is_empty(conn: sqlite3.Connection) -> bool:
    """A new SQLite file: no header of ours and no objects of anyone's."""
    count: int = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return count == 0


def migrate(conn: sqlite3.Connection, migrations: tuple[str, ...] = MIGRATIONS) -> None:
    """Apply the steps the file lacks; the caller holds a write transaction."""
    _, version = header(conn)
    for step, script in enumerate(migrations[version:], start=version + 1):
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {step:d}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit the caller's transaction)."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())  # no quoted "--"
    statements, current = [], ""
    for part in text.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s != ";"]
