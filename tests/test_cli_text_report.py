"""The text report for big accounts: `--summary`, `--show-waived`, no repeated image ids."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import EXAMPLES, invoke

EXAMPLE = ("--input", str(EXAMPLES / "inventory.json"), "--config",
           str(EXAMPLES / "imgaudit.yaml"))
WAIVED_ID = "m-bp15iu667135rfeqfbkn"  # the example config's one waiver
FINDING_LINE = re.compile(r"^    (cn-|ap-)")


@pytest.fixture(autouse=True)
def plain(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "IMGAUDIT_COLOR", "IMGAUDIT_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def text(*flags: str) -> str:
    result = invoke("scan", *EXAMPLE, *flags)
    assert result.exit_code == 1, result.stderr
    return result.stdout


def report() -> dict:
    """The JSON report of the same scan; `suppressed` added: waived by a live waiver."""
    data = json.loads(invoke("scan", *EXAMPLE, "--format", "json").stdout)
    for f in data["findings"]:
        f["suppressed"] = f["waiver"] is not None and not f["waiver"]["expired"]
    return data


def test_summary_counts_per_severity_and_rule_without_findings() -> None:
    full, summary = text(), text("--summary")
    assert not [line for line in summary.splitlines() if FINDING_LINE.match(line)]
    findings = [f for f in report()["findings"] if not f["suppressed"]]
    for severity in ("high", "medium", "low", "info"):
        count = sum(1 for f in findings if f["severity"] == severity)
        assert f"\n{severity.upper()} ({count})\n" in summary
    eol = sum(1 for f in findings if f["rule_id"] == "IMG-EOL-OS")
    assert f"  IMG-EOL-OS  Images do not run an end-of-life operating system ({eol})\n" in summary
    # the same rule lines and the same verdict as the full listing, nothing else
    assert [line for line in full.splitlines() if not FINDING_LINE.match(line)] == \
        summary.splitlines()
    assert summary.rstrip().endswith(f"{len(findings)} findings (0 critical, 16 high, 5 medium, "
                                     "20 low, 8 info), 1 waived; fail-on low: FAILED")


def test_the_listing_names_each_image_once() -> None:
    lines = [line for line in text().splitlines() if FINDING_LINE.match(line)]
    assert lines and len(lines) == sum(1 for f in report()["findings"] if not f["suppressed"])
    for finding in report()["findings"]:
        if finding["suppressed"]:
            continue
        assert finding["image_id"] in finding["message"]  # every built-in message names it
        line = f"    {finding['region']}  {finding['message']}"
        assert line in lines or any(x.startswith(line + "  [") for x in lines)


def test_an_image_a_message_does_not_name_is_shown(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text(
        "id: T-ANY\ntitle: t\nseverity: low\nrequire: {IsPublic: true}\nmessage: not public\n")
    out = invoke("scan", "--input", str(EXAMPLES / "inventory.json"), "--no-builtin-rules",
                 "--rules", "r.yaml").stdout
    assert re.search(r"^    cn-hangzhou  m-\w+  not public$", out, re.M)


def test_waived_findings_are_counted_always_and_listed_on_request() -> None:
    plain = text()
    assert WAIVED_ID not in plain and "WAIVED" not in plain and ", 1 waived;" in plain
    shown = text("--show-waived")
    block = shown[shown.index("\nWAIVED (1)\n"):]
    assert "  IMG-SELF-SHARED  Custom images are not shared with other accounts (1)\n" in block
    assert (f"    cn-hangzhou  {WAIVED_ID} (partner-demo-alinux3-2026-07-19) is shared with "
            "other Alibaba Cloud accounts  [waived until 2027-03-31, owner sales-eng@example.com: "
            "Shared with the partner's account for the joint demo, contract PRJ-2291]\n") in block
    assert ", 1 waived;" in shown
    summary = text("--summary", "--show-waived")
    assert "\nWAIVED (1)\n  IMG-SELF-SHARED" in summary and WAIVED_ID not in summary


@pytest.mark.parametrize("flag", ["--summary", "--show-waived"])
def test_text_flags_with_another_format_are_a_usage_error(flag: str) -> None:
    result = invoke("scan", *EXAMPLE, "--format", "json", flag)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"  # docs/errors.md
    assert result.stderr == (f"imgaudit: error: {flag} shapes the text report; --format json "
                             "carries every finding (waived ones marked)\n")
