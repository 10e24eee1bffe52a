"""The built-in rules, checked against the example images in their own `tests:` (the one
source of rule examples; `imgaudit rules test rules/` runs the same images).

Each `pass` image yields no finding of its rule, each `fail` image exactly one, whose message
names the image, here with every built-in rule loaded together as a scan loads them. An
example set `tests.today` where ages matter.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.config import Config
from auditor.engine import evaluate, load_rules
from auditor.engine.evaluate import utc_today
from auditor.findings import Finding
from auditor.models import Image, Inventory, RegionInventory

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
BUILTIN = load_rules([], builtin=True)
MISSION_RULES = {"IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS"}
TODAY = date(2026, 11, 27)  # for the parameter tests below


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _example_cases() -> list[Any]:
    return [pytest.param(rule.id, kind, i, id=f"{rule.id}-{kind}-{i}")
            for rule in BUILTIN.rules for kind in ("pass", "fail")
            for i in range(len(rule.examples[kind]))]


def _inventory(*images: Image) -> Inventory:
    return Inventory(
        tool_version="0.1.0",
        collected_at=datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc),
        account_id="1234567890123456",
        regions=[RegionInventory(region="cn-hangzhou", images=list(images))],
    )


def _findings(rule_id: str, image: dict[str, Any], config: Config | None = None) -> list[Finding]:
    ruleset = load_rules([], builtin=True, config=config)
    inventory = _inventory(Image.model_validate({"ImageId": "m-bp1fixture0000000", **image}))
    result = evaluate(inventory, ruleset, today=TODAY)
    return [f for f in result.findings if f.rule_id == rule_id]


@pytest.mark.parametrize(("rule_id", "kind", "index"), _example_cases())
def test_rule_example(rule_id: str, kind: str, index: int) -> None:
    rule = next(rule for rule in BUILTIN.rules if rule.id == rule_id)
    image = rule.examples[kind][index]
    today = (rule.spec.tests.today if rule.spec.tests else None) or utc_today()
    result = evaluate(_inventory(image), BUILTIN, today=today)
    hits = [f for f in result.findings if f.rule_id == rule_id]
    assert len(hits) == (0 if kind == "pass" else 1), [f.message for f in hits]
    for finding in hits:
        assert image.ImageId in finding.message


def test_every_rule_has_examples_of_both_outcomes() -> None:
    for rule in BUILTIN.rules:
        assert len(rule.examples["pass"]) >= 2 and len(rule.examples["fail"]) >= 1, rule.id
    ids = {rule.id for rule in BUILTIN.rules}
    assert ids == {p.stem for p in RULES_DIR.glob("*.yaml")}
    assert ids >= MISSION_RULES and len(ids) >= 12
    assert not (ROOT / "tests" / "fixtures" / "rules").exists(), (
        "a built-in rule's example images live in its own `tests:`, not in tests/fixtures")


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_rule_file_documents_itself(path: Path) -> None:
    rule = _load_yaml(path)
    assert rule["id"] == path.stem
    assert len(rule["description"]) > 80
    assert "aliyun ecs " in rule["remediation"]
    assert "ECS console" in rule["remediation"]
    assert rule["references"]
    assert all(url.startswith("https://") for url in rule["references"])
    assert rule["tests"]["pass"] and rule["tests"]["fail"]


def test_required_tag_keys_come_from_config() -> None:
    image = {"ImageOwnerAlias": "self", "Tags": {"owner": "ops"}}
    assert len(_findings("IMG-REQUIRED-TAGS", image)) == 1
    config = Config(params={"IMG-REQUIRED-TAGS": {"required_keys": ["owner"]}})
    assert _findings("IMG-REQUIRED-TAGS", image, config) == []


def test_required_tags_message_names_the_missing_keys() -> None:
    image = {"ImageOwnerAlias": "self", "Tags": {"owner": "ops"}}
    (finding,) = _findings("IMG-REQUIRED-TAGS", image)
    assert finding.message.endswith("lacks required tag(s): env")


def test_max_age_comes_from_config() -> None:
    image = {"ImageOwnerAlias": "self", "CreationTime": "2026-06-01T00:00:00Z"}
    assert _findings("IMG-MAX-AGE", image) == []
    config = Config(params={"IMG-MAX-AGE": {"max_age_days": 90}})
    assert len(_findings("IMG-MAX-AGE", image, config)) == 1


def test_eol_releases_come_from_config() -> None:
    focal = {"OSType": "linux", "OSNameEn": "Ubuntu  20.04 64 bit"}
    assert _findings("IMG-EOL-OS", focal) == []
    config = Config(params={"IMG-EOL-OS": {"eol_pattern": r"(?i)ubuntu\s+20\.04"}})
    assert len(_findings("IMG-EOL-OS", focal, config)) == 1
