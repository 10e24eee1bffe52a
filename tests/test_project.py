"""The project's own contracts: layering, lint, README front door, rule table, packaging."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is a test dependency but is not installed")
    return path


PRE_COMMIT_CONFIG = REPO / ".pre-commit-config.yaml"
HOOKS = {  # what each hook of .pre-commit-config.yaml checks
    "ruff": "lint (ruff check)",
    "mypy": "types: mypy strict over the auditor package",
    "import-linter": "the one-way layering of DESIGN §1 (import-linter contracts)",
    "yamllint": "the built-in rule files as YAML (.yamllint)",
    "rules-validate": "the built-in rule files as rules",
    "rules-test": "the tests: examples inside the built-in rules",
}


def test_pre_commit_config_is_valid_and_fetches_nothing() -> None:
    done = subprocess.run([_tool("pre-commit"), "validate-config", str(PRE_COMMIT_CONFIG)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    repos = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))["repos"]
    assert [r["repo"] for r in repos] == ["local"]  # no hook repository to clone
    hooks = repos[0]["hooks"]
    assert [h["id"] for h in hooks] == list(HOOKS)
    assert {h["language"] for h in hooks} == {"system"}  # the tools of `.[test]`, no new env


@pytest.mark.parametrize("hook", list(HOOKS))
def test_hook_passes(hook: str, tmp_path: Path) -> None:
    """Each check runs as its pre-commit hook, so the hooks and the suite cannot drift apart."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to run the pre-commit hooks")
    env = {k: v for k, v in os.environ.items() if k != "SKIP"}
    env.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
               PRE_COMMIT_HOME=str(tmp_path / "pre-commit"), PRE_COMMIT_COLOR="never",
               MYPY_CACHE_DIR=str(tmp_path / "mypy"))
    done = subprocess.run([_tool("pre-commit"), "run", "--all-files", hook], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{HOOKS[hook]}:\n{done.stdout}{done.stderr}"
    assert re.search(r"\.{3,}Passed$", done.stdout, re.M), done.stdout  # ran, not skipped


def test_yamllint_config_still_catches_mistakes(tmp_path: Path) -> None:
    """.yamllint turns off only what rule files cannot follow; `yes`, duplicate keys and
    trailing spaces still fail."""
    rule = tmp_path / "IMG-X.yaml"
    rule.write_text("id: IMG-X\nenabled: yes\nid: IMG-Y\ntags: [a] \n", encoding="utf-8")
    done = subprocess.run([_tool("yamllint"), "--strict", "-c", str(REPO / ".yamllint"),
                           "-f", "parsable", str(rule)], capture_output=True, text=True)
    assert done.returncode == 1
    assert {m for m in re.findall(r"\((\S+)\)$", done.stdout, re.M)} == {
        "truthy", "key-duplicates", "trailing-spaces"}, done.stdout


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
