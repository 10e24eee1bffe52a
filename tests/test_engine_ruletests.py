"""`tests:` examples inside rule files, and the JSON Schema of the rule format."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from auditor.engine import builtin_rules_dir, rule_json_schema, run_rule_tests
from auditor.errors import RuleError

RULE = """\
id: IMG-AGE
title: Images are rebuilt within a year
severity: low
params: {days: 365}
when: {ImageOwnerAlias: self}
require: {CreationTime: {newer_than_days: {param: days}}}
tests:
  today: 2026-11-27
  pass:
    - {ImageOwnerAlias: self, CreationTime: "2026-01-01T00:00:00Z"}
    - {ImageOwnerAlias: system, CreationTime: "2001-01-01T00:00:00Z"}
    - {ImageOwnerAlias: self, CreationTime: "2001-01-01T00:00:00Z"}
  fail:
    - {ImageId: m-old, ImageOwnerAlias: self, CreationTime: "2020-01-01T00:00:00Z"}
    - {ImageOwnerAlias: system, CreationTime: "2020-01-01T00:00:00Z"}
    - {ImageOwnerAlias: self, CreationTime: "2026-11-01T00:00:00Z"}
"""


def test_examples_pass_and_fail(tmp_path: Path) -> None:
    path = tmp_path / "age.yaml"
    path.write_text(RULE, encoding="utf-8")
    results = run_rule_tests([path])
    assert [(r.rule_id, r.case, r.passed) for r in results] == [
        ("IMG-AGE", "pass #1 (m-img-age-pass-1)", True),
        ("IMG-AGE", "pass #2 (m-img-age-pass-2)", True),
        ("IMG-AGE", "pass #3 (m-img-age-pass-3)", False),
        ("IMG-AGE", "fail #1 (m-old)", True),
        ("IMG-AGE", "fail #2 (m-img-age-fail-2)", False),
        ("IMG-AGE", "fail #3 (m-img-age-fail-3)", False),
    ]
    details = [r.detail for r in results if not r.passed]
    assert details == [
        "expected no finding, got: Images are rebuilt within a year "
        "[CreationTime='2001-01-01T00:00:00+00:00' expected newer than 365 days]",
        "expected a finding, got none (`when` does not apply)",
        "expected a finding, got none (`require` holds)",
    ]
    assert results[0].source == f"{path}:1:1"


def test_bad_example_images_are_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""\
        id: IMG-X
        title: X
        severity: low
        require: {IsPublic: false}
        tests:
          pass: [{IsPublic: sometimes}]
          fail: [[not, a, mapping]]
        """), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        run_rule_tests([path])
    assert [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems] == [
        "bad.yaml:7:10: tests.fail.0: Input should be a valid dictionary"
    ]
    path.write_text(path.read_text().replace("  fail: [[not, a, mapping]]\n", ""))
    with pytest.raises(RuleError) as info:
        run_rule_tests([path])
    assert [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems] == [
        "bad.yaml:6:21: tests.pass.0.IsPublic: Input should be a valid boolean, unable to interpret input"
    ]


def test_builtin_rule_examples_all_pass() -> None:
    failures = [r for r in run_rule_tests([builtin_rules_dir()]) if not r.passed]
    assert failures == []


def schema_errors(document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(rule_json_schema())
    return [e.message for e in validator.iter_errors(document)]


def test_schema_is_valid_and_accepts_every_builtin_rule() -> None:
    jsonschema.Draft202012Validator.check_schema(rule_json_schema())
    files = sorted(builtin_rules_dir().glob("*.yaml"))
    assert files
    for path in files:
        assert schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path


def test_schema_accepts_a_rules_list_and_rejects_typos() -> None:
    rule = {"id": "IMG-X", "title": "X", "severity": "low",
            "require": {"DetectionOptions.Items": {"none": {"RiskLevel": "High"}},
                        "Tags": {"has_keys": {"param": "keys"}}}}
    assert schema_errors({"rules": [rule]}) == []
    assert schema_errors({**rule, "severity": "urgent"}) != []
    assert schema_errors({**rule, "requires": {}}) != []
    assert schema_errors({**rule, "require": {"Size": {"gtt": 1}}}) != []
