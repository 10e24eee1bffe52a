"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cli_helpers import CliResult, invoke


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """`run_cli("scan", "--input", path)`: the CLI as a user runs it, output captured."""
    return invoke
