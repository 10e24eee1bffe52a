"""The positioned YAML loader: values, positions, and the inputs it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError, RuleError
from auditor.yamlio import did_you_mean, parse_yaml, read_yaml


def problems(text: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        parse_yaml(text, "f.yaml")
    return [str(p) for p in info.value.problems]


def test_values_and_positions() -> None:
    (doc,) = parse_yaml("id: X\nrequire:\n  Tags: {has_keys: [a, b]}\n", "f.yaml")
    assert doc.value == {"id": "X", "require": {"Tags": {"has_keys": ["a", "b"]}}}
    assert doc.keys[("require",)] == (2, 1)
    assert doc.keys[("require", "Tags")] == (3, 3)
    assert doc.values[("require", "Tags", "has_keys", 1)] == (3, 24)
    assert doc.mark(("require", "Tags", "nope"), key=True) == (3, 3)


def test_several_documents() -> None:
    docs = parse_yaml("a: 1\n---\nb: 2\n", "f.yaml")
    assert [d.value for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].keys[("b",)] == (3, 1)


def test_billion_laughs_is_refused_before_expansion() -> None:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 9):
        text += f"{'abcdefghi'[i]}: &{'abcdefghi'[i]} [" + ",".join(["*" + "abcdefghi"[i - 1]] * 9) + "]\n"
    assert problems(text) == ["f.yaml:1:4: YAML anchors and aliases are not allowed"]


def test_alias_without_anchor_on_same_line_is_refused() -> None:
    assert problems("a: 1\nb: *x\n") == ["f.yaml:2:4: YAML anchors and aliases are not allowed"]


def test_duplicate_keys_name_both_places() -> None:
    assert problems("id: A\ntitle: t\nid: B\n") == [
        "f.yaml:3:1: duplicate key 'id' (first at line 1, column 1)"
    ]


def test_syntax_error_is_positioned() -> None:
    (problem,) = problems("id: A\nrequire: {IsPublic: false\n")
    assert problem.startswith("f.yaml:3:1: YAML syntax: ")
    assert "expected ',' or '}'" in problem


def test_bad_indentation() -> None:
    (problem,) = problems("a:\n  b: 1\n c: 2\n")
    assert problem.startswith("f.yaml:3:2: YAML syntax:")


def test_python_tags_are_not_constructed() -> None:
    assert problems("a: !!python/object/apply:os.system ['true']\n") == [
        "f.yaml:1:4: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    ]
    (problem,) = problems("a: !!python/name:os.system\n")
    assert problem.startswith("f.yaml:1:4: YAML syntax:")
    assert "could not determine a constructor" in problem


def test_complex_keys_are_refused() -> None:
    assert problems("? [a, b]\n: 1\n") == ["f.yaml:1:3: mapping keys must be plain scalars"]


def test_read_yaml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_yaml(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_did_you_mean() -> None:
    assert did_you_mean("IsPublik", ["IsPublic", "ImageId"]) == " (did you mean 'IsPublic'?)"
    assert did_you_mean("zzz", ["IsPublic"]) == ""
