"""The recipes of docs/ci-recipes.md, run as far as this machine allows (no GitHub, GitLab or cron)."""

from __future__ import annotations

import json
import os
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
    runs = history_runs(reports / "history.sqlite")  # beside the reports, both runs recorded
    first = json.loads(jsons[0].read_text(encoding="utf-8"))
    assert [(r["complete"], r["new"]) for r in runs] == [(True, len(first["findings"])), (True, 0)]
    assert second["history"]["previous_run"] == runs[0]["id"]
    assert {f["first_seen_run"] for f in second["findings"]} == {runs[0]["id"]}


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
    # the full disk: the history, recorded before the reports are written, cannot grow
    assert codes == [2, 3, 2]
    for kind in ("html", "json", "txt"):  # the incomplete run's are kept; the failed runs left none
        assert len(list(reports.glob(f"imgaudit-*.{kind}"))) == 1
    assert not list(reports.glob(".*.tmp"))
    assert not (reports / "latest.json").exists()
    [run] = history_runs(reports / "history.sqlite")  # only the incomplete run, marked so
    assert run["complete"] is False and run["incomplete_regions"]


def history_runs(path: Path) -> list[dict]:
    done = subprocess.run([str(BIN / "imgaudit"), "history", "list", "--format", "json",
                           "--history", str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["runs"]


def periodic(reports: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """One run of the script in a bare environment, on the example inventory by default."""
    environ = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(reports.parent),
               "IMGAUDIT_REPORTS": str(reports), **env}
    return subprocess.run([str(SCRIPT), *(args or EXAMPLE)], env=environ, capture_output=True,
                          text=True, check=False)


@pytest.mark.skipif(not (BIN / "imgaudit").exists(), reason="imgaudit is not installed")
def test_periodic_script_errors_leave_the_history_as_it_was(tmp_path):
    reports = tmp_path / "reports"
    assert periodic(reports).returncode == 1
    history = reports / "history.sqlite"
    before = history.read_bytes()
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("fail_on: sometimes\n", encoding="utf-8")
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("rules:\n  - id: X\n    require: {field: Size, op: nope}\n",
                         encoding="utf-8")
    failures = [periodic(reports, "--input", str(tmp_path / "missing.json")),
                periodic(reports, *EXAMPLE[:2], "--config", str(bad_config)),
                periodic(reports, *EXAMPLE, "--rules", str(bad_rules))]
    for done in failures:
        assert done.returncode == 2 and "error" in done.stderr, done.stderr
    assert history.read_bytes() == before and len(history_runs(history)) == 1
    assert len(list(reports.glob("imgaudit-*"))) == 3  # the first run's html, json, txt
    not_a_history = tmp_path / "notes.sqlite"
    not_a_history.write_text("my notes\n", encoding="utf-8")
    done = periodic(reports, IMGAUDIT_HISTORY=str(not_a_history))
    assert done.returncode == 2 and "not an imgaudit history" in done.stderr
    assert not_a_history.read_text(encoding="utf-8") == "my notes\n"
    done = periodic(reports, IMGAUDIT_KEEP_DAYS="a year")
    assert done.returncode == 2 and "IMGAUDIT_KEEP_DAYS" in done.stderr
    assert history.read_bytes() == before and len(list(reports.glob("imgaudit-*"))) == 3


@pytest.mark.skipif(not (BIN / "imgaudit").exists(), reason="imgaudit is not installed")
def test_periodic_script_prunes_old_runs_and_reports(tmp_path):
    reports = tmp_path / "reports"
    year_ago = time.time() - 2 * 365 * 86400
    old_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(year_ago))
    assert periodic(reports, IMGAUDIT_NOW=old_time).returncode == 1  # a run two years ago
    old = sorted(reports.glob("imgaudit-*"))
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime(year_ago))
    assert [p.name for p in old] == [f"imgaudit-{stamp}.{kind}" for kind in ("html", "json", "txt")]
    for path in old:
        os.utime(path, (year_ago, year_ago))
    time.sleep(1.1)
    # the images' ages differ two years on: findings new since then fail (1)
    assert periodic(reports, IMGAUDIT_KEEP_DAYS="0").returncode == 1  # 0: keep everything
    assert len(history_runs(reports / "history.sqlite")) == 2 and all(p.exists() for p in old)
    time.sleep(1.1)
    assert periodic(reports, IMGAUDIT_KEEP_DAYS="400").returncode == 0
    runs = history_runs(reports / "history.sqlite")
    assert len(runs) == 2 and runs[0]["started_at"] > old_time  # the old run forgotten
    assert not any(p.exists() for p in old)
    assert len(list(reports.glob("imgaudit-*"))) == 6  # this run's and the one before's
    # an incomplete run records too, so it prunes; the history keeps the open findings
    time.sleep(1.1)
    inventory = json.loads((REPO / "examples/inventory.json").read_text(encoding="utf-8"))
    inventory["regions"][0].update(complete=False, errors=["Throttling (RequestId R-1)"])
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps(inventory), encoding="utf-8")
    done = periodic(reports, "--input", str(incomplete), IMGAUDIT_KEEP_DAYS="1")
    assert done.returncode == 3, done.stderr
    assert [r["complete"] for r in history_runs(reports / "history.sqlite")] == [True, True, False]


@pytest.mark.skipif(not (BIN / "imgaudit").exists(), reason="imgaudit is not installed")
def test_periodic_script_names_its_reports_after_imgaudit_now(tmp_path):
    """A replayed run's files carry its IMGAUDIT_NOW time (in UTC), like the scan inside."""
    reports = tmp_path / "reports"
    done = periodic(reports, IMGAUDIT_NOW="2026-11-27T16:00:05+08:00")
    assert done.returncode == 1, done.stderr
    name = "imgaudit-2026-11-27T080005Z"
    assert sorted(p.name for p in reports.glob("imgaudit-*")) == [
        f"{name}.html", f"{name}.json", f"{name}.txt"]
    report = json.loads((reports / f"{name}.json").read_text(encoding="utf-8"))
    assert report["scan"]["started_at"] == "2026-11-27T08:00:05Z"
    assert os.readlink(reports / "latest.json") == f"{name}.json"
    done = periodic(reports, IMGAUDIT_NOW="the day after tomorrow")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("imgaudit-periodic: IMGAUDIT_NOW=the day after tomorrow: expected an "
                           "ISO 8601 time with its zone, such as 2026-11-27T08:00:00Z\n")
    assert len(list(reports.glob("imgaudit-*"))) == 3 and len(history_runs(
        reports / "history.sqlite")) == 1


def small_files() -> None:
    """In the child: files cannot grow past 20 kB (EFBIG, as on a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
