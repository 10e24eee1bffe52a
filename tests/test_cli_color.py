"""Colour of the text report: `--color`, NO_COLOR, FORCE_COLOR and the terminal, through the CLI."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from cli_helpers import EXAMPLES, invoke

EXAMPLE = ("--input", str(EXAMPLES / "inventory.json"), "--config",
           str(EXAMPLES / "imgaudit.yaml"))
ESC = "\033["


@pytest.fixture(autouse=True)
def no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the variables it is about; none leak in from the machine."""
    for name in ("NO_COLOR", "FORCE_COLOR", "IMGAUDIT_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


def scan(*flags: str, env: dict[str, str] | None = None) -> str:
    result = invoke("scan", *EXAMPLE, *flags, env=env)
    assert result.exit_code == 1, result.stderr  # the example breaks policy on purpose
    return result.stdout


def scan_on_a_terminal(*flags: str, env: dict[str, str] | None = None) -> str:
    """`imgaudit scan` as a process whose stdout is a pseudo-terminal; what it printed."""
    leader, follower = pty.openpty()
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("NO_COLOR", "FORCE_COLOR", "IMGAUDIT_COLOR")}
    full_env.update({"TERM": "xterm", **(env or {})})
    args = [sys.executable, "-m", "auditor", "scan", *EXAMPLE, *flags]
    with subprocess.Popen(args, env=full_env, stdout=follower, stderr=subprocess.DEVNULL) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait() == 1
    os.close(leader)
    return b"".join(chunks).decode()


def test_auto_colours_a_terminal_only() -> None:
    on_terminal = scan_on_a_terminal()
    assert f"{ESC}1;31mHIGH (" in on_terminal and f"{ESC}1;31mFAILED{ESC}0m" in on_terminal
    piped = scan()
    assert ESC not in piped and "HIGH (" in piped and "FAILED" in piped


def test_no_color_turns_a_terminal_plain() -> None:
    assert ESC not in scan_on_a_terminal(env={"NO_COLOR": "1"})
    assert ESC not in scan_on_a_terminal(env={"TERM": "dumb"})


def test_an_empty_no_color_is_not_set() -> None:
    assert ESC in scan_on_a_terminal(env={"NO_COLOR": ""})


@pytest.mark.parametrize("value", ["1", "0", "true"])
def test_force_color_colours_a_pipe(value: str) -> None:
    assert f"{ESC}1;31mHIGH (" in scan(env={"FORCE_COLOR": value})


def test_no_color_wins_over_force_color() -> None:
    assert ESC not in scan(env={"NO_COLOR": "1", "FORCE_COLOR": "1"})


def test_explicit_color_beats_the_environment() -> None:
    assert ESC in scan("--color", "always", env={"NO_COLOR": "1"})
    assert ESC not in scan("--color", "never", env={"FORCE_COLOR": "1"})
    assert ESC not in scan_on_a_terminal("--color", "never")
    assert ESC in scan(env={"IMGAUDIT_COLOR": "always", "NO_COLOR": "1"})
    assert ESC not in scan("--color", "never", env={"IMGAUDIT_COLOR": "always"})


def test_colour_never_reaches_other_formats() -> None:
    for fmt in ("json", "markdown", "sarif"):
        assert ESC not in scan("--format", fmt, "--color", "always")


def test_an_unknown_colour_lists_the_choices() -> None:
    result = invoke("scan", *EXAMPLE, "--color", "yes")
    assert result.exit_code == 2 and result.stdout == ""
    assert "'yes' is not one of 'auto', 'always', 'never'" in result.stderr
