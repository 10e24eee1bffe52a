"""Rule and config loader errors through the CLI: exit 2, one stderr line per problem, no
traceback, nothing scanned."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from cli_helpers import EXAMPLES, CliResult, invoke

EXAMPLE = EXAMPLES / "describe-images-response.json"
BAD_RULES = textwrap.dedent("""\
    rules:
      - id: ORG-ONE
        title: One
        severity: hihg
        require: {IsPublik: false}
      - id: ORG-TWO
        title: Two
        severity: low
        require:
          Size: {gtt: 3}
        message: "{{ image.ImageId }"
    """)


def lines(result: CliResult, tmp_path: Path) -> list[str]:
    return result.stderr.replace(f"{tmp_path}/", "").splitlines()


def assert_usage_error(result: CliResult) -> None:
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_validate_reports_every_problem_on_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_RULES)
    result = invoke("rules", "validate", tmp_path / "bad.yaml")
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: bad.yaml:4:15: severity: Input should be 'critical', 'high', "
        "'medium', 'low' or 'info'",
        # the schema error above does not hide the condition's problem below it
        "imgaudit: error: bad.yaml:5:15: unknown field 'IsPublik' (did you mean 'IsPublic'?)",
        "imgaudit: error: bad.yaml:10:14: unknown operator 'gtt' (did you mean 'gt'?)",
        "imgaudit: error: bad.yaml:11:14: message template: unexpected '}'",
    ]


def test_scan_with_bad_rules_scans_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_RULES.replace("hihg", "high"))
    result = invoke("scan", "--input", EXAMPLE, "--rules", tmp_path / "bad.yaml",
                    "--format", "json")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    problems = json.loads(result.stdout)["error"]["problems"]  # --format json: docs/errors.md
    assert [(p["code"], p["line"], p["column"]) for p in problems] == [
        ("rule.unknown-field", 5, 15), ("rule.invalid", 10, 14), ("rule.invalid", 11, 14)]
    assert lines(result, tmp_path) == [
        "imgaudit: error: bad.yaml:5:15: unknown field 'IsPublik' (did you mean 'IsPublic'?)",
        "imgaudit: error: bad.yaml:10:14: unknown operator 'gtt' (did you mean 'gt'?)",
        "imgaudit: error: bad.yaml:11:14: message template: unexpected '}'",
    ]


def test_duplicate_of_a_builtin_id(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(
        "id: IMG-NVME\ntitle: Mine\nseverity: low\nrequire: {Size: 1}\n")
    result = invoke("scan", "--input", EXAMPLE, "--rules", tmp_path / "dup.yaml")
    assert_usage_error(result)
    (line,) = lines(result, tmp_path)
    assert line.startswith("imgaudit: error: dup.yaml:1:5: duplicate rule id 'IMG-NVME' "
                           "(first defined at ")
    assert line.endswith("IMG-NVME.yaml:1:5)")


def test_billion_laughs_rule_file(tmp_path: Path) -> None:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    text += "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    (tmp_path / "lol.yaml").write_text(text)
    result = invoke("rules", "validate", tmp_path / "lol.yaml")
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: lol.yaml:1:4: YAML anchors and aliases are not allowed"
    ]


def test_missing_rules_path(tmp_path: Path) -> None:
    result = invoke("scan", "--input", EXAMPLE, "--rules", tmp_path / "nope")
    assert_usage_error(result)
    assert lines(result, tmp_path) == ["imgaudit: error: nope: no such rule file or folder"]


def test_config_file_errors(tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text(textwrap.dedent("""\
        disable: [IMG-NVMe]
        params:
          IMG-REQUIRED-TAGS: {required_key: [owner]}
        waivers:
          - {rule: IMG-PUBLIC-SELF, images: [m-1], reason: demo, owner: me, expires: 2030-01-01}
          - {rule: IMG-NVME, images: [m-1], owner: me}
        """))
    result = invoke("scan", "--input", EXAMPLE, "--config", config)
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: imgaudit.yaml:6:5: missing required key 'reason' in waivers.1",
        "imgaudit: error: imgaudit.yaml:6:5: missing required key 'expires' in waivers.1",
    ]
    config.write_text(config.read_text().replace(
        "owner: me}", "owner: me, reason: r, expires: 2030-01-01}"))
    result = invoke("scan", "--input", EXAMPLE, "--config", config)
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: imgaudit.yaml:1:11: unknown rule id 'IMG-NVMe' "
        "(did you mean 'IMG-NVME'?)",
        "imgaudit: error: imgaudit.yaml:3:23: unknown param 'required_key' for IMG-REQUIRED-TAGS"
        " (did you mean 'required_keys'?); IMG-REQUIRED-TAGS declares: required_keys",
    ]


def test_unsafe_template_is_refused_by_validate(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text(
        "id: ORG-EVIL\ntitle: Evil\nseverity: low\nrequire: {Size: 1}\n"
        "message: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n")
    result = invoke("rules", "validate", tmp_path / "evil.yaml")
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: evil.yaml:5:10: message template may not read private attribute "
        "'__subclasses__'"
    ]


def test_a_template_problem_of_a_rule_not_selected_still_stops_the_scan(tmp_path: Path) -> None:
    """Every rule file is checked before anything runs, its message templates as jinja's
    compiler checks them too (a loop variable named `loop`), in every language, whichever
    rules `--rule` selects."""
    (tmp_path / "loops.yaml").write_text(
        "id: ORG-LOOPS\ntitle: Loops\nseverity: low\nrequire: {Size: 1}\n"
        "message: \"{{ image.ImageId }}\"\n"
        "i18n:\n  zh-CN:\n    message: \"{% for loop in image.Tags %}{{ loop }}{% endfor %}\"\n")
    for args in (("rules", "validate", tmp_path / "loops.yaml"),
                 ("scan", "--input", EXAMPLE, "--rules", tmp_path / "loops.yaml",
                  "--rule", "IMG-NVME")):
        result = invoke(*args)
        assert_usage_error(result)
        assert lines(result, tmp_path) == [
            "imgaudit: error: loops.yaml:8:14: message template: Can't assign to special loop "
            "variable in for-loop target"]


def test_a_template_nested_past_pythons_limits_is_a_rule_error(tmp_path: Path) -> None:
    """A hundred nested `{% if %}` pass jinja's parser but not Python's compiler (its limit
    on indentation): a rule error at the message, not an internal error."""
    deep = "{% if image.Size %}" * 100 + "x" + "{% endif %}" * 100
    (tmp_path / "deep.yaml").write_text(
        f"id: ORG-DEEP\ntitle: Deep\nseverity: low\nrequire: {{Size: 1}}\nmessage: \"{deep}\"\n")
    result = invoke("rules", "validate", tmp_path / "deep.yaml")
    assert_usage_error(result)
    assert lines(result, tmp_path) == [
        "imgaudit: error: deep.yaml:5:10: message template: nested too deeply"]


def test_config_params_change_findings(tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text("params:\n  IMG-REQUIRED-TAGS: {required_keys: []}\n"
                      "severity: {IMG-PUBLIC-SELF: critical}\n")
    plain = invoke("scan", "--input", EXAMPLE, "--format", "json")
    tuned = invoke("scan", "--input", EXAMPLE, "--format", "json", "--config", config)
    assert plain.exit_code in (0, 1) and tuned.exit_code in (0, 1)
    assert '"IMG-REQUIRED-TAGS"' in plain.stdout
    assert '"rule_id": "IMG-REQUIRED-TAGS"' not in tuned.stdout
