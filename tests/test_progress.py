"""Progress while collecting: a status line on a terminal's stderr, nothing otherwise."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakeecs import FakeEndpoint, cli_env, many_images

pytest_plugins = ["fakeecs.fixtures"]


def _collect(fake: FakeEndpoint, home: Path, out: Path, *flags: str,
             tty: bool) -> tuple[int, str]:
    """Run `imgaudit collect` as a process, stderr on a pseudo-terminal or on a pipe."""
    env = cli_env(fake.url, home)
    args = [sys.executable, "-m", "auditor", "collect", "--region", "all", "--endpoint",
            fake.url, "-o", str(out), *flags]
    if not tty:
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait()
    os.close(leader)
    return code, b"".join(chunks).decode()


@pytest.fixture
def two_regions(fake: FakeEndpoint) -> FakeEndpoint:
    fake.cloud.add_images("cn-hangzhou", many_images("h", 250))
    fake.cloud.add_images("cn-shanghai", many_images("s", 30))
    return fake


def test_a_terminal_sees_regions_pages_and_images(two_regions: FakeEndpoint, clean_env: Path,
                                                  tmp_path: Path) -> None:
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", tty=True)
    assert code == 0, stderr
    last = stderr.replace("\r\n", "\n").split("\r")[-1]
    regions = len(two_regions.cloud.regions)  # the fake also has empty regions
    assert f"regions {regions}/{regions}, " in last and ", 280 images" in last


@pytest.mark.parametrize(("flags", "tty"), [((), False), (("--quiet",), True)])
def test_no_progress_on_a_pipe_or_when_quiet(two_regions: FakeEndpoint, clean_env: Path,
                                             tmp_path: Path, flags: tuple[str, ...],
                                             tty: bool) -> None:
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", *flags, tty=tty)
    assert code == 0
    assert "regions" not in stderr


def _log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("imgaudit: collect")]


def test_a_log_gets_a_plain_line_per_interval(two_regions: FakeEndpoint, clean_env: Path,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGAUDIT_PROGRESS_INTERVAL", "0")  # every report of the collector
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", tty=False)
    assert code == 0, stderr
    every = _log_lines(stderr)
    regions = len(two_regions.cloud.regions)
    assert "\r" not in stderr and "\033" not in stderr
    assert every[-1].startswith(f"imgaudit: collected: regions {regions}/{regions}, ")
    assert every[-1].endswith(" s") and ", 280 images in " in every[-1]
    assert len(every) > regions and all(
        re.fullmatch(r"imgaudit: collecting: regions (…|\d+/\d+), \d+ pages, \d+ images", line)
        for line in every[:-1])

    two_regions.cloud.latency = 0.4  # each call takes 0.4 s; a line at most every 0.6 s
    monkeypatch.setenv("IMGAUDIT_PROGRESS_INTERVAL", "0.6")
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", tty=False)
    assert code == 0, stderr
    spaced = _log_lines(stderr)
    assert 1 <= len(spaced) - 1 < len(every) - 1
    assert spaced[-1].startswith("imgaudit: collected: ")


def test_a_quick_collection_logs_nothing_and_quiet_never(two_regions: FakeEndpoint,
                                                         clean_env: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", tty=False)
    assert (code, _log_lines(stderr)) == (0, [])  # well under the default 10 s
    monkeypatch.setenv("IMGAUDIT_PROGRESS_INTERVAL", "0")
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", "-q", tty=False)
    assert (code, stderr) == (0, "")


def test_a_bad_interval_is_a_usage_error(two_regions: FakeEndpoint, clean_env: Path,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGAUDIT_PROGRESS_INTERVAL", "soon")
    code, stderr = _collect(two_regions, clean_env, tmp_path / "inv.json", tty=False)
    assert code == 2
    assert stderr == ("imgaudit: error: IMGAUDIT_PROGRESS_INTERVAL='soon': expected a number of "
                      "seconds (0 or more)\n")
