"""JSON Lines inventories and the streamed scan, through the CLI: collect -> FILE.jsonl ->
scan --input (the fake endpoint over HTTP), the same answers as the JSON document, batches
of images across regions and accounts, and odd or broken lines."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli_helpers import CliResult
from fakeecs import FakeEndpoint, image, many_images

from auditor.inventory import BATCH

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synth import generate  # the benchmark's generator of varied images

pytest_plugins = ["fakeecs.fixtures"]

Run = Callable[..., CliResult]
HEADER = {"format": "imgaudit-inventory", "format_version": 1, "layout": "jsonl",
          "tool_version": "0", "collected_at": "2026-01-01T00:00:00Z", "account_id": "111",
          "regions": [{"region": "cn-a", "complete": True, "total_count": 3}]}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write_lines(path: Path, *docs: Any) -> Path:
    path.write_text("".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs))
    return path


def _report(run_cli: Run, *args: Any, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run_cli("scan", *args, "--format", "json", "--fail-on", "never", env=env)
    assert result.exit_code in (0, 3), result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _same_scan(one: dict[str, Any], two: dict[str, Any]) -> None:
    for key in ("findings", "rules", "regions", "data_quality", "waivers"):
        assert one[key] == two[key], key
    for key in ("images", "complete", "accounts", "account_id", "owners", "regions"):
        assert one["scan"][key] == two["scan"][key], key


def test_collect_writes_json_lines_that_scan_reads_like_the_json_document(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", [*many_images("a", 120),
                                          image("m-pub", IsPublic=True, Tags={"env": "x"})])
    fake.cloud.add_images("cn-shanghai", many_images("b", 30, Features={"NvmeSupport": "no"}))
    collected = {}
    for name in ("inv.json", "inv.jsonl"):
        result = run_cli("collect", "--region", "cn-hangzhou", "--region", "cn-shanghai",
                         "--endpoint", fake.url, "-o", tmp_path / name, "-q", env=env)
        assert result.exit_code == 0, result.stderr
        collected[name] = tmp_path / name
    header, *images = _lines(collected["inv.jsonl"])
    document = json.loads(collected["inv.json"].read_text())
    assert header["layout"] == "jsonl" and header["format"] == "imgaudit-inventory"
    assert [r["region"] for r in header["regions"]] == ["cn-hangzhou", "cn-shanghai"]
    assert all("images" not in region for region in header["regions"])
    assert len(images) == 151 and {line["region"] for line in images} == {"cn-hangzhou",
                                                                          "cn-shanghai"}
    assert [line["image"] for line in images] == [
        i for region in document["regions"] for i in region["images"]]
    from_json = _report(run_cli, "--input", collected["inv.json"])
    from_lines = _report(run_cli, "--input", collected["inv.jsonl"])
    assert from_lines["findings"], "the scan found nothing: the comparison would prove nothing"
    _same_scan(from_json, from_lines)


def test_collect_inventory_format_option_and_standard_output(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("a", 3))
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url, "-o", "-",
                     "--inventory-format", "jsonl", "-q", env=env)
    assert result.exit_code == 0, result.stderr
    header, *images = [json.loads(line) for line in result.stdout.splitlines()]
    assert header["layout"] == "jsonl" and len(images) == 3
    plain = tmp_path / "inv.jsonl"
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url, "-o", plain,
                     "--inventory-format", "json", "-q", env=env)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(plain.read_text())["regions"][0]["images"]) == 3  # one document


def test_many_batches_give_the_same_findings_and_posture_as_the_document(
    run_cli: Run, tmp_path: Path
) -> None:
    """More images than one batch, in three regions: findings, per-rule counts (evaluated,
    passed, failed, waived) and data-quality notes equal those of the JSON document, and
    scope flags filter the streamed images as they filter the document."""
    doc = generate(3 * BATCH + 17, regions=3)
    doc["regions"][1]["images"].append(dict(doc["regions"][1]["images"][0]))  # a repeat
    doc["regions"][2]["images"][5]["Size"] = "sixty"  # a value kept raw
    source = tmp_path / "inv.json"
    source.write_text(json.dumps(doc))
    lines = tmp_path / "inv.jsonl"
    config = tmp_path / "imgaudit.yaml"
    waived = next(i["ImageId"] for i in doc["regions"][0]["images"]
                  if i["Features"]["NvmeSupport"] != "supported")
    config.write_text("waivers:\n  - rule: IMG-NVME\n    images: [" + waived + "]\n"
                      "    reason: test\n    owner: me\n    expires: 2099-01-01\n")
    saved = _report(run_cli, "--input", source, "--save-inventory", lines, "--config", config)
    assert _lines(lines)[0]["layout"] == "jsonl"  # --save-inventory FILE.jsonl: JSON Lines
    streamed = _report(run_cli, "--input", lines, "--config", config)
    document = _report(run_cli, "--input", source, "--config", config)
    _same_scan(document, streamed)
    _same_scan(saved, streamed)
    assert streamed["scan"]["images"] == 3 * BATCH + 17
    assert sum(rule["waived"] for rule in streamed["rules"]) == 1
    assert {n["message"] for n in streamed["data_quality"]} >= {
        "listed more than once; the first copy is kept"}
    assert any(n["field"] == "Size" for n in streamed["data_quality"])
    windows = [_report(run_cli, "--input", path, "--os-type", "windows")
               for path in (source, lines)]
    _same_scan(*windows)
    assert 0 < windows[0]["scan"]["images"] < streamed["scan"]["images"]


def test_several_accounts_round_trip_through_json_lines(run_cli: Run, tmp_path: Path) -> None:
    pages = []
    for account, image_id in (("111", "m-1"), ("222", "m-2")):
        page = {"RequestId": f"R-{account}", "RegionId": "cn-a", "TotalCount": 1,
                "Images": {"Image": [{"ImageId": image_id, "ImageOwnerAlias": "self",
                                      "ImageOwnerId": int(account), "IsPublic": True}]}}
        pages.append(tmp_path / f"{account}.json")
        pages[-1].write_text(json.dumps(page))
    lines = tmp_path / "both.jsonl"
    first = _report(run_cli, *[a for p in pages for a in ("--input", p)],
                    "--save-inventory", lines)
    assert {line.get("account_id") for line in _lines(lines)[1:]} == {"111", "222"}
    again = _report(run_cli, "--input", lines)
    _same_scan(first, again)
    assert sorted((f["image_id"], f["account_id"]) for f in again["findings"]
                  if f["rule_id"] == "IMG-PUBLIC-SELF") == [("m-1", "111"), ("m-2", "222")]


def test_odd_lines_are_noted_and_broken_lines_refused(run_cli: Run, tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "inv.jsonl", HEADER,
                        {"region": "cn-a", "image": {"ImageId": "m-1", "Size": "sixty"}},
                        {"region": "cn-a", "image": {"ImageId": ""}},
                        {"region": "cn-a", "image": {"ImageId": "m-1"}}, "")
    report = _report(run_cli, "--input", path, "--no-builtin-rules")
    assert report["scan"]["images"] == 1 and not report["scan"]["complete"]
    assert report["regions"][0]["errors"] == [
        "image entry on line 3 left out: an entry without a usable ImageId, left out"]
    assert [(n["image_id"], n["field"]) for n in report["data_quality"]] == [
        ("m-1", "Size"), ("m-1", None)]
    for bad, problem in (
        ("{oops", "line 2: not JSON: "),
        ('[1, 2]', "line 2: not an image line"),
        ('{"region": "cn-b", "image": {"ImageId": "m-1"}}',
         "line 2: region cn-b is not listed in the header line"),
        # an account id that is no text (a list was an internal error: unhashable)
        ('{"region": "cn-a", "account_id": [1], "image": {"ImageId": "m-1"}}',
         "line 2: region cn-a is not listed in the header line"),
        ('{"region": "cn-a", "account_id": {"a": 1}, "image": {"ImageId": "m-1"}}',
         "line 2: region cn-a is not listed in the header line"),
    ):
        broken = _write_lines(tmp_path / "bad.jsonl", HEADER, bad)
        result = run_cli("scan", "--input", broken, "--rule", "IMG-PUBLIC-SELF")
        assert result.exit_code not in (0, 1, 3)
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"imgaudit: error: {broken}: {problem}"), line


def test_json_lines_on_standard_input(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "inv.jsonl", HEADER,
                        {"region": "cn-a", "image": {"ImageId": "m-1", "ImageOwnerAlias": "self",
                                                     "IsPublic": True}})
    with path.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--input", "-",
                               "--format", "json", "--rule", "IMG-PUBLIC-SELF"],
                              stdin=stdin, capture_output=True, check=False)
    assert done.returncode == 1, done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    assert (finding["image_id"], finding["account_id"]) == ("m-1", "111")


def test_a_json_report_of_many_findings_is_the_model_s_own_json(
    run_cli: Run, tmp_path: Path
) -> None:
    """The JSON report serialises its findings a piece at a time and writes the pieces in
    turn (memory): the file is the text `model_dump_json` writes whole, byte for byte, and
    standard output gets the same report."""
    from auditor.findings import AuditResult
    from auditor.reporters.json_report import _PIECE

    source = tmp_path / "inv.json"
    source.write_text(json.dumps(generate(2 * _PIECE, regions=2)))
    report = tmp_path / "r.json"
    result = run_cli("scan", "--input", source, "--json", report, "-q", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    text = report.read_text(encoding="utf-8")
    parsed = AuditResult.model_validate_json(text)
    assert len(parsed.findings) > 2 * _PIECE
    assert text == parsed.model_dump_json(by_alias=True) + "\n"
    on_stdout = run_cli("scan", "--input", source, "--format", "json", "--fail-on", "never")
    assert json.loads(on_stdout.stdout)["findings"] == json.loads(text)["findings"]
    assert on_stdout.stdout.endswith("}\n") and on_stdout.stdout.count("\n") == 1
