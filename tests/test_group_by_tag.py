"""`scan --group-by-tag KEY`: findings by an image tag's value in the text, Markdown and HTML
reports, with an untagged group; through the CLI, over a DescribeImages-shaped input file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import TWO_RULES, invoke

EVIL = "\x1b[31m<script>alert(1)</script>|[x](http://e)\nHIGH (9)"


def _image(image_id: str, public: bool, tags: dict[str, str], nvme: bool = False) -> dict:
    image = {"ImageId": image_id, "ImageOwnerAlias": "self", "IsPublic": public,
             "Features": {"NvmeSupport": "supported" if nvme else "unsupported"}}
    if tags:
        image["Tags"] = {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}
    return image


@pytest.fixture
def scan_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name in ("NO_COLOR", "FORCE_COLOR", "IMGAUDIT_COLOR", "IMGAUDIT_FORMAT",
                 "IMGAUDIT_GROUP_BY_TAG", "IMGAUDIT_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./imgaudit.yaml
    images = [
        _image("m-alice", True, {"owner": "alice", "env": "prod"}),   # 2 findings
        _image("m-bob", False, {"owner": "bob"}),                     # 1 (NVMe)
        _image("m-bare", True, {}),                                   # 2, untagged
        _image("m-case", False, {"Owner": "carol"}),                  # 1, untagged: keys are
        _image("m-evil", True, {"owner": EVIL}, nvme=True),           # 1   case-sensitive
        _image("m-fine", False, {"owner": "dave"}, nvme=True),        # 0
    ]
    (tmp_path / "images.json").write_text(json.dumps(
        {"RequestId": "R", "RegionId": "cn-hangzhou", "TotalCount": len(images),
         "Images": {"Image": images}}))
    (tmp_path / "rules.yaml").write_text(TWO_RULES)
    return ["scan", "--input", str(tmp_path / "images.json"), "--no-builtin-rules",
            "--rules", str(tmp_path / "rules.yaml"), "--color", "never"]


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 1, result.stderr
    return result.stdout


def _sections(text: str) -> dict[str, str]:
    """The text report's `== heading ==` groups, by heading."""
    parts = re.split(r"^== (.*) ==$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_text_groups_findings_by_the_tag_value_then_untagged(scan_args: list[str]) -> None:
    text = _run(*scan_args, "--group-by-tag", "owner")
    sections = _sections(text)
    evil = "tag owner=\\x1b[31m<script>alert(1)</script>|[x](http://e)\\nHIGH (9) (1)"
    assert list(sections) == [evil, "tag owner=alice (2)", "tag owner=bob (1)",  # by value
                              "untagged (no tag owner) (3)"]
    images = {h: set(re.findall(r"m-[a-z]+", body)) for h, body in sections.items()}
    assert images["tag owner=alice (2)"] == {"m-alice"}
    assert images["tag owner=bob (1)"] == {"m-bob"}
    assert images[evil] == {"m-evil"}
    assert images["untagged (no tag owner) (3)"] == {"m-bare", "m-case"}
    assert "\x1b" not in text and "\nHIGH (9)" not in text  # the value forges no line
    # within a group: by severity, then rule, as without grouping
    assert "\nHIGH (1)\n  T-PUBLIC" in sections["tag owner=alice (2)"]
    assert text.rstrip().endswith("fail-on low: FAILED")


def test_tag_keys_are_case_sensitive(scan_args: list[str]) -> None:
    sections = _sections(_run(*scan_args, "--group-by-tag", "Owner"))
    assert list(sections) == ["tag Owner=carol (1)", "untagged (no tag Owner) (6)"]


def test_without_the_option_the_reports_are_unchanged(scan_args: list[str],
                                                      tmp_path: Path) -> None:
    plain = _run(*scan_args, "--markdown", str(tmp_path / "a.md"), "--html",
                 str(tmp_path / "a.html"))
    assert "== " not in plain and "untagged" not in plain
    grouped = _run(*scan_args, "--group-by-tag", "owner")
    # the same finding lines, only regrouped
    assert sorted(x for x in plain.splitlines() if x.startswith("    ")) == \
        sorted(x for x in grouped.splitlines() if x.startswith("    "))
    md = (tmp_path / "a.md").read_text()
    assert "By tag" not in md and "####" not in md
    html = (tmp_path / "a.html").read_text()
    assert 'id="by-tag"' not in html and 'id="f-tag"' not in html
    assert '"group_tag":null' in html


def test_markdown_groups_findings_with_a_table_of_tag_values(scan_args: list[str],
                                                             tmp_path: Path) -> None:
    _run(*scan_args, "--group-by-tag", "owner", "--markdown", str(tmp_path / "r.md"))
    md = (tmp_path / "r.md").read_text()
    assert "### By tag owner\n\n| Tag owner | Images | Open findings |\n|---|--:|--:|\n" in md
    assert "| tag owner=alice | 1 | 2 |\n| tag owner=bob | 1 | 1 |\n" \
           "| untagged (no tag owner) | 2 | 3 |\n" in md
    headings = re.findall(r"^#### (.*)$", md, flags=re.M)
    assert headings[1] == "tag owner=alice (2)" and headings[2] == "tag owner=bob (1)"
    assert headings[-1] == "untagged (no tag owner) (3)"
    section = md.split("#### untagged (no tag owner) (3)")[1]
    assert "m-bare" in section and "m-case" in section and "m-alice" not in section
    # the hostile value adds no markup, link, HTML or table column, and stays on its line
    assert "<script>" not in md and "](http" not in md and "\x1b" not in md
    evil_row = next(line for line in md.splitlines() if "alert" in line and line.startswith("| "))
    assert evil_row.count(" | ") == 2 and "&lt;script" in evil_row and "\\|" in evil_row


def test_html_offers_the_tag_as_a_filter_and_a_table(scan_args: list[str],
                                                     tmp_path: Path) -> None:
    _run(*scan_args, "--html", str(tmp_path / "plain.html"))
    _run(*scan_args, "--group-by-tag", "owner", "--html", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert '<select id="f-tag"><option value="">all</option>' \
           '<option value="-2">untagged (no tag owner)</option></select>' in html
    table = html.split('id="by-tag"')[1].split("</table>")[0]
    assert '<a href="#" data-filter-tag="alice">tag owner=alice</a></td>' \
           '<td class="num">1</td><td class="num">2</td>' in table
    assert '<a href="#" data-filter-untagged="">untagged (no tag owner)</a></td>' \
           '<td class="num">2</td><td class="num">3</td>' in table
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "\x1b" not in html
    data = json.loads(html.split('<script type="application/json" id="data">')[1]
                      .split("</script>")[0])
    assert data["group_tag"] == "owner"
    strings, image = data["strings"], data["columns"]["image"]
    tags = {strings[row[image.index("id")]]: row[image.index("tag")] for row in data["images"]}
    assert strings[tags["m-alice"]] == "alice" and tags["m-bare"] == tags["m-case"] == -1
    # the same Content-Security-Policy as without grouping
    csp = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]*">')
    assert csp.findall(html) == csp.findall((tmp_path / "plain.html").read_text())


def test_env_var_and_config_key(scan_args: list[str], tmp_path: Path) -> None:
    env = _run(*scan_args, env={"IMGAUDIT_GROUP_BY_TAG": "owner"})
    assert "== tag owner=alice (2) ==" in env
    (tmp_path / "cfg.yaml").write_text("group_by_tag: Owner\n")
    config = _run(*scan_args, "--config", str(tmp_path / "cfg.yaml"))
    assert "== tag Owner=carol (1) ==" in config
    wins = _run(*scan_args, "--config", str(tmp_path / "cfg.yaml"), "--group-by-tag", "owner")
    assert "== tag owner=bob (1) ==" in wins


def test_chinese_reports_name_the_untagged_group(scan_args: list[str], tmp_path: Path) -> None:
    text = _run(*scan_args, "--group-by-tag", "owner", "--lang", "zh-CN",
                "--markdown", str(tmp_path / "r.md"))
    untagged = "未打标签\uff08无标签 owner\uff09"  # full-width parentheses, as Chinese has them
    assert f"== {untagged}\uff083\uff09 ==" in text
    assert f"#### {untagged} (3)" in (tmp_path / "r.md").read_text()
