"""The report section per framework (docs/frameworks.md#in-the-reports) in every format,
through the CLI, over a hand-made DescribeImages answer whose counts are known."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from sarif_checks import github_problems, schema_errors

RULES = textwrap.dedent("""\
    id: T-PUB
    title: Private
    severity: high
    frameworks:
      cis-alibaba-v2: ["4.2"]
      mlps2-l3: ["8.1.4.8", "8.1.4.4"]
    when: {ImageOwnerAlias: self}
    require: {IsPublic: false}
    ---
    id: T-ARCH
    title: Not i386
    severity: low
    frameworks:
      mlps2-l3: ["8.2.4.4", "8.1.4.4"]
    require: {Architecture: {ne: i386}}
    ---
    id: T-NOBODY
    title: Selects nothing
    severity: low
    frameworks:
      mlps2-l3: ["8.1.4.10", "8.1.4.6"]
    when: {ImageOwnerAlias: nobody}
    require: {IsPublic: false}
    ---
    id: T-OTHER
    title: Not mapped
    severity: info
    require: {IsPublic: false}
    """)

IMAGES = [
    {"ImageId": "m-1", "ImageOwnerAlias": "self", "IsPublic": True, "Architecture": "x86_64"},
    {"ImageId": "m-2", "ImageOwnerAlias": "self", "IsPublic": False, "Architecture": "i386"},
    {"ImageId": "m-3", "ImageOwnerAlias": "self", "IsPublic": True, "Architecture": "x86_64"},
    {"ImageId": "m-4", "ImageOwnerAlias": "system", "IsPublic": True, "Architecture": "x86_64"},
]

CIS = {"id": "cis-alibaba-v2", "title": "CIS Alibaba Cloud Foundation Benchmark",
       "version": "v2.0.0", "url": "https://benchmarks.cisecurity.org", "controls": [
           {"id": "4.2", "title": "Ensure that 'Virtual Machine's disk' are encrypted",
            "rules": ["T-PUB"], "evaluated": 3, "passed": 1, "failed": 2, "waived": 0,
            "status": "fail"}]}
MLPS_CONTROLS = [  # in number order: 8.1.4.10 after 8.1.4.8
    ("8.1.4.4", "入侵防范 (intrusion prevention)", ["T-PUB", "T-ARCH"], 7, 4, 3, 1, "fail"),
    ("8.1.4.6", "可信验证 (trusted verification)", ["T-NOBODY"], 0, 0, 0, 0, "not evaluated"),
    ("8.1.4.8", "数据保密性 (data confidentiality)", ["T-PUB"], 3, 1, 2, 0, "fail"),
    ("8.1.4.10", "剩余信息保护 (residual information protection)", ["T-NOBODY"], 0, 0, 0, 0,
     "not evaluated"),
    ("8.2.4.4", None, ["T-ARCH"], 4, 3, 1, 1, "pass"),  # waived: no open failure
]
KEYS = ("id", "title", "rules", "evaluated", "passed", "failed", "waived", "status")
MLPS = {"id": "mlps2-l3", "title": "MLPS 2.0 baseline, level 3", "version": "GB/T 22239-2019",
        "url": "https://openstd.samr.gov.cn/",
        "controls": [dict(zip(KEYS, row, strict=True)) for row in MLPS_CONTROLS]}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    answer = tmp_path / "images.json"
    answer.write_text(json.dumps({"RegionId": "cn-hangzhou", "TotalCount": len(IMAGES),
                                  "PageNumber": 1, "PageSize": 100,
                                  "Images": {"Image": IMAGES}}), encoding="utf-8")
    config = tmp_path / "imgaudit.yaml"
    config.write_text("waivers:\n  - {rule: T-ARCH, images: [m-2], reason: legacy, "
                      "owner: ops, expires: 2999-01-01}\n", encoding="utf-8")
    return {"rules": rules, "input": answer, "config": config}


def _scan(files: dict[str, Path], *args: str) -> str:
    result = invoke("scan", "--input", files["input"], "--rules", files["rules"],
                    "--no-builtin-rules", "--config", files["config"], "--fail-on", "never",
                    *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_json_has_each_framework_with_its_controls_and_counts(files: dict[str, Path]) -> None:
    report = json.loads(_scan(files, "--format", "json"))
    assert report["frameworks"] == [CIS, MLPS]
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["T-PUB"]["frameworks"] == {"cis-alibaba-v2": ["4.2"],
                                            "mlps2-l3": ["8.1.4.8", "8.1.4.4"]}
    assert rules["T-OTHER"]["frameworks"] == {}


def test_scan_framework_reports_only_that_framework(files: dict[str, Path]) -> None:
    report = json.loads(_scan(files, "--format", "json", "--framework", "cis-alibaba-v2"))
    assert [r["id"] for r in report["rules"]] == ["T-PUB"]
    assert report["frameworks"] == [CIS]


def test_no_mapped_rule_no_section(files: dict[str, Path]) -> None:
    assert json.loads(_scan(files, "--format", "json", "--rule", "T-OTHER"))["frameworks"] == []
    for fmt, word in (("text", "by framework"), ("markdown", "by framework"),
                      ("html", 'id="frameworks"')):
        assert word not in _scan(files, "--format", fmt, "--rule", "T-OTHER")


def test_text_section(files: dict[str, Path]) -> None:
    text = _scan(files)
    section = text.split("compliance by framework:\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [
        "  CIS Alibaba Cloud Foundation Benchmark, v2.0.0 (cis-alibaba-v2)",
        "    control  status  evaluated  passed  failed  waived  rules",
        "    4.2      fail            3       1       2       0  T-PUB",
        "  MLPS 2.0 baseline, level 3, GB/T 22239-2019 (mlps2-l3)",
        "    control   status         evaluated  passed  failed  waived  rules",
        "    8.1.4.4   fail                   7       4       3       1  T-PUB, T-ARCH",
        "    8.1.4.6   not evaluated          0       0       0       0  T-NOBODY",
        "    8.1.4.8   fail                   3       1       2       0  T-PUB",
        "    8.1.4.10  not evaluated          0       0       0       0  T-NOBODY",
        "    8.2.4.4   pass                   4       3       1       1  T-ARCH",
        "  (counts are image checks: an image judged by two rules of a control counts twice)",
    ]
    assert "compliance by framework:" in _scan(files, "--summary")


def test_text_section_in_chinese_keeps_columns_aligned(files: dict[str, Path]) -> None:
    text = _scan(files, "--lang", "zh-CN")
    section = text.split("按合规框架的合规情况\uff1a\n", 1)[1]
    head, row = section.splitlines()[1:3]
    assert head == "    控制项  状态    已评估  通过  未通过  已豁免  规则"
    assert row == "    4.2     未通过       3     1       2       0  T-PUB"


def test_markdown_section(files: dict[str, Path]) -> None:
    text = _scan(files, "--format", "markdown")
    assert "### Compliance by framework" in text
    assert "#### CIS Alibaba Cloud Foundation Benchmark, v2.0.0 (`cis-alibaba-v2`)" in text
    assert ("| 4.2 | Ensure that 'Virtual Machine's disk' are encrypted | ❌ fail | T-PUB "
            "| 3 | 1 | 2 | 0 |") in text
    assert "| 8.2.4.4 |  | ✅ pass | T-ARCH | 4 | 3 | 1 | 1 |" in text
    assert "| 8.1.4.6 | 可信验证 \\(trusted verification\\) | not evaluated | T-NOBODY |" in text


class _Tables(HTMLParser):
    """The framework tables of the HTML report: per <h3> heading, its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.tables: dict[str, list[list[str]]] = {}
        self.heading: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("id", "frameworks") in attrs:
            self.inside = True
        elif self.inside and tag == "h3":
            self.heading = dict(attrs)["id"]
            self.tables[self.heading or ""] = []
        elif self.inside and tag == "tr":
            self.row = []
        elif self.row is not None and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.inside = False
        elif tag == "td" and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.row and self.heading:
            self.tables[self.heading].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def test_html_section(files: dict[str, Path]) -> None:
    page = _scan(files, "--format", "html")
    parser = _Tables()
    parser.feed(page)
    assert list(parser.tables) == ["framework-cis-alibaba-v2", "framework-mlps2-l3"]
    assert parser.tables["framework-cis-alibaba-v2"] == [
        ["4.2", "Ensure that 'Virtual Machine's disk' are encrypted", "fail", "T-PUB",
         "3", "1", "2", "0"]]
    mlps = parser.tables["framework-mlps2-l3"]
    assert [row[0] for row in mlps] == [c[0] for c in MLPS_CONTROLS]
    assert mlps[0][2:] == ["fail", "T-PUB, T-ARCH", "7", "4", "3", "1"]
    assert 'data-filter-rule="T-ARCH"' in page.split('id="frameworks"', 1)[1]


def _sarif(files: dict[str, Path]) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(_scan(files, "--format", "sarif"))
    assert schema_errors(log) == [] and github_problems(log) == []
    return log


def test_sarif_taxonomies_relationships_and_tags(files: dict[str, Path]) -> None:
    run = _sarif(files)["runs"][0]
    taxonomies = run["taxonomies"]
    assert [(t["name"], t["fullName"], t["version"]) for t in taxonomies] == [
        ("cis-alibaba-v2", "CIS Alibaba Cloud Foundation Benchmark", "v2.0.0"),
        ("mlps2-l3", "MLPS 2.0 baseline, level 3", "GB/T 22239-2019")]
    assert [x["id"] for x in taxonomies[1]["taxa"]] == [c[0] for c in MLPS_CONTROLS]
    assert "shortDescription" not in taxonomies[1]["taxa"][-1]  # 8.2.4.4: no declared title
    assert run["tool"]["driver"]["supportedTaxonomies"] == [
        {"name": "cis-alibaba-v2", "index": 0}, {"name": "mlps2-l3", "index": 1}]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    links = rules["T-PUB"]["relationships"]
    resolved = [(taxonomies[x["target"]["toolComponent"]["index"]]["name"],
                 taxonomies[x["target"]["toolComponent"]["index"]]["taxa"]
                 [x["target"]["index"]]["id"]) for x in links]
    assert resolved == [("cis-alibaba-v2", "4.2"), ("mlps2-l3", "8.1.4.8"),
                        ("mlps2-l3", "8.1.4.4")]
    assert all(x["kinds"] == ["relevant"] for x in links)
    assert {"cis-alibaba-v2/4.2", "mlps2-l3/8.1.4.4"} <= set(rules["T-PUB"]["properties"]["tags"])
    assert rules["T-PUB"]["properties"]["frameworks"]["cis-alibaba-v2"] == ["4.2"]
    assert "relationships" not in rules["T-OTHER"]
    assert "frameworks" not in rules["T-OTHER"]["properties"]


def test_sarif_without_mapped_rules_has_no_taxonomies(files: dict[str, Path]) -> None:
    result = invoke("scan", "--input", files["input"], "--rules", files["rules"],
                    "--no-builtin-rules", "--rule", "T-OTHER", "--format", "sarif",
                    "--fail-on", "never")
    run = json.loads(result.stdout)["runs"][0]
    assert "taxonomies" not in run and "supportedTaxonomies" not in run["tool"]["driver"]


def test_junit_properties_name_the_controls(files: dict[str, Path]) -> None:
    root = ET.fromstring(_scan(files, "--format", "junit"))
    cases = {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["T-PUB"].iter("property")}
    assert props["framework.cis-alibaba-v2"] == "4.2"
    assert props["framework.mlps2-l3"] == "8.1.4.8, 8.1.4.4"
    other = {p.get("name") for p in cases["T-OTHER"].iter("property")}
    assert not any(name and name.startswith("framework.") for name in other)
    assert root.get("failures") == "0"  # the section does not change the gate
