"""Every YAML example in README.md, CONTRIBUTING.md and docs/*.md works as documented.

Each ```yaml block is classified by its top-level keys, and a block that fits no class fails
the test (a new example is never silently skipped):
- a rule (`id:`) or a rule file (`rules: [...]`): loaded by `rules validate`, its `tests:` run
  by `rules test`, and scanned over the example inventory and over its own `tests.fail`
  images, every message rendered from the template (no fallback, no warning);
- a fragment of a rule (`when:`, `require:`, `message:`, ... without `id:`): completed into a
  rule and checked the same way (a message fragment renders for every example image);
- a config file: read by the config loader;
- an accounts file (`accounts:`): read by the accounts file loader;
- a CI pipeline (docs/ci-recipes.md, docs/organisation.md): not imgaudit input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import EXAMPLES, REPO, invoke

from auditor.collector.accounts import load_accounts
from auditor.config import Config, load_config

DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
RULE_KEYS = {"id", "title", "severity", "description", "remediation", "references", "tags",
             "when", "require", "message", "params", "tests", "i18n"}
ONLY_RULE_KEYS = RULE_KEYS - set(Config.model_fields)
FAILS_EVERY_IMAGE = {"ImageId": "doc-example-matches-no-image"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    text: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
            found.append(Block(path, text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


BLOCKS = _blocks()


def _chunks(text: str) -> list[str]:
    """A block of one-line examples that repeat a key (`require: ...` on several lines) is
    several examples; any other block is one."""
    chunks: list[list[str]] = [[]]
    keys: set[str] = set()
    for line in text.splitlines():
        key = re.match(r"([A-Za-z_]+):", line)
        if key and key.group(1) in keys:
            chunks.append([])
            keys = set()
        if key:
            keys.add(key.group(1))
        chunks[-1].append(line)
    return ["\n".join(chunk) + "\n" for chunk in chunks]


def _kind(value: Any, block: Block) -> str:
    if not isinstance(value, dict):
        return "unknown"
    keys = set(value)
    if "id" in keys or (keys == {"rules"} and all(isinstance(r, dict) for r in value["rules"])):
        return "rule"
    if keys & ONLY_RULE_KEYS:
        return "fragment"
    if keys == {"accounts"} and isinstance(value["accounts"], list):  # config: a path
        return "accounts"
    if keys <= set(Config.model_fields):
        return "config"
    if block.path.name in ("ci-recipes.md", "organisation.md"):
        return "ci"
    return "unknown"


EXAMPLES_BY_KIND: dict[str, list[tuple[str, Any]]] = {}
for _block in BLOCKS:
    for _i, _chunk in enumerate(_chunks(_block.text)):
        _value = yaml.safe_load(_chunk)
        EXAMPLES_BY_KIND.setdefault(_kind(_value, _block), []).append(
            (f"{_block.name}#{_i + 1}", _value))


def _ids(kind: str) -> list[str]:
    return [name for name, _ in EXAMPLES_BY_KIND.get(kind, [])]


def _values(kind: str) -> list[Any]:
    return [value for _, value in EXAMPLES_BY_KIND.get(kind, [])]


def test_every_yaml_example_is_classified() -> None:
    assert _ids("unknown") == []
    assert len(_ids("rule")) >= 5 and len(_ids("fragment")) >= 7  # the examples exist


@pytest.mark.parametrize("value", _values("accounts"), ids=_ids("accounts"))
def test_accounts_examples_load(value: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump(value), encoding="utf-8")
    assert [a.id for a in load_accounts(path)] == [str(a["id"]) for a in value["accounts"]]


def _rules_of(value: dict[str, Any]) -> list[dict[str, Any]]:
    return value["rules"] if set(value) == {"rules"} else [value]


def _complete(fragment: dict[str, Any], number: int) -> dict[str, Any]:
    return {"id": f"DOC-FRAGMENT-{number}", "title": "A documentation example",
            "severity": "low", "require": FAILS_EVERY_IMAGE, **fragment}


def _inventory(images: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(json.dumps({
        "format": "imgaudit-inventory", "format_version": 1, "tool_version": "docs",
        "collected_at": "2026-11-27T00:00:00Z", "account_id": "1234567890123456",
        "regions": [{"region": "cn-hangzhou", "images": images}]}), encoding="utf-8")
    return path


def _scan(inventory: Path, rules: Path) -> list[dict[str, Any]]:
    """The findings of a scan with only `rules`; a message that fell back fails here."""
    result = invoke("scan", "--input", inventory, "--rules", rules, "--no-builtin-rules",
                    "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no warning: every message rendered
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    for finding in findings:
        assert "message template failed" not in finding["message"], finding
    return findings


def _check_rule_file(rules: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump({"rules": rules}, sort_keys=False), encoding="utf-8")
    result = invoke("rules", "validate", path)
    assert result.exit_code == 0, result.stderr
    if any(rule.get("tests") for rule in rules):
        result = invoke("rules", "test", path)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert " 0 failed" in result.stdout
    _scan(EXAMPLES / "inventory.json", path)
    for rule in rules:
        if not rule.get("message"):
            continue
        failing = [{"ImageId": f"m-doc-fail-{i}", **image}
                   for i, image in enumerate((rule.get("tests") or {}).get("fail", []))]
        inventory = (_inventory(failing, tmp_path / "failing.json") if failing
                     else EXAMPLES / "inventory.json")
        found = [f for f in _scan(inventory, path) if f["rule_id"] == rule["id"]]
        assert found, f"{rule['id']}: no finding, so its message was never rendered"
        assert all(f["message"] != rule["title"] for f in found)


@pytest.mark.parametrize("value", _values("rule"), ids=_ids("rule"))
def test_rule_example(value: dict[str, Any], tmp_path: Path) -> None:
    _check_rule_file(_rules_of(value), tmp_path)


@pytest.mark.parametrize(("number", "value"), list(enumerate(_values("fragment"))),
                         ids=_ids("fragment"))
def test_rule_fragment(number: int, value: dict[str, Any], tmp_path: Path) -> None:
    _check_rule_file([_complete(value, number)], tmp_path)


@pytest.mark.parametrize("value", _values("config"), ids=_ids("config"))
def test_config_example(value: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "imgaudit.yaml"
    path.write_text(yaml.safe_dump(value, sort_keys=False), encoding="utf-8")
    load_config(path)  # raises RuleError with file:line:col on any problem
