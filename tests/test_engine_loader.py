"""Loader errors: every problem named with file, line and column, all reported together."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.engine import Selection, builtin_rules_dir, load_rules
from auditor.errors import RuleError

HEAD = "id: IMG-T\ntitle: T\nseverity: high\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors(tmp_path: Path, text: str, name: str = "r.yaml") -> list[str]:
    """The problems of one rule file, with the folder left out."""
    path = write(tmp_path, name, text)
    with pytest.raises(RuleError) as info:
        load_rules([path], builtin=False)
    return [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems]


REFERENCE_RULES = """\
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
---
rules:
  - id: IMG-HIGH-RISK
    title: No high-risk detection items
    severity: high
    require: {DetectionOptions.Items: {none: {RiskLevel: High}}}
  - id: IMG-NVME
    title: NVMe
    severity: low
    require: {Features.NvmeSupport: supported}
"""


def test_reference_rules_load(tmp_path: Path) -> None:
    ruleset = load_rules([write(tmp_path, "ref.yaml", REFERENCE_RULES)], builtin=False)
    assert ruleset.ids() == ["IMG-PUBLIC-SELF", "IMG-REQUIRED-TAGS", "IMG-HIGH-RISK", "IMG-NVME"]
    info = ruleset.get("IMG-REQUIRED-TAGS").info()
    assert (info.id, info.title, info.severity.value) == ("IMG-REQUIRED-TAGS", "Required tags",
                                                          "medium")


def test_folders_are_searched_recursively(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", HEAD + "require: {IsPublic: false}\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "b.yaml", HEAD.replace("IMG-T", "IMG-U") + "require: {Size: 1}\n")
    write(tmp_path, "notes.txt", "not a rule")
    assert load_rules([tmp_path], builtin=False).ids() == ["IMG-T", "IMG-U"]


def test_builtin_rules_load_and_come_first(tmp_path: Path) -> None:
    assert builtin_rules_dir().is_dir()
    builtin = load_rules([])
    assert len(builtin) >= 4
    extra = write(tmp_path, "x.yaml", HEAD.replace("IMG-T", "ORG-X") + "require: {Size: 1}\n")
    assert load_rules([extra]).ids() == [*builtin.ids(), "ORG-X"]


def test_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as info:
        load_rules([tmp_path / "nope"], builtin=False)
    assert str(info.value) == f"{tmp_path / 'nope'}: no such rule file or folder"


@pytest.mark.parametrize(("body", "expected"), [
    ("require: {IsPublik: false}\n",
     "r.yaml:4:11: unknown field 'IsPublik' (did you mean 'IsPublic'?)"),
    ("require: {Features.NvmeSuport: supported}\n",
     "r.yaml:4:11: unknown field 'NvmeSuport' of Features (did you mean 'NvmeSupport'?)"),
    ("require:\n  IsPublic: {equals: false}\n",
     "r.yaml:5:14: unknown operator 'equals' (did you mean 'eq'?)"),
    ("require:\n  Size: {gtt: 3}\n",
     "r.yaml:5:10: unknown operator 'gtt' (did you mean 'gt'?)"),
    ("require:\n  Features: {NvmeSupport: supported}\n",
     "r.yaml:5:14: unknown operator 'NvmeSupport' (to test a sub-field, write "
     "Features.NvmeSupport: ...)"),
    ("require:\n  Size: {gt: big}\n", "r.yaml:5:14: Size: gt expects a number, not 'big'"),
    ("require:\n  IsPublic: 'false'\n",
     "r.yaml:5:13: IsPublic: eq expects true or false, not 'false'"),
    ("require:\n  ImageName: 12\n",
     "r.yaml:5:14: ImageName: eq expects a string, not '12' (quote it)"),
    ("require:\n  ImageName: null\n",
     "r.yaml:5:14: ImageName: eq null is not a value to compare with; use {exists: false}"),
    ("require:\n  Status: {in: Available}\n",
     "r.yaml:5:16: Status: in expects a non-empty list of values"),
    ("require:\n  ImageName: {regex: '(x'}\n",
     "r.yaml:5:22: ImageName: regex bad regular expression '(x': missing ): (x"),
    ("require:\n  Tags: {has_keys: owner}\n",
     "r.yaml:5:20: Tags: has_keys expects a list of key names"),
    ("require:\n  CreationTime: {older_than_days: -1}\n",
     "r.yaml:5:35: CreationTime: older_than_days expects a number of days from 0 to 36600, not '-1'"),
    ("require:\n  CreationTime: {gt: yesterday}\n",
     "r.yaml:5:22: CreationTime: gt expects a date such as 2025-01-31, not 'yesterday'"),
    ("require:\n  Size: {regex: '1'}\n",
     "r.yaml:5:10: 'regex' does not apply to Size (a integer field)"),
    ("require:\n  Status: {some: {RiskLevel: High}}\n",
     "r.yaml:5:12: 'some' applies to list fields; Status is a string"),
    ("require:\n  DiskDeviceMappings.Encrypted: true\n",
     "r.yaml:5:3: 'DiskDeviceMappings' is a list: read its items with some/every/none, e.g. "
     "{DiskDeviceMappings: {some: {Encrypted: ...}}}"),
    ("require:\n  DetectionOptions.Items: {some: {RiskLvl: High}}\n",
     "r.yaml:5:35: unknown field 'RiskLvl' (did you mean 'RiskLevel'?)"),
    ("require:\n  Tags: {has_keys: {param: keys}}\n",
     "r.yaml:5:28: undeclared param 'keys'"),
    ("require: {all: {IsPublic: false}}\n",
     "r.yaml:4:16: 'all' takes a non-empty list of conditions"),
    ("require: {}\n",
     "r.yaml:4:10: a condition is a non-empty mapping (field: value, all, any or not)"),
    ("require: {IsPublic: false}\nmessage: '{{ image.ImageId }'\n",
     "r.yaml:5:10: message template: unexpected '}'"),
    ("require: {IsPublic: false}\nmessage: '{{ img.ImageId }}'\n",
     "r.yaml:5:10: message template reads unknown variable 'img' (did you mean 'image'?); "
     "available: image, params, rule, region, account"),
    ("require: {IsPublic: false}\nmessage: |\n  line one\n  {% if %}\n",
     "r.yaml:7:3: message template: Expected an expression, got 'end of statement block'"),
    ("require: {IsPublic: false}\ntests:\n  fail: [{Size: big}]\n",
     "r.yaml:6:17: tests.fail.0.Size: Input should be a valid integer, unable to parse string as an integer"),
    ("require: {IsPublic: false}\ntests:\n  fial: []\n",
     "r.yaml:6:3: unknown key 'fial' (did you mean 'fail'?)"),
    ("require: {IsPublic: false}\nremedation: do it\n",
     "r.yaml:5:1: unknown key 'remedation' (did you mean 'remediation'?)"),
    ("require: {IsPublic: false}\nparams: {days: 3}\nrequires: {}\n",
     "r.yaml:6:1: unknown key 'requires' (did you mean 'require'?)"),
])
def test_rule_problem(tmp_path: Path, body: str, expected: str) -> None:
    assert errors(tmp_path, HEAD + body) == [expected]


def test_missing_keys_and_bad_severity(tmp_path: Path) -> None:
    assert errors(tmp_path, "id: IMG-T\nseverity: hgh\n") == [
        "r.yaml:1:1: missing required key 'title'",
        "r.yaml:1:1: missing required key 'require'",
        "r.yaml:2:11: severity: Input should be 'critical', 'high', 'medium', 'low' or 'info'",
    ]


def test_bad_rule_id(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, HEAD.replace("IMG-T", "IMG T") + "require: {Size: 1}\n")
    assert problem.startswith("r.yaml:1:5: id: String should match pattern")


def test_yaml_syntax_error_in_a_rule(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, HEAD + "require: {IsPublic: false\n")
    assert problem.startswith("r.yaml:5:1: YAML syntax:")


def test_a_rule_must_be_a_mapping(tmp_path: Path) -> None:
    assert errors(tmp_path, "- id: X\n") == [
        "r.yaml:1:1: a rule is a mapping of keys (id, title, severity, ...)"
    ]


def test_all_problems_of_all_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", HEAD + "require: {IsPublik: false}\n")
    write(tmp_path, "b.yaml", HEAD.replace("IMG-T", "IMG-U") + "require: {Sise: 1}\n")
    with pytest.raises(RuleError) as info:
        load_rules([tmp_path], builtin=False)
    assert [(p.path, p.line) for p in info.value.problems] == [
        (str(tmp_path / "a.yaml"), 4), (str(tmp_path / "b.yaml"), 4)
    ]


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", HEAD + "require: {IsPublic: false}\n")
    write(tmp_path, "b.yaml", "rules:\n  - " + HEAD.replace("\n", "\n    ") + "require: {}\n")
    with pytest.raises(RuleError) as info:
        load_rules([tmp_path], builtin=False)
    assert [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems] == [
        "b.yaml:2:9: duplicate rule id 'IMG-T' (first defined at a.yaml:1:5)",
        "b.yaml:5:14: a condition is a non-empty mapping (field: value, all, any or not)",
    ]


def test_duplicate_of_a_builtin_rule(tmp_path: Path) -> None:
    builtin_id = load_rules([]).ids()[0]
    path = write(tmp_path, "x.yaml", HEAD.replace("IMG-T", builtin_id) + "require: {Size: 1}\n")
    with pytest.raises(RuleError) as info:
        load_rules([path])
    (problem,) = info.value.problems
    assert (problem.path, problem.line, problem.column) == (str(path), 1, 5)
    assert problem.problem.startswith(f"duplicate rule id {builtin_id!r} (first defined at ")
    assert str(builtin_rules_dir()) in problem.problem


# config applied to rules: problems point into the config file

def config_errors(tmp_path: Path, config_text: str) -> list[str]:
    rules = write(tmp_path, "ref.yaml", REFERENCE_RULES)
    config = load_config(write(tmp_path, "imgaudit.yaml", config_text))
    with pytest.raises(RuleError) as info:
        load_rules([rules], builtin=False, config=config)
    return [str(p).replace(f"{tmp_path}/", "") for p in info.value.problems]


def test_config_unknown_rule_ids(tmp_path: Path) -> None:
    text = """\
    disable: [IMG-NVMe]
    severity: {IMG-PUBLIC_SELF: low}
    params:
      IMG-REQUIRED-TAG: {required_keys: [a]}
    waivers:
      - {rule: IMG-HIGH-RSK, images: [m-1], reason: r, owner: o, expires: 2030-01-01}
    """
    assert config_errors(tmp_path, text) == [
        "imgaudit.yaml:1:11: unknown rule id 'IMG-NVMe' (did you mean 'IMG-NVME'?)",
        "imgaudit.yaml:2:12: unknown rule id 'IMG-PUBLIC_SELF' (did you mean 'IMG-PUBLIC-SELF'?)",
        "imgaudit.yaml:4:3: unknown rule id 'IMG-REQUIRED-TAG' (did you mean 'IMG-REQUIRED-TAGS'?)",
        "imgaudit.yaml:6:12: unknown rule id 'IMG-HIGH-RSK' (did you mean 'IMG-HIGH-RISK'?)",
    ]


def test_config_unknown_param(tmp_path: Path) -> None:
    text = "params:\n  IMG-REQUIRED-TAGS: {required_key: [a]}\n"
    assert config_errors(tmp_path, text) == [
        "imgaudit.yaml:2:23: unknown param 'required_key' for IMG-REQUIRED-TAGS (did you mean "
        "'required_keys'?); IMG-REQUIRED-TAGS declares: required_keys"
    ]


def test_config_param_of_the_wrong_type(tmp_path: Path) -> None:
    text = "params:\n  IMG-REQUIRED-TAGS:\n    required_keys: owner\n"
    assert config_errors(tmp_path, text) == [
        "imgaudit.yaml:3:20: param 'required_keys' of IMG-REQUIRED-TAGS (Tags: has_keys) expects "
        "a list of key names"
    ]


def test_rule_param_default_of_the_wrong_type(tmp_path: Path) -> None:
    body = "params: {days: soon}\nrequire: {CreationTime: {newer_than_days: {param: days}}}\n"
    assert errors(tmp_path, HEAD + body) == [
        "r.yaml:4:16: param 'days' of IMG-T (CreationTime: newer_than_days) expects a number of "
        "days from 0 to 36600, not 'soon'"
    ]


def test_config_applies_disable_severity_and_params(tmp_path: Path) -> None:
    rules = write(tmp_path, "ref.yaml", REFERENCE_RULES)
    config = load_config(write(tmp_path, "imgaudit.yaml", """\
    disable: [IMG-NVME]
    severity: {IMG-PUBLIC-SELF: critical}
    params: {IMG-REQUIRED-TAGS: {required_keys: [owner, env, cost-center]}}
    """))
    ruleset = load_rules([rules], builtin=False, config=config)
    # which rules run is a separate step: the command line may replace `disable`
    assert "IMG-NVME" not in ruleset.select(Selection.from_config(config)).ids()
    assert ruleset.get("IMG-PUBLIC-SELF").info().severity.value == "critical"
    assert ruleset.get("IMG-REQUIRED-TAGS").params == {
        "required_keys": ["owner", "env", "cost-center"]
    }
    # the defaults are untouched in a ruleset loaded without the config
    plain = load_rules([rules], builtin=False)
    assert plain.get("IMG-REQUIRED-TAGS").params == {"required_keys": ["owner", "env"]}
    assert plain.get("IMG-PUBLIC-SELF").info().severity.value == "high"


def test_unknown_operator_without_a_close_match_lists_the_valid_ones(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, HEAD + "require:\n  Size: {bigger: 3}\n")
    assert problem == ("r.yaml:5:10: unknown operator 'bigger'; valid here: eq, ne, in, not_in, "
                       "exists, regex, glob, contains, gt, gte, lt, lte, older_than_days, "
                       "newer_than_days, has_keys")
    (problem,) = errors(tmp_path, HEAD + "require:\n  DiskDeviceMappings: {each: {Size: 3}}\n")
    assert problem == ("r.yaml:5:24: unknown operator 'each'; valid here: exists, some, every, "
                       "none")


def test_rules_list_with_other_keys(tmp_path: Path) -> None:
    assert errors(tmp_path, "title: shared\nrules:\n  - id: X\n") == [
        "r.yaml:2:1: a file with `rules:` holds only a list of rules under that key"
    ]
