"""Exit codes: one table (auditor/errors.py), and failures that are never verdicts.

A bug exits 4 with one line, Ctrl-C exits 130, SIGTERM 143, and none leaves a report behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import EXAMPLES, REPO, invoke

from auditor.errors import EXIT_CODES, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED

EXAMPLE = ["--input", str(EXAMPLES / "inventory.json"), "--config", str(EXAMPLES / "imgaudit.yaml")]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_the_readme_table_is_the_code_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Exit codes"):]
    section = section[:section.index("\n#")]
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M))
    assert rows == {str(code): text for code, text in EXIT_CODES.items()}


def test_the_action_describes_every_code() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    described = action["outputs"]["exit-code"]["description"]
    assert {int(code) for code in re.findall(r"(?:: |; )(\d+) ", described)} == set(EXIT_CODES)
    gate = next(step for step in action["runs"]["steps"] if step.get("name") == "Gate")
    assert {int(code) for code in re.findall(r"(?:\(|; )(\d+) ", gate["run"])} == (
        set(EXIT_CODES) - {0})


def test_scan_help_lists_every_code() -> None:
    result = invoke("scan", "--help")
    assert result.exit_code == 0
    for code, text in EXIT_CODES.items():
        assert re.search(rf"^\s+{code}\s+{re.escape(text)}$", result.stdout, re.M)


@pytest.fixture
def broken_junit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reporter with a bug: the fault this test injects, not behaviour it fakes."""
    from auditor.reporters import junit

    def render(*args: object) -> str:
        raise KeyError("internal detail of the bug")

    monkeypatch.setattr(junit, "render", render)


def test_a_bug_exits_4_with_one_line_and_leaves_no_report(
    broken_junit: None, tmp_path: Path
) -> None:
    old = tmp_path / "old.json"
    old.write_text("the previous report\n")
    result = invoke("scan", *EXAMPLE, "--json", old, "--junit", tmp_path / "new.xml",
                    "--html", tmp_path / "new.html")
    assert result.exit_code == EXIT_INTERNAL == 4
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("imgaudit: internal error (KeyError)") and "-v" in line
    assert "internal detail" not in line and "Traceback" not in result.stderr
    assert old.read_text() == "the previous report\n"  # rendered first, written after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_a_bug_shows_its_traceback_with_verbose(broken_junit: None, tmp_path: Path) -> None:
    result = invoke("scan", *EXAMPLE, "-v", "--junit", tmp_path / "new.xml")
    assert result.exit_code == 4
    assert "Traceback" in result.stderr and "internal detail of the bug" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("imgaudit: internal error")


def test_a_bug_on_stdout_formats_too(broken_junit: None) -> None:
    result = invoke("scan", *EXAMPLE, "--format", "junit")
    assert (result.exit_code, result.stdout) == (4, "")


def test_a_bug_with_format_json_is_a_json_error_too(broken_junit: None, tmp_path: Path) -> None:
    """docs/errors.md: with --format json every error, a bug too, is one JSON object on stdout."""
    result = invoke("scan", *EXAMPLE, "--format", "json", "--junit", tmp_path / "new.xml")
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {"error": {
        "code": "internal", "message": "internal error (KeyError)", "file": None, "line": None,
        "column": None, "problems": []}}
    assert "internal detail" not in result.stdout + result.stderr


def _wait_blocked_reading(fifo: Path, proc: subprocess.Popen[bytes]) -> int:
    """Open the FIFO's write end once the scan has opened its read end (then it waits in
    read() for data that never comes); returns the write end."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the scan never opened its input")


@pytest.mark.parametrize(("sent", "code", "said"), [
    (signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),
    (signal.SIGTERM, EXIT_TERMINATED, "terminated"),
], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_exits_130_sigterm_143_and_leave_no_report(
    tmp_path: Path, sent: signal.Signals, code: int, said: str
) -> None:
    fifo = tmp_path / "inventory.json"
    os.mkfifo(fifo)
    reports = tmp_path / "reports"
    reports.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "scan", "--input", str(fifo),
         "--json", str(reports / "r.json"), "--html", str(reports / "r.html")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    writer = _wait_blocked_reading(fifo, proc)
    try:
        time.sleep(0.3)
        proc.send_signal(sent)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert proc.returncode == code == 128 + sent
    assert out == b""
    assert err.decode().strip().splitlines()[-1] == f"imgaudit: {said}"
    assert b"Traceback" not in err
    assert list(reports.iterdir()) == []
