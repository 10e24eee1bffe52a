"""The project's own contracts: layering, lint, README front door, rule table, packaging."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is a test dependency but is not installed")
    return path


def test_import_layers_hold() -> None:
    """The one-way layering of DESIGN §1, as import-linter contracts in pyproject.toml."""
    done = subprocess.run([_tool("lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_is_clean() -> None:
    done = subprocess.run([_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean(tmp_path: Path) -> None:
    done = subprocess.run([_tool("mypy"), "--cache-dir", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci/run").read_text()
    command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert command in README
    assert command.replace("python3", "python") in ci


def test_readme_rule_table_matches_the_rule_files(run_cli) -> None:
    result = run_cli("rules", "list", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    table = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", README, re.S)
    assert table is not None
    assert table.group(1) == result.stdout, (
        "README rule table drifted: regenerate it with `imgaudit rules list --format markdown`")
