"""Regexes and globs cannot hang a scan: they run under RE2 (linear time); syntax RE2 lacks
is refused when rules load, with file:line:col. Globs keep fnmatch's meaning (property test).
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.patterns import check_regex, glob_matcher, regex_matcher

# (operator, pattern, image name): each took from seconds to hours under backtracking engines.
HANG_CASES = [
    ("regex", r"^(a+)+$", "a" * 50 + "!"),
    ("regex", r"^([a-z0-9]+-?)+$", "a" * 34 + "!"),
    ("regex", r"^(a|aa)+$", "a" * 60 + "!"),
    ("regex", r"^(a|a?)+$", "a" * 60 + "!"),
    ("regex", r"(x+x+)+y", "x" * 60),
    ("regex", r"^(\w+\s?)*$", "word " * 20 + "!"),
    ("regex", r"^(([a-z])+.)+[A-Z]([a-z])+$", "a" * 50 + "!"),
    ("regex", r"(.*a){20}", "a" * 19 + "b" * 40),
    ("glob", "*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 60),
    ("glob", "*?*?*?*?*?*?*?*?*?*?*!", "a" * 60),
    ("glob", "[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*-", "a" * 60),
]
# Waiver globs through the config file (image ids are matched against them).
WAIVER_GLOBS = ["m-*a*a*a*a*a*a*a*a*a*a*a*a*b", "*?*?*?*?*?*?*?*?*?*?*?*?*!"]
HOSTILE_IMAGE_ID = "m-" + "a" * 60


def _rule(i: int | str, op: str, pattern: str, image_id: str = "") -> str:
    when = f"when: {{ImageId: {image_id}}}\n" if image_id else ""
    return textwrap.dedent(f"""\
        id: HANG-{i}
        title: Hostile {op} {i}
        severity: low
        require:
          ImageName: {{{op}: {json.dumps(pattern)}}}
        """) + when


def _inventory(path: Path) -> Path:
    """The example DescribeImages answer's image, once per hostile name, and a hostile id."""
    data = json.loads((EXAMPLES / "describe-images-response.json").read_text())
    template = data["Images"]["Image"][0]
    images = [{**template, "ImageId": f"m-hang{i}", "ImageName": text}
              for i, (_, _, text) in enumerate(HANG_CASES)]
    images.append({**template, "ImageId": HOSTILE_IMAGE_ID, "ImageName": "a" * 60})
    data["Images"]["Image"] = images
    data["TotalCount"] = data["PageSize"] = len(images)
    path.write_text(json.dumps(data))
    return path


def test_hostile_patterns_finish_a_scan(tmp_path: Path) -> None:
    """One real scan (a separate process, so a hang fails the test instead of stalling it):
    rule HANG-i judges image m-hang{i}, whose name its pattern does not match (the slow case
    for a backtracking engine), so each rule has exactly one finding; HANG-W's finding is on
    an image id that the waiver's hostile globs do not match, so the waiver is stale."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for i, (op, pattern, _) in enumerate(HANG_CASES):
        (rules / f"hang{i}.yaml").write_text(_rule(i, op, pattern, f"m-hang{i}"))
    (rules / "hangw.yaml").write_text(_rule("W", "regex", "^b", HOSTILE_IMAGE_ID))
    config = tmp_path / "imgaudit.yaml"
    config.write_text(textwrap.dedent(f"""\
        builtin_rules: false
        waivers:
          - rule: HANG-W
            images: {json.dumps(WAIVER_GLOBS)}
            reason: hostile globs must not hang
            owner: sec
            expires: 2099-01-01
        """))
    inventory = _inventory(tmp_path / "images.json")
    done = subprocess.run(
        [sys.executable, "-c", "from auditor.cli import main; raise SystemExit(main())", "scan",
         "--input", str(inventory), "--rules", str(rules), "--config", str(config),
         "--format", "json", "--fail-on", "never"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    hits = {(f["rule_id"], f["image_id"], f.get("waiver") is not None) for f in report["findings"]}
    assert hits == {(f"HANG-{i}", f"m-hang{i}", False) for i in range(len(HANG_CASES))} | {
        ("HANG-W", HOSTILE_IMAGE_ID, False)}
    assert [(w["rule"], w["state"]) for w in report["waivers"]] == [("HANG-W", "stale")]


@pytest.mark.parametrize(("op", "pattern", "text"), HANG_CASES)
def test_hostile_pattern_answers_no(op: str, pattern: str, text: str) -> None:
    match = regex_matcher(pattern) if op == "regex" else glob_matcher([pattern])
    assert match(text) is False
    assert match(text[:-1] if op == "regex" else text.replace("a", "b")) in (True, False)


def test_hostile_waiver_globs_answer_no() -> None:
    assert glob_matcher(WAIVER_GLOBS)(HOSTILE_IMAGE_ID) is False
    assert glob_matcher(WAIVER_GLOBS)("m-aab") is False
    assert glob_matcher(WAIVER_GLOBS)("m-aaaaaaaaaaaab") is True


REFUSED = [
    (r"(a)\1", "invalid escape sequence: \\1"),
    ("(?=a)b", "invalid perl operator: (?="),
    ("(?!a)b", "invalid perl operator: (?!"),
    ("(?<=a)b", "invalid perl operator: (?<"),
    ("(?<!a)b", "invalid perl operator: (?<"),
    ("(?>a+)b", "invalid perl operator: (?>"),
    ("(?P<x>a)(?P=x)", "invalid perl operator: (?P"),
    ("a++b", "bad repetition operator: ++"),
    (r"abc\Z", "invalid escape sequence: \\Z"),
    ("(a)?(?(1)b|c)", "invalid perl operator: (?("),
]


@pytest.mark.parametrize(("pattern", "reason"), REFUSED)
def test_syntax_re2_lacks_is_refused_at_load(tmp_path: Path, pattern: str, reason: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(_rule(1, "regex", pattern))
    result = invoke("rules", "validate", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"imgaudit: error: {path}:5:22: ImageName: regex bad regular "
                           f"expression {pattern!r}: ")
    assert reason in line
    try:  # the hint says what Python's `re` has and RE2 lacks: all of these, since 3.11
        python_has_it = bool(re.compile(pattern))
    except re.error:
        python_has_it = False
    assert python_has_it or sys.version_info < (3, 11)  # atomic groups, possessive `++`
    assert ("(patterns run under RE2, which matches in linear time but has no backreferences, "
            "lookahead or lookbehind)" in line) == python_has_it


@pytest.mark.parametrize("pattern", ["a{1001}", "((((a{1000}){1000}){1000}){1000})", "(x", "[b-a]"])
def test_patterns_re2_cannot_compile_are_refused_without_the_hint(pattern: str) -> None:
    problem = check_regex(pattern)
    assert problem is not None and problem.startswith(f"bad regular expression {pattern!r}: ")


def test_a_param_override_with_a_backreference_points_at_the_config(tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text("params:\n  IMG-EOL-OS:\n    eol_pattern: '(centos) \\1'\n")
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"imgaudit: error: {config}:3:18: param 'eol_pattern' of IMG-EOL-OS")
    assert "invalid escape sequence: \\1" in line


def test_a_waiver_glob_re2_cannot_compile_points_at_the_config(tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text(textwrap.dedent(f"""\
        waivers:
          - rule: IMG-PUBLIC-SELF
            images: [m-ok, "{'[a]' * 4000}*"]
            reason: r
            owner: o
            expires: 2099-01-01
        """))
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config)
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"imgaudit: error: {config}:3:20: waivers.0.images.1: bad glob ")


GLOB_CHARS = st.sampled_from([*list("ab-!]*?[\\.^$(|){}"), "\n", "é"])
TEXT_CHARS = st.sampled_from([*list("ab-!][.\\^$("), "\n", "é"])


@settings(max_examples=600, deadline=None)
@given(st.text(GLOB_CHARS, max_size=12), st.text(TEXT_CHARS, max_size=10))
def test_globs_mean_what_fnmatch_means(pattern: str, text: str) -> None:
    assert glob_matcher([pattern])(text) == fnmatch.fnmatchcase(text, pattern)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(GLOB_CHARS, max_size=8), min_size=1, max_size=4),
       st.text(TEXT_CHARS, max_size=8))
def test_a_waivers_globs_match_when_one_of_them_does(patterns: list[str], text: str) -> None:
    expected = any(fnmatch.fnmatchcase(text, p) for p in patterns)
    assert glob_matcher(patterns)(text) == expected
