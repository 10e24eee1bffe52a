"""`imgaudit scan --history` and `imgaudit history ...` end to end through the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import REPO, TWO_RULES, invoke

ACCOUNT = "1234567890123456"


def image(image_id: str, *, public: bool = False, nvme: str = "supported") -> dict[str, Any]:
    return {"ImageId": image_id, "ImageName": f"name-{image_id}", "ImageOwnerAlias": "self",
            "IsPublic": public, "Features": {"NvmeSupport": nvme}}


def write_inventory(path: Path, regions: dict[str, list[dict[str, Any]]], *,
                    incomplete: tuple[str, ...] = (), owners: tuple[str, ...] = ("self",)) -> Path:
    """A saved inventory (the form `imgaudit collect` writes), regions marked (in)complete."""
    doc = {
        "format": "imgaudit-inventory", "format_version": 1, "tool_version": "0.1.0",
        "collected_at": "2026-11-27T08:00:00Z", "source": "api", "account_id": ACCOUNT,
        "scope": {"owners": list(owners), "statuses": ["Available"], "filters": {}},
        "regions": [{"region": region, "complete": region not in incomplete,
                     "total_count": len(images), "request_ids": [],
                     "errors": ["Throttling.User"] if region in incomplete else [],
                     "images": images} for region, images in regions.items()],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(TWO_RULES)
    return tmp_path


def scan(inventory: Path, *args: str, history: str = "h.db", env: dict[str, str] | None = None):
    return invoke("scan", "--input", inventory, "--no-builtin-rules", "--rules", "rules.yaml",
                  "--format", "json", "--history", history, *args, env=env)


def hist(*args: str, env: dict[str, str] | None = None) -> Any:
    """`imgaudit history ARGS --format json`, its exit code checked, its JSON parsed."""
    result = invoke("history", *args, "--history", "h.db", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


FIRST = {"cn-hangzhou": [image("m-pub", public=True), image("m-old", nvme="no"), image("m-ok")],
         "cn-shanghai": [image("m-sh", public=True)]}


def test_scans_are_recorded_and_listed(workdir: Path) -> None:
    inv = write_inventory(workdir / "inv.json", FIRST)
    assert scan(inv).exit_code == 1
    assert scan(inv).exit_code == 1

    runs = hist("list")["runs"]
    assert [r["id"] for r in runs] == [1, 2]
    assert runs[0]["complete"] is True and runs[0]["started_at"].endswith("Z")
    assert runs[0]["counts"] == {"critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0}
    assert runs[0]["rule_counts"] == {"T-NVME": 1, "T-PUBLIC": 2}
    assert (runs[0]["new"], runs[1]["new"], runs[1]["fixed"]) == (3, 0, 0)
    assert runs[0]["scope"] == {"accounts": [ACCOUNT], "regions": ["cn-hangzhou", "cn-shanghai"],
                                "owners": ["self"], "statuses": ["Available"], "filters": {}}
    text = invoke("history", "list", "--history", "h.db")
    assert text.exit_code == 0
    assert "    1  " in text.stdout and "account 1234567890123456" in text.stdout


def test_diff_and_show_tell_new_fixed_and_open(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    second = {"cn-hangzhou": [image("m-pub"), image("m-old", nvme="no"), image("m-new", public=True)],
              "cn-shanghai": [image("m-sh", public=True)]}
    scan(write_inventory(workdir / "b.json", second))

    diff = hist("diff", "1", "2")
    assert (diff["from"]["id"], diff["to"]["id"]) == (1, 2)
    key = [(f["rule_id"], f["image_id"]) for f in diff["new"]]
    assert key == [("T-PUBLIC", "m-new")]
    assert [(f["rule_id"], f["image_id"], f["fixed_run"]) for f in diff["fixed"]] == [
        ("T-PUBLIC", "m-pub", 2)]
    assert sorted(f["image_id"] for f in diff["open"]) == ["m-old", "m-sh"]
    entry = diff["open"][0]
    for field in ("rule_id", "image_id", "region", "account", "first_seen", "first_seen_run",
                  "age_days", "severity", "title", "fingerprint", "waived"):
        assert field in entry
    assert entry["account"] == ACCOUNT and entry["first_seen_run"] == 1

    show = hist("show", "latest")
    assert show["run"]["id"] == 2 and (show["run"]["new"], show["run"]["fixed"]) == (1, 1)
    assert [f["image_id"] for f in show["new"]] == ["m-new"]
    assert [f["image_id"] for f in show["fixed"]] == ["m-pub"]
    text = invoke("history", "diff", "1", "2", "--history", "h.db").stdout
    assert "new (1):" in text and "fixed (1):" in text and "still open (2):" in text
    assert "m-new (name-m-new)" in text


def test_an_incomplete_region_never_marks_its_findings_fixed(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    partial = {"cn-hangzhou": FIRST["cn-hangzhou"], "cn-shanghai": []}
    result = scan(write_inventory(workdir / "b.json", partial, incomplete=("cn-shanghai",)))
    assert result.exit_code == 3

    run = hist("show", "2")["run"]
    assert run["complete"] is False and run["incomplete_regions"] == ["cn-shanghai"]
    assert run["fixed"] == 0
    diff = hist("diff", "1", "2")
    assert diff["fixed"] == [] and "m-sh" in [f["image_id"] for f in diff["open"]]
    text = invoke("history", "show", "2", "--history", "h.db").stdout
    assert "complete: NO (incomplete regions: cn-shanghai" in text

    scan(write_inventory(workdir / "c.json", partial))  # complete now, and m-sh is gone
    assert [f["image_id"] for f in hist("show", "3")["fixed"]] == ["m-sh"]


def test_waived_findings_are_marked_and_not_counted(workdir: Path) -> None:
    (workdir / "imgaudit.yaml").write_text(
        "waivers:\n  - {rule: T-PUBLIC, images: [m-sh], reason: r, owner: o, expires: 2999-01-01}\n")
    scan(write_inventory(workdir / "a.json", FIRST))
    run = hist("list")["runs"][0]
    assert run["counts"]["high"] == 1 and run["waived"] == 1
    waived = {f["image_id"]: f["waived"] for f in hist("show", "1")["new"]}
    assert waived == {"m-sh": True, "m-pub": False, "m-old": False}


def test_trend_counts_runs_ages_and_fixes(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    scan(write_inventory(workdir / "b.json", {"cn-hangzhou": [image("m-ok")], "cn-shanghai": []}))

    trend = hist("trend")
    assert [(r["id"], r["new"], r["fixed"]) for r in trend["runs"]] == [(1, 3, 0), (2, 0, 3)]
    assert trend["runs"][1]["counts"] == dict.fromkeys(
        ["critical", "high", "medium", "low", "info"], 0)
    assert [b["label"] for b in trend["open_by_age"]] == [
        "< 7 days", "7-30 days", "30-90 days", "90-365 days", ">= 365 days"]
    assert sum(b["total"] for b in trend["open_by_age"]) == 0
    assert trend["time_to_fix"]["high"] == {"fixed": 2, "mean_days": 0.0}
    assert trend["time_to_fix"]["critical"] == {"fixed": 0, "mean_days": None}
    text = invoke("history", "trend", "--history", "h.db").stdout
    assert "open findings by age" in text and "mean time to fix" in text


def test_prune_keeps_each_scopes_latest_run(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    scan(write_inventory(workdir / "b.json", {"cn-hangzhou": [], "cn-shanghai": []}))
    scan(inv)
    answer = hist("prune", "--keep-days", "0")
    assert (answer["runs_removed"], answer["runs_kept"], answer["findings_removed"]) == (2, 1, 3)
    assert [r["id"] for r in hist("list")["runs"]] == [3]
    assert len(hist("show", "3")["new"]) == 3
    assert hist("prune", "--keep-days", "30")["runs_removed"] == 0


def test_history_from_the_environment_and_the_config_file(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    result = invoke("scan", "--input", inv, "--no-builtin-rules", "--rules", "rules.yaml",
                    env={"IMGAUDIT_HISTORY": "env.db"})
    assert result.exit_code == 1 and (workdir / "env.db").is_file()
    listed = invoke("history", "list", "--format", "json", env={"IMGAUDIT_HISTORY": "env.db"})
    assert len(json.loads(listed.stdout)["runs"]) == 1

    (workdir / "conf").mkdir()
    (workdir / "conf" / "imgaudit.yaml").write_text("history: cfg.db\n")
    invoke("scan", "--input", inv, "--no-builtin-rules", "--rules", "rules.yaml",
           "--config", "conf/imgaudit.yaml")
    assert (workdir / "conf" / "cfg.db").is_file()  # relative to the config file, like rules
    listed = invoke("history", "list", "--config", "conf/imgaudit.yaml")
    assert listed.exit_code == 0 and "    1  " in listed.stdout

    missing = invoke("history", "list")
    assert missing.exit_code == 2 and "no history file: give --history FILE" in missing.stderr


def test_two_processes_recording_at_once_both_land(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    command = [sys.executable, "-m", "auditor", "scan", "--input", str(inv), "--no-builtin-rules",
               "--rules", "rules.yaml", "--format", "json", "--history", "h.db"]
    procs = [subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env={"PYTHONPATH": str(REPO)})
             for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [1, 1], errors
    runs = hist("list")["runs"]
    assert [r["id"] for r in runs] == [1, 2] and [r["new"] for r in runs] == [3, 0]


# --- bad input: one line, exit 2, the file as it was ---------------------------------------


def _one_line_error(result: Any, text: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert text in result.stderr


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The database's bytes: the file and its write-ahead log (the -shm is only an index)."""
    files = [folder / "h.db", folder / "h.db-wal"]
    return {p.name: p.read_bytes() for p in files if p.exists() and p.stat().st_size}


def test_a_history_in_a_missing_folder(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    result = scan(inv, history="nope/h.db")
    _one_line_error(result, "folder nope does not exist")
    assert json.loads(result.stdout)["error"]["code"] == "input.invalid"  # docs/errors.md
    assert not (workdir / "nope").exists()
    _one_line_error(invoke("history", "list", "--history", "nope/h.db"), "does not exist")


def test_a_read_only_history_file(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    (workdir / "h.db").chmod(0o444)
    before = _snapshot(workdir)
    _one_line_error(scan(inv), "the history file is read-only; nothing was recorded")
    _one_line_error(invoke("history", "prune", "--keep-days", "1", "--history", "h.db"),
                    "read-only")
    assert _snapshot(workdir) == before
    assert len(hist("list")["runs"]) == 1  # reading a read-only history works


def test_a_locked_history_beyond_the_timeout(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    holder = sqlite3.connect(workdir / "h.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        before = _snapshot(workdir)
        env = {"IMGAUDIT_HISTORY_TIMEOUT": "0.2"}
        _one_line_error(scan(inv, env=env), "locked by another imgaudit (waited 0.2 s)")
        _one_line_error(invoke("history", "prune", "--keep-days", "0", "--history", "h.db",
                               env=env), "locked")
        assert _snapshot(workdir) == before
    finally:
        holder.rollback()
        holder.close()
    assert len(hist("list")["runs"]) == 1


def test_a_history_from_a_newer_imgaudit(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    with sqlite3.connect(workdir / "h.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = _snapshot(workdir)
    _one_line_error(scan(inv), "written by a newer imgaudit (history schema 99; this imgaudit "
                               "reads up to 1)")
    _one_line_error(invoke("history", "list", "--history", "h.db"), "newer imgaudit")
    assert _snapshot(workdir) == before


def test_diff_of_runs_of_different_scopes(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    scan(write_inventory(workdir / "b.json", {"cn-hangzhou": FIRST["cn-hangzhou"]}))
    before = _snapshot(workdir)
    _one_line_error(invoke("history", "diff", "1", "2", "--history", "h.db"),
                    "runs 1 and 2 have different scopes")
    assert _snapshot(workdir) == before
    assert [r["scope_id"] for r in hist("list")["runs"]] == [1, 2]
    assert [r["id"] for r in hist("trend")["runs"]] == [2]
    assert [r["id"] for r in hist("trend", "--scope", "1")["runs"]] == [1]


@pytest.mark.parametrize(("content", "problem"), [
    (b"not a database at all\n", "not an imgaudit history (not an SQLite database)"),
    (b"SQLite format 3\x00" + b"\xff" * 600, "not a usable imgaudit history"),
])
def test_files_that_are_not_a_history_are_never_written(workdir: Path, content: bytes,
                                                        problem: str) -> None:
    (workdir / "h.db").write_bytes(content)
    inv = write_inventory(workdir / "a.json", FIRST)
    _one_line_error(scan(inv), problem)
    _one_line_error(invoke("history", "list", "--history", "h.db"), "h.db: ")
    assert (workdir / "h.db").read_bytes() == content


def test_an_sqlite_file_of_another_application_is_refused(workdir: Path) -> None:
    with sqlite3.connect(workdir / "h.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    before = _snapshot(workdir)
    inv = write_inventory(workdir / "a.json", FIRST)
    _one_line_error(scan(inv), "not an imgaudit history (an SQLite file of another application)")
    _one_line_error(invoke("history", "list", "--history", "h.db"), "another application")
    assert _snapshot(workdir) == before


def test_a_damaged_history_is_refused(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    scan(inv)
    with sqlite3.connect(workdir / "h.db") as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'findings'").fetchone()[0]
    conn.close()
    data = bytearray((workdir / "h.db").read_bytes())
    start = (root - 1) * size
    data[start: start + size] = b"\x07" * size  # scribble over the findings table
    (workdir / "h.db").write_bytes(bytes(data))
    before = _snapshot(workdir)
    result = scan(inv)
    assert result.exit_code == 2 and "h.db: " in result.stderr and "Traceback" not in result.stderr
    assert _snapshot(workdir) == before


def test_unknown_runs_and_bad_timeouts(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    _one_line_error(invoke("history", "show", "7", "--history", "h.db"), "no run 7")
    _one_line_error(invoke("history", "show", "x", "--history", "h.db"), "expected a run id")
    _one_line_error(invoke("history", "list", "--history", "h.db",
                           env={"IMGAUDIT_HISTORY_TIMEOUT": "soon"}),
                    "IMGAUDIT_HISTORY_TIMEOUT='soon'")


# --- reports show change (with --history) -------------------------------------------------


def test_reports_say_what_is_new_and_fixed_since_the_last_complete_run(workdir: Path) -> None:
    first = json.loads(scan(write_inventory(workdir / "a.json", FIRST)).stdout)
    trend, ages = first["history"].pop("trend"), first["history"].pop("ages")
    assert first["history"] == {"path": "h.db", "run": 1, "previous_run": None,
                                "previous_started_at": None, "new": 3, "fixed": []}
    assert [(r["run"], r["complete"], r["counts"]["high"], r["new"]) for r in trend] == [
        (1, True, 2, 3)]
    assert ages[0] == {"label": "< 7 days", "min_days": 0, "max_days": 7,
                       "counts": {"critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0}}
    assert {(f["first_seen_run"], f["age_days"]) for f in first["findings"]} == {(1, 0)}
    assert first["findings"][0]["first_seen"] == first["scan"]["started_at"][:19] + "Z"

    # an incomplete run between: the next report still compares with run 1, the complete one
    partial = {"cn-hangzhou": [image("m-old", nvme="no")], "cn-shanghai": []}
    scan(write_inventory(workdir / "b.json", partial, incomplete=("cn-shanghai",)))
    third = {"cn-hangzhou": [image("m-old", nvme="no"), image("m-new", public=True)],
             "cn-shanghai": [image("m-sh", public=True)]}
    report = json.loads(scan(write_inventory(workdir / "c.json", third)).stdout)
    history = report["history"]
    assert (history["run"], history["previous_run"], history["new"]) == (3, 1, 1)
    assert history["previous_started_at"] == first["scan"]["started_at"][:19] + "Z"
    assert [(f["rule_id"], f["image_id"]) for f in history["fixed"]] == [("T-PUBLIC", "m-pub")]
    runs = {f["image_id"]: f["first_seen_run"] for f in report["findings"]}
    assert runs == {"m-old": 1, "m-new": 3, "m-sh": 1}
    assert [(r["run"], r["complete"], r["fixed"]) for r in history["trend"]] == [
        (1, True, 0), (2, False, 1), (3, True, 0)]  # m-pub: gone from a complete region

    text = invoke("scan", "--input", workdir / "c.json", "--no-builtin-rules", "--rules",
                  "rules.yaml", "--history", "h.db").stdout
    assert "history h.db: run 4; since run 3 (" in text and "0 new, 0 fixed" in text
    assert "m-new is public  [first seen " in text and "(run 3), age 0 d]" in text


def test_text_marks_new_findings_and_names_the_fixed(workdir: Path) -> None:
    scan(write_inventory(workdir / "a.json", FIRST))
    second = {"cn-hangzhou": [image("m-old", nvme="no"), image("m-new", public=True)],
              "cn-shanghai": [image("m-sh", public=True)]}
    text = invoke("scan", "--input", write_inventory(workdir / "b.json", second),
                  "--no-builtin-rules", "--rules", "rules.yaml", "--history", "h.db").stdout
    assert "m-new is public  [new; first seen " in text
    assert "m-sh is public  [first seen " in text and "(run 1), age 0 d]" in text
    assert "since run 1 (" in text and "1 new, 1 fixed\n  fixed: T-PUBLIC cn-hangzhou m-pub" in text


def test_without_history_reports_carry_no_history_fields(workdir: Path) -> None:
    inv = write_inventory(workdir / "a.json", FIRST)
    report = json.loads(invoke("scan", "--input", inv, "--no-builtin-rules", "--rules",
                               "rules.yaml", "--format", "json").stdout)
    assert report["history"] is None
    assert {(f["first_seen"], f["first_seen_run"]) for f in report["findings"]} == {(None, None)}


def test_history_text_shows_control_characters_escaped(workdir: Path) -> None:
    hostile = image("m-evil", public=True) | {"ImageName": "x\x1b]0;owned\x07\rPASSED"}
    scan(write_inventory(workdir / "a.json", {"cn-hangzhou": [hostile]}))
    text = invoke("history", "show", "1", "--history", "h.db").stdout
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "(x\\x1b]0;owned\\x07\\rPASSED)" in text


def test_imgaudit_now_sets_the_clock_of_scans_and_prune(workdir: Path) -> None:
    """A synthetic month (the examples in reports/) needs a settable clock: IMGAUDIT_NOW."""
    (workdir / "imgaudit.yaml").write_text(
        "waivers:\n  - {rule: T-PUBLIC, images: [m-sh], reason: r, owner: o, expires: 2026-11-10}\n")
    inventory = write_inventory(workdir / "a.json", FIRST)
    first = json.loads(scan(inventory, env={"IMGAUDIT_NOW": "2026-11-01T08:00:00Z"}).stdout)
    assert first["scan"]["started_at"] == first["scan"]["finished_at"] == "2026-11-01T08:00:00Z"
    assert [w["state"] for w in first["waivers"]] == ["expiring"]  # 9 days to go: today is set
    second = scan(inventory, env={"IMGAUDIT_NOW": "2026-11-15T08:00:00+08:00"})
    report = json.loads(second.stdout)
    assert report["scan"]["started_at"] == "2026-11-15T00:00:00Z"  # any zone, kept in UTC
    assert [w["state"] for w in report["waivers"]] == ["expired"] and second.exit_code == 1
    assert {f["first_seen"] for f in report["findings"]} == {"2026-11-01T08:00:00Z"}
    trend = hist("trend")
    assert [r["started_at"] for r in trend["runs"]] == ["2026-11-01T08:00:00Z",
                                                        "2026-11-15T00:00:00Z"]
    # 13.7 days old, all three: m-sh's waiver has expired, so it counts as open from run 2 on
    assert [b["total"] for b in trend["open_by_age"]][:2] == [0, 3]
    assert [r["waived"] for r in hist("list")["runs"]] == [1, 0]

    pruned = hist("prune", "--keep-days", "10", env={"IMGAUDIT_NOW": "2026-11-20T00:00:00Z"})
    assert (pruned["cutoff"], pruned["runs_removed"]) == ("2026-11-10T00:00:00Z", 1)

    for value in ("2026-11-01", "yesterday"):
        bad = scan(inventory, env={"IMGAUDIT_NOW": value})
        assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
        assert f"IMGAUDIT_NOW={value!r}: expected an ISO 8601 time" in bad.stderr
    assert [r["id"] for r in hist("list")["runs"]] == [2]
