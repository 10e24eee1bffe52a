from __future__ import annotations

from report_samples import RULES, XSS_NAME, finding, sample_result

from auditor.findings import BaselineSummary
from auditor.reporters import ReportOptions, render
from auditor.reporters.markdown import LIMIT, cell


def markdown(result) -> str:
    return render("markdown", result, ReportOptions())


def test_summary_table_and_top_findings():
    text = markdown(sample_result(complete=False))
    assert "fails the gate" in text
    assert "| 🟥 critical | 1 | 1 |" in text   # one open, one waived
    assert "**Incomplete scan**: cn-shanghai" in text
    assert "### Top findings" in text
    rows = [line for line in text.splitlines() if line.startswith("| 🟥 critical | IMG001")]
    assert len(rows) == 1 and "m-golden" not in rows[0]  # waived findings are not listed
    assert "(waiver expired)" in text


def test_cloud_strings_cannot_add_markup():
    text = markdown(sample_result())
    assert XSS_NAME not in text and "<script>" not in text and "<img" not in text
    assert cell("a|b\nc [x](javascript:y) @team") == (  # the newline shown as \\n
        "a\\|b\\\\nc \\[x\\]\\(javascript:y\\) @\u200bteam")
    rows = [line for line in text.splitlines() if "m-xss" in line]
    assert all(line.count(" | ") == 4 for line in rows)  # no extra columns


def test_stays_under_the_limit_with_many_findings():
    result = sample_result()
    long = "x" * 400
    result.findings = [finding(RULES[i % 5], f"m-{i:06d}", name=long, message=long)
                       for i in range(20_000)]
    text = markdown(result)
    assert len(text) < LIMIT
    assert "more findings not shown" in text


def test_baseline_counts():
    result = sample_result()
    for f in result.findings:
        f.baseline_state = "new"
    result.baseline = BaselineSummary(path="reports/prev.json", new=7, unchanged=0, fixed=[])
    text = markdown(result)
    assert "7 new, 0 unchanged, 0 fixed" in text
    assert "| Severity | Open | Waived | New |" in text


def test_clean_scan():
    result = sample_result()
    result.findings = []
    text = markdown(result)
    assert "passes the gate" in text and "No open findings." in text
