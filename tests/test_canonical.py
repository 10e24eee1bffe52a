"""Canonical saved images are read without validation (auditor/canonical.py): the scan must say
exactly what it says when every image is validated.

Differential: the same inputs evaluated through `InventoryStream.batches()` (every image an
`Image`) and through `records()` (canonical images as their parsed mappings, what `scan
--input` reads), and the whole AuditResult compared: findings, messages, evidence,
fingerprints, data-quality notes, per-rule counts, not-evaluated counts, waivers.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from auditor import typed
from auditor.app.scan import ScanOptions, build_result
from auditor.canonical import MODELS, canonical, known_validators
from auditor.config import Waiver
from auditor.engine import load_rules
from auditor.engine.evaluate import Batch, evaluate_batches
from auditor.engine.ruleset import RuleSet
from auditor.inventory import dump_inventory, open_inputs
from auditor.lang import Lang
from auditor.models import SAVED_SHAPE, Image, Inventory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synth import generate  # the benchmark's generator of varied images

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 8, tzinfo=timezone.utc)

# Rules that show whole objects and lists (evidence, messages), index lists, render `| string`
# of missing values and loop in the sandbox: what a mapping shows must be what its model shows.
ODD_RULES = """
---
id: T-WHOLE
title: whole objects shown
severity: low
require: {Size: {gt: 100000}}
evidence: [Features, DiskDeviceMappings, DetectionOptions, SharePermission, Tags,
           CreationTime, SecureBootOptions, InstanceIds, DetectionOptions.Items]
message: >-
  {{ image.Features }} / {{ image.DiskDeviceMappings }} / {{ image.DetectionOptions }}
  / {{ image.DiskDeviceMappings[0] }} / {{ image.DiskDeviceMappings[0].Size | string }}
  / {{ image.Features.NvmeSupport | string }} / {{ image.SharePermission.Accounts }}
  / {{ image.CreationTime }} / {{ image.Tags }} / {{ image.Tags.owner | string }}
  / {{ image.Description | string }} / {{ image.ImageFamily }}
---
id: T-SANDBOX
title: sandboxed loops over nested objects
severity: medium
require: {DiskDeviceMappings: {every: {Encrypted: true}}}
message: >-
  {% for d in image.DiskDeviceMappings %}[{{ d.Size is none }} {{ d.Type }} {{ d }}]{% endfor %}
  {{ image.DetectionOptions }} {{ image.Features | tojson }} {{ image.SharePermission }}
  {{ image.CreationTime }} {{ image.Tags | dictsort }}
---
id: T-EXISTS
title: existence of defaulted fields
severity: high
when: {Tags: {exists: true}}
require:
  any:
    - {DetectionOptions: {exists: true}}
    - {DetectionOptions.Items: {some: {RiskLevel: {exists: false}}}}
    - {Tags: {has_keys: [owner]}}
message: "{{ image.ImageId }} {{ image.DetectionOptions.Status | string }}"
---
id: T-LISTS
title: whole lists as evidence
severity: low
require:
  all:
    - {DetectionOptions.Items: {every: {RiskLevel: Low}}}
    - {SharePermission.Accounts: {none: {InOrganization: false}}}
    - {CreationTime: {newer_than_days: 400}}
    - {IsSelfShared: {ne: "true"}}
message: "{{ image.ImageId }}"
---
id: T-SHARED
title: reads an enrichment in its when
severity: low
when: {SharePermission.ShareGroups: {some: {Group: all}}}
require: {InstanceIds: {exists: false}}
"""

WAIVERS = [Waiver(rule="IMG-NVME", images=["m-*1"], reason="r", owner="o",
                  expires=date(2027, 1, 1)),
           Waiver(rule="T-WHOLE", tags={"owner": "*"}, reason="r", owner="o",
                  expires=date(2026, 1, 1))]


def _odd_images() -> list[Any]:
    """Images with every kind of value: canonical, normalisable (lax mode, the models' own
    validators), refused (a data-quality note), null, empty and unknown."""
    base = {"ImageOwnerAlias": "self", "IsPublic": True, "Size": 200000, "ImageName": "n",
            "CreationTime": "2024-01-02T03:04:05Z", "Tags": {"owner": "a"},
            "Features": {"NvmeSupport": "unsupported", "Extra": [1, None]},
            "DiskDeviceMappings": [{"Size": 60, "Type": "system", "Encrypted": False}],
            "DetectionOptions": {"Status": "Finished",
                                 "Items": [{"Name": "x", "RiskLevel": "High", "RiskCode": "c"}]},
            "SharePermission": {"Accounts": [{"AliyunId": "1", "SharedTime":
                                              "2026-06-01T00:00:00Z", "InOrganization": False}],
                                "ShareGroups": [{"Group": "all"}]},
            "InstanceIds": ["i-1"], "IsSelfShared": True}
    variants: list[dict[str, Any]] = [
        {}, {"IsSelfShared": " True "}, {"IsSelfShared": "no"}, {"IsSelfShared": None},
        {"Size": "60"}, {"Size": 60.0}, {"Size": True}, {"Size": None}, {"Size": "sixty"},
        {"ImageName": 7}, {"ImageName": 7.5}, {"ImageName": False}, {"ImageName": ""},
        {"ImageName": None}, {"ImageOwnerId": "123"}, {"ImageOwnerId": 2**70},
        {"IsPublic": "true"}, {"IsPublic": 1}, {"IsPublic": "maybe"},
        {"CreationTime": "2024-01-02T03:04:05+08:00"}, {"CreationTime": "2024-01-02"},
        {"CreationTime": "2024-01-02T03:04:05.5Z"}, {"CreationTime": "2024-13-02T03:04:05Z"},
        {"CreationTime": "yesterday"}, {"CreationTime": 1700000000}, {"CreationTime": None},
        {"CreationTime": "2024-02-30T03:04:05Z"}, {"CreationTime": "2024-01-02T03:04:0xZ"},
        {"CreationTime": "2024-W01-2T03:04:05Z"}, {"CreationTime": "2024-01-02T030405+1Z"},
        {"Tags": None}, {"Tags": {}}, {"Tags": {"owner": 5}}, {"Tags": {"owner": ""}},
        {"Tags": {"Tag": [{"TagKey": "owner", "TagValue": "b"}]}}, {"Tags": "owner=web"},
        {"Features": None}, {"Features": {}}, {"Features": {"NvmeSupport": 1}},
        {"Features": {"NvmeSupport": ["x"]}}, {"Features": "supported"},
        {"DiskDeviceMappings": None}, {"DiskDeviceMappings": []},
        {"DiskDeviceMappings": [{"Size": "60", "Encrypted": "false", "RemainTime": "3"}]},
        {"DiskDeviceMappings": [{"Size": {"GiB": 60}}]}, {"DiskDeviceMappings": ["junk"]},
        {"DiskDeviceMappings": {"DiskDeviceMapping": [{"Size": 60}]}},
        {"DetectionOptions": None}, {"DetectionOptions": {}},
        {"DetectionOptions": {"Items": None}}, {"DetectionOptions": {"Items": {"Item": []}}},
        {"DetectionOptions": {"Status": "", "Items": [{"RiskLevel": None}, {}]}},
        {"DetectionOptions": {"Items": [{"RiskLevel": "Low", "Name": 3}]}},
        {"SharePermission": None}, {"SharePermission": {}},
        {"SharePermission": {"Accounts": None, "ShareGroups": None}},
        {"SharePermission": {"Accounts": [{"AliyunId": 1, "SharedTime": "2026-06-01"}]}},
        {"SharePermission": {"Accounts": [{"SharedTime": "soon"}]}},
        {"SharePermission": {"Accounts": {"Account": []}}},
        {"InstanceIds": None}, {"InstanceIds": []}, {"InstanceIds": [1]},
        {"NotCollected": ["InstanceIds"]}, {"NotCollected": ["SharePermission"]},
        {"SecureBootOptions": {"SecureBootSupport": "supported"}}, {"SecureBootOptions": 3},
        {"Unknown": {"nested": [None]}}, {"Description": None}, {"ImageFamily": ""},
        {"ImageId": ""}, {"ImageId": 12345}, {"ImageId": None},
    ]
    images: list[Any] = []
    for n, variant in enumerate(variants):
        image = {"ImageId": f"m-odd{n}", **copy.deepcopy(base), **variant}
        images.append({k: v for k, v in image.items() if v is not None or k in variant})
    images.append({"ImageId": "m-bare"})
    images.append({"ImageOwnerAlias": "self", "Size": 1})  # no ImageId: left out
    images.append({})
    images.append({"ImageId": "m-public", "ImageOwnerAlias": "others", "IsPublic": True})
    images.append("not an image")
    return images


def _inventory(images: list[Any], account: str = "1234567890123456") -> dict[str, Any]:
    half = len(images) // 2
    return {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
            "collected_at": "2026-11-27T08:00:00Z", "account_id": account,
            "regions": [{"region": "cn-a", "images": images[:half]},
                        {"region": "cn-b", "images": images[half:] + images[:3]}]}


def _ruleset(tmp_path: Path, odd: bool) -> RuleSet:
    paths = []
    if odd:
        (tmp_path / "odd.yaml").write_text(ODD_RULES, encoding="utf-8")
        paths.append(tmp_path / "odd.yaml")
    return load_rules(paths, builtin=True)


def _results(paths: list[Path], ruleset: RuleSet, lang: Lang = "en",
             waivers: list[Waiver] = WAIVERS) -> tuple[Any, Any, int]:
    """The AuditResult with every image validated, and through `records()`; how many images
    `records()` gave unvalidated (as mappings, or decoded: `auditor.typed`)."""
    options = ScanOptions(inputs=paths, fail_on="never", now=NOW, lang=lang)
    results, raws = [], 0
    for raw in (False, True):
        stream = open_inputs(paths)
        batches: list[Batch] = list(stream.records() if raw else stream.batches())
        raws += sum(isinstance(i, dict) or typed.decoded(i)
                    for _, _, images in batches for i in images)
        evaluation = evaluate_batches(batches, ruleset, waivers=waivers, today=TODAY,
                                      lang=lang, expiry_warning_days=60)
        results.append(build_result(stream.summary(), ruleset, evaluation, options, NOW))
    return results[0], results[1], raws


def _same(validated: Any, read: Any) -> None:
    assert read.model_dump(mode="json") == validated.model_dump(mode="json")
    assert read.model_dump_json() == validated.model_dump_json()  # key order too


def test_synthetic_inventory_reads_alike(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(generate(3000, regions=3, seed=5)), encoding="utf-8")
    validated, read, raws = _results([path], _ruleset(tmp_path, odd=False))
    assert raws == 3000, "every synthetic image is canonical: none was read as it is"
    assert len(validated.findings) > 1000 and validated.waivers
    _same(validated, read)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_odd_and_hostile_values_read_alike(tmp_path: Path, lang: Lang) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(_inventory(_odd_images())), encoding="utf-8")
    validated, read, raws = _results([path], _ruleset(tmp_path, odd=True), lang)
    assert 10 < raws < len(_odd_images()), "some odd images must take each path"
    assert validated.data_quality and any(r.not_evaluated for r in validated.rules)
    assert {f.rule_id for f in validated.findings} >= {"T-WHOLE", "T-SANDBOX", "T-EXISTS",
                                                       "T-LISTS"}
    _same(validated, read)


def test_json_lines_and_several_inputs_read_alike(tmp_path: Path) -> None:
    images = _odd_images()[:-1]
    lines = tmp_path / "odd.jsonl"
    inventory = Inventory.model_validate(
        {**_inventory([]), "regions": [{"region": "cn-a", "images": []}]})
    lines.write_text(dump_inventory(inventory, "jsonl") + "".join(
        json.dumps({"region": "cn-a", "image": image}) + "\n" for image in images),
        encoding="utf-8")
    other = tmp_path / "synth.json"
    other.write_text(json.dumps({**generate(300, regions=2, seed=9),
                                 "account_id": "1234567890123456"}), encoding="utf-8")
    validated, read, raws = _results([lines, other], _ruleset(tmp_path, odd=True))
    assert raws > 300
    _same(validated, read)


def test_the_cli_reads_canonical_images_as_the_validated_path_does(
        tmp_path: Path, run_cli: Any) -> None:
    """Through the CLI (which reads `records()`): the same JSON report as the validated path
    gives, with the built-in rules over odd values (entries left out: incomplete, exit 3)."""
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(_inventory(_odd_images())), encoding="utf-8")
    result = run_cli("scan", "--input", str(path), "--format", "json", "--fail-on", "never",
                     env={"IMGAUDIT_NOW": NOW.isoformat()})
    assert result.exit_code == 3, result.stderr
    report = json.loads(result.stdout)
    validated, _, _ = _results([path], load_rules([], builtin=True), waivers=[])
    expected = validated.model_dump(mode="json")
    for key in ("findings", "rules", "data_quality"):
        assert report[key] == expected[key], key


def test_canonical_answers_only_what_validation_keeps_as_it_is() -> None:
    for item in _odd_images():
        kept = copy.deepcopy(item)
        if canonical(item):
            image = Image.model_validate(kept, context=SAVED_SHAPE)
            assert Image.model_validate(item, context=SAVED_SHAPE) == image
        elif isinstance(item, dict) and item.get("ImageId") == "m-odd0":
            pytest.fail("the plain image must be canonical")


def test_every_model_validator_is_known() -> None:
    """A `before` validator added to a model must be applied by auditor/canonical.py too
    (or the check must refuse its field): this fails until it is listed there."""
    found = {(model, name) for model in MODELS
             for decorator in model.__pydantic_decorators__.field_validators.values()
             for name in decorator.info.fields}
    assert found == known_validators()
    assert {model: set(model.__pydantic_decorators__.model_validators) for model in MODELS
            if model.__pydantic_decorators__.model_validators} == {Image: {"_collapse"}}


@pytest.mark.parametrize("text", [
    "2019-11-15T06:07:05Z", "2024-02-29T23:59:59Z", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "2023-02-29T00:00:00Z", "2024-01-02T24:00:00Z",
    "2024-01-02T03:60:05Z", "2024-1a-02T03:04:05Z", "2024-01-02T03:04:0\u0663Z",
])
def test_the_api_time_shape_is_parsed_as_pydantic_parses_it(text: str) -> None:
    """`Image.CreationTime`'s own parse of the API's shape (models.py) gives pydantic's value,
    its zone included, or leaves what pydantic refuses to pydantic."""
    try:
        expected: Any = TypeAdapter(datetime).validate_python(text)
    except ValidationError:
        expected = None
    try:
        parsed: Any = Image.model_validate({"ImageId": "m-1", "CreationTime": text}).CreationTime
    except ValidationError:
        parsed = None
    assert parsed == expected
    if expected is not None:
        assert parsed.tzinfo is not None and parsed.utcoffset() == expected.utcoffset()
