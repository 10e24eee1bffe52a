"""`collect -o` saves plain images without validating them: a page of plain values decoded
by msgspec (auditor/collector/plain_page.py), else each plain image converted in Python
(auditor/collector/saved.py). What it writes must be exactly what the validated path writes,
with the same notes and errors.

Differential: every odd and hostile variant of an API-shaped image, converted by
`saved_image` and validated with the API's shape, compared value by value and byte by byte;
each variant, hostile bodies and seeded random images as pages read by `read_plain_page` and
by `parse_page`; pages of them read by `parse_saved_page` and by `parse_page`; and `imgaudit
collect -o` (which saves the plain ones unvalidated) against `dump_inventory` of the
library's `collect()`, which validates every image.
"""

from __future__ import annotations

import copy
import json
import random
import re
import typing
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_helpers import CliResult
from fakeecs import FakeEndpoint, Fault
from fakeecs import collect_request as request
from pydantic import BaseModel, ValidationError

from auditor.canonical import as_image
from auditor.collector import Record, collect
from auditor.collector.page_body import parse_page, parse_saved_page
from auditor.collector.plain_page import read_plain_page
from auditor.collector.saved import SavedImage, saved_image
from auditor.inventory import dump_inventory
from auditor.models import API_SHAPE, ENRICHMENTS, DetectionItem, DiskDeviceMapping, Image

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
    return image.encoded if isinstance(image, SavedImage) else (
        image.model_dump_json(exclude_none=True).encode())


def _image(record: Record) -> Image:
    """The record as an `Image`: a saved image's JSON validated as a saved image is; its id
    and tags (what the collector reads of it) checked against that."""
    if isinstance(record, Image):
        return record
    image = as_image(orjson.loads(record.encoded))
    assert (record.ImageId, record.Tags) == (image.ImageId, image.Tags)
    return image


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


def _plain_as_validated(body: bytes) -> bool:
    """Whether msgspec's typed decoding took the page; when it did, what it gives is what the
    validated path reads: the same images (as JSON and as records), and no note or error."""
    plain = read_plain_page(body)
    if plain is None:
        return False
    expected = parse_page(body)  # a page the typed decoding takes is a usable page
    assert (plain.total_count, plain.request_id) == (expected.total_count, expected.request_id)
    assert (expected.notes, expected.errors) == ([], []), body[:400]
    assert all(isinstance(i, SavedImage) for i in plain.images)
    assert [_json(i) for i in plain.images] == [_json(i) for i in expected.images], body[:400]
    assert [_image(i).model_dump() for i in plain.images] == [
        i.model_dump() for i in expected.images]
    return True


def _saved_as_parsed(body: bytes) -> int:
    """`parse_saved_page` reads the page as `parse_page` does (the same images as their JSON,
    notes and errors, or the same refusal); the count of images it kept unvalidated."""
    try:
        expected = parse_page(body)
    except ValueError as refused:
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            parse_saved_page(body)
        return 0
    got = parse_saved_page(body)
    assert (got.total_count, got.request_id, got.errors) == (
        expected.total_count, expected.request_id, expected.errors)
    assert [n.model_dump() for n in got.notes] == [n.model_dump() for n in expected.notes]
    assert [_json(i) for i in got.images] == [_json(i) for i in expected.images]
    assert [_image(i).model_dump() for i in got.images] == [
        i.model_dump() for i in expected.images]
    return sum(isinstance(image, SavedImage) for image in got.images)


def test_each_variant_alone_on_a_page_is_decoded_as_validated() -> None:
    """The typed decoding takes only what it gives exactly as validation does."""
    taken = [item for item in _variants() if _plain_as_validated(_body([item]))]
    assert len(taken) > 150, f"only {len(taken)} variants were decoded typed"
    assert _plain_as_validated(_body(taken)) and _plain_as_validated(_body([]))


_PLAIN = _body([BASE | {"ImageId": "m-1"}, {"ImageId": "m-2", "Size": 7}])
# (text of _PLAIN, what replaces it): odd JSON, values at the edges of their types, odd pages
_SWAPS: list[tuple[bytes, list[bytes]]] = [
    (b'"ImageName": "ubuntu-22"', [
        b'"ImageName": "a\\ud800"', b'"ImageName": "\\udc00b"', b'"ImageName": "\\ud800\\u0041"',
        b'"ImageName": "\\ud83d\\ude00"', b'"ImageName": "\\u2028\\/\\u0041\\u00e9"',
        b'"ImageName": "a\xffb"', b'"ImageName": "\xed\xa0\x80"', b'"ImageName": "\xc0\x80"',
        b'"ImageName": "\xf4\x90\x80\x80"', b'"ImageName": "a\x01b"', b'"ImageName": "a\tb"',
        b'"ImageName": "x", "ImageName": 5', b'"ImageName": 5, "ImageName": "x"',
        b'"ImageName": "x", "ImageName": "y"', b'"ImageName": "x", "ImageName": null']),
    (b'"Size": 40', [
        b'"Size": 40.0', b'"Size": 4e1', b'"Size": -0', b'"Size": 040', b'"Size": NaN',
        b'"Size": Infinity', b'"Size": 9223372036854775807', b'"Size": 9223372036854775808',
        b'"Size": -9223372036854775808', b'"Size": -9223372036854775809',
        b'"Size": 18446744073709551615', b'"Size": 18446744073709551616',
        b'"Size": 18446744073709551617', b'"Size": 1' + b'0' * 400]),
    (b'"TotalCount": 2', [
        b'"TotalCount": true', b'"TotalCount": 2.0', b'"TotalCount": -1',
        b'"TotalCount": 9007199254740992', b'"TotalCount": 9007199254740993',
        b'"TotalCount": "2"', b'"TotalCount": null', b'"TotalCount": 2, "TotalCount": 3',
        b'"TotalCount": 2, "Extra": 1', b'"Other": 2']),
    (b'"RequestId": "R-1"', [b'"RequestId": 5', b'"RequestId": null', b'"RequestId": ""']),
    (b'"RegionId": "cn-hangzhou"', [b'"RegionId": 5', b'"RegionId": null']),
    (b'"PageSize": 100', [b'"PageSize": "100"', b'"PageSize": null']),
    (b'"Images": {"Image": [', [b'"Images": {"Extra": 1, "Image": [', b'"Images": [[']),
    (b'"Tags": {"Tag": [', [b'"Tags": {"Tag": [], "Tag": [', b'"Tags": {"Extra": [], "Tag": [']),
    (b'"DiskDeviceMappings": {"DiskDeviceMapping": [', [
        b'"DiskDeviceMappings": {"DiskDeviceMapping": [{}, ']),
]
_WHOLE = [
    b'{"TotalCount": 0, "Images": null}', b'{"TotalCount": 0, "Images": {}}',
    b'{"TotalCount": 0, "Images": {"Image": null}}', b'{"TotalCount": 0, "Images": []}',
    b'{"TotalCount": 0, "Images": {"Image": {}}}', b'{"TotalCount": 0}', b'{}', b"[]",
    b"null", b"", b" ", b'{"TotalCount": 0, "Images": {"Image": [null]}}',
    b"\xef\xbb\xbf" + _PLAIN, _PLAIN + b" x", _PLAIN + b"\n\t ", b" " + _PLAIN, _PLAIN[:-1],
    _PLAIN[:-1] + b", }", json.dumps(json.loads(_PLAIN), indent=2).encode(),
    json.dumps(json.loads(_PLAIN), ensure_ascii=True).encode(),
    json.dumps(json.loads(_PLAIN), separators=(",", ":")).encode(),
]


def _hostile_bodies() -> list[bytes]:
    bodies = list(_WHOLE)
    for text, swaps in _SWAPS:
        assert text in _PLAIN
        bodies += [_PLAIN.replace(text, swap) for swap in swaps]
    return bodies


def test_hostile_bodies_are_decoded_as_validated_or_read_as_before() -> None:
    """JSON that orjson or the models refuse, values at the edges of 64 bits and 2**53,
    repeated keys, odd pages: decoded typed only as validation reads them, else read as
    `parse_page` reads them (the same images, notes and errors, or the same refusal)."""
    taken = 0
    for body in _hostile_bodies():
        taken += _plain_as_validated(body)
        _saved_as_parsed(body)
    assert taken >= 15, f"only {taken} hostile bodies were decoded typed"


_ADDED = (*ENRICHMENTS, "NotCollected")  # never in an API page (an odd key below, at times)


# Values of each field's JSON type as the API sends them, and odd ones (another type, an
# integer past 64 signed bits, a text the models normalise, a time in another shape).
_PLAIN_VALUES: dict[Any, list[Any]] = {
    str: ["", "x", HOSTILE, "true", "60", "2024-01-02T03:04:05Z", "\u2028"],
    int: [0, -1, 60, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)],
    bool: [True, False],
    "IsSelfShared": ["true", "false"],
    "CreationTime": ["2024-01-02T03:04:05Z", "2024-02-29T23:59:59Z", "0001-01-01T00:00:00Z"],
}
_ODD_VALUES = [None, 1.5, 60.0, [], {}, ["x"], {"a": 1}, {"Tag": []}, 2**63, 2**64 - 1,
               -(2**63) - 1, 2**64, "True", " false", True, "2023-02-29T00:00:00Z",
               "2024-01-02T03:04:05+08:00", "2024-01-02T03:04:05.5Z", "2024-01-02", 7]


def _random_value(rng: random.Random, kind: Any, odd: float) -> Any:
    """A value of this JSON type, or (with probability `odd`) an odd one."""
    if rng.random() < odd:
        return rng.choice(_ODD_VALUES)
    return rng.choice(_PLAIN_VALUES.get(kind, _PLAIN_VALUES[str]))


def _random_object(rng: random.Random, model: type[BaseModel], odd: float) -> dict[str, Any]:
    """An API-shaped object of `model`: each field present or not, each value random."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if rng.random() < 0.3 or (model is Image and name in _ADDED):
            continue
        kind = info.annotation
        args = [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
        kind = args[0] if len(args) == 1 and getattr(kind, "__origin__", None) is None else kind
        shapes = 6 if rng.random() > odd else 0  # how likely the API's wrapper is
        if model is Image and name in ("IsSelfShared", "CreationTime"):
            out[name] = _random_value(rng, name, odd)
        elif (model, name) == (Image, "Tags"):
            pairs = [{"TagKey": _random_value(rng, str, odd / 2),
                      "TagValue": _random_value(rng, str, odd / 2)}
                     for _ in range(rng.randrange(4))]
            out[name] = rng.choice([{"Tag": pairs}] * shapes + [{"Tag": None}, None] + (
                [{}, pairs] if odd else []))
        elif typing.get_origin(kind) is list and isinstance(
                item := typing.get_args(kind)[0], type) and issubclass(item, BaseModel):
            objects = [_random_object(rng, item, odd) for _ in range(rng.randrange(3))]
            wrapper = {DiskDeviceMapping: "DiskDeviceMapping", DetectionItem: "Item"}[item]
            out[name] = rng.choice([{wrapper: objects}] * shapes + [{wrapper: None}, None] + (
                [{}, objects] if odd else []))
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            out[name] = _random_object(rng, kind, odd) if rng.random() > odd else None
        else:
            out[name] = _random_value(rng, kind, odd)
    if rng.random() < odd:
        out[rng.choice(["Unknown", "SharePermission", "InstanceIds", "Tag"])] = "x"
    return out


def test_random_images_are_decoded_as_validated_or_read_as_before() -> None:
    """Seeded random API images on pages of one to four, two pages in five plain (each value
    of its field's type), the others with odd values now and then: what the typed decoding
    takes is what validation gives; every page is read by `parse_saved_page` as `parse_page`
    reads it."""
    rng = random.Random(12)
    taken = pages = 0
    for n in range(600):
        images = []
        odd = rng.choice([0.0, 0.0, 0.01, 0.05, 0.2])
        for m in range(rng.randrange(1, 5)):
            image = _random_object(rng, Image, odd)
            if rng.random() >= odd:
                image["ImageId"] = f"m-{n}-{m}"
            images.append(image)
        body = _body(images)
        taken += _plain_as_validated(body)
        _saved_as_parsed(body)
        pages += 1
    assert pages // 5 < taken < pages, f"{taken} of {pages} pages decoded typed"


@pytest.mark.parametrize(("chunk", "least_plain"), [(1, 120), (7, 50), (100, 0)])
def test_a_saved_page_reads_as_parse_page_reads_it(chunk: int, least_plain: int) -> None:
    """The same images (as their JSON), notes and errors, page by page; a page one of
    whose images fails validation is read whole by `read_page`, as before."""
    items = _variants()
    bodies = [_body(items[n:n + chunk]) for n in range(0, len(items), chunk)]
    bodies += [_body(items[:3]).replace(b'"ImageName": "ubuntu-22"', b'"ImageName": "a\\ud800"'),
               _body(items[:2], total=-1), _body(items[:2]).replace(b'"TotalCount": 2', b"")]
    plain = sum(_saved_as_parsed(body) for body in bodies)
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
    image validated) dumped by `dump_inventory`: the same file, byte for byte. Page 1 is
    decoded typed; page 2 image by image, its plain ones converted (`saved.py`), the others
    validated; page 3 validated whole."""
    items = [i for i in _variants()  # every entry an image: full pages, read to the end
             if isinstance(i, dict) and isinstance(i.get("ImageId"), str) and i["ImageId"]]
    items.sort(key=lambda i: (_fails_validation(i), read_plain_page(_body([i])) is None))
    pages = [items[n:n + 100] for n in range(0, len(items), 100)]
    bodies = [json.dumps({"RequestId": f"R-{number}", "RegionId": "cn-hangzhou",
                          "TotalCount": len(items), "Images": {"Image": page}}).encode()
              for number, page in enumerate(pages, 1)]
    assert len(bodies) == 3 and read_plain_page(bodies[0]) is not None
    assert read_plain_page(bodies[1]) is None and 0 < _saved_as_parsed(bodies[1]) < 100
    assert _saved_as_parsed(bodies[2]) == 0
    for number, body in enumerate(bodies, 1):
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
