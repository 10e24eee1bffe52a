# ruff: noqa: RUF001  (Chinese text uses full-width punctuation)
"""Chinese (`--lang zh-CN`): the language is chosen like every other option, the built-in
rules are translated in full, custom rules' translations are checked at load time, and every
report format speaks the chosen language while ids stay stable."""

from __future__ import annotations

import json
import string
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import EXAMPLES, CliResult, invoke
from sarif_checks import github_problems, schema_errors

from auditor.engine import builtin_rules_dir, load_rules
from auditor.engine.evaluate import message
from auditor.engine.rule import LOCALISED
from auditor.lang import LANGS, TRANSLATIONS, locale_lang
from auditor.reporters.i18n import CATALOGUES, catalogue

INVENTORY = EXAMPLES / "inventory.json"
HAN = range(0x4E00, 0xA000)


def chinese(text: str) -> bool:
    return any(ord(char) in HAN for char in text)


def scan(*args: str, env: dict[str, str] | None = None) -> CliResult:
    return invoke("scan", "--input", INVENTORY, *args, env=env)


# --- the catalogues -------------------------------------------------------------------------

def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_report_string_exists_in_every_language_with_the_same_placeholders() -> None:
    assert set(CATALOGUES) == set(LANGS)
    english = CATALOGUES["en"]
    for lang, messages in CATALOGUES.items():
        assert set(messages) == set(english), lang
        for key, text in messages.items():
            assert _placeholders(text) == _placeholders(english[key]), (lang, key)
            assert text.strip(), (lang, key)


def test_the_chinese_catalogue_is_chinese() -> None:
    same = [key for key, text in CATALOGUES["zh-CN"].items()
            if text == CATALOGUES["en"][key] and any(c.isalpha() for c in text)]
    assert same == []  # nothing left in English by mistake


def test_plural_forms() -> None:
    assert catalogue("en").plural("junit.images", 1) == "1 image"
    assert catalogue("en").plural("junit.images", 2) == "2 images"
    assert catalogue("zh-CN").plural("junit.images", 1) == "1 个镜像"


# --- the built-in rules ---------------------------------------------------------------------

BUILTIN = sorted(builtin_rules_dir().glob("*.yaml"))


@pytest.mark.parametrize("path", BUILTIN, ids=lambda p: p.stem)
def test_every_builtin_rule_is_translated_in_full(path: Path) -> None:
    rule = yaml.safe_load(path.read_text(encoding="utf-8"))
    for lang in TRANSLATIONS:
        translation = rule.get("i18n", {}).get(lang, {})
        for key in LOCALISED:
            if rule.get(key):
                assert chinese(translation.get(key, "")), f"{path.name}: {lang} {key}"


def test_translated_messages_render_for_every_failing_example() -> None:
    for rule in load_rules([], builtin=True).rules:
        for image in rule.examples["fail"]:
            text = message(rule, image, "cn-hangzhou", "1234567890123456", lang="zh-CN")
            assert chinese(text) and "message template failed" not in text, rule.id
            assert image.ImageId in text, rule.id


def test_translations_keep_the_console_names() -> None:
    """The remediation names the console's own menus, as the Chinese console labels them."""
    for rule in load_rules([], builtin=True).rules:
        remediation = rule.text("remediation", "zh-CN")
        assert "云服务器 ECS 控制台 > 实例与镜像 > " in remediation, rule.id
        assert "CLI：aliyun ecs " in remediation, rule.id


# --- custom rules ---------------------------------------------------------------------------

RULE = """\
id: ACME-PUBLIC
title: Images are private
severity: high
description: A public image is readable by everyone.
require: {IsPublic: false}
message: "{{ image.ImageId }} is public"
i18n:
  zh-CN:
    title: 镜像不公开
    message: "{{ image.ImageId }} 已公开"
"""


def _rule_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_custom_rule_translates_some_keys_and_falls_back_for_the_others(
        tmp_path: Path) -> None:
    path = _rule_file(tmp_path, RULE)
    shown = invoke("rules", "show", "ACME-PUBLIC", "--rules", path, "--lang", "zh-CN")
    assert shown.exit_code == 0
    assert shown.stdout.startswith("ACME-PUBLIC  [high]  镜像不公开\n")
    assert "为什么重要:\nA public image is readable by everyone." in shown.stdout  # English kept
    inventory = tmp_path / "inv.json"
    response = {"RegionId": "cn-hangzhou", "TotalCount": 1,
                "Images": {"Image": [{"ImageId": "m-1", "IsPublic": True}]}}
    inventory.write_text(json.dumps(response), encoding="utf-8")
    result = invoke("scan", "--no-builtin-rules", "--rules", path, "--input", inventory,
                    "--lang", "zh-CN", "--format", "json")
    finding = json.loads(result.stdout)["findings"][0]
    assert (finding["title"], finding["message"]) == ("镜像不公开", "m-1 已公开")
    assert (finding["title_en"], finding["message_en"]) == ("Images are private", "m-1 is public")


@pytest.mark.parametrize(("text", "expected"), [
    ("i18n:\n  zh-cn: {title: 镜像}\n",
     "acme.yaml:8:3: i18n: unknown language 'zh-cn' (did you mean 'zh-CN'?); translations are "
     "for: zh-CN (English is the rule's own text)"),
    ("i18n:\n  fr: {title: Images privées}\n",
     "acme.yaml:8:3: i18n: unknown language 'fr'; translations are for: zh-CN (English is the "
     "rule's own text)"),
    ("i18n:\n  zh-CN: {titel: 镜像}\n", "acme.yaml:8:11: unknown key 'titel'"),
    ("i18n:\n  zh-CN:\n    message: \"{{ image.NoSuchField }}\"\n",
     "acme.yaml:9:14: "),
    ("i18n:\n  zh-CN:\n    message: \"{{ params.nope }}\"\n", "acme.yaml:9:14: "),
])
def test_bad_translations_are_load_errors_with_their_position(
        tmp_path: Path, text: str, expected: str) -> None:
    head = RULE[:RULE.index("i18n:")]
    path = _rule_file(tmp_path, head + text)
    result = invoke("rules", "validate", path)
    assert result.exit_code == 2 and result.stdout == ""
    lines = [line.replace(f"{tmp_path}/", "") for line in result.stderr.splitlines()]
    assert len(lines) == 1 and lines[0].startswith("imgaudit: error: " + expected), lines


def test_a_translated_template_is_checked_like_the_english_one(tmp_path: Path) -> None:
    """The same refusal, at the translated message's own line."""
    head = RULE[:RULE.index("message:")]
    bad = "{{ image.__class__ }}"
    english = _rule_file(tmp_path, head + f'message: "{bad}"\n')
    english_error = invoke("rules", "validate", english).stderr.split(": ", 3)[-1]
    translated = _rule_file(tmp_path, head + f'i18n:\n  zh-CN:\n    message: "{bad}"\n')
    result = invoke("rules", "validate", translated)
    assert result.exit_code == 2
    assert result.stderr.split(": ", 3)[-1] == english_error
    assert "acme.yaml:8:14:" in result.stderr


# --- choosing the language ------------------------------------------------------------------

@pytest.mark.parametrize(("env", "lang"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "zh_CN.GB18030"}, "zh-CN"),
    ({"LANG": "zh_SG"}, "zh-CN"),
    ({"LANG": "zh"}, "zh-CN"),
    ({"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional Chinese: not zh-CN
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # POSIX order: LC_ALL first
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-CN"),
    ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
])
def test_the_locale_decides_by_default(env: dict[str, str], lang: str) -> None:
    assert locale_lang(env) == lang


def _lang_of(result: CliResult) -> str:
    assert result.exit_code == 1, result.stderr
    return str(json.loads(result.stdout)["lang"])


def test_precedence_command_line_environment_config_locale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    zh_locale = {"LANG": "zh_CN.UTF-8"}
    assert _lang_of(scan("--format", "json", env=zh_locale)) == "zh-CN"
    (tmp_path / "imgaudit.yaml").write_text("lang: en\n", encoding="utf-8")
    assert _lang_of(scan("--format", "json", env=zh_locale)) == "en"  # config over locale
    env = {**zh_locale, "IMGAUDIT_LANG": "zh-CN"}
    assert _lang_of(scan("--format", "json", env=env)) == "zh-CN"  # environment over config
    assert _lang_of(scan("--format", "json", "--lang", "en", env=env)) == "en"


def test_lang_from_the_locale_reaches_the_text_report() -> None:
    result = scan(env={"LANG": "zh_CN.UTF-8"})
    assert result.stdout.startswith("imgaudit ") and "条规则" in result.stdout
    assert "未通过" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize("args", [("scan", "--input", str(INVENTORY)), ("rules", "list"),
                                  ("rules", "show", "IMG-NVME")])
def test_an_unknown_language_is_a_usage_error_listing_the_choices(args: tuple[str, ...]) -> None:
    result = invoke(*args, "--lang", "fr")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Invalid value for '--lang': 'fr' is not one of 'en', 'zh-CN'." in result.stderr


def test_an_unknown_language_in_the_environment_or_config_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = scan(env={"IMGAUDIT_LANG": "zh_CN"})
    assert result.exit_code == 2 and "'zh_CN' is not one of 'en', 'zh-CN'" in result.stderr
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imgaudit.yaml").write_text("lang: zh\n", encoding="utf-8")
    result = scan()
    assert result.exit_code == 2 and "imgaudit.yaml:1:7: lang: " in result.stderr
    assert "'en' or 'zh-CN'" in result.stderr


# --- rules list / show ----------------------------------------------------------------------

def test_rules_list_and_show_in_chinese() -> None:
    listed = invoke("rules", "list", "--lang", "zh-CN")
    lines = listed.stdout.splitlines()
    assert listed.exit_code == 0 and len(lines) == len(BUILTIN)
    assert "IMG-EOL-OS                high      镜像未使用已停止维护（EOL）的操作系统" in lines
    assert len({line.index(line.split()[2]) for line in lines}) == 1  # titles in one column
    data = json.loads(invoke("rules", "list", "--lang", "zh-CN", "--format", "json").stdout)
    nvme = next(rule for rule in data if rule["id"] == "IMG-NVME")
    assert (nvme["title"], nvme["title_en"]) == ("镜像支持 NVMe 协议", "Images support the NVMe protocol")
    english = json.loads(invoke("rules", "list", "--format", "json").stdout)
    assert "title_en" not in english[0]  # nothing added to the English listing
    shown = invoke("rules", "show", "IMG-REQUIRED-TAGS", "--lang", "zh-CN").stdout
    assert "修复建议:\n补上缺少的标签。\n控制台：云服务器 ECS 控制台 > 实例与镜像 > 镜像 > 自定义镜像 页签" in shown
    assert "标签: governance, tagging" in shown


# --- the reports ----------------------------------------------------------------------------

def test_text_report() -> None:
    out = scan("--lang", "zh-CN").stdout
    assert out.startswith("imgaudit 0.1.0：3 个地域（ap-southeast-1, cn-hangzhou, cn-shanghai）"
                          "共 41 个镜像，20 条规则\n")
    assert "\n高危（15）\n  IMG-COMMUNITY-OTHERS  没有实例在使用其他账号的社区镜像（1）\n" in out
    assert "已共享给其他阿里云账号" in out
    assert out.endswith("失败阈值 low：未通过\n")


def test_json_report_carries_both_languages_and_stays_readable_as_a_baseline(
        tmp_path: Path) -> None:
    report = tmp_path / "zh.json"
    scan("--lang", "zh-CN", "--json", str(report))
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["lang"] == "zh-CN" and data["schema_version"] == 1
    finding = data["findings"][0]
    assert chinese(finding["title"]) and chinese(finding["message"])
    assert not chinese(finding["title_en"]) and not chinese(finding["message_en"])
    assert finding["rule_id"].startswith("IMG-") and finding["severity"] in ("critical", "high")
    rule = data["rules"][0]
    assert chinese(rule["remediation"]) and not chinese(rule["remediation_en"])
    english = json.loads(scan("--format", "json").stdout)
    assert english["lang"] == "en" and "message_en" not in english["findings"][0]
    assert [f["fingerprint"] for f in english["findings"]] == [
        f["fingerprint"] for f in data["findings"]]
    again = scan("--baseline", str(report), "--format", "json")  # English run, Chinese baseline
    assert {f["baseline_state"] for f in json.loads(again.stdout)["findings"]} == {"unchanged"}


def test_sarif_keeps_ids_and_says_its_language() -> None:
    log = json.loads(scan("--lang", "zh-CN", "--format", "sarif").stdout)
    assert schema_errors(log) == [] and github_problems(log) == []
    run = log["runs"][0]
    assert run["language"] == "zh-CN"
    result = run["results"][0]
    assert result["ruleId"].startswith("IMG-") and result["level"] in ("error", "warning", "note")
    assert chinese(result["message"]["text"]) and "地域 " in result["message"]["text"]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["id"] == "IMG-BIOS-ONLY" and chinese(rule["shortDescription"]["text"])
    assert "**修复建议:**" in rule["help"]["markdown"]
    english = json.loads(scan("--format", "sarif").stdout)["runs"][0]
    assert "language" not in english  # SARIF's default: en-US


def test_markdown_report() -> None:
    out = scan("--lang", "zh-CN", "--format", "markdown").stdout
    assert out.startswith("## imgaudit：❌ 未通过门禁（low 及以上级别即失败）\n")
    assert "| 风险等级 | 未解决 | 已豁免 |" in out and "| 🟧 高危 | 15 | 0 |" in out
    assert "### 按规则" in out and "### 主要问题" in out


def test_junit_messages() -> None:
    out = scan("--lang", "zh-CN", "--format", "junit").stdout
    root = ET.fromstring(out.encode("utf-8"))
    failure = root.find(".//testcase[@name='IMG-EOL-OS: 镜像未使用已停止维护（EOL）的操作系统']/failure")
    assert failure is not None and failure.get("type") == "high"
    assert failure.get("message") == ("IMG-EOL-OS（高危）在 6 个镜像上未通过："
                                      "镜像未使用已停止维护（EOL）的操作系统")
    assert "修复建议：在仍受支持的版本" in (failure.text or "")


def test_html_report_declares_its_language_and_carries_the_labels(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    scan("--lang", "zh-CN", "--html", str(path))
    page = path.read_bytes().decode("utf-8")  # written as UTF-8
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">')
    assert "<h2>扫描范围</h2>" in page and "<h2>按规则的合规情况</h2>" in page
    blob = page[page.index('id="data">') + 10:page.index("</script>")]
    labels: dict[str, Any] = json.loads(blob)["labels"]
    assert labels["severities"] == ["严重", "高危", "中危", "低危", "提示"]
    assert labels["shown"] == "共 {total} 个问题，匹配 {shown} 个"
    english = tmp_path / "en.html"
    scan("--html", str(english))
    assert english.read_text(encoding="utf-8").startswith('<!DOCTYPE html>\n<html lang="en">')
