"""Input files: saved inventories, raw DescribeImages responses, merging and completeness."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory import dump_inventory, load_file, load_inputs
from auditor.models import Image, Inventory

EXAMPLE_RESPONSE = Path(__file__).resolve().parent.parent / "examples/describe-images-response.json"


def _raw(region: str, images: list[dict], total: int | None = None, request_id: str = "R-1") -> dict:
    return {"RequestId": request_id, "RegionId": region, "PageNumber": 1, "PageSize": 100,
            "TotalCount": len(images) if total is None else total,
            "Images": {"Image": images}}


def _write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_documented_example_response_loads_as_is() -> None:
    inventory = load_file(EXAMPLE_RESPONSE)
    (region,) = inventory.regions
    image = region.images[0]
    assert region.region == "cn-hangzhou" and region.complete and region.total_count == 1
    assert image.Tags == {"DTS": "Oracle"}
    assert image.IsSelfShared == "true" and image.Size == 60  # typed as the SDK types them
    assert image.DiskDeviceMappings[0].Size == "60"
    assert image.DetectionOptions is not None
    assert image.DetectionOptions.Items[0].RiskLevel == "High"
    assert inventory.account_id == "1234567890"
    assert region.request_ids == ["66189103-EDB2-43E2-BB60-BFF2B62F4EB8"]


def test_unknown_fields_are_kept_and_survive_a_round_trip(tmp_path: Path) -> None:
    image = {"ImageId": "m-1", "BrandNewField": {"x": 1}, "Features": {"NvmeSupport": "supported",
                                                                        "Future": "yes"}}
    inventory = load_file(_write(tmp_path, "raw.json", _raw("cn-beijing", [image])))
    saved = _write(tmp_path, "inv.json", json.loads(dump_inventory(inventory)))
    again = load_file(saved).regions[0].images[0]
    assert again.model_extra == {"BrandNewField": {"x": 1}}
    assert again.Features is not None and again.Features.model_extra == {"Future": "yes"}


def test_pages_of_one_region_merge_and_deduplicate(tmp_path: Path) -> None:
    page1 = _write(tmp_path, "p1.json", _raw("cn-beijing", [{"ImageId": "m-1"}, {"ImageId": "m-2"}], 3))
    page2 = _write(tmp_path, "p2.json", _raw("cn-beijing", [{"ImageId": "m-2"}, {"ImageId": "m-3"}], 3))
    other = _write(tmp_path, "o.json", _raw("cn-shanghai", [{"ImageId": "m-9"}]))
    inventory = load_inputs([page1, page2, other])
    assert [r.region for r in inventory.regions] == ["cn-beijing", "cn-shanghai"]
    assert sorted(i.ImageId for i in inventory.regions[0].images) == ["m-1", "m-2", "m-3"]
    assert inventory.complete


def test_a_region_short_of_its_total_count_is_incomplete(tmp_path: Path) -> None:
    page1 = _write(tmp_path, "p1.json", _raw("cn-beijing", [{"ImageId": "m-1"}], total=250))
    inventory = load_inputs([page1])
    region = inventory.regions[0]
    assert not region.complete and not inventory.complete
    assert region.errors == ["1 of 250 images present in the input (pages missing?)"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON: unexpected character"),
        ('{"hello": 1}', "is neither an imgaudit inventory"),
        ("[1, 2]", "is neither an imgaudit inventory"),
        ('{"RequestId": "r", "Images": {"Image": []}}', "has no RegionId"),
        ('{"format": "imgaudit-inventory", "format_version": 7, "tool_version": "0", '
         '"collected_at": "2026-01-01T00:00:00Z"}', "not a valid inventory: format_version"),
    ],
)
def test_bad_input_files_name_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}: ")
    assert problem in str(info.value)


def test_json_syntax_errors_point_at_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('{\n  "RequestId": "r",\n  oops\n}')
    with pytest.raises(InputError, match=r"not JSON: .* at line 3, column 3$"):
        load_file(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_file(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a folder"):
        load_file(tmp_path)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not"):
        load_file(binary)


def test_saved_inventory_validates_against_the_model(tmp_path: Path) -> None:
    inventory = load_file(EXAMPLE_RESPONSE)
    doc = json.loads(dump_inventory(inventory))
    assert doc["format"] == "imgaudit-inventory" and doc["format_version"] == 1
    assert Inventory.model_validate(doc) == inventory


@pytest.mark.parametrize("text", ["2019-11-15T06:07:05Z", "2024-02-29T23:59:59Z",
                                  "2019-11-15T06:07:05+08:00", "2019-11-15T06:07:05.123Z",
                                  "2019-11-15T06:07Z"])
def test_creation_time_parses_like_pydantic(text: str) -> None:
    """The fast path for the API's own time shape gives pydantic's answer, and its JSON."""
    from pydantic import TypeAdapter

    expected = TypeAdapter(datetime).validate_python(text)
    image = Image.model_validate({"ImageId": "m-1", "CreationTime": text})
    assert image.CreationTime == expected and image.CreationTime.utcoffset() == expected.utcoffset()
    assert image.model_dump_json(include={"CreationTime"}) == (
        '{"CreationTime":"' + TypeAdapter(datetime).dump_json(expected).decode().strip('"') + '"}')


@pytest.mark.parametrize("text", ["2019-13-15T06:07:05Z", "not a time at all, really"])
def test_bad_creation_times_are_refused(text: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Image.model_validate({"ImageId": "m-1", "CreationTime": text})


def test_a_page_given_twice_does_not_hide_a_missing_page(tmp_path: Path) -> None:
    page1 = _write(tmp_path, "p1.json", _raw("cn-beijing", [{"ImageId": f"m-{i}"} for i in range(2)], 4))
    inventory = load_inputs([page1, page1])
    (region,) = inventory.regions
    assert not region.complete
    assert region.errors == ["2 of 4 images present in the input (pages missing?)"]
    assert [n.image_id for n in region.notes] == ["m-0", "m-1"]  # each repeat said so


def test_listings_of_different_owners_are_checked_apart(tmp_path: Path) -> None:
    mine = _write(tmp_path, "self.json", _raw("cn-a", [{"ImageId": "m-1", "ImageOwnerAlias": "self"}], 1))
    system = _write(tmp_path, "sys.json", _raw("cn-a", [
        {"ImageId": f"m-s{i}", "ImageOwnerAlias": "system"} for i in range(2)], 3, "R-2"))
    (region,) = load_inputs([mine, system]).regions
    assert region.total_count == 4 and not region.complete
    assert region.errors == ["2 of 3 images present in the input (pages missing?)"]
