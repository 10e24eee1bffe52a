"""The HTML report in a real browser: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_samples import RULES, XSS_DESCRIPTION, XSS_NAME, finding, sample_result

from auditor.reporters import ReportOptions, render

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Records what an injected payload might do: CSP violations and any dialog.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_report(browser, tmp_path):
    pages = []

    def open_(result, options=None):
        path = tmp_path / "report.html"
        path.write_text(render("html", result, options or ReportOptions()), encoding="utf-8")
        page = browser.new_page()
        page.dialogs, page.errors = [], []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.add_init_script(WATCH)
        page.goto(path.as_uri())
        page.wait_for_selector("#rows tr")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def rows(page) -> list[str]:
    return [row.lower() for row in page.locator("#rows tr").all_inner_texts()]


def test_summary_counts_and_table(open_report):
    page = open_report(sample_result(complete=False))
    counts = {sev: page.inner_text(f'[data-count="{sev}"]')
              for sev in ("critical", "high", "medium", "low", "info", "waived", "failing")}
    assert counts == {"critical": "1", "high": "2", "medium": "1", "low": "1", "info": "1",
                      "waived": "1", "failing": "5"}
    assert page.inner_text("#shown") == "7 of 7 findings match"
    assert len(rows(page)) == 7
    assert page.is_visible("#incomplete")
    assert page.errors == []


def test_filters_narrow_the_table(open_report):
    page = open_report(sample_result())
    page.uncheck('input[name=severity][value="info"]')
    assert len(rows(page)) == 6
    page.click('button.card[data-severity="critical"]')  # only critical
    assert len(rows(page)) == 2 and all(r.startswith("critical") for r in rows(page))
    page.click("#f-reset")
    page.select_option("#f-region", label="cn-shanghai")
    assert len(rows(page)) == 2
    page.select_option("#f-status", label="waiver expired")
    assert len(rows(page)) == 1 and "m-old2" in rows(page)[0]
    page.click("#f-reset")
    page.fill("#f-text", "M-PUBLIC1")
    expect(page.locator("#rows tr")).to_have_count(2)  # after the search box's short debounce
    assert page.inner_text("#shown") == "2 of 7 findings match"


def test_hostile_strings_execute_nothing(open_report):
    page = open_report(sample_result())
    page.fill("#f-text", "m-xss")
    expect(page.locator("#rows tr")).to_have_count(2)
    page.locator("#rows tr").first.click()
    assert page.is_visible("#detail")
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__violations") == []  # nothing even tried to run or load
    assert page.dialogs == [] and page.errors == []
    assert page.locator("img").count() == 0
    assert page.inner_text("#d-meta dd >> nth=0") == XSS_NAME
    messages = page.locator("#rows td.msg").all_inner_texts()
    shown = XSS_DESCRIPTION.replace("\u2028", "\\u2028")  # a line separator, shown as such
    assert " ".join(shown.split()) in [" ".join(m.split()) for m in messages]
    assert page.locator("footer").count() == 1  # the page after the blob still rendered
    # control: real injected markup is noticed by the watcher (and blocked by the CSP)
    page.evaluate("document.body.insertAdjacentHTML('beforeend', "
                  "'<img src=x onerror=\"window.__pwned=9\">')")
    expect(page.locator("img")).to_have_count(1)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__violations") != []
    assert page.evaluate("window.__pwned") is None


def test_image_detail_shows_evidence_and_remediation(open_report):
    page = open_report(sample_result())
    page.locator("#rows tr").first.click()
    detail = page.inner_text("#detail")
    assert "Image m-public1" in detail
    assert "IsPublic" in detail and "Cancel the public share." in detail
    assert "acs:ecs:cn-hangzhou:1234567890123456:image/m-public1" in detail
    page.keyboard.press("Escape")
    assert not page.is_visible("#detail")


def test_paging_and_sorting_with_many_findings(open_report):
    result = sample_result()
    result.findings = [finding(RULES[i % 5], f"m-{i:05d}") for i in range(5_000)]
    page = open_report(result)
    assert len(rows(page)) == 100
    assert page.inner_text("#p-info") == "Rows 1\u2013100 · page 1 of 50"
    page.click("#p-last")
    assert page.inner_text("#p-info") == "Rows 4901\u20135000 · page 50 of 50"
    assert all(r.startswith("info") for r in rows(page))
    page.click('th[data-sort="image"]')
    assert rows(page)[0].split("\t")[2].startswith("m-00000")
    page.click('th[data-sort="image"]')
    assert rows(page)[0].split("\t")[2].startswith("m-04999")


def test_a_chinese_report_reads_as_chinese(open_report):
    """UTF-8 end to end: the server-side headings, the labels the script writes, the rule
    texts in the detail panel; ids and CSS classes stay the severity ids."""
    page = open_report(sample_result().model_copy(update={"lang": "zh-CN"}))
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.evaluate("document.characterSet") == "UTF-8"
    assert page.inner_text("#findings h2") == "问题列表"
    assert page.inner_text("#shown") == "共 7 个问题，匹配 7 个"  # noqa: RUF001
    assert page.inner_text("#p-info") == "第 1–7 行 · 第 1/1 页"  # noqa: RUF001
    badge = page.locator("#rows tr").first.locator(".sev")
    assert badge.inner_text() == "严重" and "sev-critical" in badge.get_attribute("class")
    page.uncheck('input[name=severity][value="info"]')
    assert page.inner_text("#shown") == "共 7 个问题，匹配 6 个"  # noqa: RUF001
    page.locator("#rows tr").first.click()
    detail = page.inner_text("#detail")
    assert "镜像 " in page.inner_text("#d-title") and "地域" in detail and "字段" in detail
    assert page.errors == []


def test_the_account_filter_and_table_of_a_scan_of_several_accounts(open_report):
    other = "1111111111111111"
    result = sample_result(account=None)
    accounts = ["1234567890123456", other]
    findings = [f.model_copy(update={"account_id": accounts[n % 2]})
                for n, f in enumerate(result.findings)]
    regions = [r.model_copy(update={"account_id": a}) for r in result.regions for a in accounts]
    scan = result.scan.model_copy(update={"accounts": accounts,
                                          "account_names": {other: "prod"}})
    page = open_report(result.model_copy(update={"findings": findings, "regions": regions,
                                                 "scan": scan}))
    assert page.is_visible("#by-account")
    page.select_option("#f-account", label=f"prod ({other})")
    assert len(rows(page)) == 3 and all(f"prod ({other})/" in r for r in rows(page))
    page.click("#f-reset")
    assert len(rows(page)) == 7
    page.click(f'#by-account a[data-filter-account="{accounts[0]}"]')
    assert len(rows(page)) == 4 and all(r.count(accounts[0]) for r in rows(page))
    assert page.errors == [] and page.evaluate("window.__violations") == []


def test_the_tag_filter_and_table_of_group_by_tag(open_report):
    teams = {"m-public1": {"team": "a"}, "m-old2": {"team": "b"}, "m-xss": {"team": XSS_NAME}}
    result = sample_result()
    findings = [f.model_copy(update={"tags": teams.get(f.image_id, {})})
                for f in result.findings]
    page = open_report(result.model_copy(update={"findings": findings}),
                       ReportOptions(group_by_tag="team"))
    assert page.is_visible("#by-tag")
    page.select_option("#f-tag", label="untagged (no tag team)")
    assert len(rows(page)) == 1 and "m-golden" in rows(page)[0]
    page.select_option("#f-tag", label="b")
    assert len(rows(page)) == 2 and all("m-old2" in r for r in rows(page))
    page.click("#f-reset")
    assert len(rows(page)) == 7
    page.click('#by-tag a[data-filter-tag="a"]')
    assert len(rows(page)) == 2 and all("m-public1" in r for r in rows(page))
    page.click("#by-tag a[data-filter-untagged]")
    assert len(rows(page)) == 1 and "m-golden" in rows(page)[0]
    page.select_option("#f-tag", label=XSS_NAME)  # the hostile value, as text
    assert len(rows(page)) == 2 and all("m-xss" in r for r in rows(page))
    page.locator("#rows tr").first.click()
    assert XSS_NAME in page.inner_text("#d-meta")
    assert page.evaluate("window.__pwned") is None and page.dialogs == []
    assert page.errors == [] and page.evaluate("window.__violations") == []


def _with_history(result):
    """The sample as a third run of a history: a trend of three runs, one incomplete."""
    from datetime import timedelta

    from auditor.findings import AgeCount, HistorySummary, TrendRun

    start = result.scan.started_at
    runs = [TrendRun(run=n + 1, started_at=start - timedelta(days=2 - n), complete=n != 1,
                     counts={"critical": 1, "high": 2 + n, "medium": 1, "low": 1, "info": 0},
                     new=2 if n else 5, fixed=n) for n in range(3)]
    ages = [AgeCount(label="< 7 days", min_days=0, max_days=7,
                     counts={"critical": 1, "high": 2, "medium": 1, "low": 1, "info": 1})]
    findings = [f.model_copy(update={"first_seen": start - timedelta(days=2),
                                     "first_seen_run": 1, "age_days": 2})
                for f in result.findings]
    history = HistorySummary(path="h.db", run=3, previous_run=1, new=0, trend=runs, ages=ages)
    return result.model_copy(update={"findings": findings, "history": history})


def test_pictures_render_and_the_csp_lets_them(open_report):
    page = open_report(_with_history(sample_result()))
    for chart in ("severity", "region", "open-over-time", "new-fixed", "ages"):
        box = page.locator(f"#chart-{chart} svg").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 40, chart
    assert page.locator("#chart-open-over-time polygon").count() == 4  # no info ever open
    fill = page.evaluate("getComputedStyle(document.querySelector("
                         "'#chart-severity rect.sev-high')).fill")
    assert fill == "rgb(212, 56, 13)"  # coloured by report.css, not by an attribute
    assert page.locator("#rows tr").first.locator("td").last.inner_text().startswith("2 d")
    assert page.errors == [] and page.evaluate("window.__violations") == []


def test_the_dark_scheme_follows_the_system(open_report):
    page = open_report(sample_result())
    background = "getComputedStyle(document.documentElement).backgroundColor"
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert light == "rgb(245, 246, 248)" and dark == "rgb(15, 20, 25)"
    assert page.evaluate("getComputedStyle(document.querySelector('.panel')).color") == \
        "rgb(230, 233, 239)"


def test_print_shows_every_finding_whole_and_in_colour(open_report):
    result = sample_result()
    result.findings = [finding(RULES[i % 5], f"m-{i:05d}") for i in range(300)]
    page = open_report(result)
    assert len(rows(page)) == 100
    page.emulate_media(media="print")
    assert not page.is_visible("#filters") and not page.is_visible(".pager")
    assert page.evaluate("getComputedStyle(document.querySelector('.table-wrap')).maxHeight") \
        == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('.sev')).printColorAdjust") \
        == "exact"
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert len(rows(page)) == 300
    assert page.inner_text("#print-note") == "Printed: all 300 findings that match the filters."
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert len(rows(page)) == 100


def test_a_phone_scrolls_tables_not_the_page(browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render("html", _with_history(sample_result()), ReportOptions()),
                    encoding="utf-8")
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        page.goto(path.as_uri())
        page.wait_for_selector("#rows tr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.locator("#chart-severity svg").bounding_box()
        assert box is not None and box["width"] <= 375
    finally:
        page.close()
