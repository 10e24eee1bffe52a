from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from cli_helpers import REPO
from report_samples import RULES, XSS_DESCRIPTION, XSS_NAME, finding, sample_result

from auditor.findings import BaselineSummary, FixedFinding, Severity
from auditor.reporters import ReportOptions, render
from auditor.reporters.html_data import script_json


def html(result) -> str:
    return render("html", result, ReportOptions())


def blob(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert match
    return json.loads(match.group(1))


def named(data: dict, kind: str, rows: list[list]) -> list[dict]:
    """Rows of the blob as dicts, by the column names it carries."""
    return [dict(zip(data["columns"][kind], row, strict=True)) for row in rows]


class Tags(HTMLParser):
    """Every start tag and the text of each <script>, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_hostile_strings_are_escaped_everywhere():
    page = html(sample_result())
    assert XSS_NAME not in page and "</script><script>" not in page
    assert page.count("</script>") == 2  # the data blob and the code, nothing else
    parser = Tags()
    parser.feed(page)
    assert [t for t, _ in parser.tags].count("script") == 2
    assert not [t for t, a in parser.tags if t == "img" or any(k.startswith("on") for k in a)]
    strings = blob(page)["strings"]
    assert XSS_NAME in strings  # round-trips exactly
    shown = XSS_DESCRIPTION.replace("\u2028", "\\u2028")  # a line separator, shown as such
    assert shown in strings


def test_script_json_escapes_what_could_end_or_break_the_script():
    text = script_json(["</script>", "<!--", "a&b", "\u2028\u2029"])
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == ["</script>", "<!--", "a&b", "\u2028\u2029"]


def test_summary_cards_scope_and_incomplete_banner():
    page = html(sample_result(complete=False))
    assert re.search(r'data-count="critical">1<', page)
    assert re.search(r'data-count="high">2<', page)
    assert re.search(r'data-count="waived">1<', page)
    assert page.index('id="incomplete"') < page.index('id="summary"')
    assert "Throttling.User (RequestId R-1)" in page
    assert "1234567890123456" in page and "0.1.0" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loaded from outside


def test_blob_carries_status_evidence_and_rules():
    data = blob(html(sample_result()))
    strings = data["strings"]
    findings = named(data, "finding", data["findings"])
    statuses = sorted(f["status"] for f in findings)
    assert statuses == [0, 0, 0, 0, 0, 1, 2]  # open, one waived, one with an expired waiver
    evidence = named(data, "evidence", findings[0]["evidence"])
    assert [{k: strings[i] for k, i in e.items()} for e in evidence] == [
        {"path": "IsPublic", "actual": "true", "expected": "false"}]
    assert data["rules"][findings[0]["rule"]]["remediation"] == "Cancel the public share."
    assert named(data, "waiver", data["waivers"])[1] == {
        "reason": "migration pending", "owner": "ops", "expires": "2026-01-31", "expired": True}
    image = named(data, "image", data["images"])[findings[0]["image"]]
    assert strings[image["region"]] == "cn-hangzhou"


def test_the_script_reads_every_column_by_a_name_the_blob_declares():
    script = (REPO / "auditor/reporters/templates/report.js").read_text(encoding="utf-8")
    declared = blob(html(sample_result()))["columns"]
    kinds = {"FC": "finding", "IC": "image", "EC": "evidence", "WC": "waiver"}
    used = re.findall(r"\b(FC|IC|EC|WC)\.(\w+)", script)
    assert {kind for kind, _ in used} == set(kinds)
    assert sorted({f"{kinds[k]}.{name}" for k, name in used} - {
        f"{kind}.{name}" for kind, names in declared.items() for name in names}) == []
    # a row's cell by position (`f[3]`, `im[0]`) is what the names replaced
    assert re.findall(r"\b(?:f|im|e|w|F\[\w+\])\[\d+\]", script) == []


def test_baseline_new_and_fixed():
    result = sample_result()
    for f in result.findings:
        f.baseline_state = "new" if f.image_id == "m-xss" else "unchanged"
    gone = FixedFinding(fingerprint="0" * 32, rule_id="IMG009", severity=Severity.HIGH,
                        title="Gone <b>rule</b>", image_id="m-gone", region="cn-hangzhou")
    result.baseline = BaselineSummary(path="prev.json", new=2, unchanged=5, fixed=[gone])
    page = html(result)
    assert re.search(r'data-count="new">2<', page) and re.search(r'data-count="fixed">1<', page)
    assert "Gone &lt;b&gt;rule&lt;/b&gt;" in page and "m-gone" in page
    data = blob(page)
    assert sorted(f["baseline"] for f in named(data, "finding", data["findings"])) == [
        1, 1, 2, 2, 2, 2, 2]


def test_many_findings_stay_compact():
    result = sample_result()
    result.findings = [finding(RULES[i % 5], f"m-{i:06d}", region=f"r-{i % 7}")
                       for i in range(20_000)]
    page = html(result)
    assert len(page.encode()) < 20_000 * 150  # well under 300 bytes a finding
    assert page.count("<tr") < 100  # rows are drawn by the browser, a page at a time
