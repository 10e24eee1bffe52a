"""Shell completion (click's own): each shell's script is produced, and bash completes with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
IMGAUDIT = BIN / "imgaudit"  # the console script `pip install` made

pytestmark = pytest.mark.skipif(not IMGAUDIT.exists(), reason="imgaudit is not installed")


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env)
    return subprocess.run([str(IMGAUDIT)], env=full, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _imgaudit_completion imgaudit"),
    ("zsh", "#compdef imgaudit"),
    ("fish", "complete --no-files --command imgaudit"),
])
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    done = run({"_IMGAUDIT_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_IMGAUDIT_COMPLETE" in done.stdout


@pytest.mark.parametrize(("words", "cword", "expected"), [
    ("imgaudit sc", "1", ["plain,scan"]),
    ("imgaudit rules v", "2", ["plain,validate"]),
    ("imgaudit scan --color ", "3", ["plain,auto", "plain,always", "plain,never"]),
    ("imgaudit scan --fail-on c", "3", ["plain,critical"]),
])
def test_the_completion_protocol_answers(words: str, cword: str, expected: list[str]) -> None:
    done = run({"_IMGAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": words,
                "COMP_CWORD": cword})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_a_subcommand_with_the_script() -> None:
    script = ('eval "$(_IMGAUDIT_COMPLETE=bash_source imgaudit)"; '
              'COMP_WORDS=(imgaudit rules v); COMP_CWORD=2; _imgaudit_completion imgaudit; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "--norc", "-c", script], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["validate"]
