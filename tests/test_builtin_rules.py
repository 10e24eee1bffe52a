"""The built-in rules, checked against their fixture images (one YAML file per rule).

Each `tests/fixtures/rules/<RULE-ID>.yaml` lists `pass` images (no finding of that rule) and
`fail` images (exactly one finding of that rule). Ages are judged on a fixed day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.config import Config
from auditor.engine import evaluate, load_rules
from auditor.findings import Finding
from auditor.models import Image, Inventory, RegionInventory

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
FIXTURES_DIR = Path(__file__).parent / "fixtures" / "rules"
TODAY = date(2026, 11, 27)
MISSION_RULES = {"IMG-PUBLIC-SELF", "IMG-NVME", "IMG-HIGH-RISK", "IMG-REQUIRED-TAGS"}


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _fixture_cases() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES_DIR.glob("*.yaml")):
        data = _load_yaml(path)
        for outcome in ("pass", "fail"):
            for index, image in enumerate(data.get(outcome) or []):
                case_id = f"{path.stem}-{outcome}-{index}"
                cases.append(pytest.param(path.stem, outcome, image, id=case_id))
    return cases


def _inventory(*images: dict[str, Any]) -> Inventory:
    region = RegionInventory(
        region="cn-hangzhou",
        images=[Image.model_validate({"ImageId": "m-bp1fixture0000000", **i}) for i in images],
    )
    return Inventory(
        tool_version="0.1.0",
        collected_at=datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc),
        account_id="1234567890123456",
        regions=[region],
    )


def _findings(rule_id: str, image: dict[str, Any], config: Config | None = None) -> list[Finding]:
    ruleset = load_rules([], builtin=True, config=config)
    result = evaluate(_inventory(image), ruleset, today=TODAY)
    return [f for f in result.findings if f.rule_id == rule_id]


@pytest.fixture(scope="module")
def builtin() -> Any:
    return load_rules([], builtin=True)


@pytest.mark.parametrize(("rule_id", "outcome", "image"), _fixture_cases())
def test_fixture_image(builtin: Any, rule_id: str, outcome: str, image: dict[str, Any]) -> None:
    result = evaluate(_inventory(image), builtin, today=TODAY)
    hits = [f for f in result.findings if f.rule_id == rule_id]
    expected = 0 if outcome == "pass" else 1
    assert len(hits) == expected, [f.message for f in hits]
    for finding in hits:
        assert image.get("ImageId", "m-bp1fixture0000000") in finding.message


def test_every_rule_file_has_a_fixture_file_and_back() -> None:
    rules = {p.stem for p in RULES_DIR.glob("*.yaml")}
    fixtures = {p.stem for p in FIXTURES_DIR.glob("*.yaml")}
    assert rules == fixtures
    assert rules >= MISSION_RULES
    assert len(rules) >= 12


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


@pytest.mark.parametrize("path", sorted(FIXTURES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_fixture_file_has_both_outcomes(path: Path) -> None:
    data = _load_yaml(path)
    assert set(data) == {"pass", "fail"}
    assert len(data["pass"]) >= 2 and len(data["fail"]) >= 1


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
