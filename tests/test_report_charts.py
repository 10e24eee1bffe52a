"""The HTML report's pictures: inline SVG drawn on the server, with text alternatives, under
the unchanged Content-Security-Policy; with --history, the trend section (through the CLI)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import TWO_RULES, invoke
from report_samples import RULES, XSS_NAME, finding, sample_result
from test_history_cli import image, write_inventory

from auditor.findings import AuditResult
from auditor.reporters import ReportOptions, render

CSP = re.compile(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 r"style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'; "
                 r"img-src data:; base-uri 'none'; form-action 'none'\">")


def html(result: AuditResult) -> str:
    return render("html", result, ReportOptions())


def section(page: str, ident: str) -> str:
    found = re.search(rf'<section class="panel" id="{ident}">(.*?)</section>', page, re.S)
    assert found, ident
    return found[1]


def counted(result: AuditResult) -> AuditResult:
    """The sample with the engine's posture counts (10 images per rule)."""
    failed = {r.id: sum(1 for f in result.findings if f.rule_id == r.id) for r in RULES}
    rules = [r.counted((10, failed[r.id], 0, 0)) for r in RULES]
    return result.model_copy(update={"rules": rules})


def test_pictures_are_svg_with_titles_descriptions_and_tables() -> None:
    page = html(counted(sample_result()))
    assert CSP.search(page)
    pictures = section(page, "pictures")
    ids = re.findall(r'<figure class="chart" id="chart-([a-z-]+)">', pictures)
    assert ids == ["severity", "compliance", "region"]  # one account: no account picture
    for svg in re.findall(r"<svg.*?</svg>", pictures, re.S):
        title, desc = re.search(r'aria-labelledby="([\w-]+) ([\w-]+)"', svg).groups()
        assert f'<title id="{title}">' in svg and f'<desc id="{desc}">' in svg
        assert 'role="img"' in svg
        assert "style=" not in svg and "<script" not in svg and "href" not in svg
    severity = re.search(r'id="chart-severity">.*?</figure>', pictures, re.S)[0]
    assert "critical 1; high 2; medium 1; low 1; info 1" in severity  # the description
    assert severity.count('class="sev-high"') == 1
    assert "<td>high</td><td class=\"num\">2</td>" in severity  # the numbers beside it
    compliance = re.search(r'id="chart-compliance">.*?</figure>', pictures, re.S)[0]
    shares = re.findall(r'class="value" text-anchor="start">([\d.]+%)<', compliance)
    assert shares == ["80.0%", "80.0%", "90.0%", "90.0%", "90.0%"]  # least compliant first


def test_cloud_strings_in_pictures_are_escaped() -> None:
    result = sample_result()
    result.findings.append(finding(RULES[1], "m-evil", region=XSS_NAME))
    pictures = section(html(result), "pictures")
    assert "<script>" not in pictures and "<img" not in pictures
    assert "&lt;script&gt;window.__pwned" in pictures


def test_many_regions_are_cut_and_the_cut_is_said() -> None:
    result = sample_result()
    result.findings = [finding(RULES[1], f"m-{i}", region=f"region-{i:02d}") for i in range(30)]
    region = re.search(r'id="chart-region">.*?</figure>', html(result), re.S)[0]
    assert region.count('class="sev-high"><title>') == 24 + 1  # 24 regions, 1 for the other 6
    assert ">+6</text>" in region
    assert "The first 24 of 30 are drawn" in region
    assert region.count("<tr><td>region-") == 30  # the table lists every one


def test_several_accounts_get_their_picture() -> None:
    result = sample_result(account=None)
    accounts = ["1234567890123456", "1111111111111111"]
    findings = [f.model_copy(update={"account_id": accounts[n % 2]})
                for n, f in enumerate(result.findings)]
    scan = result.scan.model_copy(update={"accounts": accounts,
                                          "account_names": {accounts[1]: "prod"}})
    page = html(result.model_copy(update={"findings": findings, "scan": scan}))
    account = re.search(r'id="chart-account">.*?</figure>', page, re.S)[0]
    assert "prod (1111111111111111)" in account and "1234567890123456" in account


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(TWO_RULES)
    return tmp_path


def test_the_trend_section_draws_the_history(workdir: Path) -> None:
    days = [{"cn-hangzhou": [image("m-1", public=True), image("m-2", nvme="no")]},
            {"cn-hangzhou": [image("m-1", public=True), image("m-3", public=True)]},
            {"cn-hangzhou": [image("m-3", public=True)]}]
    for n, regions in enumerate(days):
        result = invoke("scan", "--input", write_inventory(workdir / f"{n}.json", regions),
                        "--no-builtin-rules", "--rules", "rules.yaml", "--history", "h.db",
                        "--html", "r.html", "--quiet")
        assert result.exit_code == 1, result.stderr
    page = (workdir / "r.html").read_text(encoding="utf-8")
    assert CSP.search(page)
    trend = section(page, "trend")
    assert "<h2>Trend over 3 runs</h2>" in trend
    over_time = re.search(r'id="chart-open-over-time">.*?</figure>', trend, re.S)[0]
    assert re.search(r'<polygon points="[\d., ]+" class="sev-high">', over_time)
    assert re.search(r'<polygon points="[\d., ]+" class="sev-low">', over_time)
    assert "3 runs from " in over_time and "open findings first 2, last 1, most 2" in over_time
    assert over_time.count("<tr><td>") == 3
    new_fixed = re.search(r'id="chart-new-fixed">.*?</figure>', trend, re.S)[0]
    assert len(re.findall(r'class="bar-new"><title>[\d-]+: 2 new<', new_fixed)) == 1
    assert len(re.findall(r'class="bar-fixed"><title>[\d-]+: 1 fixed<', new_fixed)) == 2
    assert "3 runs; 3 new, 2 fixed in all" in new_fixed
    ages = re.search(r'id="chart-ages">.*?</figure>', trend, re.S)[0]
    assert "&lt; 7 days 1" in ages  # the description: one open finding, days old


def test_no_history_no_trend_section(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", {"cn-hangzhou": [image("m-1", public=True)]})
    page = invoke("scan", "--input", inv, "--no-builtin-rules", "--rules", "rules.yaml",
                  "--format", "html").stdout
    assert 'id="pictures"' in page and 'id="trend"' not in page
