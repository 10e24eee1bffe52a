"""Sharing and usage enrichments through the real CLI, against the fake endpoint: which calls a
scan makes (only for what its rules use), the built-in rules that read them, and images that
could not be judged reported as not evaluated (exit 3), never as passing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult, invoke
from fakeecs import ACCOUNT_ID, FakeEndpoint, Fault, image

pytest_plugins = ["fakeecs.fixtures"]
REGION = "cn-hangzhou"
FOREIGN = "9876543210987654"
PLAIN_RULE = """\
id: T-PUBLIC
title: Custom images are private
severity: high
require: {IsPublic: false}
message: "{{ image.ImageId }} is public"
"""
USAGE_RULE = """\
id: T-IDLE-OLD-FAMILY
title: Images of family old run no instance
severity: low
when: {ImageFamily: old}
require: {Usage: {ne: instance}}
evidence: [InstanceIds]
message: "{{ image.ImageId }} runs {{ (image.InstanceIds or ['?']) | join(', ') }}"
"""


@pytest.fixture
def org(fake: FakeEndpoint) -> FakeEndpoint:
    """One region: a private image, one shared inside and outside the organisation, one
    published; instances running one of ours and a community image nobody listed."""
    fake.cloud.add_images(REGION, [
        image("m-private"), image("m-inside"), image("m-outside"), image("m-published"),
        image("m-old", Status="Deprecated", Usage="instance"),
        image("m-community", ImageOwnerAlias="others", IsPublic=True, Usage="instance",
              ImageOwnerId=1111222233334444),
    ])
    fake.cloud.share(REGION, "m-inside", [ACCOUNT_ID])
    fake.cloud.share(REGION, "m-outside", [ACCOUNT_ID, FOREIGN])
    fake.cloud.share(REGION, "m-published", groups=["all"])
    fake.cloud.run(REGION, "m-old", count=2)
    fake.cloud.run(REGION, "m-community")
    return fake


def scan(fake: FakeEndpoint, env: dict[str, str], *args: str | Path) -> CliResult:
    return invoke("scan", "--region", REGION, "--endpoint", fake.url, "--format", "json",
                  *args, env=env)


def report(result: CliResult) -> dict[str, Any]:
    assert result.exit_code in (0, 1, 3), result.stderr
    return json.loads(result.stdout)


def findings(doc: dict[str, Any], rule_id: str) -> dict[str, dict[str, Any]]:
    return {f["image_id"]: f for f in doc["findings"] if f["rule_id"] == rule_id}


def rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in doc["rules"] if r["id"] == rule_id)


def test_builtin_rules_ask_who_shared_images_are_shared_with_and_what_runs(
        org: FakeEndpoint, env: dict[str, str]) -> None:
    result = scan(org, env)
    doc = report(result)
    assert result.exit_code == 1
    shares = org.cloud.calls_of("DescribeImageSharePermission")
    assert sorted(c.params["ImageId"] for c in shares) == ["m-inside", "m-outside",
                                                            "m-published"]
    assert len(org.cloud.calls_of("DescribeInstances")) == 1
    outside = findings(doc, "IMG-SHARED-OUTSIDE")
    assert set(outside) == {"m-outside"}
    assert FOREIGN in outside["m-outside"]["message"]
    assert ACCOUNT_ID not in outside["m-outside"]["message"]
    assert {"path": "SharePermission.Accounts[1].AliyunId", "actual": FOREIGN,
            "expected": "in []"} in outside["m-outside"]["evidence"]
    assert set(findings(doc, "IMG-SHARED-EVERYONE")) == {"m-published"}
    # the community image no listing held (owner self) was looked up: instances run it
    community = findings(doc, "IMG-COMMUNITY-OTHERS")["m-community"]
    assert {"path": "InstanceIds", "actual": [f"i-{REGION}-000002"],
            "expected": "(shown for context)"} in community["evidence"]
    old = findings(doc, "IMG-DEPRECATED-IN-USE")["m-old"]
    assert old["evidence"][-1]["actual"] == [f"i-{REGION}-000000", f"i-{REGION}-000001"]
    assert rule(doc, "IMG-SHARED-OUTSIDE")["not_evaluated"] == 0


def test_the_allowlist_param_accepts_a_partner_account(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text(f'params:\n  IMG-SHARED-OUTSIDE:\n    allowed_accounts: ["{FOREIGN}"]\n')
    doc = report(scan(org, env, "--config", config))
    assert findings(doc, "IMG-SHARED-OUTSIDE") == {}
    assert rule(doc, "IMG-SHARED-OUTSIDE")["passed"] == rule(doc, "IMG-SHARED-OUTSIDE")[
        "evaluated"] == 5


def test_rules_that_use_no_enrichment_make_no_enrichment_call(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(PLAIN_RULE)
    report(scan(org, env, "--no-builtin-rules", "--rules", rules))
    assert org.cloud.calls_of("DescribeImageSharePermission") == []
    assert org.cloud.calls_of("DescribeInstances") == []


def test_a_rule_showing_instance_ids_lists_instances_and_no_flag_stops_it(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(USAGE_RULE)
    org.cloud.add_images(REGION, [image("m-fam", ImageFamily="old", Usage="instance")])
    org.cloud.run(REGION, "m-fam")
    doc = report(scan(org, env, "--no-builtin-rules", "--rules", rules))
    (finding,) = doc["findings"]
    assert finding["message"] == f"m-fam runs i-{REGION}-000003"
    assert org.cloud.calls_of("DescribeImageSharePermission") == []
    org.cloud.calls.clear()
    doc = report(scan(org, env, "--no-builtin-rules", "--rules", rules, "--no-instances"))
    assert org.cloud.calls_of("DescribeInstances") == []
    assert doc["findings"][0]["message"] == "m-fam runs ?"  # unknown: not collected
    org.cloud.calls.clear()
    report(scan(org, env, "--no-builtin-rules", "--rules", rules, "--sharing"))
    assert len(org.cloud.calls_of("DescribeImageSharePermission")) == 3


def test_a_failed_share_listing_is_not_evaluated_and_the_scan_incomplete(
        org: FakeEndpoint, env: dict[str, str]) -> None:
    org.cloud.faults.append(Fault("error", action="DescribeImageSharePermission",
                                  image="m-outside", times=None))
    result = scan(org, env)
    doc = report(result)
    assert result.exit_code == 3
    assert not doc["scan"]["complete"]
    assert findings(doc, "IMG-SHARED-OUTSIDE") == {}  # not a finding, not a pass either
    outside = rule(doc, "IMG-SHARED-OUTSIDE")
    assert (outside["evaluated"], outside["not_evaluated"], outside["passed"]) == (4, 1, 4)
    assert rule(doc, "IMG-SHARED-EVERYONE")["not_evaluated"] == 1
    assert rule(doc, "IMG-SELF-SHARED")["not_evaluated"] == 0  # it reads IsSelfShared only
    (region,) = doc["regions"]
    assert any("m-outside" in e and "Forbidden.RAM" in e for e in region["errors"])
    assert "rule IMG-SHARED-OUTSIDE did not evaluate 1 image(s)" in result.stderr


def test_not_evaluated_shows_in_every_human_format(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    org.cloud.faults.append(Fault("error", action="DescribeImageSharePermission",
                                  image="m-outside", times=None))
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("markdown", "html", "junit", "sarif")}
    result = invoke("scan", "--region", REGION, "--endpoint", org.url,
                    *(arg for fmt, path in out.items() for arg in (f"--{fmt}", str(path))),
                    env=env)
    assert result.exit_code == 3
    head = next(line for line in result.stdout.splitlines() if line.lstrip().startswith("rule "))
    assert "not evaluated" in head
    assert "| Not evaluated |" in out["markdown"].read_text()
    assert ">Not evaluated</th>" in out["html"].read_text()
    assert '<property name="not_evaluated" value="1" />' in out["junit"].read_text()
    sarif = json.loads(out["sarif"].read_text())["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["properties"]["not_evaluated"] for r in sarif}["IMG-SHARED-OUTSIDE"] == 1


def test_a_failed_instance_listing_is_incomplete(org: FakeEndpoint,
                                                 env: dict[str, str]) -> None:
    org.cloud.faults.append(Fault("throttle", action="DescribeInstances", times=None))
    result = scan(org, env)
    doc = report(result)
    assert result.exit_code == 3
    (region,) = doc["regions"]
    assert any("which instances run the images is unknown" in e for e in region["errors"])
    assert "m-community" not in findings(doc, "IMG-COMMUNITY-OTHERS")
    old = findings(doc, "IMG-DEPRECATED-IN-USE")["m-old"]  # Usage still says so
    assert [e["path"] for e in old["evidence"]] == ["Usage"]


def test_collect_saves_the_enrichments_and_scan_reads_them(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    saved = tmp_path / "inventory.json"
    result = invoke("collect", "--region", REGION, "--endpoint", org.url, "--sharing",
                    "--instances", "-o", saved, env=env)
    assert result.exit_code == 0, result.stderr
    images = {i["ImageId"]: i for i in json.loads(saved.read_text())["regions"][0]["images"]}
    assert images["m-outside"]["SharePermission"]["Accounts"][1] == {
        "AliyunId": FOREIGN, "SharedTime": "2025-07-01T08:00:00Z", "InOrganization": False}
    assert images["m-community"]["InstanceIds"] == [f"i-{REGION}-000002"]
    org.cloud.calls.clear()
    doc = report(invoke("scan", "--input", saved, "--format", "json", env=env))
    assert org.cloud.calls == []
    assert set(findings(doc, "IMG-SHARED-OUTSIDE")) == {"m-outside"}
    assert "m-community" in findings(doc, "IMG-COMMUNITY-OTHERS")


def test_an_inventory_collected_without_sharing_leaves_shared_images_not_evaluated(
        org: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> None:
    saved = tmp_path / "inventory.json"
    assert invoke("collect", "--region", REGION, "--endpoint", org.url, "-o", saved,
                  env=env).exit_code == 0
    result = invoke("scan", "--input", saved, "--format", "json", env=env)
    doc = report(result)
    assert rule(doc, "IMG-SHARED-OUTSIDE")["not_evaluated"] == 3
    assert findings(doc, "IMG-SHARED-OUTSIDE") == {}
    assert "rule IMG-SHARED-OUTSIDE did not evaluate 3 image(s)" in result.stderr


def test_enrichment_flags_with_input_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    from cli_helpers import EXAMPLES

    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--instances", env=env)
    assert result.exit_code == 2
    assert "--instances collects live" in result.stderr


def test_an_unknown_evidence_field_is_a_rule_error(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(USAGE_RULE.replace("[InstanceIds]", "[InstanceId]"))
    result = invoke("rules", "validate", rules)
    assert result.exit_code == 2
    assert "r.yaml:6:" in result.stderr and "did you mean 'InstanceIds'" in result.stderr
