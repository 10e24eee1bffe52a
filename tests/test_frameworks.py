"""Control mapping: `frameworks:` in rules (validated at load time), the built-in rules'
mappings (equal to docs/frameworks.md), `rules list|show --framework`, `scan --framework`,
all through the CLI."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from cli_helpers import EXAMPLES, REPO, invoke

from auditor.frameworks import FRAMEWORKS

INVENTORY = EXAMPLES / "inventory.json"

MAPPED = textwrap.dedent("""\
    rules:
      - id: T-ENC
        title: Encrypted
        severity: medium
        frameworks:
          cis-alibaba-v2: ["4.2"]
          mlps2-l3: ["8.1.4.8"]
        require: {IsPublic: false}
      - id: T-PATCH
        title: Patched
        severity: low
        frameworks:
          mlps2-l3: ["8.1.4.4", "8.2.4.4"]
        require: {Architecture: {ne: i386}}
      - id: T-NONE
        title: Not mapped
        severity: low
        require: {Architecture: {ne: i386}}
    """)


def _write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _bad_rule(frameworks: str) -> str:
    return ("id: T-BAD\ntitle: t\nseverity: low\nframeworks:\n"
            + textwrap.indent(frameworks, "  ") + "require: {IsPublic: false}\n")


# --- validation ------------------------------------------------------------------------------

def test_a_mapped_rule_file_is_valid(tmp_path: Path) -> None:
    result = invoke("rules", "validate", _write(tmp_path, MAPPED))
    assert (result.exit_code, result.stdout) == (0, "ok: 3 rules valid\n")


@pytest.mark.parametrize(("frameworks", "where", "message"), [
    ('cis-alibaba: ["4.2"]\n', "5:3", "frameworks: unknown framework 'cis-alibaba' (did you "
     "mean 'cis-alibaba-v2'?); known: cis-alibaba-v2, mlps2-l3"),
    ('cis-alibaba-v2: ["4.2a"]\n', "5:20", "frameworks: malformed control id '4.2a' for "
     "cis-alibaba-v2 (like '1.1' or '1.2')"),
    ('cis-alibaba-v2: ["4.9"]\n', "5:20", "frameworks: cis-alibaba-v2 has no control '4.9'"),
    ('mlps2-l3: ["7.1.4.4"]\n', "5:14", "frameworks: malformed control id '7.1.4.4' for "
     "mlps2-l3 (like '8.1.4.1' or '8.1.4.2')"),
    ('mlps2-l3: ["8.1.4.4", "8.1.4.4"]\n', "5:25", "frameworks: control '8.1.4.4' of mlps2-l3 "
     "is listed twice"),
    ('cis-alibaba-v2: [4.10]\n', "5:20", "frameworks.cis-alibaba-v2.0: Value error, write "
     "control ids in quotes ('4.1'): YAML reads an unquoted 4.10 as the number 4.1"),
    ("mlps2-l3: []\n", "5:13", "frameworks.mlps2-l3: List should have at least 1 item"),
    ('- "4.2"\n', "5:3", "frameworks: Input should be a valid dictionary"),
])
def test_bad_mappings_are_positioned_load_errors(tmp_path: Path, frameworks: str, where: str,
                                                 message: str) -> None:
    path = _write(tmp_path, _bad_rule(frameworks))
    result = invoke("rules", "validate", path)
    assert result.exit_code == 2
    assert f"imgaudit: error: {path}:{where}: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_problem_of_a_mapping_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, _bad_rule('cis-alibaba-v2: ["4.2", "4.2", "99.1"]\n'
                                      'mlps-l3: ["8.1.4.4"]\nmlps2-l3: [8.1]\n'))
    lines = invoke("rules", "validate", path).stderr.splitlines()
    assert len(lines) == 4, lines
    assert [line.split(": ", 3)[2] for line in lines] == [
        f"{path}:5:27", f"{path}:5:34", f"{path}:6:3", f"{path}:7:14"]


def test_json_errors_carry_the_framework_codes(tmp_path: Path) -> None:
    path = _write(tmp_path, _bad_rule('cis-alibaba-v3: ["4.2"]\nmlps2-l3: ["8.1.4.4", '
                                      '"8.1.4.4"]\n'))
    result = invoke("scan", "--input", INVENTORY, "--rules", path, "--format", "json")
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    assert [(p["line"], p["code"]) for p in problems] == [
        (5, "rule.unknown-framework"), (6, "rule.invalid-control")]


def test_the_rule_schema_names_the_frameworks() -> None:
    schema = json.loads(invoke("rules", "schema").stdout)
    frameworks = schema["$defs"]["rule"]["properties"]["frameworks"]
    assert frameworks["propertyNames"] == {"enum": list(FRAMEWORKS)}
    assert frameworks["additionalProperties"]["items"] == {"type": "string"}


# --- the built-in mappings ---------------------------------------------------------------------

def _builtin_mappings() -> set[tuple[str, str, str]]:
    found = set()
    for path in (REPO / "rules").glob("*.yaml"):
        rule = yaml.safe_load(path.read_text(encoding="utf-8"))
        for framework, controls in rule.get("frameworks", {}).items():
            found |= {(rule["id"], framework, control) for control in controls}
    return found


def _documented_mappings() -> set[tuple[str, str, str]]:
    text = (REPO / "docs" / "frameworks.md").read_text(encoding="utf-8")
    table = text.split("## Mappings of the built-in rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z0-9-]+)` \| `([a-z0-9-]+)` \| ([0-9.]+) ", table, re.M)
    return set(rows)


def test_docs_list_exactly_the_builtin_mappings() -> None:
    mappings = _builtin_mappings()
    assert len(mappings) >= 8
    assert _documented_mappings() == mappings


def test_every_builtin_mapping_names_a_declared_control() -> None:
    for _rule, framework, control in _builtin_mappings():
        assert control in FRAMEWORKS[framework].controls, (framework, control)


def test_docs_name_every_unmapped_builtin_rule() -> None:
    text = (REPO / "docs" / "frameworks.md").read_text(encoding="utf-8")
    unmapped = text.split("## Rules without a mapping", 1)[1].split("Not verified", 1)[0]
    mapped = {rule for rule, _, _ in _builtin_mappings()}
    forgotten = [path.stem for path in sorted((REPO / "rules").glob("*.yaml"))
                 if path.stem not in mapped and f"`{path.stem}`" not in unmapped]
    assert forgotten == [], ("a built-in rule needs a row in docs/frameworks.md: in the "
                             "mappings (with its source) or among the rules without one")


# --- rules list / show ------------------------------------------------------------------------

def test_rules_list_framework_shows_the_mapped_rules_with_their_controls() -> None:
    result = invoke("rules", "list", "--framework", "cis-alibaba-v2")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [(row[0], row[2], row[3]) for row in rows] == [
        ("IMG-EOL-OS", "cis-alibaba-v2", "4.5"), ("IMG-MAX-AGE", "cis-alibaba-v2", "4.5"),
        ("IMG-UNENCRYPTED-DISK", "cis-alibaba-v2", "4.2")]


def test_rules_list_framework_json_and_markdown(tmp_path: Path) -> None:
    rules = _write(tmp_path, MAPPED)
    result = invoke("rules", "list", "--rules", rules, "--framework", "mlps2-l3",
                    "--format", "json")
    listed = {r["id"]: r["frameworks"] for r in json.loads(result.stdout)}
    assert listed["T-PATCH"] == {"mlps2-l3": ["8.1.4.4", "8.2.4.4"]}
    assert listed["T-ENC"] == {"cis-alibaba-v2": ["4.2"], "mlps2-l3": ["8.1.4.8"]}
    assert "T-NONE" not in listed
    assert {rule for rule, framework, _ in _builtin_mappings() if framework == "mlps2-l3"} \
        == set(listed) - {"T-ENC", "T-PATCH"}
    table = invoke("rules", "list", "--rules", rules, "--framework", "mlps2-l3",
                   "--framework", "cis-alibaba-v2", "--format", "markdown").stdout
    assert table.startswith("| id | severity | controls | title |\n")
    assert "| `T-ENC` | medium | mlps2-l3 8.1.4.8; cis-alibaba-v2 4.2 | Encrypted |" in table


def test_rules_list_without_framework_keeps_its_columns() -> None:
    table = invoke("rules", "list", "--format", "markdown").stdout
    assert table.startswith("| id | severity | title |\n")


def test_rules_list_unknown_framework_is_a_usage_error() -> None:
    result = invoke("rules", "list", "--framework", "mlps2-l4")
    assert result.exit_code == 2
    assert result.stderr == ("imgaudit: error: unknown framework 'mlps2-l4' (did you mean "
                             "'mlps2-l3'?); known: cis-alibaba-v2, mlps2-l3\n")


def test_rules_show_names_each_control_with_its_title() -> None:
    result = invoke("rules", "show", "IMG-UNENCRYPTED-DISK")
    assert result.stdout.endswith(
        "Controls:\n"
        "  cis-alibaba-v2 4.2  Ensure that 'Virtual Machine's disk' are encrypted\n"
        "  mlps2-l3 8.1.4.8  数据保密性 (data confidentiality)\n")


# --- scan --framework ---------------------------------------------------------------------------

def test_scan_framework_runs_only_the_mapped_rules(tmp_path: Path) -> None:
    rules = _write(tmp_path, MAPPED)
    result = invoke("scan", "--input", INVENTORY, "--rules", rules, "--no-builtin-rules",
                    "--framework", "mlps2-l3", "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [r["id"] for r in report["rules"]] == ["T-ENC", "T-PATCH"]
    assert {f["rule_id"] for f in report["findings"]} <= {"T-ENC", "T-PATCH"}


def test_scan_framework_from_the_environment_and_unknown_ones(tmp_path: Path) -> None:
    rules = _write(tmp_path, MAPPED)
    env = {"IMGAUDIT_FRAMEWORK": "cis-alibaba-v2"}
    result = invoke("scan", "--input", INVENTORY, "--rules", rules, "--no-builtin-rules",
                    "--format", "json", "--fail-on", "never", env=env)
    assert [r["id"] for r in json.loads(result.stdout)["rules"]] == ["T-ENC"]
    bad = invoke("scan", "--input", INVENTORY, "--framework", "CIS")
    assert bad.exit_code == 2
    assert "unknown framework 'CIS'" in bad.stderr and bad.stdout == ""


# --- the config file's `frameworks:` ----------------------------------------------------------

def test_config_frameworks_selects_and_the_command_line_replaces_it(tmp_path: Path) -> None:
    config = _write(tmp_path, "frameworks: [mlps2-l3]\n", "imgaudit.yaml")
    listed = invoke("rules", "list", "--config", config, "--format", "json").stdout
    assert {r["id"] for r in json.loads(listed)} == {
        rule for rule, framework, _ in _builtin_mappings() if framework == "mlps2-l3"}
    replaced = invoke("rules", "list", "--config", config, "--framework", "cis-alibaba-v2")
    assert [line.split()[0] for line in replaced.stdout.splitlines()] == [
        "IMG-EOL-OS", "IMG-MAX-AGE", "IMG-UNENCRYPTED-DISK"]
    report = invoke("scan", "--input", INVENTORY, "--config", config, "--format", "json",
                    "--fail-on", "never")
    assert [f["id"] for f in json.loads(report.stdout)["frameworks"]] == ["mlps2-l3"]


def test_config_unknown_framework_is_a_positioned_error(tmp_path: Path) -> None:
    config = _write(tmp_path, "select: [IMG-*]\nframeworks: [cis-alibaba-v2, mlps-l3]\n",
                    "imgaudit.yaml")
    result = invoke("scan", "--input", INVENTORY, "--config", config)
    assert result.exit_code == 2
    assert result.stderr == (
        f"imgaudit: error: {config}:2:30: frameworks.1: unknown framework 'mlps-l3' (did you "
        "mean 'mlps2-l3'?); known: cis-alibaba-v2, mlps2-l3\n")
