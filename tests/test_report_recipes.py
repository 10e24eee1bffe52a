"""The recipes of docs/ci-recipes.md, run as far as this machine allows (no GitHub, GitLab or cron)."""

from __future__ import annotations

import json
import re
import resource
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ci-recipes.md"
SCRIPT = REPO / "scripts" / "imgaudit-periodic.sh"
EXAMPLE = ["--input", str(REPO / "examples/inventory.json"),
           "--config", str(REPO / "examples/imgaudit.yaml")]
REGIONS = "--region cn-hangzhou --region cn-shanghai"
BIN = Path(sys.executable).parent


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def block_starting(prefix: str) -> str:
    [body] = [body for _, body in blocks() if body.startswith(prefix)]
    return body


def run_scan(command: str, cwd: Path) -> int:
    """The recipe's `imgaudit scan` command, on the example inventory instead of live regions."""
    args = shlex.split(command.replace(REGIONS, ""))
    assert args[:2] == ["imgaudit", "scan"]
    done = subprocess.run([sys.executable, "-m", "auditor", *args[1:], *EXAMPLE], cwd=cwd,
                          capture_output=True, text=True, check=False)
    assert done.stderr == ""
    return done.returncode


def test_the_documented_script_is_the_shipped_one():
    assert block_starting("#!/bin/sh") == SCRIPT.read_text(encoding="utf-8")


def test_no_recipe_installs_the_users_own_repository():
    """`pip install .` in a CI job installs the user's repository, not imgaudit."""
    commands = [line for _, body in blocks() for line in body.splitlines() if "pip install" in line]
    assert commands and not [c for c in commands if re.search(r"pip install \.(\s|$)", c)]


def test_gitlab_job_publishes_a_junit_report(tmp_path):
    job = yaml.safe_load(block_starting("imgaudit:"))["imgaudit"]
    assert job["image"]["entrypoint"] == [""]  # the image's entrypoint is imgaudit itself
    assert run_scan(job["script"][-1], tmp_path) == 1
    junit = JUnitXml.fromfile(str(tmp_path / job["artifacts"]["reports"]["junit"]))
    junit.update_statistics()
    assert junit.failures > 0 and junit.errors == 0
    for name in job["artifacts"]["paths"]:
        assert (tmp_path / name).exists()


@pytest.mark.skipif(not (BIN / "imgaudit").exists(), reason="imgaudit is not installed")
def test_periodic_script_in_crons_bare_environment(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("ALIBABA_CLOUD_ACCESS_KEY_ID=AKID\nALIBABA_CLOUD_ACCESS_KEY_SECRET=x\n")
    cron = block_starting("PATH=").splitlines()[-1]
    command = cron.split(" ", 6)[6]  # after the five time fields and the user
    command = command.replace("/etc/imgaudit/env", str(env_file)).replace(
        "imgaudit-periodic " + REGIONS, f"{SCRIPT} {shlex.join(EXAMPLE)}")
    reports = tmp_path / "reports"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh",
           "IMGAUDIT_REPORTS": str(reports)}
    codes = []
    for _ in range(2):
        codes.append(subprocess.run(["/bin/sh", "-c", command], env=env, check=False).returncode)
        time.sleep(1.1)  # the file names carry the time to the second
    assert codes == [1, 0]  # first: findings; second: nothing new since the first
    jsons = sorted(reports.glob("imgaudit-*.json"))
    assert len(jsons) == 2 and len(list(reports.glob("imgaudit-*.html"))) == 2
    assert (reports / "latest.json").resolve() == jsons[1]
    second = json.loads(jsons[1].read_text(encoding="utf-8"))
    assert second["baseline"]["path"] == str(jsons[0])
    assert second["baseline"]["new"] == 0 and second["baseline"]["unchanged"] > 0
    assert "New since baseline" in (reports / "latest.html").read_text(encoding="utf-8")


@pytest.mark.skipif(not (BIN / "imgaudit").exists(), reason="imgaudit is not installed")
def test_periodic_script_never_takes_an_incomplete_or_failed_run_as_baseline(tmp_path):
    inventory = json.loads((REPO / "examples/inventory.json").read_text(encoding="utf-8"))
    inventory["regions"][0].update(complete=False, errors=["Throttling (RequestId R-1)"])
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps(inventory), encoding="utf-8")
    reports = tmp_path / "reports"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path),
           "IMGAUDIT_REPORTS": str(reports)}
    codes = []
    runs = [(["--input", str(tmp_path / "missing.json")], None),
            (["--input", str(incomplete)], None),
            (EXAMPLE, small_files)]  # a full disk: the reports cannot be written
    for args, limit in runs:
        done = subprocess.run([str(SCRIPT), *args], env=env, check=False, preexec_fn=limit,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        codes.append(done.returncode)
        time.sleep(1.1)
    assert codes == [2, 3, 5]
    for kind in ("html", "json"):  # the incomplete run's are kept; the failed run left none
        assert len(list(reports.glob(f"imgaudit-*.{kind}"))) == 1
    assert not list(reports.glob(".*.tmp"))
    assert not (reports / "latest.json").exists()


def small_files() -> None:
    """In the child: files cannot grow past 20 kB (EFBIG, as on a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
