"""Saved images decoded and type-checked by msgspec (auditor/typed.py) must read exactly as the
old way reads them: orjson, the canonical check (auditor/canonical.py), validation with its
data-quality notes.

Differential: each odd and hostile image (test_canonical's, test_saved_images' and generated
ones) decoded alone against the canonical check of orjson's parse; whole inputs (JSON
documents and JSON Lines, images of each path mixed) scanned with the typed decoder and
without it (`inventory.TYPED`, off only here), the whole AuditResult compared, notes and
errors included; and `imgaudit scan --input` compared through the CLI.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator, model_validator
from test_canonical import NOW, ODD_RULES, TODAY, WAIVERS, _odd_images
from test_saved_images import BASE, HOSTILE, _variants

from auditor import inventory, typed
from auditor.app.scan import ScanOptions, build_result
from auditor.canonical import MODELS, canonical, known_validators
from auditor.engine import load_rules
from auditor.engine.evaluate import Batch, evaluate_batches
from auditor.engine.ruleset import RuleSet
from auditor.inventory import dump_inventory, open_inputs
from auditor.models import Image, ImageFeatures, Inventory, ShareGroup

HEADER = {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
          "collected_at": "2026-11-27T08:00:00Z", "account_id": "1234567890123456"}


def _saved(item: Any) -> Any:
    """An image of test_saved_images (API-shaped) as a saved inventory holds it: its wrappers
    collapsed when they are the API's plain ones (odd ones stay, as strangers' data)."""
    if not isinstance(item, dict):
        return item
    item = copy.deepcopy(item)
    tags = item.get("Tags")
    if isinstance(tags, dict) and isinstance(tags.get("Tag"), list) and all(
            isinstance(t, dict) and {"TagKey", "TagValue"} <= set(t) for t in tags["Tag"]):
        item["Tags"] = {t["TagKey"]: t["TagValue"] for t in tags["Tag"]}
    disks = item.get("DiskDeviceMappings")
    if isinstance(disks, dict) and isinstance(disks.get("DiskDeviceMapping"), list):
        item["DiskDeviceMappings"] = disks["DiskDeviceMapping"]
    detection = item.get("DetectionOptions")
    if isinstance(detection, dict) and isinstance(detection.get("Items"), dict) and \
            isinstance(detection["Items"].get("Item"), list):
        item["DetectionOptions"] = {**detection, "Items": detection["Items"]["Item"]}
    return item


# Beyond the other modules' variants: what only a decoder of typed JSON can get wrong
MORE: list[Any] = [
    {"ImageId": "m-big", "ImageOwnerId": 10**25 + 7},  # orjson: a float, rounded
    {"ImageId": "m-u64", "ImageOwnerId": 2**64 - 1}, {"ImageId": "m-i64", "Size": -(2**63)},
    {"ImageId": "m-ns", "CreationTime": "2024-01-02T03:04:05.9999999Z"},  # 7 fraction digits
    {"ImageId": "m-tz", "CreationTime": "2024-01-02T03:04:05+08:00"},
    {"ImageId": "m-frac", "CreationTime": "2024-01-02T03:04:05.123Z"},
    {"ImageId": "m-self", "IsSelfShared": "true"}, {"ImageId": "m-TRUE", "IsSelfShared": "TRUE"},
    {"ImageId": "m-boolshared", "IsSelfShared": False}, {"ImageId": "m-size", "Size": 1.0},
    {"ImageId": "m-text", "ImageName": 12, "DiskDeviceMappings": [{"Size": 60, "Type": 1}]},
    {"ImageId": "m-texts", "InstanceIds": ["i-1", 2]}, {"ImageId": "m-tag", "Tags": {"a": 1}},
    {"ImageId": "m-share", "SharePermission": {"Accounts": [
        {"AliyunId": 5, "SharedTime": "2026-06-01T00:00:00.9999999Z"}]}},
    {"ImageId": "m-badshare", "SharePermission": {"Accounts": [{"SharedTime": "2026-13-01"}]}},
    {"ImageId": "m-shares", "SharePermission": {"Accounts": [], "ShareGroups": [{"Group": 1.5}]}},
    {"ImageId": "m-dup", "ImageName": "a", "Size": 5},  # written with a repeated key below
    {"ImageId": "m-nulls", "Tags": None}, {"ImageId": "m-items", "DetectionOptions": {
        "Items": None}}, {"ImageId": "m-e", "Features": {"Unknown": 1}},
    {"ImageId": "m-hostile", "Description": HOSTILE, "Tags": {HOSTILE: HOSTILE}},
    {"ImageId": "m-bool", "IsPublic": 0}, {"ImageId": "m-nested", "Features": []},
    {"ImageId": "m-ints", "ImageName": 1, "Description": 2, "OSType": 3, "OSName": 4,
     "Platform": 5, "Features": {"NvmeSupport": 6}, "SharePermission": {
         "Accounts": [{"AliyunId": 7}], "ShareGroups": [{"Group": 8}]}},  # past _LEARNED
]


def _items() -> list[Any]:
    return [*_odd_images(), *map(_saved, _variants()), *MORE]


def _json(item: Any) -> bytes:
    text = json.dumps(item, ensure_ascii=False).encode()  # integers of any size
    if isinstance(item, dict) and item.get("ImageId") == "m-dup":
        text = text.replace(b'"Size": 5', b'"Size": 5, "ImageName": "b", "Size": 6')
    return text


def _filled(model: type[BaseModel], value: Any) -> Any:
    """A mapping as the engine reads it: every field (a missing one as the model's
    default), nested objects alike, then the fields the model does not name."""
    if not isinstance(value, dict):
        return value
    out = {}
    for name, info in model.model_fields.items():
        field = value.get(name, info.get_default(call_default_factory=True))
        inner = info.annotation
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        inner = args[0] if typing.get_origin(inner) in (typing.Union, types.UnionType) else inner
        if typing.get_origin(inner) is list:
            (inner,) = typing.get_args(inner)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            field = ([_filled(inner, x) for x in field] if isinstance(field, list)
                     else _filled(inner, field))
        out[name] = field
    out.update((k, v) for k, v in value.items() if k not in model.model_fields)
    return out


def _compare(text: bytes) -> bool:
    """Whether the image was decoded; when it was, it must be exactly what the canonical
    check makes of orjson's parse (values and their types, times and their zones)."""
    decoded = typed.image(text)
    if decoded is None:
        return False
    item = orjson.loads(text)
    assert canonical(item), f"decoded, but the canonical check refuses it: {text!r}"
    assert repr(_filled(Image, typed.record(decoded))) == repr(_filled(Image, item)), text
    return True


def test_each_odd_image_decodes_as_the_canonical_check_reads_it() -> None:
    decoded = {item.get("ImageId") if isinstance(item, dict) else None
               for item in _items() if _compare(_json(item))}
    assert len(decoded) > 60
    # normalised as the model normalises them: a JSON boolean IsSelfShared, a number in text
    assert {"m-boolshared", "m-text", "m-ints", "m-ns", "m-tz", "m-frac", "m-share", "m-dup",
            "m-hostile", "m-self", "m-i64"} <= decoded - {None}
    # refused, read the old way: whatever msgspec would read otherwise than the models
    assert not decoded & {"m-big", "m-u64", "m-TRUE", "m-size", "m-texts", "m-tag", "m-badshare",
                          "m-shares", "m-nulls", "m-items", "m-e", "m-bool", "m-nested", "",
                          "m-odd1"}


def test_what_msgspec_will_not_read_is_refused() -> None:
    for text in [b'{"ImageId": "m", "ImageName": "\\ud800"}', b'{"ImageId": "m\xff"}',
                 b'{"ImageId": "m", "Size": NaN}', b'{"ImageId": "m", "Size": 1e400}',
                 b'{"ImageId": "m"} x', b'["m"]', b'{"ImageId": "m", "Tags": {"a": "\x01"}}',
                 b'{"ImageId": "m", "Unknown": ' + b"[" * 5000 + b"]" * 5000 + b"}"]:
        assert typed.image(text) is None, text
    assert typed.line(b'{"region": "r", "image": {"ImageId": "m"}, "other": 1}') is None
    assert typed.line(b'{"region": "r", "account_id": 5, "image": {"ImageId": "m"}}') is None


def _mostly(own: st.SearchStrategy[Any], other: st.SearchStrategy[Any],
            one_in: int = 20) -> st.SearchStrategy[Any]:
    """`own` but one time in `one_in`, else `other` (an inner value picks it: hypothesis
    favours the bounds)."""
    return st.integers(1, one_in).flatmap(lambda n: other if n == one_in // 2 else own)


def _value(annotation: Any) -> st.SearchStrategy[Any]:
    """Values mostly of a field's own JSON type, else of any other (strangers' data)."""
    anything = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4),
                         st.just([]), st.just({}), st.just({"x": 1}))
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) is not list and \
            typing.get_origin(annotation) is not dict:
        annotation = args[0]
    if annotation is str:
        own: st.SearchStrategy[Any] = st.one_of(
            st.text(max_size=6), st.sampled_from(["true", "false", " True ", "", "x"]),
            _mostly(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**65), 2**65), 5))
    elif annotation is int:
        own = _mostly(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**65), 2**65), 5)
    elif annotation is bool:
        own = st.booleans()
    elif annotation is datetime:
        own = _mostly(st.sampled_from(["2024-01-02T03:04:05Z", "2024-02-29T23:59:59Z",
                                       "2024-01-02T03:04:05.9999999Z",
                                       "2024-01-02T03:04:05+08:00", "2024-01-02"]),
                      st.sampled_from(["2024-13-02T03:04:05Z", "2024-01-02T030405Z", "x"]), 5)
    elif typing.get_origin(annotation) is dict:
        own = st.dictionaries(st.text(max_size=3), _mostly(st.text(max_size=3),
                                                           st.integers(0, 3)), max_size=3)
    elif typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        own = st.lists(_mostly(st.text(max_size=3), st.integers(0, 3)) if item is str
                       else _value(item), max_size=3)
    else:
        own = _object(annotation)
    return _mostly(own, anything, 40)


def _object(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of some of the model's fields, one in 30 with a field it does not name."""
    fields = {name: _value(info.annotation) for name, info in model.model_fields.items()}
    if model is Image:  # the fields whose own values are few
        fields["IsSelfShared"] = _mostly(st.sampled_from(["true", "false", True, False]),
                                         st.sampled_from([" True ", "no", "", 1, None]), 3)
        fields["ImageId"] = _mostly(st.text(min_size=1, max_size=5), st.sampled_from(["", 7]))
    return st.tuples(st.fixed_dictionaries({}, optional=fields), st.integers(0, 29)).map(
        lambda drawn: {**drawn[0], "Unknown": 1} if drawn[1] == 13 else drawn[0])


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(_object(Image), _object(Image).map(lambda i: {**i, "ImageId": "m-1"})))
def test_generated_images_decode_as_the_canonical_check_reads_them(item: dict[str, Any]) -> None:
    event("decoded" if _compare(_json(item)) else "refused")


def test_every_model_field_has_its_decoded_type() -> None:
    """The Structs are made from the models: every field, in the model's order, with its
    default; a field of a type, constraint or validator not mapped here stops the decoder
    being made (so adding one to a model fails every test until auditor/typed.py knows it)."""
    structs = typed.structs()
    assert set(structs) == set(MODELS)
    for model, struct in structs.items():
        assert struct.__struct_fields__ == tuple(model.model_fields), model
        assert struct.__struct_config__.forbid_unknown_fields
    assert set(typed._VALIDATED) == known_validators()

    class Later(ImageFeatures):
        Ratio: float | None = None

    class Constrained(ImageFeatures):
        Code: str = Field(default="", max_length=3)

    class Checked(ImageFeatures):
        @field_validator("NvmeSupport", mode="before")
        @classmethod
        def _lower(cls, value: Any) -> Any:
            return value

    class Whole(ImageFeatures):
        @model_validator(mode="before")
        @classmethod
        def _whole(cls, value: Any) -> Any:
            return value

    class Aliased(ImageFeatures):
        Code: str | None = Field(default=None, alias="code")

    class Defaulted(ImageFeatures):
        Level: int = 3

    class Either(ImageFeatures):
        Value: int | str | None = None

    class Needed(ImageFeatures):
        Name: str

    cases: list[tuple[type[BaseModel], str]] = [
        (Later, "Later.Ratio"), (Constrained, "Constrained.Code"),
        (Checked, "Checked.NvmeSupport"), (Whole, "Whole: model validators"),
        (Aliased, "Aliased.Code: an alias"), (Defaulted, "Defaulted.Level: default 3"),
        (Either, "Either.Value"), (Needed, "Needed.Name: required")]
    for model, says in cases:
        with pytest.raises(TypeError, match=says):
            typed._typed(model)

    class Twice(ImageFeatures):  # a model nested twice is made once
        Groups: list[ShareGroup] = Field(default_factory=list)
        Main: ShareGroup | None = None

    struct, fix, _ = typed._typed(Twice)
    decoded = msgspec.json.decode(b'{"Groups": [{"Group": 5}], "Main": {"Group": "a"}}',
                                  type=struct)
    assert fix(decoded)
    assert msgspec.to_builtins(decoded) == {"Groups": [{"Group": "5"}], "Main": {"Group": "a"}}


def _ruleset(tmp_path: Path) -> RuleSet:
    (tmp_path / "odd.yaml").write_text(ODD_RULES, encoding="utf-8")
    return load_rules([tmp_path / "odd.yaml"], builtin=True)


def _result(paths: list[Path], ruleset: RuleSet, records: bool) -> dict[str, Any]:
    options = ScanOptions(inputs=paths, fail_on="never", now=NOW, lang="en")
    stream = open_inputs(paths)
    batches: list[Batch] = list(stream.records() if records else stream.batches())
    evaluation = evaluate_batches(batches, ruleset, waivers=WAIVERS, today=TODAY, lang="en",
                                  expiry_warning_days=60)
    dumped: dict[str, Any] = build_result(stream.summary(), ruleset, evaluation, options,
                                          NOW).model_dump(mode="json")
    return dumped


def _inputs(tmp_path: Path) -> dict[str, list[Path]]:
    """Inputs of each kind, images of both paths mixed in most."""
    items = [i for i in _items() if not (isinstance(i, dict) and i.get("ImageId") == "m-dup")]
    clean = [{**BASE, "ImageId": f"m-clean{n}", "Tags": {"owner": "o"}, "IsSelfShared": "true",
              "DiskDeviceMappings": [{"Size": n, "Encrypted": n % 2 == 0}],
              "DetectionOptions": {"Items": [{"RiskLevel": "High", "Name": "n"}]}}
             for n in range(5)]
    # each odd image after a plain one, so that most of an input's images decode (else the
    # decoder gives up: `Decoding.given_up`)
    plain = [{**_saved(BASE), "ImageId": f"m-plain{n}", "Tags": {"n": str(n)}}
             for n in range(len(items))]
    items = [image for pair in zip(plain, items, strict=True) for image in pair]
    half = len(items) // 2
    regions = [{"region": "cn-a", "complete": True, "images": items[:half] + clean},
               {"region": "cn-b", "images": items[half:] + items[:4]},
               {"region": "cn-c", "total_count": 3, "complete": False, "errors": ["x"]}]
    paths: dict[str, list[Path]] = {}

    def document(name: str, doc: dict[str, Any], odd: bytes = b"") -> None:
        path = tmp_path / f"{name}.json"
        text = json.dumps(doc, ensure_ascii=False).encode()
        path.write_bytes(text.replace(b'"m-clean2"', b'"m-clean2"' + odd, 1))
        paths[name] = [path]

    document("mixed", {**HEADER, "regions": regions})
    # every image decoded: the engine judges them as they are (a batch of decoded images
    # only), where images of both paths are judged as their mappings
    decodable = list({i["ImageId"]: i for i in reversed(items) if isinstance(i, dict)
                      and typed.image(_json(i)) is not None}.values())[::-1]
    document("decoded", {**HEADER, "regions": [
        {"region": "cn-a", "images": decodable + clean},
        {"region": "cn-b", "images": decodable[::-1]}]})
    lines_decoded = tmp_path / "decoded.jsonl"
    lines_decoded.write_bytes(dump_inventory(Inventory.model_validate({**HEADER, "regions": [
        {"region": "cn-a"}, {"region": "cn-b", "account_id": "222"}]}), "jsonl").encode()
        + b"\n".join(json.dumps({"region": "cn-a" if n % 2 else "cn-b",
                                 **({} if n % 2 else {"account_id": "222"}), "image": image},
                                ensure_ascii=False).encode()
                     for n, image in enumerate([*clean, *decodable])))
    paths["decoded-lines"] = [lines_decoded]
    late = {**clean[0], "ImageId": "m-late", "CreationTime": "2024-02-30T00:00:00Z"}
    numbers = [{**image, "ImageId": f"m-number{n}", field: n} for n, (image, field) in
               enumerate(zip(clean * 2, ["ImageName", "Description", "ImageName", "Usage",
                                         "Platform", "OSName", "BootMode"], strict=False))]
    document("numbers", {**HEADER, "regions": [{"region": "cn-a", "images": clean + numbers},
                                               {"region": "cn-b", "images": numbers}]})
    document("bad-time", {**HEADER, "regions": [{"region": "cn-a", "images": [*clean, late]}]})
    document("clean", {**HEADER, "layout": "x", "regions": [{"region": "cn-a", "images": clean}]})
    later = [{**image, "ImageId": f"m-new{n}", "Later": n} for n, image in enumerate(plain[:40])]
    document("given-up", {**HEADER, "regions": [{"region": "cn-a", "images": later + clean}]})
    document("surrogate", {**HEADER, "regions": regions}, b', "ImageName": "\\udc00"')
    document("not-utf8", {**HEADER, "regions": regions}, b', "ImageName": "\xff"')
    document("infinity", {**HEADER, "regions": regions}, b', "Size": Infinity')
    document("bom", {**HEADER, "regions": regions})
    paths["bom"][0].write_bytes(b"\xef\xbb\xbf" + paths["bom"][0].read_bytes())
    lines = tmp_path / "mixed.jsonl"
    header = Inventory.model_validate({**HEADER, "regions": [
        {"region": "cn-a"}, {"region": "cn-b", "account_id": "222"}]})
    body = [json.dumps({"region": "cn-a" if n % 3 else "cn-b",
                        **({} if n % 3 else {"account_id": "222"}), "image": image},
                       ensure_ascii=False).encode()
            for n, image in enumerate([*items, *clean])]
    body[7] = body[7].replace(b'"image": {', b'"image": {"ImageName": "\\ud800", ', 1)
    body[8] = body[8].replace(b'"image": {', b'"image": {"ImageName": "\xfe", ', 1)
    body[9] = body[9].replace(b'"image": {', b'"extra": 1, "image": {', 1)
    body[10] = b"\xef\xbb\xbf" + body[10]
    lines.write_bytes(dump_inventory(header, "jsonl").encode() + b"\n".join(body) + b"\r\n")
    paths["lines"] = [lines]
    paths["several"] = [lines, paths["clean"][0], paths["mixed"][0]]
    return paths


def test_inputs_read_alike_with_and_without_the_typed_decoder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records, findings, messages, evidence, notes, errors and counts: the same whether
    saved images are decoded by msgspec or parsed by orjson and checked in Python, and the
    same as validating every image."""
    ruleset = _ruleset(tmp_path)
    for name, paths in _inputs(tmp_path).items():
        monkeypatch.setattr(inventory, "TYPED", True)
        fast = _result(paths, ruleset, records=True)
        held = open_inputs(paths).inventory().model_dump(mode="json")
        monkeypatch.setattr(inventory, "TYPED", False)
        assert fast == _result(paths, ruleset, records=True), name
        assert fast == _result(paths, ruleset, records=False), name
        assert held == open_inputs(paths).inventory().model_dump(mode="json"), name
        assert fast["findings"] and (name in ("clean", "numbers", "given-up", "decoded", "decoded-lines")) != bool(
            fast["data_quality"]), name


def test_a_document_is_decoded_whole_image_by_image_or_read_the_old_way(
        tmp_path: Path) -> None:
    """Which way each input takes (the comparison above holds whichever it is)."""
    paths = _inputs(tmp_path)

    def kinds(name: str) -> set[str]:
        doc = typed.document(paths[name][0].read_bytes())
        if doc is None:
            return {"old"}
        return {"typed" if typed.decoded(i) else "parsed"
                for region in doc["regions"] for i in region.get("images", [])}

    assert kinds("clean") == kinds("numbers") == kinds("decoded") == {"typed"}
    assert kinds("mixed") == kinds("bad-time") == {"typed", "parsed"}
    assert kinds("given-up") == {"parsed"}  # most refused: the rest not tried
    for name in ("surrogate", "not-utf8", "infinity", "bom"):
        assert kinds(name) == {"old"}, name
    raw_page = json.dumps({"RegionId": "r", "Images": {"Image": [{"ImageId": "m"}]}})
    assert typed.document(raw_page.encode()) is None
    assert typed.document(json.dumps({**HEADER, "regions": [], "later": 1}).encode()) is None


@pytest.mark.parametrize("doc", [
    {**HEADER, "regions": [], "later": 1}, {**HEADER, "regions": [{"region": "r", "x": 1}]},
    {**HEADER, "regions": [{"region": "r", "images": {"ImageId": "m"}}]},
    {**HEADER, "regions": {"region": "r"}}, {**HEADER, "regions": [{"images": []}]},
    {**HEADER, "format_version": 2, "regions": []}, {**HEADER, "collected_at": "yesterday"},
    {**HEADER, "format": "other"}, [HEADER],
])
def test_an_invalid_inventory_is_refused_alike(tmp_path: Path, run_cli: Any,
                                               monkeypatch: pytest.MonkeyPatch,
                                               doc: Any) -> None:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    outputs = []
    for on in (True, False):
        monkeypatch.setattr(inventory, "TYPED", on)
        outputs.append(run_cli("scan", "--input", str(path), "--format", "json"))
    assert outputs[0] == outputs[1]
    assert outputs[0].exit_code == 2 and "inv.json" in outputs[0].stderr


@pytest.mark.parametrize("name", ["mixed", "lines", "surrogate", "not-utf8", "several",
                                  "decoded", "decoded-lines"])
def test_the_cli_reports_alike_with_and_without_the_typed_decoder(
        tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`imgaudit scan --input`: the same report, byte for byte, the same notes on stderr and
    the same exit code (3: an entry without an ImageId is left out; 1: high findings)."""
    paths = _inputs(tmp_path)[name]
    args = ["scan", *(a for p in paths for a in ("--input", str(p))), "--format", "json",
            "--fail-on", "high"]
    outputs = []
    for on in (True, False):
        monkeypatch.setattr(inventory, "TYPED", on)
        outputs.append(run_cli(*args, env={"IMGAUDIT_NOW": NOW.isoformat()}))
    fast, old = outputs
    decoded = name.startswith("decoded")
    assert fast.exit_code == old.exit_code == (1 if decoded else 3), fast.stderr
    assert fast.stdout == old.stdout
    assert fast.stderr == old.stderr
    report = json.loads(fast.stdout)
    messages = [n["message"] for n in report["data_quality"]]
    assert any("kept raw" in m for m in messages) != decoded
    assert report["scan"]["images"] > (60 if decoded else 100)


def test_an_image_that_fails_validation_is_noted_as_before(
        tmp_path: Path, run_cli: Any) -> None:
    """Images the decoder refuses go the old way with their notes: a JSON Lines inventory
    whose lines take both ways."""
    header = Inventory.model_validate({**HEADER, "regions": [{"region": "cn-a"}]})
    images = [{"ImageId": "m-ok", "IsSelfShared": True, "ImageName": 5},
              {"ImageId": "m-date", "CreationTime": "2024-13-02T03:04:05Z"},
              {"ImageId": "m-list", "ImageName": ["x"]},
              {"ImageId": "m-new", "NewField": {"a": 1}, "IsPublic": True,
               "ImageOwnerAlias": "self"}]
    path = tmp_path / "inv.jsonl"
    path.write_text(dump_inventory(header, "jsonl") + "".join(
        json.dumps({"region": "cn-a", "image": i}) + "\n" for i in images), encoding="utf-8")
    assert [typed.line(json.dumps({"region": "cn-a", "image": i}).encode()) is not None
            for i in images] == [True, False, False, False]
    result = run_cli("scan", "--input", str(path), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    notes = {(n["image_id"], n["field"]) for n in report["data_quality"]}
    assert notes == {("m-date", "CreationTime"), ("m-list", "ImageName")}
    assert report["scan"]["images"] == 4
    public = [f for f in report["findings"] if f["rule_id"] == "IMG-PUBLIC-SELF"]
    assert [f["image_id"] for f in public] == ["m-new"]
