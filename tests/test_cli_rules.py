"""`imgaudit rules list | show | validate | test | schema` through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import yaml
from cli_helpers import REPO, invoke

GOOD = textwrap.dedent("""\
    rules:
      - id: T-ONE
        title: Images are private
        severity: high
        require: {IsPublic: false}
        message: "{{ image.ImageId }} is public"
        tests:
          pass: [{IsPublic: false}]
          fail: [{IsPublic: true}]
      - id: T-TWO
        title: Wrong example on purpose
        severity: low
        require: {Architecture: x86_64}
        tests:
          pass: [{Architecture: arm64}]
    """)


def test_list_shows_every_builtin_rule() -> None:
    result = invoke("rules", "list")
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert ids == sorted(p.stem for p in (REPO / "rules").glob("*.yaml"))


def test_list_includes_user_rules_and_json_output(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD)
    result = invoke("rules", "list", "--rules", tmp_path / "mine.yaml", "--format", "json")
    rules = json.loads(result.stdout)
    assert {"T-ONE", "T-TWO", "IMG-NVME"} <= {r["id"] for r in rules}


def test_show_prints_why_and_how_to_fix() -> None:
    result = invoke("rules", "show", "IMG-PUBLIC-SELF")
    assert result.exit_code == 0
    spec = yaml.safe_load((REPO / "rules/IMG-PUBLIC-SELF.yaml").read_text())
    assert result.stdout.startswith(f"IMG-PUBLIC-SELF  [{spec['severity']}]  {spec['title']}")
    assert "Remediation:" in result.stdout and "aliyun ecs" in result.stdout


def test_show_unknown_rule_suggests_the_closest() -> None:
    result = invoke("rules", "show", "IMG-NVMe")
    assert result.exit_code == 2
    assert "no rule 'IMG-NVMe' (did you mean IMG-NVME?)" in result.stderr


def test_validate_good_and_bad_files(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    ok = invoke("rules", "validate", tmp_path / "good.yaml")
    assert (ok.exit_code, ok.stdout) == (0, "ok: 2 rules valid\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: T-BAD\ntitle: t\nseverity: high\nrequire:\n  IsPublik: false\n")
    result = invoke("rules", "validate", bad)
    assert result.exit_code == 2
    assert f"{bad}:5:3:" in result.stderr and "IsPublic" in result.stderr
    assert "Traceback" not in result.stderr


def test_test_runs_the_examples_inside_rule_files(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD)
    result = invoke("rules", "test", tmp_path / "mine.yaml")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("PASS  T-ONE  pass #1") for line in lines)
    assert any(line.startswith("PASS  T-ONE  fail #1") for line in lines)
    assert any(line.startswith("FAIL  T-TWO  pass #1") for line in lines)
    assert lines[-1] == "2 passed, 1 failed"


def test_builtin_rule_examples_all_pass() -> None:
    result = invoke("rules", "test", REPO / "rules")
    assert result.exit_code == 0, result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


def test_schema_is_a_json_schema_that_accepts_the_builtin_rules() -> None:
    result = invoke("rules", "schema")
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)  # checked once, not once per file
    for path in (REPO / "rules").glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text()))


def test_an_empty_rule_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke("rules", "validate", tmp_path / "empty")
    assert result.exit_code == 2
    assert f"{tmp_path / 'empty'}: folder holds no rule files (*.yaml, *.yml)" in result.stderr
