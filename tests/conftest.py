"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult, invoke


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reports are in the locale's language (auditor/lang.py): tests expect English
    unless they ask for another, whatever the machine running them is set to."""
    for name in ("LC_ALL", "LC_MESSAGES", "IMGAUDIT_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """`run_cli("scan", "--input", path)`: the CLI as a user runs it, output captured."""
    return invoke


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding `slow` tests run first (their order within kept): under pytest-xdist the
    longest modules then start first instead of ending the run alone."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


# --- The coverage floor ---------------------------------------------------------------------------
# pyproject.toml measures branch coverage of `auditor` in every run (pytest-cov, child processes
# included) and sets the floor ([tool.coverage.report] fail_under). Only the whole suite can reach
# it, so only the whole suite is judged by it: a run of some files or tests, or with tests
# deselected (-m "not slow", -k, --lf), says so in one line instead, and prints the coverage
# table only when asked with --cov-report (and is judged only with --cov-fail-under N).

TESTS = Path(__file__).resolve().parent
DESELECTED = pytest.StashKey[bool]()
FLOOR_LIFTED = pytest.StashKey[str]()
PARTIAL = "imgaudit_partial_run"  # a worker's word to the xdist controller


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items:
        items[0].config.stash[DESELECTED] = True


def _partial(config: pytest.Config) -> str | None:
    """Why this run is less than the whole suite, or None."""
    if config.stash.get(DESELECTED, False):
        return "tests deselected"
    asked = {(config.invocation_params.dir / str(arg).split("::")[0]).resolve()
             for arg in config.args}
    return None if asked == {TESTS} else f"only {' '.join(map(str, config.args))}"


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly:
        return
    why = _partial(config)
    if hasattr(config, "workerinput"):  # an xdist worker: the controller judges (below)
        if why is not None:
            config.workeroutput[PARTIAL] = why
    elif why is not None:
        _lift_floor(config, why)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The xdist controller collects nothing itself: each worker says what it left out."""
    why = getattr(node, "workeroutput", {}).get(PARTIAL)
    if why is not None:
        _lift_floor(node.config, why)


def _lift_floor(config: pytest.Config, why: str) -> None:
    options = getattr(config.pluginmanager.getplugin("_cov"), "options", None)
    if (options is None or options.cov_fail_under is None
            or _asked(config, "--cov-fail-under")):
        return
    config.stash[FLOOR_LIFTED] = f"the {options.cov_fail_under:g}% floor judges the whole " \
                                 f"suite, not this partial run ({why})"
    options.cov_fail_under = None
    if not _asked(config, "--cov-report"):
        options.cov_report.clear()  # a partial figure means nothing against the floor


def _asked(config: pytest.Config, option: str) -> bool:
    """Whether the command line itself (not pyproject's addopts) gives this option."""
    return any(str(arg).startswith(option) for arg in config.invocation_params.args)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    if FLOOR_LIFTED in config.stash:
        terminalreporter.write_line(f"coverage: {config.stash[FLOOR_LIFTED]}")
