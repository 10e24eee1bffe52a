"""Machine-readable errors: with `--format json` an error is also one JSON object on stdout,
with a stable code from the one table (auditor.errors.ERROR_CODES = docs/errors.md)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, REPO, CliResult, invoke

import auditor.collector.client  # noqa: F401  (defines an error subclass of its own)
from auditor.errors import ERROR_CODES, AuditError

INVENTORY = str(EXAMPLES / "inventory.json")


def _classes(cls: type[AuditError]) -> list[type[AuditError]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _classes(sub))]


def test_every_error_class_has_a_documented_code() -> None:
    classes = _classes(AuditError)
    assert len(classes) >= 7
    assert {c.__name__: c.error_code for c in classes if c.error_code not in ERROR_CODES} == {}


def test_docs_list_exactly_the_codes_and_their_meaning() -> None:
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z.-]+)` \| (\d+) \| (.+) \|$", text, re.M)
    assert {code: meaning for code, _, meaning in rows} == ERROR_CODES


def error_of(result: CliResult, code: int = 2) -> dict:
    """The one JSON document on stdout (json.loads refuses anything after it), checked to be
    an error object beside a human line on stderr."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith(("imgaudit: error:", "Usage:", "Error:")), result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["error"]
    error = document["error"]
    assert set(error) == {"code", "message", "file", "line", "column", "problems"}
    assert error["code"] in ERROR_CODES
    return error


def scan(*args: object, env: dict[str, str] | None = None) -> CliResult:
    return invoke("scan", "--input", INVENTORY, *map(str, args), env=env)


def test_click_usage_errors_are_json_too() -> None:
    error = error_of(scan("--format", "json", "--colour", "never"))
    assert error["code"] == "usage" and "--colour" in error["message"]
    assert (error["file"], error["line"], error["column"], error["problems"]) == (
        None, None, None, [])
    error = error_of(scan("--format=json", "--fail-on", "bogus"))
    assert error["code"] == "usage" and "'bogus' is not one of" in error["message"]


def test_without_format_json_stdout_stays_empty() -> None:
    result = scan("--colour", "never")
    assert (result.exit_code, result.stdout) == (2, "")
    result = scan("--format", "text", "--fail-on", "bogus")
    assert (result.exit_code, result.stdout) == (2, "")


def test_own_usage_errors(tmp_path: Path) -> None:
    error = error_of(scan("--format", "json", "--summary"))
    assert error["code"] == "usage" and "--summary" in error["message"]
    error = error_of(scan("--format", "json", "--rule", "IMG-NOPE-*"))
    assert error["code"] == "usage"


def test_config_problems_with_places(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text(textwrap.dedent("""\
        fail_on: high
        waivers:
          - {rule: IMG-MAX-AGE, image_name: [x], reason: r, owner: o, expires: 2999-01-01}
          - {rule: IMG-MAX-AGE, reason: r, owner: o}
        """))
    result = scan("--format", "json", "--config", config)
    error = error_of(result)
    assert [(p["code"], p["line"], p["column"]) for p in error["problems"]] == [
        ("config.unknown-key", 3, 25), ("config.missing-key", 4, 5)]
    assert error["problems"][0] == {
        "code": "config.unknown-key", "file": str(config), "line": 3, "column": 25,
        "message": "unknown key 'image_name' (did you mean 'image_names'?)"}
    assert {k: error[k] for k in ("code", "message", "file", "line", "column")} == \
        error["problems"][0]
    assert result.stderr.count("imgaudit: error:") == 2  # the human lines are unchanged


def test_config_syntax_and_unknown_rule(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text("fail_on: [high\n")
    assert error_of(scan("--format", "json", "--config", config))["code"] == "config.syntax"
    config.write_text("severity: {IMG-NVMe: low}\n")
    error = error_of(scan("--format", "json", "--config", config))
    assert (error["code"], error["line"], error["column"]) == ("config.unknown-rule", 1, 12)
    assert "did you mean 'IMG-NVME'" in error["message"]


def test_rule_file_problems(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("id: T-1\ntitle: t\nseverity: high\nrequire: {Featurez.Nvme: x}\n")
    error = error_of(scan("--format", "json", "--rules", rules))
    assert (error["code"], error["file"], error["line"]) == ("rule.unknown-field", str(rules), 4)
    rules.write_text("id: T-1\ntitle: t\nseverty: high\nrequire: {IsPublic: false}\n")
    error = error_of(scan("--format", "json", "--rules", rules))
    assert {p["code"] for p in error["problems"]} >= {"rule.unknown-key"}
    rules.write_text("id: T-1\n  title: [\n")
    assert error_of(scan("--format", "json", "--rules", rules))["code"] == "rule.syntax"


def test_unreadable_and_invalid_inputs(tmp_path: Path) -> None:
    error = error_of(invoke("scan", "--format", "json", "--input", tmp_path / "missing.json"))
    assert (error["code"], error["file"], error["message"]) == (
        "input.unreadable", str(tmp_path / "missing.json"), "no such file")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    error = error_of(invoke("scan", "--format", "json", "--input", bad))
    assert (error["code"], error["file"]) == ("input.invalid", str(bad))


def test_format_json_from_the_environment_and_the_config_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("id: T-1\n")
    error = error_of(scan("--rules", rules, env={"IMGAUDIT_FORMAT": "json"}))
    assert error["code"] == "rule.missing-key"
    config = tmp_path / "cfg.yaml"
    config.write_text("format: json\n")
    error = error_of(scan("--rules", rules, "--config", config))
    assert error["code"] == "rule.missing-key"
    # the command line wins over the config file: a text run prints no JSON
    result = scan("--rules", rules, "--config", config, "--format", "text")
    assert (result.exit_code, result.stdout) == (2, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_unwritable_report_file() -> None:
    error = error_of(scan("--format", "json", "--json", "/dev/full"), code=5)
    assert error["code"] == "output.write-failed"


def test_other_commands_with_format_json(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text("disable: [IMG-NVMe]\n")
    error = error_of(invoke("rules", "list", "--format", "json", "--config", config))
    assert (error["code"], error["line"], error["column"]) == ("config.unknown-rule", 1, 11)
    error = error_of(invoke("history", "list", "--format", "json",
                            "--history", tmp_path / "missing.sqlite"))
    assert (error["code"], error["file"]) == ("input.invalid", str(tmp_path / "missing.sqlite"))


def test_no_arguments_at_all_is_no_error() -> None:
    result = invoke()
    assert result.exit_code in (0, 2) and "internal error" not in result.stderr
