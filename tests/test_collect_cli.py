"""`imgaudit collect` and `imgaudit scan --region` through the real CLI, against the fake."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_helpers import CliResult
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, Fault, image, many_images

pytest_plugins = ["fakeecs.fixtures"]

RULE = """\
id: TEST-NOT-PUBLIC
title: Custom images are not public
severity: high
description: Test rule.
remediation: Unpublish it.
when:
  ImageOwnerAlias: self
require:
  IsPublic: false
message: "{{ image.ImageId }} is public"
"""

Run = Callable[..., CliResult]


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(RULE)
    return path


def _scan(run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path,
          *args: str) -> CliResult:
    return run_cli("scan", "--region", "cn-hangzhou", "--endpoint", fake.url,
                   "--no-builtin-rules", "--rules", str(rule), *args, env=env)


def test_collect_writes_a_valid_inventory(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("h", 120))
    fake.cloud.add_images("eu-central-1", [image("m-eu", Tags={"env": "prod"})])
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--region", "all", "--endpoint", fake.url, "-o", str(out),
                     env=env)
    assert result.exit_code == 0, result.stderr
    from auditor.models import Inventory

    inventory = Inventory.model_validate_json(out.read_text())
    assert inventory.account_id == ACCOUNT_ID and inventory.source == "api"
    assert [r.region for r in inventory.regions] == sorted(fake.cloud.regions)
    assert inventory.image_count == 121 and inventory.complete
    assert inventory.scope.owners == ["self"] and len(inventory.scope.statuses) == 6
    assert result.stdout == ""


def test_collect_passes_every_filter(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "inventory.json"
    result = run_cli(
        "collect", "--region", "cn-hangzhou", "--endpoint", fake.url, "-o", str(out),
        "--owner", "self,system", "--status", "Available,Deprecated", "--os-type", "linux",
        "--arch", "arm64", "--tag", "env=prod", "--tag", "team=a b", "--image-family", "web",
        "--usage", "instance", "--created-after", "2024-01-01T00:00Z",
        "--created-before", "2025-01-01T00:00Z", "--signature", "v1", "--concurrency", "2",
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    calls = fake.cloud.calls_of("DescribeImages")
    assert sorted(c.params["ImageOwnerAlias"] for c in calls) == ["self", "system"]
    params = calls[0].params
    assert params["SignatureMethod"] == "HMAC-SHA1"
    expected = {
        "Status": "Available,Deprecated", "OSType": "linux", "Architecture": "arm64",
        "Tag.1.Key": "env", "Tag.1.Value": "prod", "Tag.2.Key": "team", "Tag.2.Value": "a b",
        "ImageFamily": "web", "Usage": "instance",
        "Filter.1.Key": "CreationStartTime", "Filter.1.Value": "2024-01-01T00:00Z",
        "Filter.2.Key": "CreationEndTime", "Filter.2.Value": "2025-01-01T00:00Z",
    }
    assert {k: params[k] for k in expected} == expected
    saved = json.loads(out.read_text())
    assert saved["scope"]["filters"]["Tag.env"] == "prod"


def test_scan_exit_0_when_compliant(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule_file: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-ok", IsPublic=False)])
    result = _scan(run_cli, fake, env, rule_file)
    assert result.exit_code == 0, result.stderr


def test_scan_exit_1_on_a_finding_and_saves_the_inventory(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule_file: Path, tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-pub", IsPublic=True), image("m-ok")])
    saved = tmp_path / "inv.json"
    result = _scan(run_cli, fake, env, rule_file, "--format", "json",
                   "--save-inventory", str(saved))
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert "m-pub" in result.stdout and "m-ok is public" not in result.stdout
    assert report is not None
    assert {i["ImageId"] for i in json.loads(saved.read_text())["regions"][0]["images"]} == {
        "m-pub", "m-ok"}


def test_scan_exit_3_when_a_region_fails_and_reports_say_what_is_missing(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule_file: Path, tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-pub", IsPublic=True)])
    fake.cloud.faults.append(Fault("error", region="cn-shanghai", times=None))
    report = tmp_path / "report.json"
    result = run_cli("scan", "--region", "cn-hangzhou", "--region", "cn-shanghai",
                     "--endpoint", fake.url, "--no-builtin-rules", "--rules", str(rule_file),
                     "--json", str(report), env=env)
    assert result.exit_code == 3, result.stderr  # 3 wins over the finding's 1
    text = report.read_text()
    assert "cn-shanghai" in text and "Forbidden.RAM" in text and "RequestId" in text
    assert "Forbidden.RAM" in result.stderr


def test_collect_exit_3_on_an_incomplete_region(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    fake.cloud.faults.append(Fault("error", times=None, code="InvalidParameter", status=400))
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "-o", str(out), env=env)
    assert result.exit_code == 3
    saved = json.loads(out.read_text())
    assert saved["regions"][0]["complete"] is False
    assert "InvalidParameter" in saved["regions"][0]["errors"][0]


@pytest.mark.parametrize("args,problem", [
    (["--tag", "novalue"], "expected KEY=VALUE"),
    (["--region", "xx-nowhere-1"], "unknown region xx-nowhere-1"),
    (["--created-after", "yesterday"], "expected YYYY-MM-DD"),
    (["--owner", "friends"], "unknown owner"),
    (["--endpoint", "ftp://example"], "--endpoint"),
])
def test_bad_input_exits_2_with_one_line(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path,
    args: list[str], problem: str,
) -> None:
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "-o", str(tmp_path / "x.json"), *args, env=env)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], result.stderr
    assert fake.cloud.calls_of("DescribeImages") == []


def test_broken_config_file_exits_2(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], clean_env: Path, tmp_path: Path
) -> None:
    config = clean_env / ".aliyun" / "config.json"
    config.parent.mkdir()
    config.write_text("{ broken")
    del env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "-o", str(tmp_path / "x.json"), env=env)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "config.json" in line and "not valid JSON" in line


def test_missing_profile_exits_2(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], clean_env: Path, tmp_path: Path
) -> None:
    config = clean_env / ".aliyun" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"current": "default", "profiles": [
        {"name": "default", "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": SECRET}
    ]}))
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "--profile", "prod", "-o", str(tmp_path / "x.json"), env=env)
    assert result.exit_code == 2
    assert "no profile named 'prod' (profiles: default)" in result.stderr


def test_no_credentials_exits_2(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    del env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "-o", str(tmp_path / "x.json"), env=env)
    assert result.exit_code == 2
    assert "no Alibaba Cloud credentials found" in result.stderr
    assert fake.cloud.calls == []


def test_a_known_secret_appears_in_no_output(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule_file: Path, tmp_path: Path
) -> None:
    """Failing scans of every kind, verbose, with every output file: the secret and the token
    (which the fake echoes back on a bad signature) never appear anywhere."""
    sts = fake.cloud.issue_sts_key(ACCOUNT_ID)
    fake.cloud.add_images("cn-hangzhou", [image("m-pub", IsPublic=True)])
    env |= {"ALIBABA_CLOUD_ACCESS_KEY_ID": sts.key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sts.secret,
            "ALIBABA_CLOUD_SECURITY_TOKEN": str(sts.token)}
    fake.cloud.faults += [Fault("error", region="cn-shanghai", times=None),
                          Fault("error", action="GetCallerIdentity", times=None)]
    outputs = tmp_path / "out"
    outputs.mkdir()
    results = []
    for signature in ("v3", "v1"):
        files = [f"--{fmt}={outputs / f'{signature}.{fmt}'}"
                 for fmt in ("json", "sarif", "html", "junit", "markdown")]
        results.append(run_cli(
            "scan", "-v", "--region", "cn-hangzhou", "--region", "cn-shanghai",
            "--endpoint", fake.url, "--signature", signature, "--no-builtin-rules",
            "--rules", str(rule_file), *files,
            "--save-inventory", str(outputs / f"{signature}.inv.json"), env=env))
    wrong = dict(env, ALIBABA_CLOUD_ACCESS_KEY_SECRET="wrong-" + sts.secret)
    for signature in ("v3", "v1"):
        results.append(run_cli("collect", "-v", "--region", "cn-hangzhou", "--endpoint",
                               fake.url, "--signature", signature,
                               "-o", str(outputs / "wrong.json"), env=wrong))
    assert [r.exit_code for r in results] == [3, 3, 2, 2]
    assert "SignatureDoesNotMatch" in results[2].stderr
    texts = [r.stdout + r.stderr for r in results]
    texts += [p.read_text() for p in outputs.iterdir()]
    assert len(texts) > 10
    token = str(sts.token)
    forms = [sts.secret, token, quote(token, safe="~"), quote(quote(token, safe="~"), safe="~")]
    assert len(set(forms)) == 4  # the token has characters that encoding changes
    for text in texts:
        for form in forms:
            assert form not in text


@pytest.mark.parametrize("owner,owners", [
    ("others", ["shared", "community"]), ("community", ["community"]),
    ("all", ["self", "shared", "community", "system", "marketplace"]),
])
def test_community_images_reach_the_rules(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], owner: str, owners: list[str]
) -> None:
    """IMG-COMMUNITY-OTHERS fires on live data: `others` lists community images too, and the
    report's scope names both listings."""
    fake.cloud.add_images("cn-hangzhou", [
        image("m-community", ImageOwnerAlias="others", IsPublic=True, Usage="instance",
              ImageOwnerId=9876543210)])
    result = run_cli("scan", "--region", "cn-hangzhou", "--endpoint", fake.url, "--owner",
                     owner, "--format", "json", "--fail-on", "high", env=env)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["owners"] == owners
    fired = {(f["rule_id"], f["image_id"]) for f in report["findings"]}
    assert ("IMG-COMMUNITY-OTHERS", "m-community") in fired
