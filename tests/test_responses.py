"""The one reader of DescribeImages data: odd values are kept raw, images are never dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.collector.page_body import parse_page
from auditor.inventory import dump_inventory, load_inputs
from auditor.responses import read_image, read_page


def _page(images: list[Any], total: Any = None, **extra: Any) -> dict[str, Any]:
    return {"RequestId": "R-1", "RegionId": "cn-beijing", "PageNumber": 1, "PageSize": 100,
            "TotalCount": len(images) if total is None else total,
            "Images": {"Image": images}, **extra}


# Every field of the model given a value of a wrong type that cannot be normalised.
ODD_VALUES = [
    ("Size", "sixty"), ("Size", 60.5), ("Size", [60]), ("ImageOwnerId", "12ab"),
    ("IsPublic", "maybe"), ("IsPublic", {"x": 1}), ("IsCopied", 7), ("Usable", "perhaps"),
    ("IsSubscribed", []), ("IsSupportIoOptimized", "2"), ("IsSupportCloudinit", "yes please"),
    ("LoginAsNonRootSupported", 0.5), ("CreationTime", "yesterday"), ("CreationTime", [2019]),
    ("ImageName", ["a"]), ("ImageName", {"a": 1}), ("Status", {}), ("OSType", [1]),
    ("Features", "supported"), ("Features", {"NvmeSupport": ["x"]}),
    ("SecureBootOptions", 3), ("SecureBootOptions", {"SecureBootSupport": {}}),
    ("DetectionOptions", "done"), ("DetectionOptions", {"Status": [], "Items": {"Item": []}}),
    ("Tags", "owner=web"), ("Tags", {"Tag": [{"TagKey": "k", "TagValue": ["v"]}]}),
    ("DiskDeviceMappings", "none"),
    ("DiskDeviceMappings", {"DiskDeviceMapping": [{"Size": {"GiB": 60}, "Type": "system"}]}),
    ("DiskDeviceMappings", {"DiskDeviceMapping": ["junk", {"Type": "data"}]}),
]


@pytest.mark.parametrize(("name", "value"), ODD_VALUES)
def test_an_odd_value_keeps_the_image_and_notes_the_raw_value(name: str, value: Any) -> None:
    page = read_page(_page([{"ImageId": "m-odd", "ImageName": "n", name: value}]))
    (image,) = page.images
    assert image.ImageId == "m-odd" and page.errors == []
    assert page.notes, "the raw value must be noted"
    note = page.notes[0]
    assert note.image_id == "m-odd" and note.field is not None and note.field.startswith(name)
    assert "kept raw" in note.message
    if name != "ImageName":
        assert image.ImageName == "n"  # the rest of the image is intact


def test_null_for_a_value_is_simply_absent() -> None:
    image, notes = read_image({"ImageId": "m-1", "Size": None, "IsPublic": None}, api=True)
    assert image is not None and image.Size is None and notes == []


def test_what_lax_mode_normalises_needs_no_note() -> None:
    raw = {"ImageId": 12345, "Size": "60", "IsPublic": "true", "IsCopied": 0,
           "ImageOwnerId": "1234567890", "IsSelfShared": True, "ImageName": 7,
           "Tags": {"Tag": [{"TagKey": "n", "TagValue": 5}, {"TagKey": "empty"}]},
           "DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": 60, "RemainTime": "233"}]},
           "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"}}
    image, notes = read_image(raw, api=True)
    assert notes == [] and image is not None
    assert (image.ImageId, image.Size, image.IsPublic, image.IsCopied) == ("12345", 60, True, False)
    assert (image.ImageOwnerId, image.IsSelfShared, image.ImageName) == (1234567890, "true", "7")
    assert image.Tags == {"n": "5", "empty": ""}
    assert image.DiskDeviceMappings[0].Size == "60"
    assert image.DiskDeviceMappings[0].RemainTime == 233


def test_a_json_bool_in_a_string_field_reads_as_the_apis_text() -> None:
    image, notes = read_image({"ImageId": "m-1", "Features": {"NvmeSupport": True},
                               "Tags": {"Tag": [{"TagKey": "ok", "TagValue": False}]}}, api=True)
    assert notes == [] and image is not None
    assert image.Features is not None and image.Features.NvmeSupport == "true"
    assert image.Tags == {"ok": "false"}


def test_an_entry_that_is_no_image_is_left_out_and_said_so() -> None:
    page = read_page(_page([{"ImageId": "m-1"}, "junk", {"ImageName": "no id"},
                            {"ImageId": ""}, {"ImageId": ["m-2"]}]))
    assert [i.ImageId for i in page.images] == ["m-1"]
    assert page.errors == [
        "image entry #2 left out: an entry of the image list is not an object, left out",
        "image entry #3 left out: an entry without a usable ImageId, left out",
        "image entry #4 left out: an entry without a usable ImageId, left out (ImageId '')",
        "image entry #5 left out: an entry without a usable ImageId, left out (ImageId ['m-2'])",
    ]


@pytest.mark.parametrize("total", [-1, "many", None, 1.5, True, [3], "1e3"])
def test_total_count_that_is_no_count_is_noted(total: Any) -> None:
    doc = _page([{"ImageId": "m-1"}], total=0)
    if total is None:
        del doc["TotalCount"]
    else:
        doc["TotalCount"] = total
    page = read_page(doc)
    assert page.total_count is None and [i.ImageId for i in page.images] == ["m-1"]
    assert page.notes[0].field in ("TotalCount", None)
    with pytest.raises(ValueError, match="no usable TotalCount"):
        parse_page(json.dumps(doc).encode())  # the collector retries such a page


@pytest.mark.parametrize("images", [{}, None, {"Image": None}, {"Image": []}, []])
def test_an_empty_images_wrapper_reads_as_no_image(images: Any) -> None:
    page = read_page(_page([], total=0) | {"Images": images})
    assert page.images == [] and page.errors == [] and page.total_count == 0


def test_images_of_the_wrong_shape_is_noted() -> None:
    page = read_page(_page([], total=0) | {"Images": "lots"})
    assert page.images == [] and page.notes[0].field == "Images"


def test_collector_and_input_read_a_page_alike(tmp_path: Path) -> None:
    """The collector's parse_page and `--input` give the same images and notes."""
    doc = _page([{"ImageId": "m-1", "Size": "big", "Tags": {"Tag": [{"TagKey": "Tag",
                                                                     "TagValue": "x"}]}},
                 {"ImageId": "m-2", "IsPublic": "maybe"}])
    page = parse_page(json.dumps(doc).encode())
    path = tmp_path / "page.json"
    path.write_text(json.dumps(doc))
    (region,) = load_inputs([path]).regions
    assert region.images == page.images
    assert [(n.image_id, n.field, n.value) for n in region.notes] == [
        (n.image_id, n.field, n.value) for n in page.notes] == [
        ("m-1", "Size", "big"), ("m-2", "IsPublic", "maybe")]
    assert region.complete  # nothing was lost


def test_notes_and_raw_values_survive_a_saved_inventory(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps(_page([{"ImageId": "m-1", "Size": "big"}])))
    first = load_inputs([path])
    saved = tmp_path / "inv.json"
    saved.write_text(dump_inventory(first))
    again = load_inputs([saved])
    assert again.regions == first.regions
    assert again.regions[0].notes[0].value == "big"
