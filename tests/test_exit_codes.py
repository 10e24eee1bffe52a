"""Exit codes: one table (auditor/errors.py), and failures that are never verdicts.

A bug exits 4 with one line, Ctrl-C exits 130, SIGTERM 143, and none leaves a report behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import EXAMPLES, REPO, invoke
from fakeecs import many_images

from auditor.cli.interrupts import GRACE
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
    """Open the FIFO's write end the moment the scan has opened its read end (it then goes on
    into read(), for data that never comes); returns the write end."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)
    raise AssertionError("the scan never opened its input")


ROUNDS = 6


@pytest.mark.parametrize(("sent", "code", "said"), [
    (signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),
    (signal.SIGTERM, EXIT_TERMINATED, "terminated"),
], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_exits_130_sigterm_143_and_leave_no_report(
    tmp_path: Path, sent: signal.Signals, code: int, said: str
) -> None:
    """The signal comes as the scan goes from opening its input to reading it. CPython runs a
    signal's handler between bytecodes: one that landed just before read() blocked waited for
    read() to return, never for a FIFO without data (1 run in 10 under load). A few rounds."""
    for round_ in range(ROUNDS):
        folder = tmp_path / str(round_)
        reports = folder / "reports"
        reports.mkdir(parents=True)
        fifo = folder / "inventory.json"
        os.mkfifo(fifo)
        proc = subprocess.Popen(
            [sys.executable, "-m", "auditor", "scan", "--input", str(fifo),
             "--json", str(reports / "r.json"), "--html", str(reports / "r.html")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder)
        writer = _wait_blocked_reading(fifo, proc)
        try:
            proc.send_signal(sent)
            out, err = proc.communicate(timeout=30)
        finally:
            os.close(writer)
        assert proc.returncode == code == 128 + sent
        assert out == b""
        assert err.decode().strip().splitlines()[-1] == f"imgaudit: {said}"
        assert b"Traceback" not in err
        assert list(reports.iterdir()) == []


# Runs imgaudit as `python -m auditor` does, with a Ctrl-C arriving as MODULE starts to import.
_CTRL_C_WHILE_IMPORTING = """
import os, runpy, signal, sys

MODULE = sys.argv[1]

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (not inherited)
sys.meta_path.insert(0, CtrlC())
sys.argv = ["imgaudit", "rules", "list"]
runpy.run_module("auditor", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module", ["auditor.cli.commands", "click", "pydantic"])
def test_ctrl_c_while_the_modules_load_exits_130_without_a_traceback(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_IMPORTING, module],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert (done.returncode, done.stdout, done.stderr) == (EXIT_INTERRUPTED, "",
                                                           "imgaudit: interrupted\n")


def _scan_stalled_on_stdout(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A scan writing a large `--format json` report into a pipe nobody reads, blocked once
    the pipe is full; what it writes after a Ctrl-C (the JSON error object) blocks too.
    Returns the process and the pipe's read end."""
    inventory = tmp_path / "page.json"
    images = many_images("s", 300)  # a report of ~500 kB: far more than a pipe holds
    inventory.write_text(json.dumps({"RegionId": "cn-hangzhou", "TotalCount": len(images),
                                     "PageNumber": 1, "PageSize": len(images),
                                     "Images": {"Image": images}}))
    reader, writer = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "scan", "--input", str(inventory), "--format", "json",
         "--json", str(tmp_path / "r.json")],
        stdout=writer, stderr=subprocess.PIPE, cwd=tmp_path)
    os.close(writer)
    full = fcntl.fcntl(reader, fcntl.F_GETPIPE_SZ) - 4096  # pieces do not fill every page
    queued = bytearray(4)
    deadline = time.monotonic() + 60
    while int.from_bytes(queued, sys.byteorder) < full:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
        fcntl.ioctl(reader, termios.FIONREAD, queued)
    return proc, reader


def _stderr_line(proc: subprocess.Popen[bytes], line: bytes) -> bytes:
    """What the process wrote on stderr up to and including `line`."""
    assert proc.stderr is not None
    seen = b""
    while not seen.endswith(line + b"\n"):
        ready, _, _ = select.select([proc.stderr], [], [], 30)
        assert ready, f"no {line!r} on stderr: {seen!r}"
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, f"stderr ended without {line!r}: {seen!r}"
        seen += chunk
    return seen


def test_the_first_ctrl_c_ends_the_run_even_when_its_clean_up_blocks(tmp_path: Path) -> None:
    """Ctrl-C while stdout is stalled: the JSON error object cannot be written either. The run
    still ends, within GRACE seconds, with 130 and no temporary file (it used to hang)."""
    proc, reader = _scan_stalled_on_stdout(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=GRACE + 30)
    finally:
        os.close(reader)
    assert proc.returncode == EXIT_INTERRUPTED
    assert err.decode().strip().splitlines()[-1] == "imgaudit: interrupted"
    assert b"Traceback" not in err
    assert leftovers(tmp_path) == []


def test_a_second_ctrl_c_ends_the_run_at_once(tmp_path: Path) -> None:
    """The first Ctrl-C is being handled (its clean-up blocks on the stalled stdout); a second
    ends the run at once: 130, no traceback, no temporary file, well before GRACE."""
    proc, reader = _scan_stalled_on_stdout(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        first = _stderr_line(proc, b"imgaudit: interrupted")
        pressed = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        waited = time.monotonic() - pressed
    finally:
        os.close(reader)
    assert proc.returncode == EXIT_INTERRUPTED
    assert (first + err).decode().strip().splitlines()[-1] == "imgaudit: interrupted"
    assert b"Traceback" not in first + err
    assert leftovers(tmp_path) == []
    assert waited < GRACE  # the second press ended it, not the first one's deadline


def test_the_console_script_flushes_every_output_before_its_fast_exit(tmp_path: Path) -> None:
    """`python -m auditor` ends with os._exit (auditor/gcpause.py): the report on a standard
    output redirected to a file (block-buffered), the file report and the warnings on standard
    error are whole, and the exit code is the verdict's."""
    page = {"RegionId": "cn-hangzhou", "TotalCount": 3000, "PageNumber": 1, "PageSize": 3000,
            "RequestId": "R-1", "Images": {"Image": many_images("fx", 3000, IsPublic=True)}}
    inventory = tmp_path / "page.json"
    inventory.write_text(json.dumps(page), encoding="utf-8")
    out = tmp_path / "stdout.json"
    with out.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "auditor", "scan", "--input", str(inventory), "--format",
             "json", "--sarif", str(tmp_path / "r.sarif"), "--rule", "IMG-PUBLIC-SELF", "-v"],
            stdout=stdout, stderr=subprocess.PIPE, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    report = json.loads(out.read_bytes())  # whole: it parses
    assert len(report["findings"]) == 3000
    sarif = json.loads((tmp_path / "r.sarif").read_bytes())
    assert len(sarif["runs"][0]["results"]) == 3000
    assert done.stderr.endswith(b"INFO: wrote sarif report to " + bytes(tmp_path / "r.sarif")
                                + b"\n")  # the last line logged


def test_the_console_script_skips_the_interpreter_teardown() -> None:
    """The fast exit is in effect: an exit handler (which the interpreter's teardown would
    run) never runs after `auditor.cli.run`, whose code is still the command's."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('torn down\\n'))\n"
            "from auditor.cli import run\n"
            f"sys.argv = ['imgaudit', 'scan', *{EXAMPLE!r}, '--format', 'json']\n"
            "run()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["findings"]
    assert b"torn down" not in done.stderr


def test_main_in_a_process_that_goes_on_keeps_nothing_for_an_exit() -> None:
    """Only the console script exits fast: `main` (a test session, an embedding program)
    lets the scan's results go as usual."""
    from auditor import gcpause

    before = len(gcpause._kept)
    result = invoke("scan", *EXAMPLE, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["findings"]
    assert len(gcpause._kept) == before == 0
