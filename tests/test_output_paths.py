"""Report paths behave like a Unix tool's: `-`, symlinks, FIFOs, devices, the same path twice,
and writes that fail (exit 5, one line, no temporary file left)."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke
from fakeecs import FakeEndpoint, image

pytest_plugins = ["fakeecs.fixtures"]

EXAMPLE = ["--input", str(EXAMPLES / "inventory.json"), "--config", str(EXAMPLES / "imgaudit.yaml")]


def leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for folder in folders for p in folder.iterdir() if p.suffix == ".tmp")


def scan_subprocess(*args: str, limit_bytes: int | None = None,
                    **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """`imgaudit scan` on the example in a child process (its own stdout and limits)."""
    def small_files() -> None:  # EFBIG past the limit, as a full disk gives ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if limit_bytes:  # coverage's data file could not be written under the limit either:
        env.pop("COVERAGE_PROCESS_CONFIG", None)  # this child is not measured
    return subprocess.run([sys.executable, "-m", "auditor", "scan", *EXAMPLE, *args],
                          check=False, preexec_fn=small_files if limit_bytes else None,
                          env=env, **kwargs)  # type: ignore[call-overload]


# --- `-` is standard output -------------------------------------------------------------------

@pytest.mark.parametrize("option", ["--json", "--sarif", "--html", "--junit", "--markdown"])
def test_dash_puts_that_report_on_stdout_instead_of_the_text(option: str) -> None:
    result = invoke("scan", *EXAMPLE, option, "-")
    expected = invoke("scan", *EXAMPLE, "--format", option[2:])
    assert result.exit_code == 1 and result.stderr == ""
    assert not result.stdout.startswith("imgaudit ")  # not the text report
    if option == "--json":
        report, same = json.loads(result.stdout), json.loads(expected.stdout)
        for doc in (report, same):
            doc["scan"].pop("started_at"), doc["scan"].pop("finished_at")
            doc["scan"].pop("command_line")
        assert report == same
    else:
        assert result.stdout[:40] == expected.stdout[:40]
    assert not Path("-").exists()


def test_dash_and_other_files_together(tmp_path: Path) -> None:
    result = invoke("scan", *EXAMPLE, "--json", "-", "--sarif", tmp_path / "r.sarif")
    assert json.loads(result.stdout)["schema"] == "imgaudit-report"
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"


def test_save_inventory_to_stdout() -> None:
    result = invoke("scan", *EXAMPLE, "--save-inventory", "-")
    assert result.exit_code == 1
    inventory = json.loads(result.stdout)
    assert sum(len(r["images"]) for r in inventory["regions"]) == 41


@pytest.mark.parametrize("args", [
    ["--json", "-", "--sarif", "-"],
    ["--json", "-", "--format", "text"],
    ["--markdown", "-", "--save-inventory", "-"],
    ["--json", "/dev/stdout", "--format", "json"],
])
def test_two_outputs_on_stdout_are_refused_before_the_scan(args: list[str]) -> None:
    result = invoke("scan", "--input", "missing.json", *args)
    assert result.exit_code == 2
    if "json" in args:  # --format json: the error is also JSON on stdout (docs/errors.md)
        assert json.loads(result.stdout)["error"]["code"] == "usage"
    else:
        assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "would both write standard output" in line  # not the missing input: checked first


def test_format_from_the_config_counts_as_chosen(tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text("format: markdown\n")
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config,
                    "--json", "-")
    assert result.exit_code == 2 and "standard output" in result.stderr


# --- the same file twice ---------------------------------------------------------------------

def test_the_same_file_twice_is_refused_before_anything_runs(tmp_path: Path) -> None:
    report = tmp_path / "report.out"
    link = tmp_path / "link.out"
    link.symlink_to(report)
    cases = [["--json", report, "--sarif", report],
             ["--json", report, "--html", link],
             ["--json", tmp_path / "x" / ".." / "report.out", "--save-inventory", report]]
    (tmp_path / "x").mkdir()
    for args in cases:
        result = invoke("scan", "--input", tmp_path / "missing.json", *args)
        assert result.exit_code == 2, args
        (line,) = result.stderr.splitlines()
        assert f"would both write {report}" in line
    assert not report.exists()


def test_a_hard_link_is_the_same_file(tmp_path: Path) -> None:
    report = tmp_path / "a.json"
    report.write_text("old")
    os.link(report, tmp_path / "b.json")
    result = invoke("scan", *EXAMPLE, "--json", report, "--sarif", tmp_path / "b.json")
    assert result.exit_code == 2 and "would both write" in result.stderr


# --- symlinks, FIFOs and devices -------------------------------------------------------------

def test_a_symlink_writes_through_to_its_target_atomically(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "report.json").write_text("old report")
    os.chmod(real / "report.json", 0o640)
    link = tmp_path / "latest.json"
    link.symlink_to("real/report.json")
    dangling = tmp_path / "new.sarif"
    dangling.symlink_to("real/new.sarif")
    result = invoke("scan", *EXAMPLE, "--json", link, "--sarif", dangling)
    assert result.exit_code == 1, result.stderr
    assert link.is_symlink() and os.readlink(link) == "real/report.json"
    assert json.loads((real / "report.json").read_text())["schema"] == "imgaudit-report"
    assert stat.S_IMODE((real / "report.json").stat().st_mode) == 0o640  # mode kept
    assert dangling.is_symlink() and (real / "new.sarif").is_file()
    assert leftovers(tmp_path, real) == []


def test_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = invoke("scan", *EXAMPLE, "--markdown", fifo, "--json", tmp_path / "r.json")
    reader.join(timeout=30)
    assert result.exit_code == 1, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and received[0].startswith(b"## imgaudit")
    assert (tmp_path / "r.json").is_file() and leftovers(tmp_path) == []

def _socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


@pytest.mark.parametrize(("name", "make", "problem"), [
    ("reports", Path.mkdir, "it is a folder"),
    ("report.sock", _socket, "it is a socket"),
    ("a-file/report.json", lambda p: p.parent.write_text("not a folder"), "Not a directory"),
], ids=["folder", "socket", "under-a-file"])
def test_an_output_path_that_cannot_be_a_report_is_refused_before_the_scan(
    tmp_path: Path, name: str, make: Callable[[Path], object], problem: str,
) -> None:
    path = tmp_path / name
    made = make(path)
    try:
        result = invoke("scan", *EXAMPLE, "--json", path)
    finally:
        if isinstance(made, socket.socket):
            made.close()
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"imgaudit: error: cannot write {path}: {problem}\n"


def test_a_symlink_to_a_character_device_keeps_the_device(tmp_path: Path) -> None:
    """As root, the old code replaced the device with a file. The link points at /dev/null,
    which is only opened for writing, as any shell redirection does."""
    link = tmp_path / "null.json"
    link.symlink_to("/dev/null")
    before = os.stat("/dev/null")
    result = invoke("scan", *EXAMPLE, "--json", link, "--html", "/dev/null")
    assert result.exit_code == 2 and "would both write /dev/null" in result.stderr
    result = invoke("scan", *EXAMPLE, "--json", link)
    assert result.exit_code == 1, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert link.is_symlink() and leftovers(tmp_path, Path("/dev")) == []


def test_dev_stdout_and_stderr_write_through_the_descriptor(tmp_path: Path) -> None:
    """`> out.txt` and `--json /dev/stdout`: both reports end up in out.txt, one after the
    other; resolving the link would have replaced out.txt behind our own stdout."""
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        done = scan_subprocess("--markdown", "/dev/stdout", "--sarif", "/dev/stderr",
                               "--format", "text", stdout=stdout, stderr=subprocess.PIPE)
    assert done.returncode == 2  # --format text and /dev/stdout: two reports on stdout
    with out.open("w") as stdout:
        done = scan_subprocess("--markdown", "/dev/stdout", "--sarif", "/dev/stderr",
                               stdout=stdout, stderr=subprocess.PIPE)
    assert done.returncode == 1, done.stderr
    assert out.read_text().startswith("## imgaudit")
    assert json.loads(done.stderr)["version"] == "2.1.0"


# --- writes that fail -------------------------------------------------------------------------

def test_dev_full_is_one_line_and_exit_5(tmp_path: Path) -> None:
    result = invoke("scan", *EXAMPLE, "--json", "/dev/full", "--html", tmp_path / "r.html")
    assert result.exit_code == 5
    assert result.stderr == "imgaudit: error: cannot write /dev/full: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert (tmp_path / "r.html").is_file()  # files are put in place before devices


def test_a_full_disk_leaves_the_old_report_and_no_temporary_file(tmp_path: Path) -> None:
    old = tmp_path / "report.html"
    old.write_text("the previous report")
    done = scan_subprocess("--html", str(old), "--quiet", limit_bytes=20_000,
                           capture_output=True)
    assert done.returncode == 5
    assert done.stdout == b""  # no verdict printed for a run that lost its report
    assert done.stderr == f"imgaudit: error: cannot write {old}: File too large\n".encode()
    assert old.read_text() == "the previous report"
    assert leftovers(tmp_path) == []


def test_stdout_on_a_full_disk(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = scan_subprocess("--format", "json", stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 5
    assert done.stderr == b"imgaudit: error: cannot write standard output: " \
                          b"No space left on device\n"


def test_a_closed_pipe_on_stdout(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `imgaudit scan | head -0`: the reader is gone
    try:
        done = scan_subprocess("--json", str(tmp_path / "r.json"), stdout=write_end,
                               stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert done.returncode == 5
    assert done.stderr == b"imgaudit: error: cannot write standard output: Broken pipe\n"
    assert (tmp_path / "r.json").is_file()  # the files do not depend on the pipe's reader


def test_collect_to_stdout(fake: FakeEndpoint, env_keys: None,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-1"), image("m-2")])
    monkeypatch.setenv("IMGAUDIT_STS_ENDPOINT", fake.url)
    result = invoke("collect", "--region", "cn-hangzhou", "--endpoint", fake.url, "-o", "-")
    assert result.exit_code == 0, result.stderr
    (region,) = json.loads(result.stdout)["regions"]
    assert sorted(i["ImageId"] for i in region["images"]) == ["m-1", "m-2"]


def test_a_closed_descriptor_is_refused_before_collecting() -> None:
    # the highest descriptor the process may have: never handed out while a lower one is free
    # (a fixed 97 was open once the session had run enough in-process CLI runs; one above the
    # highest open was taken by the run itself, or another thread, under pytest-xdist)
    fd = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1
    with pytest.raises(OSError):
        os.fstat(fd)
    result = invoke("collect", "--region", "cn-hangzhou", "-o", f"/dev/fd/{fd}")
    assert result.exit_code == 2
    assert result.stderr == f"imgaudit: error: cannot write /dev/fd/{fd}: Bad file descriptor\n"
