"""`collect -o` saves plain images without validating them (auditor/collector/saved.py): what
it writes must be exactly what the validated path writes, with the same notes and errors.

Differential: every odd and hostile variant of an API-shaped image, converted by
`saved_image` and validated with the API's shape, compared value by value and byte by byte;
pages of them read by `parse_saved_page` and by `parse_page`; and `imgaudit collect -o`
(which saves the plain ones unvalidated) against `dump_inventory` of the library's
`collect()`, which validates every image.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_helpers import CliResult
from fakeecs import FakeEndpoint, Fault
from fakeecs import collect_request as request
from pydantic import ValidationError

from auditor.canonical import as_image
from auditor.collector import Record, collect
from auditor.collector.page_body import parse_page, parse_saved_page
from auditor.collector.saved import saved_image
from auditor.inventory import dump_inventory
from auditor.models import API_SHAPE, Image

pytest_plugins = ["fakeecs.fixtures"]

HOSTILE = 'a "quoted" \\ value\n\t\x00\x1f\x7f é 中文 \u2028 \U0001f600 </script>'

BASE: dict[str, Any] = {
    "ImageId": "m-base", "ImageName": "ubuntu-22", "ImageFamily": "", "ImageVersion": "1",
    "ImageOwnerAlias": "self", "ImageOwnerId": 1234567890123456, "Description": HOSTILE,
    "CreationTime": "2024-01-02T03:04:05Z", "OSType": "linux", "OSName": "Ubuntu 22.04 64位",
    "OSNameEn": "Ubuntu", "Platform": "Ubuntu", "Architecture": "x86_64",
    "Tags": {"Tag": [{"TagKey": "owner", "TagValue": "web"}, {"TagKey": "引号", "TagValue": HOSTILE}]},
    "Status": "Available", "Progress": "100%", "Size": 40, "Usage": "instance",
    "BootMode": "UEFI", "IsPublic": False, "IsCopied": False, "IsSelfShared": "false",
    "IsSubscribed": False, "IsSupportIoOptimized": True, "IsSupportCloudinit": True,
    "LoginAsNonRootSupported": False, "ProductCode": "", "SupplierName": "",
    "ResourceGroupId": "rg-1", "LicenseType": "Auto", "Usable": True,
    "DiskDeviceMappings": {"DiskDeviceMapping": [
        {"Type": "system", "Device": "/dev/xvda", "Size": "40", "Format": "",
         "SnapshotId": "s-1", "Encrypted": True, "RemainTime": 0, "Progress": "100%"}]},
    "DetectionOptions": {"Status": "Finished", "Items": {"Item": [
        {"Name": "Nvme", "Value": "Supported", "RiskLevel": "Low", "RiskCode": "c"}]}},
    "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2", "CpuOnlineUpgrade": "x"},
    "SecureBootOptions": {"SecureBootSupport": "supported"},
}

# One field changed (None: removed) per variant: values of the field's JSON type, values
# pydantic's lax mode or the models' validators normalise, values refused, nulls, wrappers.
VARIANTS: list[dict[str, Any]] = [
    {}, {"ImageName": None}, {"ImageName": ""}, {"ImageName": 7}, {"ImageName": 7.5},
    {"ImageName": False}, {"ImageName": ["x"]}, {"ImageName": HOSTILE * 3},
    {"ImageId": ""}, {"ImageId": 12345}, {"ImageId": None}, {"ImageId": HOSTILE},
    {"ImageOwnerId": "123"}, {"ImageOwnerId": 2**63 - 1}, {"ImageOwnerId": 2**64 - 1},
    {"ImageOwnerId": -5}, {"ImageOwnerId": 1.0}, {"ImageOwnerId": True}, {"ImageOwnerId": None},
    {"Size": "60"}, {"Size": 60.0}, {"Size": True}, {"Size": None}, {"Size": "sixty"},
    {"Size": 0},
    {"IsPublic": "true"}, {"IsPublic": 1}, {"IsPublic": "maybe"}, {"IsPublic": None},
    {"IsPublic": True}, {"Usable": 0},
    {"IsSelfShared": True}, {"IsSelfShared": False}, {"IsSelfShared": " True "},
    {"IsSelfShared": "TRUE"}, {"IsSelfShared": "no"}, {"IsSelfShared": ""},
    {"IsSelfShared": None}, {"IsSelfShared": 1},
    {"CreationTime": "2024-01-02T03:04:05+08:00"}, {"CreationTime": "2024-01-02"},
    {"CreationTime": "2024-01-02T03:04:05.5Z"}, {"CreationTime": "2024-13-02T03:04:05Z"},
    {"CreationTime": "2024-02-30T03:04:05Z"}, {"CreationTime": "2024-01-02T24:00:00Z"},
    {"CreationTime": "2024-01-02T03:04:60Z"}, {"CreationTime": "2024-01-02 03:04:05Z"},
    {"CreationTime": "2026-W24-1T03:24:05Z"}, {"CreationTime": "0001-01-01T00:00:00Z"},
    {"CreationTime": "9999-12-31T23:59:59Z"}, {"CreationTime": "2024-01-02T03:04:05z"},
    {"CreationTime": "\uff12\uff10\uff12\uff14-01-02T03:04:05Z"}, {"CreationTime": "yesterday"},
    {"CreationTime": 1700000000}, {"CreationTime": None},
    {"Tags": None}, {"Tags": {}}, {"Tags": {"Tag": []}}, {"Tags": {"Tag": None}},
    {"Tags": {"owner": "a"}}, {"Tags": {"owner": 5}}, {"Tags": {"Tag": "x"}},
    {"Tags": {"Tag": [{"TagKey": "a"}]}}, {"Tags": {"Tag": [{"TagKey": "a", "TagValue": None}]}},
    {"Tags": {"Tag": [{"Key": "a", "Value": "b"}]}}, {"Tags": {"Tag": [{"TagValue": "b"}]}},
    {"Tags": {"Tag": [{"TagKey": 5, "TagValue": "b"}]}},
    {"Tags": {"Tag": [{"TagKey": "a", "TagValue": 5}]}},
    {"Tags": {"Tag": [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}]}},
    {"Tags": {"Tag": [{"TagKey": "Tag", "TagValue": "x"}]}}, {"Tags": {"Tag": ["x"]}},
    {"Tags": [{"TagKey": "a", "TagValue": "b"}]}, {"Tags": "owner=web"},
    {"Tags": {"Tag": [{"TagKey": "a", "TagValue": "b", "Extra": 1}]}},
    {"DiskDeviceMappings": None}, {"DiskDeviceMappings": []}, {"DiskDeviceMappings": {}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": None}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": []}},
    {"DiskDeviceMappings": [{"Size": "60", "Type": "data"}]},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": 60}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": None, "Encrypted": None}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"Encrypted": "false"}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"RemainTime": "3"}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": {"GiB": 60}}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{"NewField": "x"}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [{}, {"Type": "data"}]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": ["junk"]}},
    {"DiskDeviceMappings": {"DiskDeviceMapping": [None]}}, {"DiskDeviceMappings": "x"},
    {"DetectionOptions": None}, {"DetectionOptions": {}},
    {"DetectionOptions": {"Items": None}}, {"DetectionOptions": {"Items": {"Item": None}}},
    {"DetectionOptions": {"Items": {"Item": []}}}, {"DetectionOptions": {"Items": []}},
    {"DetectionOptions": {"Status": None, "Items": [{"Name": "x"}]}},
    {"DetectionOptions": {"Status": "", "Items": {"Item": [{"RiskLevel": None}, {}]}}},
    {"DetectionOptions": {"Items": {"Item": [{"RiskLevel": "Low", "Name": 3}]}}},
    {"DetectionOptions": {"Items": {"Item": [{"Other": "x"}]}}},
    {"DetectionOptions": {"Items": {"Item": "x"}}}, {"DetectionOptions": "x"},
    {"DetectionOptions": {"Status": "Finished", "Extra": True}},
    {"Features": None}, {"Features": {}}, {"Features": {"NvmeSupport": 1}},
    {"Features": {"NvmeSupport": ["x"]}}, {"Features": "supported"},
    {"Features": {"NvmeSupport": None}}, {"Features": {"Future": "x"}},
    {"SecureBootOptions": None}, {"SecureBootOptions": 3}, {"SecureBootOptions": {}},
    {"Unknown": {"nested": [None]}}, {"Unknown": "x"}, {"Unknown": None},
    {"SharePermission": None}, {"SharePermission": {"Accounts": []}},
    {"InstanceIds": ["i-1"]}, {"InstanceIds": None}, {"NotCollected": ["InstanceIds"]},
    {"Description": None}, {"Description": ""},
]


def _variants() -> list[Any]:
    images: list[Any] = []
    for n, variant in enumerate(VARIANTS):
        image = copy.deepcopy(BASE) | {"ImageId": f"m-odd{n:03d}"} | copy.deepcopy(variant)
        images.append({k: v for k, v in image.items() if v is not None or k in variant})
        # the same without the key at all (a field the API left out)
        for key in variant:
            images.append({k: v for k, v in image.items() if k != key} | {"ImageId": f"m-gone{n:03d}"}
                          if key != "ImageId" else {k: v for k, v in image.items() if k != key})
    images += [{"ImageId": "m-bare"}, {**dict.fromkeys(BASE, None), "ImageId": "m-null"},
               "not an image", 5, None, []]
    return images


def _json(image: Record) -> bytes:
    return orjson.dumps(image) if isinstance(image, dict) else (
        image.model_dump_json(exclude_none=True).encode())


def test_each_variant_is_saved_as_validated_or_validated() -> None:
    converted = 0
    for item in _variants():
        before = copy.deepcopy(item)
        saved = saved_image(item)
        assert item == before, "the API's mapping is not changed"
        try:
            expected = Image.model_validate(item, context=API_SHAPE)
        except ValidationError:
            assert saved is None, item
            continue
        if saved is None:
            continue  # anything unusual is validated: never wrong, only slower
        converted += 1
        assert orjson.dumps(saved) == expected.model_dump_json(exclude_none=True).encode(), item
        image = as_image(saved)
        assert image.model_dump() == expected.model_dump(), item
        assert image.model_dump_json() == expected.model_dump_json(), item
    assert saved_image(BASE) is not None and saved_image({"ImageId": "m"}) is not None
    assert converted > 120, f"only {converted} variants were converted"


def _body(items: list[Any], total: int | None = None) -> bytes:
    return json.dumps({"RequestId": "R-1", "RegionId": "cn-hangzhou", "PageNumber": 1,
                       "PageSize": 100, "TotalCount": len(items) if total is None else total,
                       "Images": {"Image": items}}, ensure_ascii=False).encode()


@pytest.mark.parametrize(("chunk", "least_plain"), [(1, 120), (7, 50), (100, 0)])
def test_a_saved_page_reads_as_parse_page_reads_it(chunk: int, least_plain: int) -> None:
    """The same images (as their JSON), notes and errors, page by page; a page one of
    whose images fails validation is read whole by `read_page`, as before."""
    items = _variants()
    bodies = [_body(items[n:n + chunk]) for n in range(0, len(items), chunk)]
    bodies += [_body(items[:3]).replace(b'"ImageName": "ubuntu-22"', b'"ImageName": "a\\ud800"'),
               _body(items[:2], total=-1), _body(items[:2]).replace(b'"TotalCount": 2', b"")]
    plain = 0
    for body in bodies:
        try:
            expected = parse_page(body)
        except ValueError as refused:
            with pytest.raises(type(refused), match=re.escape(str(refused))):
                parse_saved_page(body)
            continue
        got = parse_saved_page(body)
        plain += sum(isinstance(image, dict) for image in got.images)
        assert (got.total_count, got.request_id, got.errors) == (
            expected.total_count, expected.request_id, expected.errors)
        assert [n.model_dump() for n in got.notes] == [n.model_dump() for n in expected.notes]
        assert [_json(i) for i in got.images] == [_json(i) for i in expected.images]
        assert [as_image(i).model_dump() for i in got.images] == [
            i.model_dump() for i in expected.images]
    assert plain >= least_plain  # pages of 100 all hold an image that fails validation


def _fails_validation(item: Any) -> bool:
    try:
        Image.model_validate(item, context=API_SHAPE)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_collect_writes_what_the_validated_collection_writes(
        run_cli: Any, fake: FakeEndpoint, env: dict[str, str], env_keys: None,
        tmp_path: Path, suffix: str) -> None:
    """`collect -o` (plain images unvalidated) against the library's `collect()` (every
    image validated) dumped by `dump_inventory`: the same file, byte for byte."""
    items = [i for i in _variants()  # every entry an image: full pages, read to the end
             if isinstance(i, dict) and isinstance(i.get("ImageId"), str) and i["ImageId"]]
    items.sort(key=_fails_validation)  # pages of valid images first: read as saved mappings
    pages = [items[n:n + 100] for n in range(0, len(items), 100)]
    for number, page in enumerate(pages, 1):
        body = json.dumps({"RequestId": f"R-{number}", "RegionId": "cn-hangzhou",
                           "TotalCount": len(items), "Images": {"Image": page}}).encode()
        fake.cloud.faults.append(Fault("body", region="cn-hangzhou", page=number, times=None,
                                       status=200, body=body))
    out = tmp_path / f"inventory.{suffix}"
    result: CliResult = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                                "-o", str(out), env=env)
    validated = collect(request(fake))
    assert result.exit_code == (0 if validated.complete else 3), result.stderr
    assert validated.image_count > 150 and any(r.notes for r in validated.regions)
    stamp = re.compile(r'"collected_at":"[^"]*"')
    assert stamp.sub("", out.read_text(encoding="utf-8")) == stamp.sub(
        "", dump_inventory(validated, suffix))
