"""The config file loader: typed values, positioned errors, paths relative to the file."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.errors import InputError, RuleError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "imgaudit.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_config(write(tmp_path, text))
    return [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems]


def test_full_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
    rules: [org-rules/, extra.yaml]
    disable: [IMG-NVME]
    severity: {IMG-PUBLIC-SELF: critical}
    params:
      IMG-REQUIRED-TAGS: {required_keys: [owner]}
    fail_on: high
    waivers:
      - rule: IMG-PUBLIC-SELF
        images: m-web-*
        reason: public marketing image
        owner: web-team
        expires: 2027-03-31
    """))
    assert config.base_dir == tmp_path
    assert config.rule_paths() == [tmp_path / "org-rules", tmp_path / "extra.yaml"]
    assert config.severity["IMG-PUBLIC-SELF"].value == "critical"
    assert config.params == {"IMG-REQUIRED-TAGS": {"required_keys": ["owner"]}}
    assert config.fail_on == "high"
    (waiver,) = config.waivers
    assert (waiver.images, waiver.expires) == (["m-web-*"], date(2027, 3, 31))


def test_empty_config_is_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing yet\n"))
    assert (config.rules, config.waivers, config.fail_on) == ([], [], None)


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    assert errors(tmp_path, "disabled: [IMG-NVME]\nfail_on: high\nwaiver: []\n") == [
        "imgaudit.yaml:1:1: unknown key 'disabled' (did you mean 'disable'?)",
        "imgaudit.yaml:3:1: unknown key 'waiver' (did you mean 'waivers'?)",
    ]


def test_wrong_types(tmp_path: Path) -> None:
    assert errors(tmp_path, "fail_on: hihg\nseverity: {IMG-X: urgent}\nconcurrency: many\n") == [
        "imgaudit.yaml:1:10: fail_on: Input should be 'critical', 'high', 'medium', 'low', "
        "'info' or 'never'",
        "imgaudit.yaml:2:19: severity.IMG-X: Input should be 'critical', 'high', 'medium', "
        "'low' or 'info'",
        "imgaudit.yaml:3:14: concurrency: Input should be a valid integer, unable to parse "
        "string as an integer",
    ]


def test_waivers_need_reason_owner_and_expiry(tmp_path: Path) -> None:
    assert errors(tmp_path, """\
    waivers:
      - rule: IMG-PUBLIC-SELF
        images: [m-1]
      - rule: IMG-NVME
        images: [m-2]
        reason: ok
        owner: me
        expires: someday
        reasn: typo
    """) == [
        "imgaudit.yaml:2:5: missing required key 'reason' in waivers.0",
        "imgaudit.yaml:2:5: missing required key 'owner' in waivers.0",
        "imgaudit.yaml:2:5: missing required key 'expires' in waivers.0",
        "imgaudit.yaml:8:14: waivers.1.expires: Input should be a valid date or datetime, input "
        "is too short",
        "imgaudit.yaml:9:5: unknown key 'reasn' (did you mean 'reason'?)",
    ]


def test_not_a_mapping(tmp_path: Path) -> None:
    assert errors(tmp_path, "- a\n- b\n") == [
        "imgaudit.yaml:1:1: the config file must be a mapping of settings"
    ]


def test_yaml_problems(tmp_path: Path) -> None:
    assert errors(tmp_path, "disable: &x [A]\nrules: *x\n") == [
        "imgaudit.yaml:1:10: YAML anchors and aliases are not allowed"
    ]
    assert errors(tmp_path, "fail_on: high\nfail_on: low\n") == [
        "imgaudit.yaml:2:1: duplicate key 'fail_on' (first at line 1, column 1)"
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"
