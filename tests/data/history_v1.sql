-- The history schema as imgaudit's first history release (schema version 1) created it,
-- frozen: a change to the schema needs a new migration, never an edit of version 1.
CREATE TABLE scopes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope_id INTEGER NOT NULL REFERENCES scopes(id),
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    tool_version TEXT NOT NULL,
    source TEXT NOT NULL,
    complete INTEGER NOT NULL,
    incomplete_regions TEXT NOT NULL,
    images INTEGER NOT NULL,
    counts TEXT NOT NULL,
    rule_counts TEXT NOT NULL,
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
    last_seen_run INTEGER,
    fixed_run INTEGER,
    fixed_at INTEGER
);
CREATE UNIQUE INDEX findings_open ON findings (scope_id, fingerprint) WHERE fixed_run IS NULL;
CREATE INDEX findings_first ON findings (scope_id, first_seen_run);
CREATE INDEX findings_fixed ON findings (scope_id, fixed_run);
CREATE TABLE waived (
    finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    from_run INTEGER NOT NULL,
    to_run INTEGER
);
CREATE INDEX waived_finding ON waived (finding_id);
