"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable

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
