"""Waiver selectors through the CLI: image id, name, family, tags and account, combined with
AND (within one selector: OR), stale and expired waivers per selector, and bad waivers."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke

ACCOUNT = "1234567890123456"  # examples/inventory.json's account
VALID = "reason: accepted, owner: sec, expires: 2999-01-01"


def scan(tmp_path: Path, waivers: str, code: int = 0) -> dict:
    """The JSON report of a scan of the example inventory with these waivers (`--fail-on
    never`: the exit code is 0, or 1 for an expired waiver that matched)."""
    config = tmp_path / "cfg.yaml"
    config.write_text("waivers:\n" + textwrap.indent(textwrap.dedent(waivers), "  "))
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config,
                    "--fail-on", "never", "--format", "json")
    assert (result.exit_code, result.stderr) == (code, ""), result.stderr
    return json.loads(result.stdout)


def waived(report: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["image_name"]) for f in report["findings"]
            if f["waiver"] and not f["waiver"]["expired"]}


def errors(tmp_path: Path, waivers: str) -> list[str]:
    """The error lines of a scan whose config holds these waivers (exit 2, nothing on stdout)."""
    config = tmp_path / "cfg.yaml"
    config.write_text("waivers:\n" + textwrap.indent(textwrap.dedent(waivers), "  "))
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    return [line.replace(f"{config}:", "cfg.yaml:") for line in result.stderr.splitlines()]


def test_by_image_name_glob(tmp_path: Path) -> None:
    report = scan(tmp_path, f"- {{rule: IMG-MAX-AGE, image_names: ['legacy-*'], {VALID}}}\n")
    assert waived(report) == {("IMG-MAX-AGE", "legacy-app-alinux3-2025-01-10"),
                              ("IMG-MAX-AGE", "legacy-erp-centos7-2023-05-09")}
    assert report["waivers"] == []


def test_by_image_family_exact_and_one_value_alone(tmp_path: Path) -> None:
    report = scan(tmp_path, f"- {{rule: IMG-MAX-AGE, image_families: web-alinux3, {VALID}}}\n")
    assert waived(report) == {("IMG-MAX-AGE", "web-alinux3-2024-01-15")}


def test_by_tags_every_key_must_match_and_values_may_be_globs(tmp_path: Path) -> None:
    report = scan(tmp_path, f"""\
        - {{rule: IMG-BIOS-ONLY, tags: {{env: prod, owner: platform-team}}, {VALID}}}
        - {{rule: IMG-NVME, tags: {{owner: "*-team"}}, {VALID}}}
        """)
    # pos-terminal is retail-team's, analytics-win2012 has no owner tag: not waived
    assert waived(report) == {
        ("IMG-BIOS-ONLY", "vendor-appliance-centos7-2026-04-04"),
        ("IMG-BIOS-ONLY", "legacy-erp-centos7-2023-05-09"),
        ("IMG-BIOS-ONLY", "ml-train-ubuntu22-2026-08-09"),
        ("IMG-NVME", "vendor-appliance-centos7-2026-04-04"),
        ("IMG-NVME", "legacy-erp-centos7-2023-05-09"),
        ("IMG-NVME", "ml-train-ubuntu22-2026-08-09"),
    }


def test_tag_keys_and_values_are_case_sensitive(tmp_path: Path) -> None:
    # search-ubuntu22 has the tag `Env: prod`, not `env`
    report = scan(tmp_path, f"- {{rule: IMG-REQUIRED-TAGS, tags: {{env: prod}}, {VALID}}}\n")
    assert waived(report) == {("IMG-REQUIRED-TAGS", "analytics-win2012-2022-11-03")}
    report = scan(tmp_path, f"- {{rule: IMG-REQUIRED-TAGS, tags: {{Env: PROD}}, {VALID}}}\n")
    assert waived(report) == set()


def test_by_account_numbers_unquoted_or_quoted(tmp_path: Path) -> None:
    report = scan(tmp_path, f"- {{rule: IMG-I386, accounts: [{ACCOUNT}], {VALID}}}\n")
    assert waived(report) == {("IMG-I386", "pos-terminal-debian12-2025-12-02")}
    report = scan(tmp_path, f"- {{rule: IMG-I386, accounts: ['1234*', '42'], {VALID}}}\n")
    assert waived(report) == {("IMG-I386", "pos-terminal-debian12-2025-12-02")}


def test_selectors_combine_with_and(tmp_path: Path) -> None:
    report = scan(tmp_path, f"""\
        - rule: IMG-MAX-AGE
          image_names: ["legacy-*", "web-*"]        # any of these names ...
          image_families: [legacy-erp-centos7, web-ubuntu18]
          tags: {{env: prod}}                         # ... and this tag ...
          accounts: ["{ACCOUNT}"]                   # ... and this account
          reason: accepted
          owner: sec
          expires: 2999-01-01
        """)
    assert waived(report) == {("IMG-MAX-AGE", "legacy-erp-centos7-2023-05-09"),
                              ("IMG-MAX-AGE", "web-ubuntu18-2025-04-22")}
    # the same with an image id that is not one of them: nothing
    report = scan(tmp_path, f"""\
        - {{rule: IMG-MAX-AGE, images: [m-bp1p45umtwm0kdjk4cke], image_names: ["legacy-*"],
           {VALID}}}
        """)
    assert waived(report) == set()
    [stale] = report["waivers"]
    assert (stale["state"], stale["images"], stale["image_names"]) == (
        "stale", ["m-bp1p45umtwm0kdjk4cke"], ["legacy-*"])


def test_first_matching_waiver_wins_across_selector_kinds(tmp_path: Path) -> None:
    report = scan(tmp_path, """\
        - {rule: IMG-MAX-AGE, image_names: ["legacy-app-*"], reason: by name, owner: a,
           expires: 2999-01-01}
        - {rule: IMG-MAX-AGE, tags: {env: prod}, reason: by tag, owner: b,
           expires: 2999-01-01}
        """)
    reasons = {f["image_name"]: f["waiver"]["reason"] for f in report["findings"]
               if f["rule_id"] == "IMG-MAX-AGE"}
    assert reasons["legacy-app-alinux3-2025-01-10"] == "by name"
    assert reasons["legacy-erp-centos7-2023-05-09"] == "by tag"
    assert report["waivers"] == []


@pytest.mark.parametrize("selector", [
    "images: [m-gone]", "image_names: ['nothing-*']", "image_families: [no-family]",
    "tags: {env: sandbox}", "accounts: [999]",
])
def test_each_selector_kind_goes_stale_when_it_matches_nothing(tmp_path: Path,
                                                                selector: str) -> None:
    report = scan(tmp_path, f"- {{rule: IMG-MAX-AGE, {selector}, {VALID}}}\n")
    [stale] = report["waivers"]
    assert (stale["rule"], stale["state"], stale["matched"]) == ("IMG-MAX-AGE", "stale", 0)
    key = selector.split(":")[0]
    assert stale[key] not in ([], {})


def test_stale_and_expired_in_the_text_report_name_the_selectors(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text(textwrap.dedent("""\
        waivers:
          - {rule: IMG-MAX-AGE, image_names: ["legacy-*"], tags: {env: prod},
             reason: r, owner: o, expires: 2020-01-01}
          - {rule: IMG-NVME, image_families: [x, y], accounts: [42], reason: r, owner: p,
             expires: 2999-01-01}
        """))
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config,
                    "--fail-on", "never", "--color", "never")
    assert result.exit_code == 1  # an expired waiver that still matches fails the gate
    assert ("waiver expired: IMG-MAX-AGE on image name legacy-* and tag env=prod "
            "(owner o, expires 2020-01-01)") in result.stdout
    assert ("waiver matches nothing (stale): IMG-NVME on image family x or y and account 42 "
            "(owner p, expires 2999-01-01)") in result.stdout


def test_an_expired_selector_waiver_reopens_its_findings(tmp_path: Path) -> None:
    report = scan(tmp_path, "- {rule: IMG-BIOS-ONLY, tags: {owner: platform-team}, "
                            "reason: r, owner: o, expires: 2020-01-01}\n", code=1)
    hit = [f for f in report["findings"] if f["waiver"]]
    assert len(hit) == 3 and all(f["waiver"]["expired"] for f in hit)
    [expired] = report["waivers"]
    assert (expired["state"], expired["matched"], expired["tags"]) == (
        "expired", 3, {"owner": "platform-team"})


def test_a_waiver_without_any_selector_is_an_error(tmp_path: Path) -> None:
    assert errors(tmp_path, """\
        - rule: IMG-MAX-AGE
          reason: r
          owner: o
          expires: 2999-01-01
        """) == [
        "imgaudit: error: cfg.yaml:2:5: waivers.0: a waiver must select images: give at least "
        "one of images, image_names, image_families, tags, accounts"]


def test_empty_selectors_are_errors(tmp_path: Path) -> None:
    assert errors(tmp_path, f"""\
        - {{rule: IMG-MAX-AGE, images: [], {VALID}}}
        - {{rule: IMG-MAX-AGE, tags: {{}}, {VALID}}}
        - {{rule: IMG-MAX-AGE, image_names: [""], {VALID}}}
        """) == [
        "imgaudit: error: cfg.yaml:2:33: waivers.0.images: an empty selector selects nothing: "
        "list at least one value, or remove the key",
        "imgaudit: error: cfg.yaml:3:31: waivers.1.tags: an empty selector selects nothing: "
        "list at least one value, or remove the key",
        "imgaudit: error: cfg.yaml:4:39: waivers.2.image_names.0: String should have at least "
        "1 character",
    ]


def test_unknown_selector_keys_get_a_did_you_mean(tmp_path: Path) -> None:
    assert errors(tmp_path, f"""\
        - {{rule: IMG-MAX-AGE, image_name: ["legacy-*"], {VALID}}}
        - {{rule: IMG-MAX-AGE, tag: {{env: prod}}, images: [m-1], {VALID}}}
        - {{rule: IMG-MAX-AGE, account: [42], images: [m-1], {VALID}}}
        """) == [
        "imgaudit: error: cfg.yaml:2:25: unknown key 'image_name' (did you mean 'image_names'?)",
        "imgaudit: error: cfg.yaml:3:25: unknown key 'tag' (did you mean 'tags'?)",
        "imgaudit: error: cfg.yaml:4:25: unknown key 'account' (did you mean 'accounts'?)",
    ]


def test_selectors_of_the_wrong_type_are_errors(tmp_path: Path) -> None:
    lines = errors(tmp_path, f"""\
        - {{rule: IMG-MAX-AGE, tags: [env], {VALID}}}
        - {{rule: IMG-MAX-AGE, tags: {{env: true}}, {VALID}}}
        - {{rule: IMG-MAX-AGE, image_families: {{a: b}}, {VALID}}}
        - {{rule: IMG-MAX-AGE, accounts: [[1]], {VALID}}}
        """)
    assert [line.split(": ")[2:4] for line in lines] == [
        ["cfg.yaml:2:31", "waivers.0.tags"],
        ["cfg.yaml:3:37", "waivers.1.tags.env"],
        ["cfg.yaml:4:41", "waivers.2.image_families"],
        ["cfg.yaml:5:36", "waivers.3.accounts.0"],
    ]
    assert "valid dictionary" in lines[0] and "valid string" in lines[1]
    assert "valid list" in lines[2] and "valid string" in lines[3]


def test_a_bad_selector_glob_points_at_its_value(tmp_path: Path) -> None:
    [line] = errors(tmp_path, f"""\
        - {{rule: IMG-MAX-AGE, tags: {{env: "{'[a]' * 4000}*"}}, {VALID}}}
        """)
    assert line.startswith("imgaudit: error: cfg.yaml:2:37: waivers.0.tags.env: bad glob ")


def test_an_account_selector_waives_only_that_accounts_findings(tmp_path: Path) -> None:
    """Two raw responses of two accounts in one scan: the waiver follows each finding's own
    account, not the first input's."""
    (tmp_path / "rule.yaml").write_text("id: T-PUBLIC\ntitle: Private\nseverity: high\n"
                                        "require: {IsPublic: false}\n")
    for name, owner in (("a", 1111111111), ("b", 2222222222)):
        image = {"ImageId": f"m-{name}", "ImageOwnerAlias": "self", "ImageOwnerId": owner,
                 "IsPublic": True}
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"RequestId": "R", "RegionId": "cn-a", "TotalCount": 1, "Images": {"Image": [image]}}))
    config = tmp_path / "cfg.yaml"
    config.write_text(f"waivers:\n  - {{rule: T-PUBLIC, accounts: [2222222222], {VALID}}}\n")
    result = invoke("scan", "--input", tmp_path / "a.json", "--input", tmp_path / "b.json",
                    "--no-builtin-rules", "--rules", tmp_path / "rule.yaml", "--config", config,
                    "--format", "json")
    assert result.exit_code == 1, result.stderr  # m-a is open
    report = json.loads(result.stdout)
    assert {(f["image_id"], f["account_id"], bool(f["waiver"])) for f in report["findings"]} == {
        ("m-a", "1111111111", False), ("m-b", "2222222222", True)}


def test_every_report_names_each_expired_waiver(tmp_path: Path) -> None:
    """Rule, what it selects, owner and expiry date of each expired waiver, escaped for the
    format (the owner is config text: HTML tags and Markdown syntax stay text)."""
    config = tmp_path / "cfg.yaml"
    config.write_text(textwrap.dedent("""\
        waivers:
          - {rule: IMG-MAX-AGE, image_names: ["legacy-*"], tags: {env: prod},
             reason: r, owner: "<b>ops</b> | **x**", expires: 2020-01-01}
          - {rule: IMG-BIOS-ONLY, tags: {owner: platform-team}, reason: r, owner: o,
             expires: 2021-02-03}
          - {rule: IMG-NVME, image_families: [x], reason: r, owner: p, expires: 2020-01-01}
        """))
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("html", "markdown", "junit", "sarif", "json")}
    result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config,
                    "--fail-on", "never", "--color", "never",
                    *(arg for fmt, path in out.items() for arg in (f"--{fmt}", path)))
    assert result.exit_code == 1  # expired waivers that still match fail the gate
    report = {fmt: path.read_text(encoding="utf-8") for fmt, path in out.items()}
    assert ("waiver expired: IMG-BIOS-ONLY on tag owner=platform-team (owner o, expires "
            "2021-02-03)") in result.stdout

    html = report["html"]
    banner = html[html.index('id="expired-waivers"'):]
    banner = banner[:banner.index("</section>")]
    assert "<h2>2 expired waivers</h2>" in banner
    assert ("<li>Rule IMG-MAX-AGE on image name legacy-* and tag env=prod, owner "
            "&lt;b&gt;ops&lt;/b&gt; | **x**, expired 2020-01-01</li>") in banner
    assert ("<li>Rule IMG-BIOS-ONLY on tag owner=platform-team, owner o, expired "
            "2021-02-03</li>") in banner
    assert "IMG-NVME" not in banner  # stale (matched nothing), not expired
    assert "<b>ops" not in html

    md = report["markdown"]
    assert md.startswith("## imgaudit: ❌ fails the gate (fail on never and above)\n")
    assert ("⚠️ 2 waiver(s) expired: their findings are open again.\n\n"
            "- waiver for rule IMG-MAX-AGE on image name legacy-\\* and tag env=prod (owner "
            "&lt;b\\>ops&lt;/b\\> \\| \\*\\*x\\*\\*) expired on 2020-01-01\n"
            "- waiver for rule IMG-BIOS-ONLY on tag owner=platform-team (owner o) expired on "
            "2021-02-03\n") in md

    root = ET.fromstring(report["junit"])
    cases = [c for c in root.iter("testcase") if c.get("classname") == "imgaudit.waiver"]
    failures = [(c.get("name"), c.find("failure")) for c in cases]
    assert [(name, f.get("type"), f.get("message") == name) for name, f in failures
            if f is not None] == [
        ("waiver for rule IMG-MAX-AGE on image name legacy-* and tag env=prod (owner "
         "<b>ops</b> | **x**) expired on 2020-01-01", "ExpiredWaiver", True),
        ("waiver for rule IMG-BIOS-ONLY on tag owner=platform-team (owner o) expired on "
         "2021-02-03", "ExpiredWaiver", True)]
    assert root.get("failures") == str(sum(1 for c in root.iter("testcase")
                                           if c.find("failure") is not None))

    notes = json.loads(report["sarif"])["runs"][0]["invocations"][0][
        "toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes if n["descriptor"]["id"] == "waiver-expired"] == [
        failures[0][0], failures[1][0]]

    waivers = json.loads(report["json"])["waivers"]
    assert [(w["rule"], w["state"], w["owner"], w["expires"]) for w in waivers] == [
        ("IMG-MAX-AGE", "expired", "<b>ops</b> | **x**", "2020-01-01"),
        ("IMG-BIOS-ONLY", "expired", "o", "2021-02-03"),
        ("IMG-NVME", "stale", "p", "2020-01-01")]


def test_what_a_waiver_selects_is_worded_in_the_report_language(tmp_path: Path) -> None:
    """Names, tags and accounts stay as written; the words around them are translated."""
    config = tmp_path / "cfg.yaml"
    config.write_text(textwrap.dedent("""\
        waivers:
          - {rule: IMG-MAX-AGE, image_names: ["legacy-*", "old-*"], tags: {env: prod},
             reason: r, owner: o, expires: 2020-01-01}
        """))
    selections = {"en": "image name legacy-* or old-* and tag env=prod",
                  "zh-CN": "镜像名称 legacy-* 或 old-* 且 标签 env=prod"}
    worded = {}
    for lang, selection in selections.items():
        result = invoke("scan", "--input", EXAMPLES / "inventory.json", "--config", config,
                        "--fail-on", "never", "--color", "never", "--lang", lang,
                        "--junit", tmp_path / f"{lang}.xml", "--html", tmp_path / f"{lang}.html")
        assert result.exit_code == 1, result.stderr
        cases = ET.fromstring((tmp_path / f"{lang}.xml").read_text(encoding="utf-8")).iter(
            "testcase")
        (worded[lang],) = [c.get("name") for c in cases if c.get("classname") == "imgaudit.waiver"]
        assert selection in result.stdout
        assert selection in (tmp_path / f"{lang}.html").read_text(encoding="utf-8")
    assert worded["en"] == ("waiver for rule IMG-MAX-AGE on image name legacy-* or old-* and "
                            "tag env=prod (owner o) expired on 2020-01-01")
    assert worded["zh-CN"] == ("规则 IMG-MAX-AGE 对 镜像名称 legacy-* 或 old-* 且 标签 env=prod "
                               "的豁免（负责人 o）已于 2020-01-01 过期")  # noqa: RUF001
