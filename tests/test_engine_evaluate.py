"""Evaluation: findings, evidence, messages, order, overrides and waivers."""

from __future__ import annotations

import json
import textwrap
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from auditor.canonical import canonical
from auditor.config import Config, Waiver
from auditor.engine import evaluate, load_rules
from auditor.engine.evaluate import Batch, evaluate_batches
from auditor.findings import fingerprint
from auditor.models import Image, Inventory, RegionInventory

TODAY = date(2026, 11, 27)

RULES = """\
id: IMG-PUBLIC-SELF
title: Custom images are not published as community images
severity: high
when: {ImageOwnerAlias: self}
require: {IsPublic: false}
message: "{{ image.ImageId }} ({{ image.ImageName }}) is published as a community image"
---
id: IMG-REQUIRED-TAGS
title: Required tags
severity: medium
params: {required_keys: [owner, env]}
when: {ImageOwnerAlias: self}
require: {Tags: {has_keys: {param: required_keys}}}
message: "{{ image.ImageId }} lacks {{ params.required_keys | reject('in', image.Tags) | join(', ') }}"
---
id: IMG-HIGH-RISK
title: No high-risk detection items
severity: high
require: {DetectionOptions.Items: {none: {RiskLevel: High}}}
---
id: IMG-NVME
title: NVMe
severity: low
require: {Features.NvmeSupport: supported}
message: "{{ rule.id }}/{{ rule.severity }} in {{ region }}: {{ image.Features.NvmeSupport }}"
"""


def image(image_id: str, **fields: Any) -> Image:
    return Image.model_validate({"ImageId": image_id, **fields})


GOOD = dict(ImageOwnerAlias="self", IsPublic=False, Tags={"owner": "a", "env": "p"},
            Features={"NvmeSupport": "supported"})


def inventory(*regions: tuple[str, list[Image]], account: str | None = "1234") -> Inventory:
    return Inventory(
        tool_version="test", collected_at=datetime(2026, 11, 27, tzinfo=timezone.utc),
        account_id=account,
        regions=[RegionInventory(region=name, images=images) for name, images in regions],
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_a_compliant_inventory_has_no_findings(rules_file: Path) -> None:
    inv = inventory(("cn-hangzhou", [image("m-good", **GOOD), image("m-sys",
                                                                   ImageOwnerAlias="system")]))
    result = evaluate(inv, load_rules([rules_file], builtin=False), today=TODAY)
    # the system image has no Features: NvmeSupport is missing, so `== supported` fails
    assert [(f.rule_id, f.image_id) for f in result.findings] == [("IMG-NVME", "m-sys")]
    assert result.waivers == []


def test_finding_fields(rules_file: Path) -> None:
    bad = image("m-pub", ImageName="web", **{**GOOD, "IsPublic": True})
    result = evaluate(inventory(("cn-hangzhou", [bad])), load_rules([rules_file], builtin=False),
                      today=TODAY)
    (finding,) = result.findings
    assert finding.model_dump(mode="json") == {
        "rule_id": "IMG-PUBLIC-SELF",
        "severity": "high",
        "title": "Custom images are not published as community images",
        "message": "m-pub (web) is published as a community image",
        "image_id": "m-pub",
        "image_name": "web",
        "region": "cn-hangzhou",
        "account_id": "1234",
        "owner_alias": "self",
        "evidence": [{"path": "IsPublic", "actual": True, "expected": "== false"}],
        "fingerprint": fingerprint("IMG-PUBLIC-SELF", "cn-hangzhou", "m-pub", "1234"),
        "resource": "acs:ecs:cn-hangzhou:1234:image/m-pub",
        "waiver": None,
        "baseline_state": None,
        "first_seen": None,  # set by --history only
        "first_seen_run": None,
        "age_days": None,
    }


def test_evidence_and_messages(rules_file: Path) -> None:
    bad = image("m-bad", ImageOwnerAlias="self", IsPublic=False, Tags={"owner": "a"},
                Features={"NvmeSupport": "unsupported"},
                DetectionOptions={"Items": {"Item": [
                    {"Name": "Nvme", "RiskLevel": "Low"},
                    {"Name": "CloudAssistant", "RiskLevel": "High", "RiskCode": "X"},
                ]}})
    result = evaluate(inventory(("eu-west-1", [bad]), account=None),
                      load_rules([rules_file], builtin=False), today=TODAY)
    found = {f.rule_id: f for f in result.findings}
    assert found["IMG-REQUIRED-TAGS"].message == "m-bad lacks env"
    assert found["IMG-REQUIRED-TAGS"].evidence[0].model_dump() == {
        "path": "Tags", "actual": {"owner": "a"}, "expected": "has keys [owner, env] (missing env)"
    }
    assert found["IMG-HIGH-RISK"].message == "No high-risk detection items"  # no template
    assert [e.model_dump() for e in found["IMG-HIGH-RISK"].evidence] == [
        {"path": "DetectionOptions.Items[1].RiskLevel", "actual": "High", "expected": "!= High"}
    ]
    assert found["IMG-NVME"].message == "IMG-NVME/low in eu-west-1: unsupported"
    assert found["IMG-NVME"].resource is None
    json.dumps([f.model_dump(mode="json") for f in result.findings])  # evidence serialisable


def test_evidence_of_nested_conditions(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent("""\
        id: IMG-X
        title: X
        severity: low
        require:
          all:
            - any: [{Status: Available}, {Usage: none}]
            - not: {Architecture: i386}
            - DiskDeviceMappings: {every: {Encrypted: true}}
            - DetectionOptions.Items: {some: {RiskLevel: Low}}
            - CreationTime: {newer_than_days: 30}
        """), encoding="utf-8")
    bad = image("m-1", Status="Deprecated", Usage="instance", Architecture="i386",
                CreationTime="2026-01-01T00:00:00Z",
                DiskDeviceMappings=[{"Encrypted": True}, {"Encrypted": False}])
    result = evaluate(inventory(("r", [bad])), load_rules([path], builtin=False), today=TODAY)
    assert [e.model_dump() for e in result.findings[0].evidence] == [
        {"path": "Status", "actual": "Deprecated", "expected": "== Available"},
        {"path": "Usage", "actual": "instance", "expected": "== none"},
        {"path": "Architecture", "actual": "i386", "expected": "!= i386"},
        {"path": "DiskDeviceMappings[1].Encrypted", "actual": False, "expected": "== true"},
        {"path": "DetectionOptions.Items", "actual": [],
         "expected": "some item: RiskLevel == Low"},
        {"path": "CreationTime", "actual": "2026-01-01T00:00:00+00:00",
         "expected": "newer than 30 days"},
    ]


def test_findings_are_sorted(rules_file: Path) -> None:
    images = [image(f"m-{i}", ImageOwnerAlias="self", IsPublic=True) for i in (3, 1, 2)]
    inv = inventory(("z-region", images[:1]), ("a-region", images[1:]))
    result = evaluate(inv, load_rules([rules_file], builtin=False), today=TODAY)
    keys = [(f.severity.value, f.rule_id, f.region, f.image_id) for f in result.findings]
    assert keys[:3] == [("high", "IMG-PUBLIC-SELF", "a-region", "m-1"),
                        ("high", "IMG-PUBLIC-SELF", "a-region", "m-2"),
                        ("high", "IMG-PUBLIC-SELF", "z-region", "m-3")]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys),
                                          key=["high", "medium", "low"].index)
    assert keys == sorted(keys, key=lambda k: (["high", "medium", "low"].index(k[0]), *k[1:]))


def test_findings_are_sorted_across_batches_and_accounts(rules_file: Path) -> None:
    """Batches of a region come in any order, Images or canonical mappings, with or without
    a known account: the findings are in (severity, rule, region, account, image id) order;
    of equal keys, a batch's Images' findings come before its mappings'."""
    bad = {"ImageOwnerAlias": "self", "IsPublic": True}
    raw = [{"ImageId": "m-3", **bad}, {"ImageId": "m-0", **bad, "ImageName": "second"}]
    assert all(canonical(r) for r in raw)
    batches: list[Batch] = [
        ("r-b", "2", [image("m-9", **bad), image("m-1", **bad)]),
        ("r-a", None, [image("m-5", **bad)]),
        ("r-b", "1", [image("m-7", **bad)]),
        ("r-b", "2", [*raw, image("m-2", **bad), image("m-0", **bad, ImageName="first")]),
        ("r-a", "1", [image("m-4", **bad)]),
    ]
    evaluation = evaluate_batches(batches, load_rules([rules_file], builtin=False), today=TODAY)
    keys = [(f.region, f.account_id, f.image_id, f.image_name) for f in evaluation.findings
            if f.rule_id == "IMG-PUBLIC-SELF"]
    assert keys == [("r-a", None, "m-5", None), ("r-a", "1", "m-4", None),
                    ("r-b", "1", "m-7", None), ("r-b", "2", "m-0", "first"),
                    ("r-b", "2", "m-0", "second"), ("r-b", "2", "m-1", None),
                    ("r-b", "2", "m-2", None), ("r-b", "2", "m-3", None),
                    ("r-b", "2", "m-9", None)]


def test_config_overrides_reach_findings(rules_file: Path) -> None:
    config = Config(severity={"IMG-NVME": "critical"},
                    params={"IMG-REQUIRED-TAGS": {"required_keys": ["owner"]}})
    bad = image("m-1", ImageOwnerAlias="self", IsPublic=False, Tags={"owner": "a"})
    result = evaluate(inventory(("r", [bad])),
                      load_rules([rules_file], builtin=False, config=config), today=TODAY)
    assert [(f.rule_id, f.severity.value) for f in result.findings] == [("IMG-NVME", "critical")]


def test_age_rules_use_the_evaluation_date(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("id: IMG-AGE\ntitle: Age\nseverity: low\nparams: {days: 30}\n"
                    "require: {CreationTime: {newer_than_days: {param: days}}}\n")
    ruleset = load_rules([path], builtin=False)
    inv = inventory(("r", [image("m-1", CreationTime="2026-11-01T00:00:00Z")]))
    assert evaluate(inv, ruleset, today=date(2026, 11, 27)).findings == []
    assert len(evaluate(inv, ruleset, today=date(2026, 12, 27)).findings) == 1


# waivers

def waiver(images: list[str], expires: date = date(2027, 1, 1), rule: str = "IMG-PUBLIC-SELF",
           ) -> Waiver:
    return Waiver(rule=rule, images=images, reason="accepted", owner="sec", expires=expires)


def public_images() -> Inventory:
    return inventory(("r", [image(i, ImageOwnerAlias="self", IsPublic=True, **{
        k: v for k, v in GOOD.items() if k not in ("ImageOwnerAlias", "IsPublic")})
        for i in ("m-web-1", "m-web-2", "m-db-1")]))


def test_waiver_suppresses_by_id_and_glob(rules_file: Path) -> None:
    result = evaluate(public_images(), load_rules([rules_file], builtin=False),
                      waivers=[waiver(["m-web-*"]), waiver(["m-db-1"])], today=TODAY)
    assert [(f.image_id, f.suppressed) for f in result.findings] == [
        ("m-db-1", True), ("m-web-1", True), ("m-web-2", True)]
    applied = result.findings[0].waiver
    assert applied is not None
    assert applied.model_dump() == {"reason": "accepted", "owner": "sec",
                                    "expires": date(2027, 1, 1), "expired": False}
    assert result.waivers == []  # nothing expired, nothing stale


def test_waiver_is_valid_through_its_expiry_day(rules_file: Path) -> None:
    ruleset = load_rules([rules_file], builtin=False)
    on_the_day = evaluate(public_images(), ruleset, waivers=[waiver(["m-*"], TODAY)], today=TODAY)
    assert all(f.suppressed for f in on_the_day.findings)


def test_expired_waiver_no_longer_suppresses_and_is_reported(rules_file: Path) -> None:
    expired = waiver(["m-web-*"], date(2026, 11, 26))
    result = evaluate(public_images(), load_rules([rules_file], builtin=False),
                      waivers=[expired], today=TODAY)
    web = [f for f in result.findings if f.image_id.startswith("m-web")]
    assert [(f.suppressed, f.waiver.expired if f.waiver else None) for f in web] == [
        (False, True), (False, True)]
    (report,) = result.waivers
    assert (report.state, report.matched, report.rule, report.images) == (
        "expired", 2, "IMG-PUBLIC-SELF", ["m-web-*"])


def test_stale_waivers(rules_file: Path) -> None:
    result = evaluate(public_images(), load_rules([rules_file], builtin=False),
                      waivers=[waiver(["m-gone"]), waiver(["m-web-1"], rule="IMG-NVME"),
                               waiver(["m-old"], date(2020, 1, 1))], today=TODAY)
    assert [(w.state, w.images, w.matched) for w in result.waivers] == [
        ("stale", ["m-gone"], 0), ("stale", ["m-web-1"], 0), ("stale", ["m-old"], 0)]
    assert not any(f.suppressed for f in result.findings)


def test_first_matching_waiver_wins(rules_file: Path) -> None:
    result = evaluate(public_images(), load_rules([rules_file], builtin=False),
                      waivers=[waiver(["m-web-1"]), waiver(["m-*"])], today=TODAY)
    assert all(f.suppressed for f in result.findings)
    assert result.waivers == []


def test_glob_is_case_sensitive_and_whole_id(rules_file: Path) -> None:
    result = evaluate(public_images(), load_rules([rules_file], builtin=False),
                      waivers=[waiver(["M-WEB-*", "web-*", "m-web"])], today=TODAY)
    assert not any(f.suppressed for f in result.findings)
    assert [w.state for w in result.waivers] == ["stale"]



def test_findings_share_one_fields_set(rules_file: Path) -> None:
    """A memory saving (a third of each finding): it must not change what a finding says."""
    result = evaluate(public_images(), load_rules([rules_file], builtin=False), today=TODAY)
    first, second = result.findings[:2]
    assert first.model_fields_set is second.model_fields_set
    assert first.evidence[0].model_fields_set is second.evidence[0].model_fields_set
    assert first.model_dump(exclude_unset=True) == first.model_dump()
    changed = first.model_copy(update={"baseline_state": "new"})
    assert (changed.baseline_state, first.baseline_state) == ("new", None)
    first.baseline_state = "unchanged"
    assert second.model_fields_set == set(type(second).model_fields)


def test_a_template_failing_at_render_falls_back_to_the_title(tmp_path: Path) -> None:
    """One failing image does not stop the scan; the rule is named once, not per image."""
    path = tmp_path / "r.yaml"
    path.write_text("id: IMG-X\ntitle: Small images\nseverity: low\nrequire: {Size: {lt: 10}}\n"
                    "message: \"{{ image.ImageId }}: {{ 100 // (image.Size - 20) }}\"\n")
    images = [image("m-1", Size=20), image("m-2", Size=25), image("m-3", Size=20)]
    result = evaluate(inventory(("r", images)), load_rules([path], builtin=False), today=TODAY)
    assert [f.message for f in result.findings] == [
        "Small images (message template failed: ZeroDivisionError)", "m-2: 20",
        "Small images (message template failed: ZeroDivisionError)"]
    assert result.warnings == [
        "rule IMG-X: the message template failed for 2 finding(s), first for image m-1 "
        "(ZeroDivisionError: integer division or modulo by zero); those findings carry the "
        "fallback message"]


def test_engine_agrees_with_the_rules_written_by_hand(rules_file: Path) -> None:
    """The four reference rules over 3,000 varied synthetic images, against plain Python."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from synth import generate  # the benchmark's generator of varied images

    inv = Inventory.model_validate(generate(3000, seed=7))
    images = [(r.region, i) for r in inv.regions for i in r.images]
    expected = set()
    for region, i in images:
        is_self = i.ImageOwnerAlias == "self"
        if is_self and i.IsPublic is not False:
            expected.add(("IMG-PUBLIC-SELF", region, i.ImageId))
        if is_self and not {"owner", "env"} <= set(i.Tags):
            expected.add(("IMG-REQUIRED-TAGS", region, i.ImageId))
        if i.DetectionOptions and any(x.RiskLevel == "High" for x in i.DetectionOptions.Items):
            expected.add(("IMG-HIGH-RISK", region, i.ImageId))
        if (i.Features.NvmeSupport if i.Features else None) != "supported":
            expected.add(("IMG-NVME", region, i.ImageId))
    result = evaluate(inv, load_rules([rules_file], builtin=False), today=TODAY)
    found = [(f.rule_id, f.region, f.image_id) for f in result.findings]
    assert len(found) == len(set(found))
    assert set(found) == expected
    assert {rule for rule, _, _ in expected} == {"IMG-PUBLIC-SELF", "IMG-REQUIRED-TAGS",
                                                 "IMG-HIGH-RISK", "IMG-NVME"}
