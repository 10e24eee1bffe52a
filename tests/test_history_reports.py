"""With `--history`, every report format says what is new since the last complete run of the
scope, what was fixed, and each finding's first-seen time, run and age (through the CLI)."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TWO_RULES, CliResult, invoke
from sarif_checks import github_problems, schema_errors
from test_history_cli import image, write_inventory

FIRST = {"cn-hangzhou": [image("m-pub", public=True), image("m-old", nvme="no")],
         "cn-shanghai": [image("m-sh", public=True)]}
SECOND = {"cn-hangzhou": [image("m-old", nvme="no"), image("m-new", public=True)],
          "cn-shanghai": [image("m-sh", public=True)]}
REPORTS = ("sarif", "markdown", "junit", "html", "json")
DAY = 86400


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(TWO_RULES)
    return tmp_path


def scan(inventory: Path, *args: str) -> CliResult:
    return invoke("scan", "--input", inventory, "--no-builtin-rules", "--rules", "rules.yaml",
                  "--history", "h.db", *args)


def age_everything(days: int) -> None:
    """Move the stored history `days` back in time, as if the first scan ran that long ago."""
    with sqlite3.connect("h.db") as conn:
        conn.execute("UPDATE findings SET first_seen_at = first_seen_at - ?", (days * DAY,))
        conn.execute("UPDATE runs SET started_at = started_at - ?, finished_at = finished_at - ?",
                     (days * DAY, days * DAY))
    conn.close()


def second_scan(workdir: Path) -> dict[str, str]:
    """Run 1 ten days ago, run 2 now: m-pub fixed, m-new new, m-old and m-sh 10 days old."""
    assert scan(write_inventory(workdir / "a.json", FIRST)).exit_code == 1
    age_everything(10)
    files = [arg for fmt in REPORTS for arg in (f"--{fmt}", f"r.{fmt}")]
    assert scan(write_inventory(workdir / "b.json", SECOND), "--quiet", *files).exit_code == 1
    return {fmt: (workdir / f"r.{fmt}").read_text(encoding="utf-8") for fmt in REPORTS}


def test_json_findings_carry_their_age(workdir: Path) -> None:
    report = json.loads(second_scan(workdir)["json"])
    ages = {f["image_id"]: (f["first_seen_run"], f["age_days"]) for f in report["findings"]}
    assert ages == {"m-old": (1, 10), "m-sh": (1, 10), "m-new": (2, 0)}
    assert [(r["run"], r["new"], r["fixed"]) for r in report["history"]["trend"]] == [
        (1, 3, 0), (2, 1, 1)]


def test_sarif_says_new_unchanged_and_first_seen(workdir: Path) -> None:
    log = json.loads(second_scan(workdir)["sarif"])
    assert schema_errors(log) == [] and github_problems(log) == []
    run = log["runs"][0]
    states = {r["properties"]["imageId"]: (r["baselineState"], r["properties"]["firstSeenRun"],
                                           r["properties"]["ageDays"]) for r in run["results"]}
    assert states == {"m-old": ("unchanged", 1, 10), "m-sh": ("unchanged", 1, 10),
                      "m-new": ("new", 2, 0)}
    first_seen = {r["properties"]["firstSeen"] for r in run["results"]}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at) for at in first_seen)
    history = run["properties"]["history"]
    assert (history["run"], history["previousRun"], history["new"], history["fixed"]) == (
        2, 1, 1, 1)


def test_a_baseline_keeps_its_own_states_in_sarif(workdir: Path) -> None:
    first = write_inventory(workdir / "a.json", FIRST)
    invoke("scan", "--input", first, "--no-builtin-rules", "--rules", "rules.yaml",
           "--json", "base.json", "--quiet")
    scan(first)
    log = json.loads(scan(write_inventory(workdir / "b.json", SECOND), "--baseline", "base.json",
                          "--format", "sarif").stdout)
    states = {r["properties"]["imageId"]: r["baselineState"] for r in log["runs"][0]["results"]}
    assert states == {"m-old": "unchanged", "m-sh": "unchanged", "m-new": "new"}
    assert {r["properties"]["firstSeenRun"] for r in log["runs"][0]["results"]} == {1, 2}


def test_markdown_names_the_change_and_ages(workdir: Path) -> None:
    md = second_scan(workdir)["markdown"]
    assert "since run 1 (" in md and "1 new, 1 fixed" in md
    assert "**Fixed since run 1** (1):\n\n- fixed: T-PUBLIC cn-hangzhou m-pub" in md
    assert "| Severity | Open | Waived | New |" in md and "| 🟧 high | 2 | 0 | 1 |" in md
    assert "| Message | First seen |" in md
    row = next(line for line in md.splitlines() if "m-new is public" in line)
    assert row.endswith("| **new** · first seen " + row.split("first seen ")[1])
    assert "(run 2), age 0 d |" in row
    old = next(line for line in md.splitlines() if "m-old lacks NVMe" in line)
    assert "**new**" not in old and "(run 1), age 10 d |" in old


def test_junit_lists_the_change_in_a_history_case(workdir: Path) -> None:
    root = ET.fromstring(second_scan(workdir)["junit"])
    case = root.find(".//testcase[@classname='imgaudit.history']")
    assert case is not None and case.get("name") == "history: run 2"
    assert case.find("failure") is None  # information, not a verdict
    out = case.findtext("system-out") or ""
    assert "since run 1 (" in out and "fixed: T-PUBLIC cn-hangzhou m-pub" in out
    assert "\nopen findings by age: < 7 days: 1, 7-30 days: 2, 30-90 days: 0," in out
    failure = root.findtext(".//testcase[@name='T-PUBLIC: Custom images are private']/failure")
    assert failure is not None
    assert re.search(r"\(name-m-new\): m-new is public \[new; first seen \S+ \(run 2\), age 0 d\]",
                     failure)
    assert re.search(r"\(name-m-sh\): m-sh is public \[first seen \S+ \(run 1\), age 10 d\]", failure)


def _blob(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert found
    return json.loads(found[1])


def test_html_cards_fixed_list_and_first_seen_column(workdir: Path) -> None:
    html = second_scan(workdir)["html"]
    assert re.search(r'data-count="new">1<.*?New since run 1', html)
    assert re.search(r'data-count="fixed">1<.*?Fixed since run 1', html)
    assert 'id="history-fixed"' in html and "<code>m-pub</code>" in html
    assert '<th data-sort="age">First seen</th>' in html
    assert 'Since run 1 <select id="f-baseline">' in html
    blob = _blob(html)
    assert blob["history"] is True and blob["baseline"] is True
    strings, images = blob["strings"], blob["images"]
    col = {name: i for i, name in enumerate(blob["columns"]["finding"])}
    seen = {strings[images[row[col["image"]]][0]]: (row[col["baseline"]],
                                                     row[col["first_seen_run"]], row[col["age"]])
            for row in blob["findings"]}
    assert seen == {"m-old": (2, 1, 10), "m-sh": (2, 1, 10), "m-new": (1, 2, 0)}


def test_the_first_run_calls_every_finding_new(workdir: Path) -> None:
    result = scan(write_inventory(workdir / "a.json", FIRST), "--format", "markdown")
    assert "no earlier complete run of this scope, so all 3 findings are new" in result.stdout
    html = scan(write_inventory(workdir / "a.json", FIRST), "--format", "html").stdout
    assert "New (first run)" not in html  # run 2 follows run 1
    assert 'id="history-fixed"' in html and "Nothing fixed since run 1." in html


def test_a_locked_history_writes_no_report_and_no_run(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    holder = sqlite3.connect(workdir / "h.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = invoke("scan", "--input", inv, "--no-builtin-rules", "--rules", "rules.yaml",
                        "--history", "h.db", "--html", "r.html", "--sarif", "r.sarif",
                        env={"IMGAUDIT_HISTORY_TIMEOUT": "0.2"})
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 2 and "locked by another imgaudit" in result.stderr
    assert result.stdout == "" and not (workdir / "r.html").exists()
    assert not (workdir / "r.sarif").exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".r.")] == []
    runs = json.loads(invoke("history", "list", "--history", "h.db", "--format", "json").stdout)
    assert len(runs["runs"]) == 1


def test_the_age_of_open_findings_is_worded_in_the_report_language(workdir: Path) -> None:
    """The history gives each bucket's bounds; every human report words them in its language
    (the JSON keeps its fixed English `label`)."""
    assert scan(write_inventory(workdir / "a.json", FIRST)).exit_code == 1
    age_everything(10)  # m-old and m-sh are 10 days old, m-new is new
    second = write_inventory(workdir / "b.json", SECOND)
    zh = scan(second, "--lang", "zh-CN", "--markdown", "zh.md", "--html", "zh.html",
              "--json", "zh.json")
    en = scan(second, "--markdown", "en.md", "--html", "en.html")
    assert zh.exit_code == en.exit_code == 1
    zh_ages = ("未解决发现的存在时长：不足 7 天 1 个、7–30 天 2 个、30–90 天 0 个、"  # noqa: RUF001
               "90–365 天 0 个、365 天及以上 0 个")  # noqa: RUF001
    en_ages = ("open findings by age: < 7 days: 1, 7-30 days: 2, 30-90 days: 0, "
               "90-365 days: 0, >= 365 days: 0")
    assert zh_ages in zh.stdout.splitlines() and en_ages in en.stdout.splitlines()
    assert f"\n\n{zh_ages}\n\n" in Path("zh.md").read_text(encoding="utf-8")
    assert f"\n\n{en_ages}\n\n" in Path("en.md").read_text(encoding="utf-8")
    html = Path("zh.html").read_text(encoding="utf-8")
    assert "<td>不足 7 天</td>" in html and "<td>365 天及以上</td>" in html
    assert "&lt; 7 days" not in html and "7-30 days" not in html
    english = Path("en.html").read_text(encoding="utf-8")
    assert "<td>&lt; 7 days</td>" in english and "<td>&gt;= 365 days</td>" in english
    ages = json.loads(Path("zh.json").read_text(encoding="utf-8"))["history"]["ages"]
    assert [(a["label"], a["min_days"], a["max_days"]) for a in ages] == [
        ("< 7 days", 0, 7), ("7-30 days", 7, 30), ("30-90 days", 30, 90),
        ("90-365 days", 90, 365), (">= 365 days", 365, None)]
