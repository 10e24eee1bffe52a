"""An empty string is a missing value, for every operator (docs/rule-language.md).

The API answers `""` for what it did not set: `DetectionOptions.Status` of an image that was
never checked, `ProductCode` of a custom image. Each row of the missing-value table must give
the same answer when the field holds `""` as when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from test_engine_operators import MISSING_TABLE, holds

# the rows of MISSING_TABLE on string fields, with the image that holds "" there
EMPTY = {
    "ImageFamily": {"ImageFamily": ""},
    "Tags.owner": {"Tags": {"owner": ""}},
    "Features.NvmeSupport": {"Features": {"NvmeSupport": ""}},
}
ROWS = [(label, cond, expected, EMPTY[next(iter(cond))])
        for label, cond, expected in MISSING_TABLE if next(iter(cond)) in EMPTY]


def test_the_table_covers_every_operator_on_strings() -> None:
    ops = {op for _, cond, _, _ in ROWS for value in cond.values()
           for op in (value if isinstance(value, dict) else {"literal": 0})}
    assert ops >= {"eq", "ne", "in", "not_in", "exists", "regex", "glob", "contains", "literal"}


@pytest.mark.parametrize(("label", "cond", "expected", "image"), ROWS,
                         ids=[row[0] for row in ROWS])
def test_empty_string_reads_as_missing(label: str, cond: dict[str, Any], expected: bool,
                                       image: dict[str, Any]) -> None:
    assert holds(cond, image) is expected


def test_items_of_a_list_too() -> None:
    image = {"DetectionOptions": {"Items": [{"Name": "Nvme", "RiskLevel": ""}]}}
    assert holds({"DetectionOptions.Items": {"every": {"RiskLevel": {"exists": False}}}}, image)
    assert not holds({"DetectionOptions.Items": {"some": {"RiskLevel": {"ne": "x"}}}}, {})


def test_a_non_empty_value_still_counts() -> None:
    assert holds({"ImageFamily": {"exists": True}}, {"ImageFamily": " "})
    assert holds({"Tags.owner": {"exists": True}}, {"Tags": {"owner": "0"}})


def _rule(tmp_path: Path, require: str) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(f"id: T-EMPTY\ntitle: t\nseverity: low\nrequire: {require}\n"
                    "message: x\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("require", [
    '{ImageFamily: ""}', '{ImageFamily: {ne: ""}}', '{ImageFamily: {in: [a, ""]}}',
    '{ImageFamily: {contains: ""}}', '{ImageFamily: {glob: ""}}',
])
def test_an_empty_string_operand_is_a_load_error(tmp_path: Path, require: str) -> None:
    result = invoke("rules", "validate", _rule(tmp_path, require))
    assert result.exit_code == 2
    assert "rule.yaml:4:" in result.stderr and "empty" in result.stderr


def test_images_never_checked_raise_no_detection_finding(tmp_path: Path) -> None:
    """IMG-DETECTION-UNFINISHED fires on Processing, not on the API's "" for no check."""
    images = [{"ImageId": "m-never", "ImageOwnerAlias": "self", "DetectionOptions": {"Status": ""}},
              {"ImageId": "m-busy", "ImageOwnerAlias": "self",
               "DetectionOptions": {"Status": "Processing"}},
              {"ImageId": "m-done", "ImageOwnerAlias": "self",
               "DetectionOptions": {"Status": "Finished"}}]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"RequestId": "R", "RegionId": "cn-hangzhou", "TotalCount": 3,
                                "Images": {"Image": images}}), encoding="utf-8")
    result = invoke("scan", "--input", page, "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    found = [f["image_id"] for f in json.loads(result.stdout)["findings"]
             if f["rule_id"] == "IMG-DETECTION-UNFINISHED"]
    assert found == ["m-busy"]


def test_a_list_under_an_absent_object_is_absent_in_a_scan(tmp_path: Path) -> None:
    """A saved inventory's image without DetectionOptions has no DetectionOptions.Items:
    a scan used to read it as the model's default `[]` (present) and report a finding whose
    own evidence said the value was absent."""
    rule = tmp_path / "rule.yaml"
    rule.write_text("id: T-NO-ITEMS\ntitle: t\nseverity: low\n"
                    "require: {DetectionOptions.Items: {exists: false}}\n", encoding="utf-8")
    images = [{"ImageId": "m-none"}, {"ImageId": "m-null", "DetectionOptions": None},
              {"ImageId": "m-empty", "DetectionOptions": {}},
              {"ImageId": "m-items", "DetectionOptions": {"Items": []}}]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({
        "format": "imgaudit-inventory", "tool_version": "0", "source": "api",
        "collected_at": "2026-11-27T00:00:00Z",
        "regions": [{"region": "cn-hangzhou", "images": images}]}), encoding="utf-8")
    result = invoke("scan", "--input", inventory, "--rules", rule, "--format", "json",
                    "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["image_id"], f["evidence"][0]["actual"]) for f in findings] == [
        ("m-empty", []), ("m-items", [])]  # an object given, empty or not, holds its list
