"""Every field the API returns can be used in rules, and `rules schema` and did-you-mean name it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import alibabacloud_ecs20140526.models as sdk
import pytest
from cli_helpers import CliResult
from test_models_sdk import wire_fields

from auditor.engine.fields import field_paths, resolve
from auditor.models import DetectionItem, Image

Run = Callable[..., CliResult]

FEATURES = [name for name in wire_fields(sdk.DescribeImagesResponseBodyImagesImageFeatures)]
RULE = """\
id: TEST-ALL-FIELDS
title: Uses the newer fields
severity: high
description: Test rule.
remediation: None.
require:
  all:
    - Usable: true
    - SecureBootOptions.SecureBootSupport: supported
{features}
"""


def test_schema_lists_every_field_of_the_sdk(run_cli: Run) -> None:
    result = run_cli("rules", "schema")
    condition = json.loads(result.stdout)["$defs"]["condition"]
    names = set(condition["properties"])
    expected = {"Usable", "SecureBootOptions", "SecureBootOptions.SecureBootSupport",
                *(f"Features.{name}" for name in FEATURES)}
    expected |= set(wire_fields(sdk.DescribeImagesResponseBodyImagesImage)) - {"Tags"}
    assert expected <= names, expected - names
    assert "^Tags\\..+" in condition["patternProperties"]
    assert "Encrypted" in condition["properties"]["DiskDeviceMappings"]["description"]


def test_field_paths_cover_every_model_field() -> None:
    paths = field_paths(Image)
    assert len(FEATURES) == 6
    assert {f"Features.{name}" for name in FEATURES} <= set(paths)
    assert paths["Usable"] == "boolean" and paths["DiskDeviceMappings[].Size"] == "string"


def test_rules_on_the_newer_fields_evaluate_through_scan(run_cli: Run, tmp_path: Path) -> None:
    rule = tmp_path / "rule.yaml"
    rule.write_text(RULE.format(features="\n".join(f"    - Features.{n}: supported"
                                                   for n in FEATURES)))
    good = {"ImageId": "m-good", "Usable": True,
            "SecureBootOptions": {"SecureBootSupport": "supported"},
            "Features": dict.fromkeys(FEATURES, "supported")}
    bad = dict(good, ImageId="m-bad", Features=dict(good["Features"], CpuOnlineUpgrade="no"))
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"RequestId": "R", "RegionId": "cn-a", "TotalCount": 2,
                                "Images": {"Image": [good, bad]}}))
    result = run_cli("scan", "--input", page, "--no-builtin-rules", "--rules", rule,
                     "--format", "json")
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["image_id"], [e["path"] for e in f["evidence"]]) for f in findings] == [
        ("m-bad", ["Features.CpuOnlineUpgrade"])]


@pytest.mark.parametrize(("field", "message"), [
    ("Usabel", "unknown field 'Usabel' (did you mean 'Usable'?)"),
    ("SecureBootOptions.SecureBoot", "unknown field 'SecureBoot' of SecureBootOptions "
                                     "(did you mean 'SecureBootSupport'?)"),
    ("Features.Zzz", "unknown field 'Zzz' of Features; known: CpuOnlineDowngrade, "
                     "CpuOnlineUpgrade, ImdsSupport, MemoryOnlineDowngrade, "
                     "MemoryOnlineUpgrade, NvmeSupport"),
])
def test_did_you_mean_knows_the_newer_fields(run_cli: Run, tmp_path: Path, field: str,
                                              message: str) -> None:
    rule = tmp_path / "rule.yaml"
    rule.write_text(RULE.format(features=f"    - {field}: x"))
    result = run_cli("rules", "validate", rule)
    assert result.exit_code == 2
    assert message in result.stdout + result.stderr


def test_a_field_s_reader_reads_a_canonical_mapping_as_its_walk_along_the_path() -> None:
    """`FieldRef.reader()` (one `.get` for a field of the image itself) answers what
    `FieldRef.read` answers: a missing key as the model's default, "" as missing for text."""
    paths = ["ImageName", "Size", "IsPublic", "Tags", "DiskDeviceMappings", "Features",
             "Features.NvmeSupport", "Tags.owner", "DetectionOptions.Items"]
    mappings: list[dict[str, Any] | None] = [
        {}, {"ImageName": "", "Size": 0, "IsPublic": False, "Tags": {}, "Features": None},
        {"ImageName": "web", "Size": 40, "IsPublic": True, "Tags": {"owner": ""},
         "DiskDeviceMappings": [{"Size": "1"}], "Features": {"NvmeSupport": ""}},
        {"ImageName": None, "Tags": {"owner": "me"}, "Features": {"NvmeSupport": "supported"},
         "DetectionOptions": {"Items": []}},
    ]
    for path in paths:
        ref = resolve(path, Image)
        read = ref.reader()
        for raw in mappings:
            assert read(raw) == ref.read(raw), (path, raw)
    item = resolve("RiskLevel", DetectionItem)
    assert item.reader()(None) is item.read(None) is None  # an item that is not there
