"""Strangers' text is safe on a terminal and in every format (auditor/safetext.py).

A hostile inventory (an image name that retitles the window, clears the screen and forges a
"PASSED" line; an account id with a control character; bidi overrides; a server error with
escape sequences) goes through the CLI to every report format and to stderr.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke
from junitparser import JUnitXml

from auditor.safetext import visible

NAME = "web\x1b]0;pwned\x07\x1b[2J\r\nPASSED\x00\x9b31m\u202egpj.exe\u2028end"
SHOWN = "web\\x1b]0;pwned\\x07\\x1b[2J\\r\\nPASSED\\x00\\x9b31m\\u202egpj.exe\\u2028end"
ACCOUNT = "12345\x01678"
REGION_ERROR = "Throttling\x1b[31m\nINCOMPLETE nothing"
# what must never reach a terminal or a report raw (LF and TAB are checked by line)
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

RULE = """\
id: T-NAMED
title: "Images are named \\u202enicely\\x9b1m"
severity: high
require: {ImageName: {regex: "^web-"}}
message: "{{ image.ImageId }} is named {{ image.ImageName }}"
"""


@pytest.mark.parametrize(("text", "shown"), [
    ("plain ascii, 中文, emoji 👍, tab-free", "plain ascii, 中文, emoji 👍, tab-free"),
    ("\x1b[2J", "\\x1b[2J"), ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("a\r\nb\tc", "a\\r\\nb\\tc"), ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
    ("\u202eabc\u2066\u200f", "\\u202eabc\\u2066\\u200f"), ("\u2028\u2029\ufeff", "\\u2028\\u2029\\ufeff"),
    ("lone \ud800", "lone \\ud800"), ("zwj \u200d kept", "zwj \u200d kept"),
])
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_visible_keeps_newlines_when_asked() -> None:
    assert visible("line 1\nline\x1b 2\r\n", newlines=True) == "line 1\nline\\x1b 2\\r\n"


@pytest.fixture
def hostile(tmp_path: Path) -> list[str]:
    doc = json.loads((EXAMPLES / "inventory.json").read_text(encoding="utf-8"))
    doc["account_id"] = ACCOUNT
    first = doc["regions"][0]
    first["images"][0]["ImageName"] = NAME
    first["images"][0]["Tags"] = {"owner\x1b[8m": "x\ry"}
    first.update(complete=False, errors=[REGION_ERROR])
    inventory = tmp_path / "hostile.json"
    inventory.write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "rule.yaml").write_text(RULE, encoding="utf-8")
    return ["--input", str(inventory), "--no-builtin-rules", "--rules", str(tmp_path / "rule.yaml")]


def test_text_on_a_terminal(hostile: list[str]) -> None:
    result = invoke("scan", *hostile, "--color", "never")
    assert result.exit_code == 3
    for stream in (result.stdout, result.stderr):
        assert not RAW.search(stream), RAW.findall(stream)
    assert SHOWN in result.stdout
    assert "Images are named \\u202enicely\\x9b1m" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("PASSED")]
    assert result.stdout.rstrip().splitlines()[-1].endswith("INCOMPLETE")
    assert visible(REGION_ERROR) in result.stderr  # the warning, on one line
    assert len(result.stderr.splitlines()) == 1


def test_colour_is_ours_only(hostile: list[str]) -> None:
    out = invoke("scan", *hostile, "--color", "always").stdout
    sequences = set(re.findall("\x1b\\[[0-9;]*m", out))
    assert sequences and sequences <= {"\x1b[1;35m", "\x1b[1;31m", "\x1b[33m", "\x1b[36m",
                                       "\x1b[2m", "\x1b[1;32m", "\x1b[1;33m", "\x1b[0m"}
    assert not RAW.search(re.sub("\x1b\\[[0-9;]*m", "", out))


def test_junit_stays_valid_xml(hostile: list[str], tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    assert invoke("scan", *hostile, "--junit", path).exit_code == 3
    text = path.read_text(encoding="utf-8")
    assert not RAW.search(text)
    root = ET.fromstring(text.encode("utf-8"))  # expat: XML 1.0, strict
    assert {s.get("hostname") for s in root.iter("testsuite")} == {"12345\\x01678"}
    assert SHOWN in text
    junit = JUnitXml.fromfile(str(path))
    junit.update_statistics()
    assert junit.failures == 1 and junit.errors == 1


def test_markdown_and_html(hostile: list[str], tmp_path: Path) -> None:
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    assert invoke("scan", *hostile, "--markdown", md, "--html", page).exit_code == 3
    for path in (md, page):
        text = path.read_text(encoding="utf-8")
        assert not RAW.search(text), (path.name, RAW.findall(text))
    assert "12345\\\\x01678" in md.read_text(encoding="utf-8")  # \ escaped for Markdown
    html = page.read_text(encoding="utf-8")
    assert "12345\\x01678" in html and "\\x1b]0;pwned" in html


def test_json_and_sarif_keep_the_raw_values(hostile: list[str], tmp_path: Path) -> None:
    """Machines get the true value (JSON escapes what it must): a baseline compares ids."""
    report, sarif = tmp_path / "r.json", tmp_path / "r.sarif"
    assert invoke("scan", *hostile, "--json", report, "--sarif", sarif).exit_code == 3
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["scan"]["account_id"] == ACCOUNT
    assert NAME in [f["image_name"] for f in doc["findings"]]
    assert not re.search("[\x00-\x1f]", report.read_text(encoding="utf-8").rstrip("\n"))
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_error_lines_show_control_characters(tmp_path: Path) -> None:
    bad = tmp_path / "in\x1b[2Jput\n.json"
    result = invoke("scan", "--input", bad)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "in\\x1b[2Jput\\n.json" in line and not RAW.search(result.stderr)


def test_rules_show_and_list(tmp_path: Path) -> None:
    rule = tmp_path / "rule.yaml"
    rule.write_text(RULE + 'remediation: "step 1\\nstep\\x9b2J 2"\n', encoding="utf-8")
    for args in (["rules", "list"], ["rules", "show", "T-NAMED"]):
        result = invoke(*args, "--rules", rule)
        assert result.exit_code == 0, result.stderr
        assert not RAW.search(result.stdout) and "\\u202enicely\\x9b1m" in result.stdout
    shown = invoke("rules", "show", "T-NAMED", "--rules", rule).stdout
    assert "step 1\nstep\\x9b2J 2" in shown
