"""Posture per rule (evaluated, passed, failed, waived, compliance), counted by the engine, and
waivers expiring soon, in every report format: through the CLI over examples/inventory.json,
and the engine's counts on hand-made images."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import EXAMPLES, invoke

from auditor.config import Waiver
from auditor.engine import evaluate, load_rules
from auditor.models import Image, Inventory, RegionInventory

TODAY = date(2026, 11, 27)
INVENTORY = EXAMPLES / "inventory.json"

RULES = """\
id: T-PUBLIC
title: Custom images are private
severity: high
when: {ImageOwnerAlias: self}
require: {IsPublic: false}
---
id: T-NVME
title: NVMe
severity: low
require: {Features.NvmeSupport: supported}
---
id: T-NOBODY
title: Selects nothing
severity: low
when: {ImageOwnerAlias: nobody}
require: {IsPublic: false}
"""


def _image(image_id: str, owner: str = "self", public: bool = False,
           nvme: bool = True) -> Image:
    return Image.model_validate({
        "ImageId": image_id, "ImageOwnerAlias": owner, "IsPublic": public,
        "Features": {"NvmeSupport": "supported" if nvme else "unsupported"}})


def _inventory() -> Inventory:
    return Inventory(
        tool_version="test", collected_at=datetime(2026, 11, 27, tzinfo=timezone.utc),
        account_id="1234",
        regions=[
            RegionInventory(region="cn-hangzhou", images=[
                _image("m-a", public=True), _image("m-b", public=True, nvme=False),
                _image("m-c"), _image("m-sys", owner="system", public=True)]),
            RegionInventory(region="cn-shanghai", images=[
                _image("m-d", public=True), _image("m-e", nvme=False)]),
        ])


def _waiver(rule: str, images: list[str], expires: date, owner: str = "alice") -> Waiver:
    return Waiver(rule=rule, images=images, reason="r", owner=owner, expires=expires)


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_the_engine_counts_the_images_when_selects_across_regions(rules_file: Path) -> None:
    waivers = [_waiver("T-PUBLIC", ["m-a"], TODAY),                      # waived (last day)
               _waiver("T-PUBLIC", ["m-d"], TODAY - timedelta(days=1))]  # expired: open
    result = evaluate(_inventory(), load_rules([rules_file], builtin=False), waivers=waivers,
                      today=TODAY)
    # T-PUBLIC: 5 self images of 6 (m-sys is not selected though public); m-a, m-b, m-d fail
    assert result.counts == {"T-PUBLIC": (5, 3, 1, 0), "T-NVME": (6, 2, 0, 0),
                             "T-NOBODY": (0, 0, 0, 0)}


def test_rule_info_derives_passed_and_compliance() -> None:
    from auditor.findings import RuleInfo, Severity

    info = RuleInfo(id="X", title="x", severity=Severity.LOW)
    assert info.counted((8, 3, 1, 2)).model_dump(include={
        "evaluated", "passed", "failed", "waived", "not_evaluated", "compliance"}) == {
        "evaluated": 8, "passed": 5, "failed": 3, "waived": 1, "not_evaluated": 2,
        "compliance": 62.5}
    nothing = info.counted((0, 0, 0, 0))
    assert nothing.compliance is None and nothing.compliance_text == "n/a"


@pytest.mark.parametrize(("days", "warn", "state"), [
    (3, 14, "expiring"), (14, 14, "expiring"), (0, 14, "expiring"), (15, 14, None),
    (30, 14, None), (30, 31, "expiring"), (3, 0, None), (-1, 14, "expired"),
])
def test_waivers_in_use_expiring_within_the_warning_days(rules_file: Path, days: int, warn: int,
                                                         state: str | None) -> None:
    waiver = _waiver("T-PUBLIC", ["m-a"], TODAY + timedelta(days=days))
    result = evaluate(_inventory(), load_rules([rules_file], builtin=False), waivers=[waiver],
                      today=TODAY, expiry_warning_days=warn)
    assert [w.state for w in result.waivers] == ([state] if state else [])


def test_an_unused_waiver_expiring_soon_is_stale_not_expiring(rules_file: Path) -> None:
    waiver = _waiver("T-PUBLIC", ["m-nope"], TODAY + timedelta(days=3))
    result = evaluate(_inventory(), load_rules([rules_file], builtin=False), waivers=[waiver],
                      today=TODAY, expiry_warning_days=14)
    assert [w.state for w in result.waivers] == ["stale"]


# --- through the CLI -------------------------------------------------------------------------

def _today() -> date:
    """The scan's own "today" (UTC); the waivers below are dated relative to it."""
    return datetime.now(timezone.utc).date()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    soon, later = _today() + timedelta(days=3), _today() + timedelta(days=30)
    path = tmp_path / "imgaudit.yaml"
    path.write_text(textwrap.dedent(f"""\
        waivers:
          - {{rule: IMG-PUBLIC-SELF, images: ["*"], reason: partner programme, owner: alice,
             expires: {soon}}}
          - {{rule: IMG-EOL-OS, images: ["*"], reason: migration, owner: bob,
             expires: {later}}}
        """), encoding="utf-8")
    return path


def _scan(config: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return invoke("scan", "--input", INVENTORY, "--config", config, *args, env=env)


def _json(config: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = _scan(config, "--format", "json", *args, env=env)
    assert result.exit_code == 1, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_json_carries_every_rule_with_its_counts(config: Path) -> None:
    report = _json(config)
    rules = {r["id"]: r for r in report["rules"]}
    assert len(rules) == 20  # every built-in rule, those without findings too
    findings = report["findings"]
    for rule_id, r in rules.items():
        mine = [f for f in findings if f["rule_id"] == rule_id]
        assert r["failed"] == len(mine)
        assert r["waived"] == sum(1 for f in mine if f["waiver"] and not f["waiver"]["expired"])
        assert r["passed"] == r["evaluated"] - r["failed"] >= 0
        assert r["compliance"] == round(100 * r["passed"] / r["evaluated"], 1)
    # IMG-PUBLIC-SELF selects the account's own images only: 31 of the 41
    assert report["scan"]["images"] == 41
    assert (rules["IMG-PUBLIC-SELF"]["evaluated"], rules["IMG-PUBLIC-SELF"]["waived"]) == (31, 2)
    assert rules["IMG-HIGH-RISK"]["evaluated"] == 41  # no `when`: every image
    assert rules["IMG-EOL-OS"]["waived"] == rules["IMG-EOL-OS"]["failed"] == 6


def test_the_counts_follow_the_scope_of_the_run(config: Path) -> None:
    everything = {r["id"]: r["evaluated"] for r in _json(config)["rules"]}
    own = _scan(config, "--owner", "self", "--format", "json")  # --input's scope flags
    scoped = json.loads(own.stdout)
    counts = {r["id"]: r["evaluated"] for r in scoped["rules"]}
    assert counts["IMG-HIGH-RISK"] == scoped["scan"]["images"] < everything["IMG-HIGH-RISK"]


def test_json_lists_the_waiver_expiring_in_3_days_not_the_one_in_30(config: Path) -> None:
    waivers = _json(config)["waivers"]
    assert [(w["rule"], w["owner"], w["state"]) for w in waivers] == [
        ("IMG-PUBLIC-SELF", "alice", "expiring")]
    assert waivers[0]["expires"] == str(_today() + timedelta(days=3))


def test_the_warning_days_come_from_the_config_the_environment_and_the_command_line(
        config: Path) -> None:
    def states(*args: str, env: dict[str, str] | None = None) -> list[str]:
        return [w["owner"] for w in _json(config, *args, env=env)["waivers"]]

    assert states("--waiver-expiry-warning-days", "0") == []
    assert states("--waiver-expiry-warning-days", "30") == ["alice", "bob"]
    assert states(env={"IMGAUDIT_WAIVER_EXPIRY_WARNING_DAYS": "30"}) == ["alice", "bob"]
    config.write_text(config.read_text() + "waiver_expiry_warning_days: 2\n")
    assert states() == []
    assert states("--waiver-expiry-warning-days", "3") == ["alice"]  # command line wins


def test_a_bad_warning_days_value_is_refused(config: Path) -> None:
    config.write_text(config.read_text() + "waiver_expiry_warning_days: -1\n")
    result = _scan(config)
    assert result.exit_code == 2 and "waiver_expiry_warning_days" in result.stderr
    assert "Traceback" not in result.stderr


def _expiring_line() -> str:
    return (f"waiver for rule IMG-PUBLIC-SELF on * (owner alice) expires on "
            f"{_today() + timedelta(3)}")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "html", "junit", "markdown"])
def test_stderr_warns_once_about_the_expiring_waiver(config: Path, tmp_path: Path,
                                                     fmt: str) -> None:
    result = _scan(config, "--format", fmt, "--json", tmp_path / "r.json",
                   "--html", tmp_path / "r.html")
    assert result.stderr.count(_expiring_line()) == 1
    assert "owner bob" not in result.stderr


def test_text_shows_the_table_and_the_waiver_also_with_summary(config: Path) -> None:
    for args in ((), ("--summary",)):
        text = _scan(config, *args).stdout
        assert "compliance by rule:" in text
        row = re.search(r"^  IMG-PUBLIC-SELF +high +31 +29 +2 +2 +93\.5%$", text, re.M)
        assert row, text
        assert "waiver expires soon: IMG-PUBLIC-SELF on * (owner alice, expires " in text
        assert "owner bob" not in text
    assert len(re.findall(r"^  IMG-\S+ +(critical|high|medium|low|info) +\d+", text, re.M)) == 20


def test_markdown_has_a_compliance_table_and_the_expiring_waiver(config: Path) -> None:
    md = _scan(config, "--format", "markdown").stdout
    assert "### Compliance by rule" in md
    assert ("| IMG-PUBLIC-SELF | high | Custom images are not published as community images "
            "| 31 | 29 | 2 | 2 | 0 | 93.5% |") in md
    assert md.count("| IMG-") >= 20  # passing rules are listed too
    assert f"- {_expiring_line()}".replace("*", "\\*") in md


def test_html_has_a_compliance_by_rule_table_and_the_expiring_waiver(config: Path) -> None:
    html = _scan(config, "--format", "html").stdout
    table = html[html.index('<table class="small" id="by-rule">'):]
    table = table[:table.index("</table>")]
    assert "<h2>Compliance by rule</h2>" in html
    assert len(re.findall(r"data-filter-rule=", table)) == 20
    assert re.search(r'IMG-PUBLIC-SELF</a>.*?<td class="num">31</td><td class="num">29</td>'
                     r'<td class="num">2</td><td class="num">2</td><td class="num">0</td>'
                     r'<td class="num">93.5%</td>', table)
    section = html[html.index('id="expiring-waivers"'):]
    assert f"Rule IMG-PUBLIC-SELF on *, owner alice, expires {_today() + timedelta(3)}" in section
    assert "owner bob" not in html[html.index('id="expiring-waivers"'):][:600]


def test_junit_puts_the_counts_in_each_rule_case_and_warns_of_the_waiver(config: Path) -> None:
    root = ET.fromstring(_scan(config, "--format", "junit").stdout.split("\n", 1)[1])
    cases = {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}
    props = {p.get("name"): p.get("value")
             for p in cases["IMG-PUBLIC-SELF"].iter("property")}
    assert props == {"evaluated": "31", "passed": "29", "failed": "2", "waived": "2",
                     "not_evaluated": "0", "compliance": "93.5%"}
    passing = [c for c in root.iter("testcase")
               if c.get("classname", "").startswith("imgaudit.")
               and c.find("failure") is None and c.find("properties") is not None]
    assert passing  # rules that passed carry their counts too
    waiver_cases = [c for c in root.iter("testcase") if c.get("classname") == "imgaudit.waiver"]
    assert [c.get("name") for c in waiver_cases] == [_expiring_line()]


def test_sarif_counts_in_rule_properties_and_a_waiver_notification(config: Path) -> None:
    run = json.loads(_scan(config, "--format", "sarif").stdout)["runs"][0]
    rules = {r["id"]: r["properties"] for r in run["tool"]["driver"]["rules"]}
    assert len(rules) == 20
    assert {k: rules["IMG-PUBLIC-SELF"][k] for k in
            ("evaluated", "passed", "failed", "waived", "compliance")} == {
        "evaluated": 31, "passed": 29, "failed": 2, "waived": 2, "compliance": 93.5}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [(n["descriptor"]["id"], n["message"]["text"]) for n in notes
            if n["descriptor"]["id"] == "waiver-expiring"] == [
        ("waiver-expiring", _expiring_line())]


def test_a_baseline_written_before_the_counts_is_still_read(config: Path,
                                                            tmp_path: Path) -> None:
    old = _json(config)
    for rule in old["rules"]:
        for key in ("evaluated", "passed", "failed", "waived", "compliance"):
            del rule[key]
    for waiver in old["waivers"]:
        waiver["state"] = "stale"  # the states an older report knew
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    result = _scan(config, "--baseline", path, "--format", "json")
    assert result.exit_code == 0, result.stderr  # nothing new since the baseline
    report = json.loads(result.stdout)
    assert report["baseline"]["new"] == 0
    assert {r["id"]: r["evaluated"] for r in report["rules"]}["IMG-HIGH-RISK"] == 41


def test_the_new_headings_come_from_the_catalogue_in_chinese(config: Path) -> None:
    text = _scan(config, "--lang", "zh-CN").stdout
    assert "按规则的合规情况：" in text and "已评估" in text and "合规率" in text  # noqa: RUF001
    assert "即将到期" in text
    md = _scan(config, "--lang", "zh-CN", "--format", "markdown").stdout
    assert "### 按规则的合规情况" in md
    assert f"规则 IMG-PUBLIC-SELF 对 \\* 的豁免（负责人 alice）将于 {_today() + timedelta(3)} 到期" in md  # noqa: RUF001
    html = _scan(config, "--lang", "zh-CN", "--format", "html").stdout
    assert "<h2>按规则的合规情况</h2>" in html and "1 条豁免即将到期" in html
