"""scripts/render_examples.py: the example reports in reports/ are the last day of a synthetic
month of scans recorded in a history, reproducible byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "render_examples.py"

sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "examples"))
import make_inventory  # noqa: E402  (examples/ and scripts/ are not packages)
import render_examples as month  # noqa: E402


def render(out: Path, *args: str) -> list[str]:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], check=True,
                   capture_output=True, text=True)
    return sorted(p.name for p in out.iterdir())


def test_the_month_ends_with_the_example_inventory_and_changes_before() -> None:
    last = month.inventory_on(month.LAST_DAY)
    assert last == make_inventory.build()  # the last day is exactly examples/inventory.json
    names = {i["ImageName"] for r in last["regions"] for i in r["images"]}
    assert {name for _, name, _, _ in month.CHANGED} <= names
    assert not {make().get("ImageName") for _, _, _, make in month.EPHEMERAL} & names
    day, region, _ = month.THROTTLED
    throttled = {r["region"]: r for r in month.inventory_on(month._day(day))["regions"]}
    assert not throttled[region]["complete"] and throttled[region]["errors"]
    first = month.inventory_on(month.LAST_DAY.replace(month=10, day=29))
    assert first["collected_at"] == "2026-10-29T08:00:00Z"
    created = [i["CreationTime"] for r in first["regions"] for i in r["images"]]
    assert max(created) < "2026-10-29T08:00:00Z"  # nothing from the future


def test_a_short_month_is_reproducible_and_shows_what_changed(tmp_path: Path) -> None:
    files = render(tmp_path / "a", "--days", "3")
    assert files == sorted([*month.REPORTS.values(), month.TEXT, month.TREND])
    assert render(tmp_path / "b", "--days", "3") == files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    report = json.loads((tmp_path / "a" / "example.json").read_text(encoding="utf-8"))
    assert report["scan"]["started_at"] == "2026-11-27T08:00:00Z"
    history = report["history"]
    assert (history["run"], history["previous_run"], history["new"]) == (3, 2, 1)
    export = make_inventory._id("m", "cn-hangzhou", "export-centos7-2026-11-24")
    fixed = sorted((f["rule_id"], f["image_id"]) for f in history["fixed"])
    assert fixed == [("IMG-EOL-OS", export), ("IMG-PUBLIC-SELF", export)]
    first_seen = {(f["rule_id"], f["image_name"]): f["first_seen"] for f in report["findings"]}
    assert first_seen.pop(("IMG-SELF-SHARED", "shared-qa-ubuntu22-2026-10-12")) == (
        "2026-11-27T08:00:00Z")
    assert first_seen[("IMG-CREATE-FAILED", "batch-alinux3-2026-11-20")] == "2026-11-25T08:00:00Z"
    states = {w["owner"]: w["state"] for w in report["waivers"]}
    assert states["dba-team@example.com"] == "expired"  # lapsed during the month
    assert states["it-team@example.com"] == "expiring"  # a week after it

    text = (tmp_path / "a" / "example.txt").read_text(encoding="utf-8")
    assert "since run 2 (2026-11-26 08:00 UTC): 1 new, 2 fixed" in text
    trend = (tmp_path / "a" / "history-trend.txt").read_text(encoding="utf-8")
    assert "2026-11-25 08:00" in trend and "mean time to fix" in trend


@pytest.mark.slow
def test_reports_are_what_the_generator_writes(tmp_path: Path) -> None:
    """reports/ is regenerated whenever a report changes: `python3 scripts/render_examples.py`."""
    files = render(tmp_path)
    assert sorted(p.name for p in (REPO / "reports").iterdir()) == files
    stale = [name for name in files
             if (tmp_path / name).read_bytes() != (REPO / "reports" / name).read_bytes()]
    assert not stale, f"reports/ is out of date ({stale}): run python3 scripts/render_examples.py"
