"""Every operator, quantifier and combinator, and what a missing value means for each."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.canonical import canonical
from auditor.engine.codegen import compile_filter, compile_split
from auditor.engine.compiler import compile_cond
from auditor.engine.conditions import Parser
from auditor.engine.operators import OPERATORS, QUANTIFIERS
from auditor.models import Image
from auditor.yamlio import YamlDoc

TODAY = date(2026, 11, 27)


def holds(cond: dict[str, Any], image: dict[str, Any], params: dict[str, Any] | None = None,
          today: date = TODAY) -> bool:
    """Whether `cond` holds for the image (built from a partial mapping)."""
    params = params or {}
    parser = Parser(YamlDoc("t.yaml", cond), set(params))
    tree = parser.cond(cond, (), Image)
    assert not parser.problems, [str(p) for p in parser.problems]
    assert tree is not None
    img = Image.model_validate({"ImageId": "m-1", **image})
    answer = compile_cond(tree, params, today).pred(img)
    generated = compile_filter(None, tree, params, today)([img]) == []  # fails = not holds
    assert generated == bool(answer), "the generated filter disagrees with the closures"
    raw = copy.deepcopy({"ImageId": "m-1", **image})
    if canonical(raw):  # read as it is by a scan (auditor/canonical.py): the same answers
        _, failing = compile_split(None, tree, params, today, raw=True)([raw])
        assert (failing == []) == bool(answer), "the raw filter disagrees with the closures"
        assert bool(compile_cond(tree, params, today, raw=True).pred(raw)) == bool(answer)
    return answer


@pytest.mark.parametrize(("cond", "image", "expected"), [
    ({"IsPublic": False}, {"IsPublic": False}, True),
    ({"IsPublic": False}, {"IsPublic": True}, False),
    ({"IsPublic": False}, {"IsPublic": "false"}, True),  # the API's string booleans
    ({"Status": {"eq": "Available"}}, {"Status": "Available"}, True),
    ({"Status": {"eq": "Available"}}, {"Status": "available"}, False),
    ({"Status": {"ne": "Available"}}, {"Status": "Deprecated"}, True),
    ({"Status": {"ne": "Available"}}, {"Status": "Available"}, False),
    ({"Status": {"in": ["Available", "Creating"]}}, {"Status": "Creating"}, True),
    ({"Status": {"in": ["Available", "Creating"]}}, {"Status": "Deprecated"}, False),
    ({"Status": {"not_in": ["Deprecated"]}}, {"Status": "Available"}, True),
    ({"Status": {"not_in": ["Deprecated"]}}, {"Status": "Deprecated"}, False),
    ({"ImageFamily": {"exists": True}}, {"ImageFamily": "web"}, True),
    ({"ImageFamily": {"exists": False}}, {"ImageFamily": "web"}, False),
    ({"ImageName": {"regex": "^prod-[0-9]+$"}}, {"ImageName": "prod-12"}, True),
    ({"ImageName": {"regex": "^prod-[0-9]+$"}}, {"ImageName": "prod-x"}, False),
    ({"ImageName": {"regex": "web"}}, {"ImageName": "my-web-1"}, True),  # search, not match
    ({"ImageName": {"glob": "prod-*"}}, {"ImageName": "prod-web"}, True),
    ({"ImageName": {"glob": "prod-*"}}, {"ImageName": "test-prod-web"}, False),
    ({"ImageName": {"glob": "prod-*"}}, {"ImageName": "Prod-web"}, False),  # case-sensitive
    ({"OSName": {"contains": "CentOS"}}, {"OSName": "CentOS 7.9 64 bit"}, True),
    ({"OSName": {"contains": "CentOS"}}, {"OSName": "Ubuntu 22.04"}, False),
    ({"Size": {"gt": 40}}, {"Size": 60}, True),
    ({"Size": {"gt": 60}}, {"Size": 60}, False),
    ({"Size": {"gte": 60}}, {"Size": "60"}, True),  # the API's string sizes
    ({"Size": {"lt": 60}}, {"Size": 60}, False),
    ({"Size": {"lte": 60}}, {"Size": 60}, True),
    ({"CreationTime": {"lt": date(2020, 1, 1)}}, {"CreationTime": "2019-12-31T23:59:59Z"}, True),
    ({"CreationTime": {"gte": "2020-01-01"}}, {"CreationTime": "2019-12-31T23:59:59Z"}, False),
    ({"CreationTime": {"gt": date(2019, 12, 31)}}, {"CreationTime": "2019-12-31T10:00:00"}, True),
    ({"Tags": {"has_keys": ["owner", "env"]}}, {"Tags": {"owner": "a", "env": "b", "x": ""}}, True),
    ({"Tags": {"has_keys": ["owner", "env"]}}, {"Tags": {"owner": "a"}}, False),
    ({"Tags": {"has_keys": []}}, {}, True),
    ({"Tags.owner": "platform"}, {"Tags": {"owner": "platform"}}, True),
    ({"Tags.owner": {"ne": "platform"}}, {"Tags": {"owner": "x"}}, True),
    ({"Tags.team.name": "a"}, {"Tags": {"team.name": "a"}}, True),  # tag keys may hold dots
    ({"Features.NvmeSupport": "supported"}, {"Features": {"NvmeSupport": "supported"}}, True),
    ({"Features.NvmeSupport": "supported"}, {"Features": {"NvmeSupport": "unsupported"}}, False),
    # several operators in one mapping: all must hold
    ({"Size": {"gt": 20, "lt": 100}}, {"Size": 60}, True),
    ({"Size": {"gt": 20, "lt": 50}}, {"Size": 60}, False),
])
def test_operator(cond: dict[str, Any], image: dict[str, Any], expected: bool) -> None:
    assert holds(cond, image) is expected


@pytest.mark.parametrize(("days", "created", "older", "newer"), [
    # today is 2026-11-27; age counts whole UTC calendar days
    (30, "2026-10-28T23:59:59Z", False, False),  # exactly 30 days old
    (30, "2026-10-27T23:59:59Z", True, False),   # 31 days
    (30, "2026-10-29T00:00:00Z", False, True),   # 29 days
    (0, "2026-11-27T08:00:00Z", False, False),
    (0, "2026-11-26T08:00:00Z", True, False),
    (365, "2019-01-01T00:00:00Z", True, False),
    (30, "2026-10-28T23:30:00-01:00", False, True),  # 2026-10-29 00:30 UTC: 29 days
])
def test_age_operators(days: int, created: str, older: bool, newer: bool) -> None:
    image = {"CreationTime": created}
    assert holds({"CreationTime": {"older_than_days": days}}, image) is older
    assert holds({"CreationTime": {"newer_than_days": days}}, image) is newer


# What a missing value (null, an absent key or tag, an absent parent object) means.
# Comparisons are false, except ne, not_in and exists: false; every and none hold on no items.
MISSING_TABLE = [
    ("eq", {"ImageFamily": {"eq": "web"}}, False),
    ("literal", {"ImageFamily": "web"}, False),
    ("ne", {"ImageFamily": {"ne": "web"}}, True),
    ("in", {"ImageFamily": {"in": ["web"]}}, False),
    ("not_in", {"ImageFamily": {"not_in": ["web"]}}, True),
    ("exists true", {"ImageFamily": {"exists": True}}, False),
    ("exists false", {"ImageFamily": {"exists": False}}, True),
    ("regex", {"ImageFamily": {"regex": ".*"}}, False),
    ("glob", {"ImageFamily": {"glob": "*"}}, False),
    ("contains", {"ImageFamily": {"contains": "w"}}, False),
    ("gt", {"Size": {"gt": 0}}, False),
    ("gte", {"Size": {"gte": 0}}, False),
    ("lt", {"Size": {"lt": 0}}, False),
    ("lte", {"Size": {"lte": 0}}, False),
    ("older_than_days", {"CreationTime": {"older_than_days": 0}}, False),
    ("newer_than_days", {"CreationTime": {"newer_than_days": 36600}}, False),
    ("has_keys on an absent tag set", {"Tags": {"has_keys": ["owner"]}}, False),
    ("absent tag eq", {"Tags.owner": "x"}, False),
    ("absent tag ne", {"Tags.owner": {"ne": "x"}}, True),
    ("absent tag exists", {"Tags.owner": {"exists": False}}, True),
    ("absent parent eq", {"Features.NvmeSupport": "supported"}, False),
    ("absent parent ne", {"Features.NvmeSupport": {"ne": "supported"}}, True),
    ("absent parent not_in", {"Features.NvmeSupport": {"not_in": ["supported"]}}, True),
    ("absent parent exists", {"Features": {"exists": False}}, True),
    # a list under an absent object is absent, not its model's default []
    ("list under an absent parent, absent", {"DetectionOptions.Items": {"exists": False}}, True),
    ("list under an absent parent, exists", {"DetectionOptions.Items": {"exists": True}}, False),
    ("some on an absent list", {"DetectionOptions.Items": {"some": {"RiskLevel": "High"}}}, False),
    ("every on an absent list", {"DetectionOptions.Items": {"every": {"RiskLevel": "Low"}}}, True),
    ("none on an absent list", {"DetectionOptions.Items": {"none": {"RiskLevel": "High"}}}, True),
    ("not of a false comparison", {"not": {"ImageFamily": "web"}}, True),
]


@pytest.mark.parametrize(("label", "cond", "expected"), MISSING_TABLE,
                         ids=[row[0] for row in MISSING_TABLE])
def test_missing_value(label: str, cond: dict[str, Any], expected: bool) -> None:
    assert holds(cond, {}) is expected


def test_explicit_null_is_missing() -> None:
    image = {"ImageFamily": None, "Size": None, "Features": {"NvmeSupport": None}}
    assert holds({"ImageFamily": {"ne": "web"}}, image)
    assert not holds({"Size": {"gte": 0}}, image)
    assert holds({"Features.NvmeSupport": {"exists": False}}, image)


ITEMS = {"DetectionOptions": {"Items": [
    {"Name": "a", "RiskLevel": "High"}, {"Name": "b", "RiskLevel": "Low"},
]}}


@pytest.mark.parametrize(("cond", "expected"), [
    ({"DetectionOptions.Items": {"some": {"RiskLevel": "High"}}}, True),
    ({"DetectionOptions.Items": {"some": {"RiskLevel": "Medium"}}}, False),
    ({"DetectionOptions.Items": {"every": {"RiskLevel": {"in": ["High", "Low"]}}}}, True),
    ({"DetectionOptions.Items": {"every": {"RiskLevel": "High"}}}, False),
    ({"DetectionOptions.Items": {"none": {"RiskLevel": "High"}}}, False),
    ({"DetectionOptions.Items": {"none": {"RiskLevel": "Medium"}}}, True),
    ({"DetectionOptions.Items": {"some": {"RiskLevel": "High", "Name": "b"}}}, False),
    ({"DetectionOptions.Items": {"some": {"any": [{"Name": "b"}, {"Name": "c"}]}}}, True),
])
def test_quantifiers(cond: dict[str, Any], expected: bool) -> None:
    assert holds(cond, ITEMS) is expected


def test_quantifiers_on_an_empty_list() -> None:
    image = {"DiskDeviceMappings": []}
    assert not holds({"DiskDeviceMappings": {"some": {"Encrypted": True}}}, image)
    assert holds({"DiskDeviceMappings": {"every": {"Encrypted": True}}}, image)
    assert holds({"DiskDeviceMappings": {"none": {"Encrypted": False}}}, image)


def test_disk_mappings() -> None:
    image = {"DiskDeviceMappings": {"DiskDeviceMapping": [
        {"Type": "system", "Encrypted": "true", "Size": "40", "RemainTime": 0},
        {"Type": "data", "Encrypted": False, "Size": 100, "RemainTime": "233"},
    ]}}
    assert not holds({"DiskDeviceMappings": {"every": {"Encrypted": True}}}, image)
    assert holds({"DiskDeviceMappings": {"some": {"all": [{"Type": "data"},
                                                          {"RemainTime": {"gte": 100}}]}}}, image)
    # Size is a string in the API (and the SDK): compared as text
    assert holds({"DiskDeviceMappings": {"some": {"Size": "100"}}}, image)


@pytest.mark.parametrize(("cond", "expected"), [
    ({"all": [{"ImageOwnerAlias": "self"}, {"IsPublic": True}]}, True),
    ({"all": [{"ImageOwnerAlias": "self"}, {"IsPublic": False}]}, False),
    ({"all": [{"ImageOwnerAlias": "self"}, {"IsPublic": True}, {"Size": 60}]}, False),
    ({"any": [{"ImageOwnerAlias": "system"}, {"IsPublic": True}]}, True),
    ({"any": [{"ImageOwnerAlias": "system"}, {"IsPublic": False}]}, False),
    ({"any": [{"Size": 1}, {"Size": 2}, {"Size": 40}]}, True),
    ({"not": {"IsPublic": True}}, False),
    ({"not": {"any": [{"Size": 1}, {"IsPublic": False}]}}, True),
    ({"ImageOwnerAlias": "self", "IsPublic": True}, True),  # keys of one mapping: all
    ({"ImageOwnerAlias": "self", "IsPublic": False}, False),
])
def test_combinators(cond: dict[str, Any], expected: bool) -> None:
    assert holds(cond, {"ImageOwnerAlias": "self", "IsPublic": True, "Size": 40}) is expected


def test_param_operands() -> None:
    cond = {"Tags": {"has_keys": {"param": "keys"}}}
    image = {"Tags": {"owner": "a"}}
    assert holds(cond, image, {"keys": ["owner"]})
    assert not holds(cond, image, {"keys": ["owner", "env"]})
    age = {"CreationTime": {"older_than_days": {"param": "days"}}}
    assert holds(age, {"CreationTime": "2026-01-01T00:00:00Z"}, {"days": 300})
    assert not holds(age, {"CreationTime": "2026-01-01T00:00:00Z"}, {"days": 400})
    assert holds({"Status": {"param": "status"}}, {"Status": "Available"}, {"status": "Available"})


# --- operand schemas: declared next to each operator, read by `rules schema` and the loader ---

SAMPLES = [True, False, 0, 3, -1, 2.5, 36_601, "", "x", "2025-01-31", "[a-z]+", "(", None,
           [], ["a"], ["a", 1], [None], [["a"]], {"k": 1}]


def _rules_schema() -> dict[str, Any]:
    from cli_helpers import invoke

    result = invoke("rules", "schema")
    assert result.exit_code == 0
    return json.loads(result.stdout)


def test_every_operator_declares_its_operand_and_rules_schema_shows_it() -> None:
    shown = _rules_schema()["$defs"]["operators"]["properties"]
    for name, op in OPERATORS.items():
        declared = op.operand.json_schema()
        assert declared and op.operand.expects, name
        assert shown[name]["anyOf"][0] == declared, name
    assert set(shown) == set(OPERATORS) | set(QUANTIFIERS)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_the_loader_accepts_only_what_the_schema_allows(name: str) -> None:
    """An editor checking a rule against `rules schema` never refuses an operand the loader
    takes; what the schema refuses, the loader refuses too, in words."""
    op = OPERATORS[name]
    validator = jsonschema.Draft202012Validator(op.operand.json_schema())
    for value in SAMPLES:
        fits = validator.is_valid(value)
        for kind in op.kinds:
            problem = op.problem(value, kind)
            assert fits or problem, (value, kind)


def test_a_value_that_is_no_operand_is_refused_with_the_operands_words(tmp_path: Path) -> None:
    from cli_helpers import invoke

    rule = tmp_path / "r.yaml"
    rule.write_text("id: T\ntitle: t\nseverity: low\nmessage: m\n"
                    "require:\n  IsPublic: {exists: yes-please}\n", encoding="utf-8")
    result = invoke("rules", "validate", str(rule))
    assert result.exit_code == 2
    assert "IsPublic: exists expects true or false" in result.stderr
