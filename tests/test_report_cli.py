"""Every report format and the baseline through `imgaudit scan`, as a CI job runs them."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest
from cli_helpers import TWO_RULES, invoke
from junitparser import JUnitXml
from sarif_checks import github_problems, schema_errors

from auditor.errors import EXIT_POLICY, EXIT_USAGE

CONFIG = textwrap.dedent("""\
    waivers:
      - rule: T-PUBLIC
        images: [m-golden]
        reason: shared on purpose
        owner: platform-team
        expires: 2099-12-31
    """)
FORMATS = ("json", "sarif", "html", "junit", "markdown")


def _image(image_id: str, *, public: bool = False, nvme: str = "supported") -> dict:
    return {"ImageId": image_id, "ImageName": f"name-{image_id}", "ImageOwnerAlias": "self",
            "IsPublic": public, "Features": {"NvmeSupport": nvme}, "ImageOwnerId": 1234567890}


def write_images(path: Path, *extra: dict) -> None:
    images = [_image("m-ok"), _image("m-pub", public=True), _image("m-golden", public=True),
              _image("m-old", nvme="unsupported"), *extra]
    doc = {"RequestId": "R-1", "RegionId": "cn-hangzhou", "TotalCount": len(images),
           "Images": {"Image": images}}
    path.write_text(json.dumps(doc), encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_images(tmp_path / "images.json")
    (tmp_path / "rules.yaml").write_text(TWO_RULES, encoding="utf-8")
    (tmp_path / "imgaudit.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "out").mkdir()
    return tmp_path


def scan(*args: str):
    return invoke("scan", "--input", "images.json", "--no-builtin-rules", "--rules", "rules.yaml",
                  *args)


def test_all_formats_in_one_run(workdir: Path) -> None:
    files = [arg for fmt in FORMATS for arg in (f"--{fmt}", f"out/report.{fmt}")]
    result = scan("--format", "sarif", *files)
    assert result.exit_code == EXIT_POLICY
    out = workdir / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"report.{f}" for f in FORMATS)
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    assert json.loads(result.stdout)["runs"][0]["results"] == sarif["runs"][0]["results"]
    assert schema_errors(sarif) == [] and github_problems(sarif) == []
    assert len(sarif["runs"][0]["results"]) == 3
    assert sum("suppressions" in r for r in sarif["runs"][0]["results"]) == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["schema"] == "imgaudit-report" and len(report["findings"]) == 3
    junit = JUnitXml.fromfile(str(out / "report.junit"))
    assert sorted(case.name for suite in junit for case in suite if case.name.startswith("T-")) \
        == ["T-NVME: NVMe", "T-PUBLIC: Custom images are private"]
    assert "fails the gate" in (out / "report.markdown").read_text(encoding="utf-8")
    assert 'id="data"' in (out / "report.html").read_text(encoding="utf-8")


def test_sarif_can_leave_waived_findings_out(workdir: Path) -> None:
    result = scan("--format", "sarif", "--no-sarif-suppressed")
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["T-PUBLIC", "T-NVME"]
    assert all("suppressions" not in r for r in results)


def test_baseline_gate_fails_only_on_new_findings(workdir: Path) -> None:
    assert scan("--json", "out/prev.json").exit_code \
        == EXIT_POLICY
    same = scan("--baseline", "out/prev.json", "--markdown", "out/same.md")
    assert same.exit_code == 0, same.stdout + same.stderr
    assert "0 new, 3 unchanged, 0 fixed" in same.stdout
    assert "0 new, 3 unchanged, 0 fixed" in (workdir / "out/same.md").read_text(encoding="utf-8")

    write_images(workdir / "images.json", _image("m-new", nvme="unsupported"))
    worse = scan("--baseline", "out/prev.json", "--format", "sarif", "--html", "out/worse.html")
    assert worse.exit_code == EXIT_POLICY
    states = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1]
              + " " + r["ruleId"]: r["baselineState"]
              for r in json.loads(worse.stdout)["runs"][0]["results"]}
    assert states == {"m-pub T-PUBLIC": "unchanged", "m-golden T-PUBLIC": "unchanged",
                      "m-old T-NVME": "unchanged", "m-new T-NVME": "new"}
    assert 'data-count="new">1<' in (workdir / "out/worse.html").read_text(encoding="utf-8")

    below = scan("--baseline", "out/prev.json", "--fail-on", "high")
    assert below.exit_code == 0  # the only new finding is low


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ('{"version": "2.1.0", "runs": []}', "not an imgaudit JSON report"),
    ('{"schema": "imgaudit-report", "schema_version": 2}', "schema version 2 is not supported"),
])
def test_bad_baseline_exits_2(workdir: Path, content: str, message: str) -> None:
    (workdir / "bad.json").write_text(content, encoding="utf-8")
    result = scan("--baseline", "bad.json", "--html", "out/r.html")
    assert result.exit_code == EXIT_USAGE
    assert "bad.json" in result.stderr and message in result.stderr
    assert result.stdout == "" and not (workdir / "out/r.html").exists()


def test_baseline_of_another_scope_exits_2(workdir: Path) -> None:
    assert scan("--json", "out/prev.json").exit_code == EXIT_POLICY
    doc = json.loads((workdir / "images.json").read_text(encoding="utf-8"))
    doc["RegionId"] = "cn-shanghai"
    (workdir / "images.json").write_text(json.dumps(doc), encoding="utf-8")
    result = scan("--baseline", "out/prev.json")
    assert result.exit_code == EXIT_USAGE
    assert "different scope" in result.stderr and "cn-hangzhou vs cn-shanghai" in result.stderr


@pytest.mark.parametrize("option", ["--baseline", "--sarif"])
def test_bad_paths_fail_before_any_api_call(workdir: Path, option: str) -> None:
    """Port 9 on loopback refuses connections: a call would make the scan incomplete (3)."""
    result = invoke("scan", "--region", "cn-hangzhou", "--endpoint", "http://127.0.0.1:9",
                    "--no-builtin-rules", "--rules", "rules.yaml", option, "missing/dir/x.json",
                    env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "AKID",
                         "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"})
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert "missing/dir/x.json" in result.stderr


def test_reports_replace_old_files_and_leave_no_temporary_files(workdir: Path) -> None:
    (workdir / "out/report.html").write_text("old", encoding="utf-8")
    scan("--html", "out/report.html", "--sarif", "out/report.sarif")
    assert sorted(p.name for p in (workdir / "out").iterdir()) == ["report.html", "report.sarif"]
    assert (workdir / "out/report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_new_reports_follow_the_umask_and_replaced_ones_keep_their_mode(workdir: Path) -> None:
    old = workdir / "out/old.html"
    old.write_text("old", encoding="utf-8")
    old.chmod(0o600)
    umask = os.umask(0o022)
    try:
        scan("--html", "out/old.html", "--sarif", "out/new.sarif")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE((workdir / "out/new.sarif").stat().st_mode) == 0o644


def test_a_report_whose_findings_name_rules_it_lacks_is_no_baseline(workdir: Path) -> None:
    """AuditResult is checked once where it is read: every finding's rule is in `rules`
    (the reporters look each one up there)."""
    assert scan("--json", "out/prev.json").exit_code == EXIT_POLICY
    report = json.loads((workdir / "out/prev.json").read_text(encoding="utf-8"))
    report["rules"] = [r for r in report["rules"] if r["id"] != "T-PUBLIC"]
    (workdir / "edited.json").write_text(json.dumps(report), encoding="utf-8")
    result = scan("--baseline", "edited.json")
    assert result.exit_code == EXIT_USAGE and result.stdout == ""
    assert ("edited.json: not a valid imgaudit JSON report: (top level): Value error, "
            "findings of rules missing from `rules`: T-PUBLIC") in result.stderr


@pytest.mark.parametrize(("fail_on", "title"), [
    ("never", "## imgaudit: ⚠️ incomplete scan, no verdict (fail on never and above)"),
    ("low", "## imgaudit: ❌ fails the gate (fail on low and above)")])
def test_markdown_never_says_an_incomplete_scan_passes(tmp_path: Path, fail_on: str,
                                                       title: str) -> None:
    """Exit 3 whatever else: the title says no verdict, or the failures it already has."""
    inventory = json.loads(Path(__file__).parent.parent.joinpath(
        "examples", "inventory.json").read_text(encoding="utf-8"))
    inventory["regions"][0].update(complete=False, errors=["Throttling (RequestId R-1)"])
    path = tmp_path / "incomplete.json"
    path.write_text(json.dumps(inventory), encoding="utf-8")
    result = invoke("scan", "--input", path, "--fail-on", fail_on, "--format", "markdown")
    assert result.exit_code == 3
    assert result.stdout.startswith(title + "\n\n> [!CAUTION]\n> **Incomplete scan**: ")
