"""Which rules run: `--rule`, `--skip-rule`, `--min-severity`, their config keys and environment
variables, and `rules list` filters, through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, invoke

INVENTORY = str(EXAMPLES / "inventory.json")
BUILTIN = sorted(p.stem for p in (EXAMPLES.parent / "rules").glob("*.yaml"))


@pytest.fixture(autouse=True)
def no_selection_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("IMGAUDIT_RULE", "IMGAUDIT_SKIP_RULE", "IMGAUDIT_MIN_SEVERITY",
                 "IMGAUDIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./imgaudit.yaml unless a test writes one


def ran(*args: str, env: dict[str, str] | None = None, code: int | None = None) -> list[str]:
    """The rule ids a scan of the example inventory ran (from its JSON report)."""
    result = invoke("scan", "--input", INVENTORY, "--format", "json", *args, env=env)
    assert result.exit_code in ((0, 1) if code is None else (code,)), result.stderr
    return [rule["id"] for rule in json.loads(result.stdout)["rules"]]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "imgaudit.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_rule_runs_only_the_rules_named_or_globbed() -> None:
    assert ran("--rule", "IMG-NVME") == ["IMG-NVME"]
    assert ran("--rule", "IMG-*-RISK", "--rule", "IMG-EOL-OS") == [
        "IMG-EOL-OS", "IMG-HIGH-RISK", "IMG-MEDIUM-RISK"]


def test_skip_rule_drops_rules_and_wins_over_rule() -> None:
    assert ran("--skip-rule", "IMG-*") == []
    assert sorted(ran("--skip-rule", "IMG-N*")) == [
        r for r in BUILTIN if not r.startswith("IMG-N")]
    assert ran("--rule", "IMG-*-RISK", "--skip-rule", "IMG-MEDIUM-RISK") == ["IMG-HIGH-RISK"]


def test_findings_come_only_from_the_rules_run() -> None:
    result = invoke("scan", "--input", INVENTORY, "--format", "json", "--rule", "IMG-I386")
    findings = json.loads(result.stdout)["findings"]
    assert findings and {f["rule_id"] for f in findings} == {"IMG-I386"}


def test_min_severity_runs_nothing_below_it_after_overrides(tmp_path: Path) -> None:
    high = ran("--min-severity", "high")
    assert sorted(high) == ["IMG-COMMUNITY-OTHERS", "IMG-EOL-OS", "IMG-HIGH-RISK",
                            "IMG-PUBLIC-SELF", "IMG-SHARED-EVERYONE", "IMG-SHARED-OUTSIDE"]
    # the example config raises IMG-UNENCRYPTED-DISK to high: it then runs
    with_overrides = ran("--min-severity", "high", "--config", str(EXAMPLES / "imgaudit.yaml"))
    assert sorted(with_overrides) == sorted([*high, "IMG-UNENCRYPTED-DISK"])


def test_nothing_selected_warns_and_passes() -> None:
    result = invoke("scan", "--input", INVENTORY, "--min-severity", "critical")
    assert result.exit_code == 0
    assert "imgaudit: WARNING: no rule selected: nothing is checked" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--rule", "IMG-NVMEE"), "unknown rule id 'IMG-NVMEE' (did you mean 'IMG-NVME'?)"),
    (("--skip-rule", "IMG-HIGH-RISKS"),
     "unknown rule id 'IMG-HIGH-RISKS' (did you mean 'IMG-HIGH-RISK'?)"),
    (("--rule", "ACME-*"),
     "glob 'ACME-*' matches no rule id; `imgaudit rules list` shows the rules in force"),
    (("--rule", "nope"), "unknown rule id 'nope'; `imgaudit rules list` shows the rules in force"),
])
def test_a_name_that_matches_nothing_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    result = invoke("scan", "--input", INVENTORY, *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"imgaudit: error: {message}\n"


def test_an_unknown_min_severity_lists_the_choices() -> None:
    result = invoke("scan", "--input", INVENTORY, "--min-severity", "severe")
    assert result.exit_code == 2
    assert "'severe' is not one of 'critical', 'high', 'medium', 'low', 'info'" in result.stderr


def test_config_keys_select_disable_min_severity(tmp_path: Path) -> None:
    config(tmp_path, """\
        select: ["IMG-*-RISK", IMG-EOL-OS, IMG-I386]
        disable: [IMG-MEDIUM-*]
        min_severity: low
        """)
    assert ran() == ["IMG-EOL-OS", "IMG-HIGH-RISK", "IMG-I386"]


def test_command_line_beats_environment_beats_config(tmp_path: Path) -> None:
    config(tmp_path, "select: [IMG-NVME]\nmin_severity: high\n")
    assert ran() == []  # IMG-NVME is low
    assert ran(env={"IMGAUDIT_MIN_SEVERITY": "low"}) == ["IMG-NVME"]
    assert ran(env={"IMGAUDIT_RULE": "IMG-EOL-OS IMG-I386"}) == ["IMG-EOL-OS"]
    assert ran("--rule", "IMG-I386", "--min-severity", "info",
               env={"IMGAUDIT_RULE": "IMG-EOL-OS", "IMGAUDIT_MIN_SEVERITY": "high"}) == [
        "IMG-I386"]


def test_a_config_name_matching_nothing_points_at_the_config(tmp_path: Path) -> None:
    config(tmp_path, "select: [IMG-NVME]\nmin_severity: severe\n")
    result = invoke("scan", "--input", INVENTORY)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "imgaudit: error: imgaudit.yaml:2:15: min_severity: Input should be 'critical', 'high', "
        "'medium', 'low' or 'info'",
    ]
    config(tmp_path, "select: [IMG-NVME, ACME-*]\ndisable: [IMG-NVMe]\n")
    result = invoke("scan", "--input", INVENTORY)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "imgaudit: error: imgaudit.yaml:1:20: glob 'ACME-*' matches no rule id; "
        "`imgaudit rules list` shows the rules in force",
        "imgaudit: error: imgaudit.yaml:2:11: unknown rule id 'IMG-NVMe' "
        "(did you mean 'IMG-NVME'?)",
    ]


def test_waivers_of_rules_not_run_are_not_stale() -> None:
    example = str(EXAMPLES / "imgaudit.yaml")
    result = invoke("scan", "--input", INVENTORY, "--config", example, "--format", "json",
                    "--rule", "IMG-NVME")
    assert json.loads(result.stdout)["waivers"] == []
    assert "stale" not in invoke("scan", "--input", INVENTORY, "--config", example,
                                 "--rule", "IMG-NVME").stdout


def rules_list(*args: str) -> list[str]:
    result = invoke("rules", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return [rule["id"] for rule in json.loads(result.stdout)]


def test_rules_list_filters_by_severity_and_tag() -> None:
    assert rules_list("--severity", "high") == [
        "IMG-COMMUNITY-OTHERS", "IMG-EOL-OS", "IMG-HIGH-RISK", "IMG-PUBLIC-SELF",
        "IMG-SHARED-EVERYONE", "IMG-SHARED-OUTSIDE"]
    assert rules_list("--severity", "high,medium", "--tag", "exposure") == [
        "IMG-PUBLIC-SELF", "IMG-SELF-SHARED", "IMG-SHARED-EVERYONE", "IMG-SHARED-OUTSIDE"]
    assert rules_list("--severity", "info", "--severity", "HIGH", "--tag", "image-check") == [
        "IMG-DETECTION-UNFINISHED", "IMG-HIGH-RISK"]
    assert rules_list("--tag", "no-such-tag") == []


def test_rules_list_shows_what_a_scan_would_run(tmp_path: Path) -> None:
    assert rules_list("--rule", "IMG-*-RISK", "--min-severity", "high") == ["IMG-HIGH-RISK"]
    config(tmp_path, "disable: [IMG-NVME]\n")
    assert "IMG-NVME" not in rules_list() and len(rules_list()) == len(BUILTIN) - 1


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_rules_list_formats_carry_the_filter(fmt: str) -> None:
    result = invoke("rules", "list", "--format", fmt, "--tag", "sharing")
    assert result.exit_code == 0
    assert "IMG-PUBLIC-SELF" in result.stdout and "IMG-SELF-SHARED" in result.stdout
    assert "IMG-NVME" not in result.stdout


def test_rules_list_rejects_an_unknown_severity() -> None:
    result = invoke("rules", "list", "--severity", "high,severe")
    assert result.exit_code == 2
    assert ("unknown severity 'severe'; choose from critical, high, medium, low, info"
            in result.stderr)


def test_a_baseline_counts_nothing_fixed_for_rules_not_run(tmp_path: Path) -> None:
    full = invoke("scan", "--input", INVENTORY, "--json", "base.json")
    assert full.exit_code == 1
    result = invoke("scan", "--input", INVENTORY, "--format", "json", "--rule", "IMG-I386",
                    "--baseline", "base.json")
    baseline = json.loads(result.stdout)["baseline"]
    assert (baseline["new"], baseline["fixed"]) == (0, [])
    assert baseline["unchanged"] > 0
