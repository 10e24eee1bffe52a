"""Rule files, config files and baselines are strangers' data: every bad one gets one clear
line per problem on stderr (file:line:col where there is one), exit 2, nothing scanned, no
traceback; `validate` reports every problem of every file at once; and what `validate`
accepts scans without crashing. All through the CLI."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, CliResult, invoke
from hypothesis import event, given, settings
from hypothesis import strategies as st

from auditor.engine import loader

INVENTORY = EXAMPLES / "inventory.json"
HEAD = "id: ORG-X\ntitle: X\nseverity: low\n"


def refused(result: CliResult) -> list[str]:
    """The stderr lines of a refused run, after checking it is one."""
    assert result.exit_code == 2, result.stdout + result.stderr
    if result.stdout:  # --format json: the error as JSON too (docs/errors.md), nothing else
        assert list(json.loads(result.stdout)) == ["error"]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("imgaudit: error: ") for line in lines), lines
    return [line.removeprefix("imgaudit: error: ") for line in lines]


def validate(*paths: Path) -> list[str]:
    return refused(invoke("rules", "validate", *paths))


def scan_refused(rules: Path) -> list[str]:
    return refused(invoke("scan", "--input", INVENTORY, "--rules", rules, "--format", "json"))


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --- 4. every problem at once -----------------------------------------------------------

def test_validate_reports_every_problem_of_every_file_and_path(tmp_path: Path) -> None:
    one = write(tmp_path / "one.yaml", textwrap.dedent("""\
        id: ORG-ONE
        severity: urgent
        colour: red
        require:
          IsPublik: false
          Size: {gtt: 3}
        message: "{{ image.ImageId }"
        """))
    two = write(tmp_path / "two.yaml", textwrap.dedent("""\
        rules:
          - id: ORG-TWO
            title: Two
            severity: low
            params: {days: 3}
            require: {CreationTime: {older_than_days: {param: dayz}}}
          - id: bad id
            title: ""
            severity: low
            require: {Status: {in: []}}
          - [not, a, rule]
        """))
    three = write(tmp_path / "three.yaml", "id: ORG-3\nrequire: {a: [}\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    lines = [line.replace(f"{tmp_path}/", "")
             for line in validate(one, two, three, tmp_path / "missing.yaml", empty)]
    assert lines == [
        "empty: folder holds no rule files (*.yaml, *.yml)",  # problems with paths come first
        "missing.yaml: no such rule file or folder",
        "one.yaml:1:1: missing required key 'title'",
        "one.yaml:2:11: severity: Input should be 'critical', 'high', 'medium', 'low' or 'info'",
        "one.yaml:3:1: unknown key 'colour'",
        "one.yaml:5:3: unknown field 'IsPublik' (did you mean 'IsPublic'?)",
        "one.yaml:6:10: unknown operator 'gtt' (did you mean 'gt'?)",
        "one.yaml:7:10: message template: unexpected '}'",
        "two.yaml:6:55: undeclared param 'dayz' (did you mean 'days'?)",
        "two.yaml:7:9: id: String should match pattern '^[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*$'",
        "two.yaml:8:12: title: String should have at least 1 character",
        "two.yaml:10:28: Status: in expects a non-empty list of values",
        "two.yaml:11:5: a rule is a mapping of keys (id, title, severity, ...)",
        "three.yaml:2:15: YAML syntax: while parsing a flow node expected the node content, but found '}'",
    ]


# --- 6. sizes, special files, nesting, bytes, dates, numbers ---------------------------

def test_a_rule_file_over_10_mb_is_not_read(tmp_path: Path) -> None:
    big = write(tmp_path / "big.yaml", HEAD + "require: {IsPublic: false}\n" + "#" * (10 << 20))
    assert validate(big) == [f"{big}: larger than 10 MB; not read"]
    assert scan_refused(big) == [f"{big}: larger than 10 MB; not read"]


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block for ever
    assert validate(fifo, Path("/dev/zero")) == [
        f"{fifo}: not a regular file (a FIFO)",
        "/dev/zero: not a regular file (a device or other special file)",
    ]
    assert scan_refused(fifo) == [f"{fifo}: not a regular file (a FIFO)"]
    for config in (fifo, Path("/dev/zero")):
        kind = "a FIFO" if config == fifo else "a device or other special file"
        result = invoke("scan", "--input", INVENTORY, "--config", config)
        assert refused(result) == [f"{config}: not a regular file ({kind})"]
    for baseline in (fifo, Path("/dev/zero")):
        kind = "a FIFO" if baseline == fifo else "a device or other special file"
        result = invoke("scan", "--input", INVENTORY, "--baseline", baseline)
        assert refused(result) == [f"{baseline}: not a regular file ({kind})"]


def test_a_config_file_over_10_mb_is_not_read(tmp_path: Path) -> None:
    config = write(tmp_path / "imgaudit.yaml", "fail_on: high\n" + "#" * (10 << 20))
    result = invoke("scan", "--input", INVENTORY, "--config", config)
    assert refused(result) == [f"{config}: larger than 10 MB; not read"]


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_a_deeply_nested_baseline_is_refused(tmp_path: Path, text: str) -> None:
    baseline = write(tmp_path / "baseline.json", text)
    result = invoke("scan", "--input", INVENTORY, "--baseline", baseline)
    assert refused(result) == [f"{baseline}: not a report: JSON nested too deeply"]


@pytest.mark.parametrize(("body", "where"), [
    ("require: {IsPublic: false}\ntags: " + "[" * 100 + "]" * 100 + "\n", "5:70"),
    ("require: " + '{"not": ' * 200 + '{"IsPublic": false}' + "}" * 200 + "\n", "4:507"),
])
def test_yaml_nested_too_deep_is_refused(tmp_path: Path, body: str, where: str) -> None:
    path = write(tmp_path / "r.yaml", HEAD + body)
    assert validate(path) == [f"{path}:{where}: nested more than 64 levels deep"]


def test_conditions_nested_too_deep_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", HEAD + "require: " + "{not: " * 40 + "{IsPublic: false}"
                 + "}" * 40 + "\n")
    assert validate(path) == [f"{path}:4:202: conditions nested more than 32 levels deep"]


@pytest.mark.parametrize(("raw", "problem"), [
    (b"title: X\x00\n", "2:9: control character U+0000 is not allowed"),
    (b"title: \x1b[31mX\n", "2:8: control character U+001B is not allowed"),
    (b'title: "X\\0"\n', "2:8: control character U+0000 in a string"),
    (b'title: "X\\e[2J"\n', "2:8: control character U+001B in a string"),
    (b'title: "X\\ud800"\n', "2:8: control character U+D800 in a string"),
    (b'title: "X\\x7f and \\x01\\tY"\n', "2:8: control character U+007F in a string"),
    (b'title: "a\\tb\\nc\\r\\x80\\udfff"\n', "2:8: control character U+DFFF in a string"),
    ("title: X\u009b\n".encode(), "2:9: character U+009B is not allowed in YAML"),
    (b"title: caf\xe9\n", "2:11: not UTF-8 text (byte 0xe9)"),
])
def test_control_characters_and_bad_bytes_are_refused(tmp_path: Path, raw: bytes,
                                                      problem: str) -> None:
    path = write(tmp_path / "r.yaml", b"id: ORG-X\n" + raw + b"severity: low\n"
                 b"require: {IsPublic: false}\n")
    assert validate(path) == [f"{path}:{problem}"]


@pytest.mark.parametrize(("body", "problem"), [
    ("require: {CreationTime: {gt: 2025-02-30}}\n",
     "4:30: impossible date '2025-02-30': day is out of range for month"),
    ("require: {IsPublic: false}\ntests: {today: 2025-02-30}\n",
     "5:16: impossible date '2025-02-30': day is out of range for month"),
    ("require: {CreationTime: {older_than_days: 1.0e+308}}\n",
     "4:43: CreationTime: older_than_days expects a number of days from 0 to 36600, not '1e+308'"),
    ("require: {CreationTime: {older_than_days: 1000000000}}\n",
     "4:43: CreationTime: older_than_days expects a number of days from 0 to 36600, "
     "not '1000000000'"),
    ("require: {CreationTime: {newer_than_days: .nan}}\n", "4:43: nan is not a usable number"),
    ("require: {Size: {gt: .inf}}\n", "4:22: inf is not a usable number"),
    ("require: {Size: {gt: -.inf}}\n", "4:22: -inf is not a usable number"),
    ("require: {Size: {gt: 1" + "0" * 30 + "}}\n", "4:22: integer out of range (at most 64 bits)"),
    ("require: {Size: {gt: 1" + "0" * 5000 + "}}\n",
     "4:22: integer '1000000000000000000000000000000000000...' is out of range (5001 characters)"),
    ("params: {days: 1" + "0" * 5000 + "}\nrequire: {IsPublic: false}\n",
     "4:16: integer '1000000000000000000000000000000000000...' is out of range (5001 characters)"),
])
def test_impossible_dates_and_numbers_are_refused(tmp_path: Path, body: str, problem: str) -> None:
    path = write(tmp_path / "r.yaml", HEAD + body)
    assert validate(path) == [f"{path}:{problem}"]
    assert scan_refused(path) == [f"{path}:{problem}"]


def test_an_impossible_waiver_date_points_at_the_config(tmp_path: Path) -> None:
    config = write(tmp_path / "imgaudit.yaml", textwrap.dedent("""\
        waivers:
          - rule: IMG-PUBLIC-SELF
            images: [m-1]
            reason: r
            owner: o
            expires: 2025-02-30
        """))
    result = invoke("scan", "--input", INVENTORY, "--config", config)
    assert refused(result) == [
        f"{config}:6:14: impossible date '2025-02-30': day is out of range for month"]


EDGE_RULES = textwrap.dedent("""\
    rules:
      - id: EDGE-AGES
        title: Ages at the limits
        severity: low
        params: {old: 36600, new: 0}
        require:
          any:
            - CreationTime: {older_than_days: {param: old}}
            - CreationTime: {newer_than_days: {param: new}}
            - CreationTime: {gt: 0001-01-01, lt: 9999-12-31}
        tests:
          today: 0001-01-02
          fail: [{CreationTime: "0001-01-01T00:00:00Z"}]
      - id: EDGE-NUMBERS
        title: Numbers at the limits
        severity: low
        require:
          all:
            - Size: {lt: 9223372036854775807, gt: -9223372036854775808}
            - Size: {ne: 9223372036854775807}
      - id: EDGE-PATTERNS
        title: Patterns at the edges
        severity: low
        require:
          any:
            - ImageName: {regex: '^(?P<name>[\\p{L}\\d-]+)$'}
            - ImageName: {glob: '[z-a]'}
            - ImageName: {glob: '[!z-a]*'}
            - Tags.owner: {glob: '*[*'}
      - id: EDGE-DEEP
        title: Nested 32 deep
        severity: low
        require: '@NESTED@'
      - id: EDGE-WIDE
        title: Fifteen hundred alternatives
        severity: low
        require:
          any: '@WIDE@'
    """)


def test_what_validate_accepts_scans_without_crashing(tmp_path: Path) -> None:
    nested = "{not: " * 31 + "{IsPublic: false}" + "}" * 31
    wide = "[" + ", ".join(f"{{ImageName: name-{i}}}" for i in range(1500)) + "]"
    path = write(tmp_path / "edge.yaml",
                 EDGE_RULES.replace("'@NESTED@'", nested).replace("'@WIDE@'", wide))
    result = invoke("rules", "validate", path)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "ok: 5 rules valid\n"
    tested = invoke("rules", "test", path)
    assert (tested.exit_code, tested.stderr) == (0, ""), tested.stdout
    scanned = invoke("scan", "--input", INVENTORY, "--rules", path, "--format", "json")
    assert scanned.exit_code in (0, 1) and "Traceback" not in scanned.stderr, scanned.stderr
    report = json.loads(scanned.stdout)
    edge = {f["rule_id"] for f in report["findings"] if f["rule_id"].startswith("EDGE-")}
    # 31 `not`s around IsPublic: false require IsPublic: true; no image is named name-N
    assert {"EDGE-DEEP", "EDGE-WIDE"} <= edge


# --- 8. folders, symlinks, config paths --------------------------------------------------

RULE = HEAD.replace("ORG-X", "ORG-{n}") + "require: {IsPublic: false}\n"


def test_config_rule_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    write(tmp_path / "policy" / "org.yaml", RULE.replace("{n}", str(1)))
    deep = tmp_path / "repo" / "ci"
    deep.mkdir(parents=True)
    config = write(deep / "imgaudit.yaml", "rules: [../../policy, ../../etc]\n")
    result = invoke("rules", "list", "--config", config)
    assert refused(result) == [f"{config}:1:23: {deep}/../../etc: no such rule file or folder"]
    write(config, "rules: [../../policy]\n")
    result = invoke("rules", "list", "--config", config)
    assert result.exit_code == 0 and "ORG-1" in result.stdout


def test_symlink_loops_in_a_rule_folder_are_searched_once(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    (folder / "sub").mkdir(parents=True)
    write(folder / "sub" / "org.yaml", RULE.replace("{n}", str(1)))
    (folder / "sub" / "up").symlink_to("..")  # rules/sub/up -> rules: a loop
    (folder / "again").symlink_to("sub")  # a second way to the same folder
    (folder / "self.yaml").symlink_to("self.yaml")  # a link to itself
    lines = validate(folder)
    assert len(lines) == 1 and lines[0].startswith(f"{folder}/self.yaml: cannot read: ")
    (folder / "self.yaml").unlink()
    result = invoke("rules", "validate", folder)
    assert (result.exit_code, result.stdout) == (0, "ok: 1 rules valid\n")


def test_a_rule_folder_with_ten_thousand_files_works(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for i in range(9_990):
        (folder / f"notes-{i}.txt").touch()
    for i in range(10):
        write(folder / f"org-{i}.yaml", RULE.replace("{n}", str(i)))
    result = invoke("rules", "validate", folder)
    assert (result.exit_code, result.stdout) == (0, "ok: 10 rules valid\n")


def test_a_huge_folder_tree_stops_with_a_message(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FOLDER_ENTRIES", 50)  # a smaller tree than `rules: [/]`
    for i in range(60):
        (tmp_path / f"f{i}.txt").touch()
    config = write(tmp_path / "imgaudit.yaml", "rules: [.]\n")
    result = invoke("scan", "--input", INVENTORY, "--config", config)
    assert refused(result) == [f"{config}:1:9: {tmp_path}: more than 50 files and folders under "
                               "it; give the rule folder itself"]


# --- 6. whatever validate accepts, scan evaluates: generated rules at the edges -------------

EDGE_OPERANDS = {
    "Size": st.one_of(*(st.sampled_from([-(2**63), 2**63 - 1, 0, 1.7976931348623157e308, 0.5])
                        .map(lambda v, op=op: {op: v}) for op in ("gt", "gte", "lt", "lte", "ne"))),
    "CreationTime": st.one_of(
        st.sampled_from(["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00",
                         "2026-02-28T23:59:59+14:00"]).map(lambda v: {"gt": v}),
        st.sampled_from([0, 0.5, 36600, 1e-300]).map(lambda v: {"older_than_days": v}),
        st.sampled_from([0, 0.5, 36600, 1e-300]).map(lambda v: {"newer_than_days": v})),
    "ImageName": st.one_of(
        st.sampled_from(["^(a+)+$", "(?i)É", r"\p{Han}", ".{0,1000}", "(|)*", "^$"])
        .map(lambda v: {"regex": v}),
        st.sampled_from(["[", "]", "[]]", "[!]", "*[!*]?", "\\*", "[\U0001F600-\U0001F64F]"])
        .map(lambda v: {"glob": v}),
        st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=8)
        .map(lambda v: {"contains": v})),
    "Tags": st.lists(st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=5),
                     max_size=4).map(lambda v: {"has_keys": v}),
}
EDGE_CONDITION = st.recursive(
    st.sampled_from(sorted(EDGE_OPERANDS)).flatmap(
        lambda path: EDGE_OPERANDS[path].map(lambda operand: {path: operand})),
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3).map(lambda v: {"any": v}),
                            inner.map(lambda v: {"not": v})),
    max_leaves=5)


@settings(max_examples=60, deadline=None)
@given(EDGE_CONDITION, st.sampled_from(["0001-01-01", "9999-12-31", "2026-11-27"]))
def test_generated_edge_rules_that_validate_also_scan(tmp_path_factory: pytest.TempPathFactory,
                                                      require: dict, today: str) -> None:
    path = tmp_path_factory.mktemp("edge") / "edge.yaml"
    rule = {"id": "EDGE-GEN", "title": "Generated", "severity": "low", "require": require,
            "message": "{{ image.ImageId }} {{ image.ImageName }}",
            "tests": {"today": today, "pass": [], "fail": []}}
    path.write_text(json.dumps(rule, ensure_ascii=False))  # JSON is YAML
    checked = invoke("rules", "validate", path)
    assert "Traceback" not in checked.stderr
    event("refused" if checked.exit_code else "accepted and scanned")
    if checked.exit_code != 0:  # refused: one clear line per problem, nothing else
        assert checked.exit_code == 2 and checked.stdout == ""
        return
    assert invoke("rules", "test", path).exit_code == 0
    scanned = invoke("scan", "--input", INVENTORY, "--rules", path, "--no-builtin-rules",
                     "--format", "json")
    assert scanned.exit_code in (0, 1) and "Traceback" not in scanned.stderr, scanned.stderr
    assert json.loads(scanned.stdout)["scan"]["complete"] is True
