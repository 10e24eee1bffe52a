"""The bundled examples and the synthetic generator produce data the product accepts.

examples/inventory.json must stay a realistic showcase (every owner alias, status and
violation); bench/synth.py feeds the benchmark and the fake ECS endpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor.config import load_config
from auditor.engine import evaluate, load_rules
from auditor.models import ENRICHMENTS, IMAGE_STATUSES, OWNER_ALIASES, Image, Inventory

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
TODAY = date(2026, 11, 27)
MISSION_RULES = ("IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS")

sys.path.insert(0, str(REPO / "bench"))
import synth  # noqa: E402  (bench/ is not a package)


def _example() -> Inventory:
    return Inventory.model_validate_json((EXAMPLES / "inventory.json").read_text("utf-8"))


def _images(inventory: Inventory) -> list[Image]:
    return [image for region in inventory.regions for image in region.images]


def test_example_inventory_is_varied() -> None:
    inventory = _example()
    images = _images(inventory)
    assert 30 <= len(images) <= 60
    assert len({(r.region, i.ImageId) for r in inventory.regions for i in r.images}) == len(images)
    assert {i.ImageOwnerAlias for i in images} == set(OWNER_ALIASES)
    assert {i.Status for i in images} == set(IMAGE_STATUSES)
    assert {i.OSType for i in images} == {"linux", "windows"}
    assert {i.Architecture for i in images} == {"x86_64", "arm64", "i386"}
    assert {"BIOS", "UEFI"} <= {i.BootMode for i in images}
    assert all(r.total_count == len(r.images) and r.complete for r in inventory.regions)


def test_example_inventory_is_what_its_script_writes() -> None:
    sys.path.insert(0, str(EXAMPLES))
    import make_inventory

    assert json.loads((EXAMPLES / "inventory.json").read_text("utf-8")) == make_inventory.build()


def test_every_builtin_rule_fires_on_the_example_and_some_images_are_clean() -> None:
    inventory = _example()
    result = evaluate(inventory, load_rules([], builtin=True), today=TODAY)
    fired = Counter(f.rule_id for f in result.findings)
    rule_ids = {p.stem for p in (REPO / "rules").glob("*.yaml")}
    assert set(fired) == rule_ids
    assert all(fired[rule_id] >= 2 for rule_id in MISSION_RULES)
    flagged = {f.image_id for f in result.findings}
    clean_own = [i for i in _images(inventory)
                 if i.ImageOwnerAlias == "self" and i.ImageId not in flagged]
    assert len(clean_own) >= 5


def test_example_config_waives_exactly_one_finding() -> None:
    config = load_config(EXAMPLES / "imgaudit.yaml")
    assert all(w.expires.year >= 2027 for w in config.waivers)
    ruleset = load_rules(config.rule_paths(), builtin=True, config=config)
    result = evaluate(_example(), ruleset, waivers=config.waivers, today=TODAY)
    waived = [f for f in result.findings if f.waiver is not None]
    assert [(f.rule_id, f.image_name) for f in waived] == [
        ("IMG-SELF-SHARED", "partner-demo-alinux3-2026-07-19")]
    assert not waived[0].waiver.expired
    assert result.waivers == []  # nothing stale, nothing expired


def test_example_scan_through_the_cli(run_cli: Any) -> None:
    result = run_cli("scan", "--input", EXAMPLES / "inventory.json",
                     "--config", EXAMPLES / "imgaudit.yaml", "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == 41
    waived = [f for f in report["findings"] if f["waiver"]]
    assert [f["image_id"] for f in waived] == ["m-bp15iu667135rfeqfbkn"]


def test_documented_describe_images_response_loads() -> None:
    body = json.loads((EXAMPLES / "describe-images-response.json").read_text("utf-8"))
    (raw,) = body["Images"]["Image"]
    image = Image.model_validate(raw)
    assert image.IsSelfShared == "true"  # typed as the SDK types it
    assert image.Tags == {"DTS": "Oracle"}
    assert image.DiskDeviceMappings[0].Size == "60"
    assert image.DetectionOptions is not None
    assert image.DetectionOptions.Items[0].RiskLevel == "High"
    assert image.Features is not None and image.Features.NvmeSupport == "supported"


def test_synthetic_inventory_validates_and_is_seeded() -> None:
    document = synth.generate(300, regions=3, seed=7)
    inventory = Inventory.model_validate(document)
    assert inventory.image_count == 300
    assert [r.region for r in inventory.regions] == ["cn-hangzhou", "cn-shanghai",
                                                     "ap-southeast-1"]
    assert len({i.ImageId for i in _images(inventory)}) == 300
    assert synth.generate(300, regions=3, seed=7) == document
    assert synth.generate(300, regions=3, seed=8) != document
    json.dumps(document)  # JSON-ready as it is


def test_synthetic_inventory_violates_each_mission_rule_sometimes() -> None:
    inventory = Inventory.model_validate(synth.generate(3000, seed=0))
    result = evaluate(inventory, load_rules([], builtin=True), today=TODAY)
    fired = Counter(f.rule_id for f in result.findings)
    for rule_id in MISSION_RULES:
        assert 0.03 <= fired[rule_id] / 3000 <= 0.25, (rule_id, fired[rule_id])


@pytest.mark.parametrize("page", [1, 2, 3])
def test_raw_page_round_trips_through_the_image_model(page: int) -> None:
    images = synth.generate(250, regions=1, seed=3)["regions"][0]["images"]
    body = synth.raw_page(images, 250, page, 100, "cn-hangzhou")
    assert (body["PageNumber"], body["PageSize"], body["TotalCount"]) == (page, 100, 250)
    assert body["RegionId"] == "cn-hangzhou" and body["RequestId"]
    raw = body["Images"]["Image"]
    expected = images[(page - 1) * 100: page * 100]
    assert len(raw) == len(expected) == (50 if page == 3 else 100)
    assert all(isinstance(r["IsSelfShared"], str) for r in raw)
    assert all(set(r["Tags"]) == {"Tag"} for r in raw)
    assert all(isinstance(r["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Size"], str)
               for r in raw)
    # enrichments (SharePermission, ...) come from other calls, never from DescribeImages
    listed = [{k: v for k, v in i.items() if k not in ENRICHMENTS} for i in expected]
    assert not any(set(r) & set(ENRICHMENTS) for r in raw)
    assert [Image.model_validate(r) for r in raw] == [Image.model_validate(i) for i in listed]


def test_raw_page_past_the_end_is_empty() -> None:
    images = synth.generate(10, regions=1)["regions"][0]["images"]
    assert synth.raw_page(images, 10, 2, 100, "cn-hangzhou")["Images"]["Image"] == []


def test_synth_command_writes_an_inventory(tmp_path: Path) -> None:
    out = tmp_path / "inv.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "synth.py"), "120", "-o", str(out),
                    "--regions", "2"], check=True, capture_output=True)
    inventory = Inventory.model_validate_json(out.read_text("utf-8"))
    assert inventory.image_count == 120 and len(inventory.regions) == 2
