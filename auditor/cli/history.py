"""`imgaudit history ...`: list, show, diff, trend and prune the runs of a history file.

The file comes from `--history`, else `IMGAUDIT_HISTORY`, else the config file's `history:`.
`IMGAUDIT_HISTORY_TIMEOUT` (seconds) bounds how long a command waits for a writer's lock.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor import app
from auditor.cli.options import env_name, fixed_now, read_config
from auditor.errors import UsageError

if TYPE_CHECKING:
    from auditor.app.history import HistoryOptions

TIMEOUT_ENV = "IMGAUDIT_HISTORY_TIMEOUT"


def history_timeout() -> float | None:
    """Seconds to wait for another writer (`IMGAUDIT_HISTORY_TIMEOUT`); None when it is not
    set: the store's own default, 30 s (the store is not imported for it: a scan without
    --history never loads it)."""
    value = os.environ.get(TIMEOUT_ENV)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise UsageError(f"{TIMEOUT_ENV}={value!r}: expected seconds, from 0 to 86400")
    return seconds


def history_path(given: Path | None, config_path: Path | None) -> Path:
    if given is not None:
        return given
    configured = read_config(config_path).option_defaults().get("history")
    if configured is None:
        raise UsageError("no history file: give --history FILE, set IMGAUDIT_HISTORY or "
                         "`history:` in the config file")
    return Path(configured)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--history", "history_file", type=click.Path(path_type=Path),
                     envvar=env_name("history"), help="The history file (SQLite)."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     envvar=env_name("config"), help="Config file (for its `history:`)."),
        click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="Output format (JSON: see docs/history.md)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(p: dict[str, Any]) -> HistoryOptions:
    from auditor.app.history import HistoryOptions

    return HistoryOptions(path=history_path(p["history_file"], p["config_path"]),
                          fmt=p["fmt"], timeout=history_timeout())


@click.group("history")
def history() -> None:
    """Runs recorded with `scan --history`: list, show, diff, trend, prune."""


@history.command("list")
@_common
def history_list(**p: Any) -> int:
    """Every run: id, time, scope, completeness, open findings by severity."""
    return app.history_list(_options(p), sys.stdout)


@history.command("show")
@click.argument("run")
@_common
def history_show(run: str, **p: Any) -> int:
    """One run (an id or `latest`): scope, counts, what it found new and fixed."""
    return app.history_show(_options(p), run, sys.stdout)


@history.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@_common
def history_diff(run_a: str, run_b: str, **p: Any) -> int:
    """New, fixed and still open findings from RUN_A to RUN_B (same scope), with ages."""
    return app.history_diff(_options(p), run_a, run_b, sys.stdout)


@history.command("trend")
@click.option("--scope", "scope_id", type=int,
              help="Scope id (`history list` shows them); default: the latest run's.")
@_common
def history_trend(scope_id: int | None, **p: Any) -> int:
    """Counts per run, open findings by age, mean time to fix per severity."""
    return app.history_trend(_options(p), scope_id, sys.stdout)


@history.command("prune")
@click.option("--keep-days", type=click.IntRange(min=0), required=True,
              help="Forget runs (and findings fixed) more than N days ago.")
@_common
def history_prune(keep_days: int, **p: Any) -> int:
    """Forget old runs; each scope keeps its latest run, open findings are kept.

    N days are counted back from now (`IMGAUDIT_NOW` when set)."""
    return app.history_prune(_options(p), keep_days, sys.stdout, now=fixed_now())
