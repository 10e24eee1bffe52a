"""`imgaudit scan --input` end to end through the CLI: exit codes, formats, config, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke
from report_samples import sample_result

from auditor.findings import SEVERITIES, FailOn

RULE = textwrap.dedent("""\
    id: T-PUBLIC
    title: Custom images are private
    severity: high
    when: {ImageOwnerAlias: self}
    require: {IsPublic: false}
    message: "{{ image.ImageId }} is public"
    ---
    id: T-NVME
    title: NVMe
    severity: low
    require: {Features.NvmeSupport: supported}
    message: "{{ image.ImageId }} lacks NVMe"
    """)


def _image(image_id: str, *, public: bool = False, nvme: str = "supported") -> dict:
    return {"ImageId": image_id, "ImageName": f"name-{image_id}", "ImageOwnerAlias": "self",
            "IsPublic": public, "Features": {"NvmeSupport": nvme}, "ImageOwnerId": 1234567890}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with one raw response and a two-rule rule file."""
    monkeypatch.chdir(tmp_path)
    images = [_image("m-ok"), _image("m-pub", public=True), _image("m-old", nvme="unsupported")]
    doc = {"RequestId": "R-1", "RegionId": "cn-hangzhou", "TotalCount": 3,
           "Images": {"Image": images}}
    (tmp_path / "images.json").write_text(json.dumps(doc))
    (tmp_path / "rules.yaml").write_text(RULE)
    return tmp_path


def scan(*args: str, env: dict[str, str] | None = None):
    return invoke("scan", "--input", "images.json", "--no-builtin-rules", "--rules", "rules.yaml",
                  *args, env=env)


def test_findings_fail_the_default_gate_and_print_grouped_text(workdir: Path) -> None:
    result = scan()
    assert result.exit_code == 1
    assert result.stderr == ""
    out = result.stdout
    assert out.index("HIGH (1)") < out.index("LOW (1)")
    assert "T-PUBLIC  Custom images are private (1)" in out
    assert "    cn-hangzhou  m-pub is public\n" in out  # the message names the image
    assert "2 findings (0 critical, 1 high, 0 medium, 1 low, 0 info), 0 waived" in out
    assert "FAILED" in out and "\033[" not in out


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1), ("low", 1),
                                               ("never", 0)])
def test_fail_on_sets_the_gate(workdir: Path, fail_on: str, code: int) -> None:
    assert scan("--fail-on", fail_on).exit_code == code


@pytest.mark.parametrize("fail_on", [*SEVERITIES, "never"])
@pytest.mark.parametrize("state", [None, "new", "unchanged"])
def test_a_result_fails_when_it_has_a_gate_failure(fail_on: FailOn, state: str | None) -> None:
    """`AuditResult.fails` (the exit code's) answers what the list of gate failures does."""
    sample = sample_result().model_copy(update={"fail_on": fail_on})
    result = sample.model_copy(update={"findings": [
        f.model_copy(update={"baseline_state": state}) for f in sample.findings]})
    assert result.fails == bool(result.gate_failures)
    assert result.fails == (fail_on != "never" and state != "unchanged")  # open at each level


def test_json_to_stdout_and_to_a_file_are_the_same_report(workdir: Path) -> None:
    result = scan("--format", "json", "--json", "out.json")
    report = json.loads(result.stdout)
    assert json.loads((workdir / "out.json").read_text()) == report
    assert report["schema"] == "imgaudit-report" and report["schema_version"] == 1
    assert report["scan"]["images"] == 3 and report["scan"]["complete"] is True
    assert report["scan"]["account_id"] == "1234567890"
    public = next(f for f in report["findings"] if f["rule_id"] == "T-PUBLIC")
    assert public["image_id"] == "m-pub" and public["severity"] == "high"
    assert public["resource"] == "acs:ecs:cn-hangzhou:1234567890:image/m-pub"
    assert public["evidence"][0]["path"] == "IsPublic"
    assert public["evidence"][0]["actual"] is True
    assert len(public["fingerprint"]) == 32


def test_config_env_and_command_line_precedence(workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text("fail_on: never\n")
    assert scan().exit_code == 0                                       # config file
    assert scan(env={"IMGAUDIT_FAIL_ON": "low"}).exit_code == 1        # env beats config
    assert scan("--fail-on", "critical",
                env={"IMGAUDIT_FAIL_ON": "low"}).exit_code == 0        # command line beats env


def test_waivers_suppress_expire_and_go_stale(workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text(textwrap.dedent("""\
        waivers:
          - {rule: T-PUBLIC, images: [m-pub], reason: partner programme, owner: alice,
             expires: 2999-01-01}
          - {rule: T-NVME, images: ["m-o*"], reason: legacy, owner: bob, expires: 2999-01-01}
          - {rule: T-NVME, images: [m-gone], reason: old, owner: carol, expires: 2999-01-01}
        """))
    result = scan("--format", "json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert all(f["waiver"] and not f["waiver"]["expired"] for f in report["findings"])
    assert [(w["images"], w["state"]) for w in report["waivers"]] == [(["m-gone"], "stale")]


def test_an_expired_waiver_stops_suppressing_and_fails_the_gate(workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text(
        "waivers:\n  - {rule: T-NVME, images: [m-old], reason: r, owner: o, expires: 2020-01-01}\n")
    result = scan("--fail-on", "high")
    assert result.exit_code == 1
    assert "[waiver expired]" in result.stdout
    assert "waiver expired: T-NVME on m-old (owner o, expires 2020-01-01)" in result.stdout


def test_an_incomplete_input_exits_3_and_says_what_is_missing(workdir: Path) -> None:
    doc = json.loads((workdir / "images.json").read_text())
    doc["TotalCount"] = 250
    (workdir / "images.json").write_text(json.dumps(doc))
    result = scan("--fail-on", "never")
    assert result.exit_code == 3
    assert "INCOMPLETE cn-hangzhou: 3 of 250 images present in the input" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "missing.json"], "missing.json: no such file"),
        (["--input", "rules.yaml"], "rules.yaml: not JSON"),
        (["--rules", "no-such-dir"], "no-such-dir"),
        (["--input", "images.json", "--region", "cn-hangzhou"], "not both"),
        (["--input", "images.json", "--json", "no/such/dir/out.json"],
         "cannot write no/such/dir/out.json: folder no/such/dir does not exist"),
        (["--input", "images.json", "--config", "nope.yaml"], "nope.yaml"),
    ],
)
def test_bad_input_gets_one_clear_line_and_exit_2(workdir: Path, args: list[str],
                                                   message: str) -> None:
    result = invoke("scan", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("imgaudit: error: ")
    assert message in result.stderr


def test_output_paths_are_checked_before_any_api_call(workdir: Path) -> None:
    # port 9 (discard) on loopback: reaching the collector would be a connection error, exit 3
    result = invoke("scan", "--region", "cn-hangzhou", "--endpoint", "http://127.0.0.1:9",
                    "--sarif", "missing/out.sarif")
    assert result.exit_code == 2
    assert "folder missing does not exist" in result.stderr


def test_billion_laughs_rules_are_refused(workdir: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    (workdir / "bomb.yaml").write_text(bomb)
    result = invoke("scan", "--input", "images.json", "--rules", "bomb.yaml")
    assert result.exit_code == 2
    assert "bomb.yaml:1:" in result.stderr and "Traceback" not in result.stderr


def test_verbose_shows_the_traceback(workdir: Path) -> None:
    result = invoke("scan", "--input", "missing.json", "-v")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_the_bundled_example_scans(tmp_path: Path) -> None:
    result = invoke("scan", "--input", EXAMPLES / "inventory.json",
                    "--config", EXAMPLES / "imgaudit.yaml", "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] >= 30
    assert {f["rule_id"] for f in report["findings"]} >= {
        "IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS"}
    assert any(f["waiver"] for f in report["findings"])
