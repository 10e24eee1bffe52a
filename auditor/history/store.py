"""Opening a history file safely: checked before anything is written, one transaction per use.

Refusals come before any write, so a wrong path never costs the user a file: a missing folder,
a read-only file, a file that is not SQLite, an SQLite file of another application (its
`application_id` is not ours), a history from a newer imgaudit, a damaged file. Writers take the
write lock up front (`BEGIN IMMEDIATE`) and wait for each other up to a timeout, so two scans
recording into one file at once both land; the file is in WAL mode, so readers never block them.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from auditor.errors import InputError
from auditor.history.schema import APPLICATION_ID, SCHEMA_VERSION, header, is_empty, migrate

DEFAULT_TIMEOUT = 30.0  # seconds a writer waits for another one
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_history(path: Path, *, write: bool) -> None:
    """Refuse a history path that cannot be used, without opening or creating anything."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(path, f"cannot use the history: folder {folder} does not exist")
    if path.is_dir():
        raise InputError(path, "cannot use the history: it is a folder")
    if not path.exists():
        if not write:
            raise InputError(path, "no history file here; `imgaudit scan --history FILE` "
                                   "records one")
        if not os.access(folder, os.W_OK):
            raise InputError(path, f"cannot create the history: folder {folder} is not "
                                   "writable")
        return
    if write and _read_only(path):
        raise InputError(path, "the history file is read-only; nothing was recorded")
    with path.open("rb") as handle:
        start = handle.read(len(_SQLITE_MAGIC))
    if start and start != _SQLITE_MAGIC:
        raise InputError(path, "not an imgaudit history (not an SQLite database); "
                               "nothing was written")
    if start and write:  # ours and not from a newer imgaudit, before a scan spends its time
        with _sqlite_errors(path, DEFAULT_TIMEOUT):
            conn = _connect(path, write=False, timeout=DEFAULT_TIMEOUT)
            try:
                if _header_state(conn, path) == "current":
                    _check_integrity(conn, path)
            finally:
                conn.close()


def _read_only(path: Path) -> bool:
    """No write permission, or none in its mode bits (root may write anyway; we do not)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


@contextmanager
def open_history(path: Path, *, write: bool,
                 timeout: float | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to a checked history file (created when writing to a new path), waiting
    up to `timeout` seconds for another writer (None: `DEFAULT_TIMEOUT`).

    Writing, everything done with it is one transaction, committed when the block ends and
    rolled back when it raises. Every SQLite error becomes a one-line InputError.
    """
    check_history(path, write=write)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    with _sqlite_errors(path, timeout):
        conn = _connect(path, write=write, timeout=timeout)
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            _check_or_create(conn, path, write=write)
            yield conn
            if write:
                conn.commit()
                _use_wal(conn)
        finally:
            if conn.in_transaction:
                conn.rollback()
            conn.close()


def _connect(path: Path, *, write: bool, timeout: float) -> sqlite3.Connection:
    mode = ("rw" if path.exists() else "rwc") if write else "ro"
    uri = f"file:{quote(str(path.absolute()))}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _header_state(conn: sqlite3.Connection, path: Path) -> str:
    """`current`, `old` (to migrate) or `new` (an empty file); a refusal for anything else."""
    app_id, version = header(conn)
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise InputError(path, f"written by a newer imgaudit (history schema {version}; "
                                   f"this imgaudit reads up to {SCHEMA_VERSION}); upgrade "
                                   "imgaudit to use it")
        return "current" if version == SCHEMA_VERSION else "old"
    if app_id == 0 and version == 0 and is_empty(conn):
        return "new"
    raise InputError(path, "not an imgaudit history (an SQLite file of another "
                           "application); nothing was written")


def _check_or_create(conn: sqlite3.Connection, path: Path, *, write: bool) -> None:
    """Ours and current (or brought forward), or a refusal; a new file gets the schema."""
    state = _header_state(conn, path)
    if state == "current":
        if write:
            _check_integrity(conn, path)
        return
    if not write:
        raise InputError(path, "an empty file, not an imgaudit history yet" if state == "new"
                         else "the history's schema is older than this imgaudit's; recording "
                              "a scan into it upgrades it")
    migrate(conn)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Never write into a damaged file (SQLite's quick check: ~50 ms for a year of runs)."""
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise InputError(path, "the history file is damaged (SQLite quick_check failed); "
                               "nothing was written")


def _use_wal(conn: sqlite3.Connection, tries: int = 20) -> None:
    """WAL lets readers work while a scan records (persistent: set once per file).

    Called after the commit, so the run is already recorded: switching needs the file to
    itself, and SQLite refuses at once (no busy wait) while another imgaudit holds a lock on
    a new file. Then it is tried again briefly and otherwise left to the next writer: a
    recorded run must never end as "nothing was written" (exit 2).
    """
    for attempt in range(tries):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.01 * (attempt + 1))


@contextmanager
def _sqlite_errors(path: Path, timeout: float) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise InputError(path, f"the history is locked by another imgaudit "
                                   f"({_lock_wait(time.monotonic() - start, timeout)}); "
                                   "nothing was written, try again") from None
        raise InputError(path, f"cannot use the history: {exc}") from None
    except sqlite3.Error as exc:
        raise InputError(path, f"not a usable imgaudit history ({exc}); nothing was "
                               "written") from None


def _lock_wait(elapsed: float, timeout: float) -> str:
    """How long the lock was waited for: the timeout, or not at all when SQLite refused at
    once (it does, without waiting, when waiting could deadlock)."""
    return f"waited {timeout:g} s" if elapsed >= timeout / 2 else "SQLite refused at once"


def compact(path: Path, timeout: float | None = None) -> None:
    """Give the space of deleted rows back to the file system (after a prune)."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    with _sqlite_errors(path, timeout):
        conn = _connect(path, write=True, timeout=timeout)
        try:
            conn.execute("VACUUM")
        finally:
            conn.close()
