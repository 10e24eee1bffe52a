"""The one list of report formats (auditor.formats) is what the CLI, the config file, the
reporters and the docs offer: a format added there shows up everywhere, or a test here fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cli_helpers import REPO, TWO_RULES, invoke

from auditor.formats import FILE_FORMATS, FORMATS, REPORT_FORMATS

PAGE = {"RequestId": "R-1", "RegionId": "cn-hangzhou", "TotalCount": 1, "Images": {"Image": [
    {"ImageId": "m-pub", "ImageOwnerAlias": "self", "IsPublic": True}]}}
FILE_NAMES = [fmt.name for fmt in FILE_FORMATS]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.json").write_text(json.dumps(PAGE), encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(TWO_RULES, encoding="utf-8")
    return tmp_path


def scan(*args: str):
    return invoke("scan", "--input", "page.json", "--no-builtin-rules", "--rules", "rules.yaml",
                  *args)


def test_every_format_has_a_unique_name_and_a_reporter_module() -> None:
    assert len(set(FORMATS)) == len(FORMATS) == len(REPORT_FORMATS)
    for fmt in REPORT_FORMATS:
        assert (REPO / "auditor" / "reporters" / f"{fmt.reporter}.py").is_file(), fmt.name


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_goes_to_stdout(fmt: str, workdir: Path) -> None:
    result = scan("--format", fmt)
    assert result.exit_code == 1, result.stderr
    assert "m-pub" in result.stdout


def test_every_file_format_has_its_option(workdir: Path) -> None:
    files = [arg for name in FILE_NAMES for arg in (f"--{name}", f"report.{name}")]
    assert scan(*files).exit_code == 1
    for name in FILE_NAMES:
        assert "m-pub" in (workdir / f"report.{name}").read_text(encoding="utf-8"), name
    shown = invoke("scan", "--help").stdout
    assert re.findall(r"--format \[([a-z|]+)\]", shown) == ["|".join(FORMATS)]
    for fmt in FILE_FORMATS:
        assert re.search(rf"--{fmt.name} PATH\s+Write {fmt.written}\.", shown), fmt.name


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_config_file_names_every_format(fmt: str, workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text(f"format: {fmt}\n", encoding="utf-8")
    first = scan().stdout[:30]  # the rest holds the time of the run
    assert first == scan("--format", fmt).stdout[:30]
    assert (first == scan("--format", "text").stdout[:30]) == (fmt == "text")


def test_the_config_file_refuses_a_format_not_registered(workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text("format: xml\n", encoding="utf-8")
    result = scan()
    assert result.exit_code == 2
    names = ", ".join(repr(name) for name in FORMATS[:-1]) + f" or {FORMATS[-1]!r}"
    assert f"imgaudit.yaml:1:9: format: Input should be {names}" in result.stderr


def test_the_readme_lists_the_registered_formats() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (stdout_row,) = re.findall(r"^\| `--format ([a-z\\|]+)` \|", readme, re.M)
    assert stdout_row.split("\\|") == list(FORMATS)
    (files_row,) = re.findall(r"^\| `(--[a-z/-]+) FILE` \| also write", readme, re.M)
    assert files_row.split("/") == [f"--{name}" for name in FILE_NAMES]
    (sentence,) = re.findall(r"Every report option \(([^)]+)\)", readme)
    assert sentence == ", ".join(f"`--{name}`" for name in FILE_NAMES)


def test_the_action_accepts_the_registered_file_formats() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    script = next(step["run"] for step in action["runs"]["steps"] if "IN_FORMATS" in
                  step.get("env", {}))
    (accepted,) = re.findall(r"^\s+([a-z|]+)\) ;;$", script, re.M)
    assert accepted.split("|") == FILE_NAMES
