"""Several accounts in one scan are kept apart: each finding carries its own account."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult

from auditor.findings import fingerprint
from auditor.inventory import load_inputs

Run = Callable[..., CliResult]

RULE = """\
id: TEST-NOT-PUBLIC
title: Custom images are not public
severity: high
description: Test rule.
remediation: Unpublish it.
require:
  IsPublic: false
"""


def _page(path: Path, images: list[dict[str, Any]], region: str = "cn-a") -> Path:
    path.write_text(json.dumps({"RequestId": f"R-{path.stem}", "RegionId": region,
                                "TotalCount": len(images), "Images": {"Image": images}}))
    return path


def _self(image_id: str, owner: int, **extra: Any) -> dict[str, Any]:
    return {"ImageId": image_id, "ImageOwnerAlias": "self", "ImageOwnerId": owner,
            "IsPublic": True, **extra}


def _inventory(path: Path, account: str | None, images: list[dict[str, Any]]) -> Path:
    doc = {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
           "collected_at": "2026-01-01T00:00:00Z",
           "regions": [{"region": "cn-a", "images": images}]}
    if account:
        doc["account_id"] = account
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def rule(tmp_path: Path) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(RULE)
    return path


def _scan(run_cli: Run, rule: Path, tmp_path: Path, *inputs: Path, extra: tuple = ()) -> dict:
    sarif = tmp_path / "r.sarif"
    args = [a for path in inputs for a in ("--input", str(path))]
    result = run_cli("scan", *args, "--no-builtin-rules", "--rules", rule, "--format", "json",
                     "--sarif", sarif, *extra)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    report["sarif"] = json.loads(sarif.read_text())
    return report


def test_raw_pages_of_two_accounts_keep_their_own_account(
    run_cli: Run, rule: Path, tmp_path: Path
) -> None:
    one = _page(tmp_path / "one.json", [_self("m-1", 111)])
    two = _page(tmp_path / "two.json", [_self("m-2", 222)])
    report = _scan(run_cli, rule, tmp_path, one, two)
    assert report["scan"]["accounts"] == ["111", "222"] and report["scan"]["account_id"] is None
    assert [(r["region"], r["account_id"]) for r in report["regions"]] == [
        ("cn-a", "111"), ("cn-a", "222")]
    by_image = {f["image_id"]: f for f in report["findings"]}
    for image_id, account in (("m-1", "111"), ("m-2", "222")):
        finding = by_image[image_id]
        assert finding["account_id"] == account
        assert finding["resource"] == f"acs:ecs:cn-a:{account}:image/{image_id}"
        assert finding["fingerprint"] == fingerprint("TEST-NOT-PUBLIC", "cn-a", image_id, account)
    results = report["sarif"]["runs"][0]["results"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for r in results)
    assert uris == ["alibabacloud/ecs/111/cn-a/images/m-1", "alibabacloud/ecs/222/cn-a/images/m-2"]
    names = sorted(r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                   for r in results)
    assert names == ["acs:ecs:cn-a:111:image/m-1", "acs:ecs:cn-a:222:image/m-2"]
    assert report["sarif"]["runs"][0]["automationDetails"]["id"] == "imgaudit/111+222/cn-a/"


def test_the_same_image_seen_by_two_accounts_is_two_findings(
    run_cli: Run, rule: Path, tmp_path: Path
) -> None:
    shared = {"ImageId": "m-shared", "ImageOwnerAlias": "others", "IsPublic": True}
    one = _inventory(tmp_path / "a.json", "111", [shared])
    two = _inventory(tmp_path / "b.json", "222", [shared])
    report = _scan(run_cli, rule, tmp_path, one, two)
    assert sorted((f["image_id"], f["account_id"]) for f in report["findings"]) == [
        ("m-shared", "111"), ("m-shared", "222")]
    assert len({f["fingerprint"] for f in report["findings"]}) == 2


def test_an_input_whose_account_cannot_be_told_is_refused(
    run_cli: Run, rule: Path, tmp_path: Path
) -> None:
    one = _page(tmp_path / "one.json", [_self("m-1", 111)])
    two = _page(tmp_path / "two.json", [_self("m-2", 222)])
    system = _page(tmp_path / "system.json", [{"ImageId": "m-s", "ImageOwnerAlias": "system"}])
    result = run_cli("scan", "--input", one, "--input", two, "--input", system,
                     "--rules", rule)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"imgaudit: error: {system}: its account cannot be told: it has no account_id and no "
        "self image naming its owner, while the other inputs are of accounts 111, 222; "
        "scan it on its own")


def test_an_input_without_account_joins_the_one_account_given(tmp_path: Path) -> None:
    mine = _page(tmp_path / "one.json", [_self("m-1", 111)])
    system = _page(tmp_path / "system.json", [{"ImageId": "m-s", "ImageOwnerAlias": "system"}])
    inventory = load_inputs([mine, system])
    assert inventory.account_id == "111" and inventory.accounts == ["111"]
    (region,) = inventory.regions
    assert sorted(i.ImageId for i in region.images) == ["m-1", "m-s"]


def test_a_multi_account_inventory_round_trips(tmp_path: Path) -> None:
    one = _page(tmp_path / "one.json", [_self("m-1", 111)])
    two = _page(tmp_path / "two.json", [_self("m-2", 222)])
    merged = load_inputs([one, two])
    saved = tmp_path / "saved.json"
    from auditor.inventory import dump_inventory

    saved.write_text(dump_inventory(merged))
    again = load_inputs([saved])
    assert again.regions == merged.regions and again.accounts == ["111", "222"]


def test_baseline_scope_compares_accounts(run_cli: Run, rule: Path, tmp_path: Path) -> None:
    one = _page(tmp_path / "one.json", [_self("m-1", 111)])
    two = _page(tmp_path / "two.json", [_self("m-2", 222)])
    baseline = tmp_path / "base.json"
    run_cli("scan", "--input", one, "--input", two, "--no-builtin-rules", "--rules", rule,
            "--json", baseline)
    same = run_cli("scan", "--input", one, "--input", two, "--no-builtin-rules", "--rules",
                   rule, "--baseline", baseline, "--format", "json")
    assert same.exit_code == 0, same.stderr  # every finding unchanged
    other = run_cli("scan", "--input", one, "--no-builtin-rules", "--rules", rule,
                    "--baseline", baseline)
    assert other.exit_code == 2
    assert "account 111,222 vs 111" in other.stderr


def test_a_baseline_from_before_accounts_were_kept_still_matches(
    run_cli: Run, rule: Path, tmp_path: Path
) -> None:
    """Reports written before findings carried their account fingerprinted rule, region and
    image alone: they still match the same findings."""
    one = _page(tmp_path / "one.json", [_self("m-1", 111)])
    baseline = tmp_path / "base.json"
    run_cli("scan", "--input", one, "--no-builtin-rules", "--rules", rule, "--json", baseline)
    old = json.loads(baseline.read_text())
    for finding in old["findings"]:
        del finding["account_id"]
        finding["fingerprint"] = fingerprint(finding["rule_id"], finding["region"],
                                             finding["image_id"])
    del old["scan"]["accounts"]
    baseline.write_text(json.dumps(old))
    result = run_cli("scan", "--input", one, "--no-builtin-rules", "--rules", rule,
                     "--baseline", baseline, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [f["baseline_state"] for f in json.loads(result.stdout)["findings"]] == ["unchanged"]
