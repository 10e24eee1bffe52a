"""`imgaudit scan --history` records a run; `imgaudit history ...` reads and prunes the file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO, TypeVar

from pydantic import BaseModel

from auditor import history
from auditor.app import history_text
from auditor.errors import EXIT_OK, AuditError
from auditor.findings import AuditResult

log = logging.getLogger("imgaudit")


@dataclass(frozen=True)
class HistoryOptions:
    path: Path
    fmt: str = "text"  # text | json
    timeout: float | None = None  # None: the store's default


@contextmanager
def recorded_in_history(path: Path | None, result: AuditResult,
                        timeout: float | None) -> Iterator[AuditResult]:
    """A finished scan recorded in the history at `path` (none: `result` as it is), and yielded
    annotated with what changed since the last complete run of its scope and when each finding
    was first seen, for the reports rendered in the block.

    The run is committed when the block ends without error, so the history and the reports
    agree: a report that fails to render leaves no run behind, and a run that cannot be
    recorded (a lock held beyond the timeout, a full disk) leaves no report (exit 2). The
    write lock is held while the reports render, a few seconds at most.
    """
    if path is None:
        yield result
        return
    with history.open_history(path, write=True, timeout=timeout) as conn:
        run_id = history.record_run(conn, result)
        changes = history.changes_since_complete(conn, run_id)
        yield history.annotate(result, changes, str(path))
    log.info("recorded run %d in %s", run_id, path)


_A = TypeVar("_A", bound=BaseModel)


def _write(answer: _A, text: Callable[[_A], str], options: HistoryOptions, out: TextIO) -> int:
    if options.fmt == "json":
        out.write(answer.model_dump_json(by_alias=True, indent=2) + "\n")
    else:
        out.write(text(answer))
    return EXIT_OK


def history_list(options: HistoryOptions, out: TextIO) -> int:
    with history.open_history(options.path, write=False, timeout=options.timeout) as conn:
        answer = history.RunList(runs=history.list_runs(conn))
    return _write(answer, history_text.run_list, options, out)


def history_show(options: HistoryOptions, run: str, out: TextIO) -> int:
    with history.open_history(options.path, write=False, timeout=options.timeout) as conn:
        answer = history.show_run(conn, run)
    return _write(answer, history_text.run_detail, options, out)


def history_diff(options: HistoryOptions, run_a: str, run_b: str, out: TextIO) -> int:
    with history.open_history(options.path, write=False, timeout=options.timeout) as conn:
        answer = history.diff_runs(conn, run_a, run_b)
    return _write(answer, history_text.run_diff, options, out)


def history_trend(options: HistoryOptions, scope_id: int | None, out: TextIO) -> int:
    with history.open_history(options.path, write=False, timeout=options.timeout) as conn:
        answer = history.trend(conn, scope_id)
    return _write(answer, history_text.trend, options, out)


def history_prune(options: HistoryOptions, keep_days: int, out: TextIO,
                  now: datetime | None = None) -> int:
    """Delete old runs, then give their space back to the file system."""
    when = now or datetime.now(timezone.utc)
    with history.open_history(options.path, write=True, timeout=options.timeout) as conn:
        answer = history.prune(conn, keep_days, when)
    try:
        history.compact(options.path, options.timeout)
    except AuditError as exc:  # the prune is committed; the space comes back next time
        log.warning("pruned, but could not compact the file now: %s", exc)
    return _write(answer, history_text.pruned, options, out)
