"""Inventories through the CLI: collect -> scan --input round trips, odd values, duplicates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli_helpers import CliResult
from fakeecs import FakeEndpoint, image

pytest_plugins = ["fakeecs.fixtures"]

Run = Callable[..., CliResult]

TAG_RULE = """\
id: TEST-TAG-KEPT
title: The wrapper-named tags are kept
severity: high
description: Test rule.
remediation: None.
require:
  all:
    - Tags.Tag: kept
    - Tags.Item: "1"
    - Tags.DiskDeviceMapping: "[]"
"""

WRAPPER_TAGS = {"Tag": "kept", "Item": "1", "DiskDeviceMapping": "[]", "owner": "web"}


def _page(images: list[Any], total: int | None = None) -> dict[str, Any]:
    return {"RequestId": "R-1", "RegionId": "cn-beijing", "PageNumber": 1, "PageSize": 100,
            "TotalCount": len(images) if total is None else total,
            "Images": {"Image": images}}


def _write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_tags_named_like_api_wrappers_survive_collect_then_scan_input(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-wrapped", Tags=dict(WRAPPER_TAGS))])
    saved = tmp_path / "inv.json"
    collected = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                        "-o", saved, env=env)
    assert collected.exit_code == 0, collected.stderr
    (img,) = json.loads(saved.read_text())["regions"][0]["images"]
    assert img["Tags"] == WRAPPER_TAGS
    rule = tmp_path / "rule.yaml"
    rule.write_text(TAG_RULE)
    again = tmp_path / "again.json"
    report = tmp_path / "r.json"
    scanned = run_cli("scan", "--input", saved, "--no-builtin-rules", "--rules", rule,
                      "--save-inventory", again, "--json", report, env=env)
    assert scanned.exit_code == 0, scanned.stdout + scanned.stderr
    assert json.loads(report.read_text())["findings"] == []
    assert json.loads(again.read_text())["regions"] == json.loads(saved.read_text())["regions"]


def test_odd_values_keep_their_images_through_scan_input(run_cli: Run, tmp_path: Path) -> None:
    page = _write(tmp_path / "page.json", _page([
        {"ImageId": "m-ok", "ImageOwnerAlias": "self", "IsPublic": False},
        {"ImageId": "m-odd", "ImageOwnerAlias": "self", "IsPublic": False, "Size": "sixty",
         "DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": {"GiB": 60}}]}},
    ]))
    saved = tmp_path / "saved.json"
    result = run_cli("scan", "--input", page, "--format", "json", "--save-inventory", saved)
    report = json.loads(result.stdout)
    assert report["scan"]["complete"] and report["scan"]["images"] == 2
    assert result.exit_code in (0, 1)  # never 3: nothing was lost
    inventory = json.loads(saved.read_text())
    notes = [(n["image_id"], n["field"], n["value"]) for n in inventory["regions"][0]["notes"]]
    assert notes == [("m-odd", "Size", "sixty"), ("m-odd", "DiskDeviceMappings[0].Size",
                                                    {"GiB": 60})]


def test_a_repeated_image_id_gives_one_finding_and_no_false_incomplete(
    run_cli: Run, tmp_path: Path
) -> None:
    public = {"ImageId": "m-dup", "ImageOwnerAlias": "self", "IsPublic": True}
    # two entries for TotalCount 2, one ImageId: no page is missing, the repeat is a note
    page = _write(tmp_path / "page.json", _page([public, dict(public, ImageName="second")], 2))
    result = run_cli("scan", "--input", page, "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1, result.stderr
    assert report["scan"]["complete"]
    fingerprints = [f["fingerprint"] for f in report["findings"] if f["image_id"] == "m-dup"]
    assert len(fingerprints) == len(set(fingerprints)) >= 1
    assert {f["image_name"] for f in report["findings"]} == {None}  # the first copy is kept
    assert [(n["image_id"], n["message"]) for n in report["data_quality"]] == [
        ("m-dup", "listed more than once; the first copy is kept")]


def test_a_saved_region_keeps_its_recorded_completeness(run_cli: Run, tmp_path: Path) -> None:
    """The collector merges overlapping listings (TotalCount summed, images unique): a saved
    inventory is not checked again against the summed TotalCount (no false exit 3)."""
    doc = {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
           "collected_at": "2026-01-01T00:00:00Z",
           "regions": [{"region": "cn-a", "complete": True, "total_count": 3,
                        "images": [{"ImageId": "m-1"}, {"ImageId": "m-2"}]}]}
    result = run_cli("scan", "--input", _write(tmp_path / "inv.json", doc), "--format", "json",
                     "--no-builtin-rules")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_data_quality_notes_appear_in_every_report_format(run_cli: Run, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    page = _write(tmp_path / "page.json", _page([
        {"ImageId": "m-odd", "ImageOwnerAlias": "self", "IsPublic": False, "Size": "sixty"}]))
    files = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "html", "junit", "markdown")}
    args = [arg for fmt, path in files.items() for arg in (f"--{fmt}", str(path))]
    result = run_cli("scan", "--input", page, "--no-builtin-rules", *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    line = "cn-beijing: image m-odd: Size = 'sixty': kept raw, read as absent"
    assert line in result.stdout
    assert "data quality: 1 value(s) kept raw" in result.stdout
    report = json.loads(files["json"].read_text())
    assert report["data_quality"] == [{
        "message": "kept raw, read as absent: Input should be a valid integer, unable to parse "
                   "string as an integer", "region": "cn-beijing", "image_id": "m-odd",
        "field": "Size", "value": "sixty", "source": None}]
    sarif = json.loads(files["sarif"].read_text())
    (notice,) = [n for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
                 if n["descriptor"]["id"] == "data-quality"]
    assert notice["level"] == "warning" and line in notice["message"]["text"]
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert line in files["html"].read_text().replace("&#39;", "'")
    assert line in files["markdown"].read_text().replace("\\", "")
    root = ET.parse(files["junit"]).getroot()
    (case,) = [c for c in root.iter("testcase") if c.get("classname") == "imgaudit.data"]
    assert case.find("failure") is None and line in (case.findtext("system-out") or "")
