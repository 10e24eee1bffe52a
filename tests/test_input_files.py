"""Input files as a user gives them: pipes, standard input, endless or huge input, odd bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CliResult

from auditor.errors import InputError
from auditor.inventory import read_bytes

Run = Callable[..., CliResult]
IMGAUDIT = [sys.executable, "-c", "from auditor.cli import main; raise SystemExit(main())"]
PAGE = {"RequestId": "R-1", "RegionId": "cn-beijing", "TotalCount": 1,
        "Images": {"Image": [{"ImageId": "m-pipe", "ImageOwnerAlias": "self"}]}}


def _images(report: str) -> int:
    return int(json.loads(report)["scan"]["images"])


def test_standard_input_is_an_input() -> None:
    done = subprocess.run([*IMGAUDIT, "scan", "--input", "-", "--format", "json",
                           "--no-builtin-rules"], input=json.dumps(PAGE), text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert _images(done.stdout) == 1


def test_process_substitution_is_an_input(tmp_path: Path) -> None:
    """`--input <(aliyun ecs DescribeImages ...)`: a /dev/fd path to a pipe."""
    page = tmp_path / "page.json"
    page.write_text(json.dumps(PAGE))
    command = " ".join([*(f"'{part}'" for part in IMGAUDIT), "scan", "--format", "json",
                        "--no-builtin-rules", f"--input <(cat '{page}')"])
    done = subprocess.run(["bash", "-c", command], text=True, capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert _images(done.stdout) == 1


def test_standard_input_twice_is_refused(run_cli: Run) -> None:
    result = run_cli("scan", "--input", "-", "--input", "-")
    assert result.exit_code == 2
    assert "imgaudit: error: -: standard input can be read only once" in result.stderr


def test_an_input_that_never_ends_is_refused_at_once(run_cli: Run) -> None:
    result = run_cli("scan", "--input", "/dev/zero")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("/dev/zero: not JSON: it does not start with { or [")


def test_an_input_past_the_size_bound_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"1," * (3 << 20) + b"1]")
    with pytest.raises(InputError, match=r"larger than 2 MiB, more than any real inventory"):
        read_bytes(big, limit=2 << 20)
    assert read_bytes(big, limit=8 << 20)[:3] == b"[1,"


def test_bytes_that_are_not_utf8_lose_nothing_readable(run_cli: Run, tmp_path: Path) -> None:
    page = tmp_path / "gbk.json"
    body = json.dumps(PAGE).replace('"m-pipe"', '"m-pipe", "ImageName": "NAME"')
    page.write_bytes(body.encode().replace(b"NAME", "云镜像".encode("gbk")))
    result = run_cli("scan", "--input", page, "--format", "json", "--no-builtin-rules")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == 1
    (note,) = report["data_quality"]
    assert note["source"] == str(page) and "not UTF-8" in note["message"]


def test_json_orjson_refuses_is_read_with_a_note(run_cli: Run, tmp_path: Path) -> None:
    """A lone surrogate escape and Infinity are JSON to the standard library, as the
    collector reads such pages: nothing is refused or lost, both are noted."""
    page = tmp_path / "odd.json"
    entry = {"ImageId": "m-odd", "ImageOwnerAlias": "self", "ImageName": "SURROGATE",
             "Size": "INFINITY"}
    body = json.dumps({**PAGE, "Images": {"Image": [entry]}})
    page.write_text(body.replace("SURROGATE", "x\\ud800y").replace('"INFINITY"', "Infinity"))
    result = run_cli("scan", "--input", page, "--format", "json", "--no-builtin-rules")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == 1
    notes = {(n["image_id"], n["field"]): n for n in report["data_quality"]}
    assert notes["m-odd", "ImageName"]["message"].startswith("a lone UTF-16 surrogate")
    assert notes["m-odd", "ImageName"]["value"] == "x\\ud800y"
    assert {n["region"] for n in report["data_quality"]} == {"cn-beijing"}
    assert "finite number" in notes["m-odd", "Size"]["message"]


def test_a_json_lines_line_with_odd_bytes_is_noted(run_cli: Run, tmp_path: Path) -> None:
    """Each line of a JSON Lines inventory is read as a document is: bytes that are not UTF-8
    and lone surrogates are replaced and noted against the line's image, never silently."""
    header = {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
              "collected_at": "2026-11-27T08:00:00Z", "source": "api", "layout": "jsonl",
              "regions": [{"region": "cn-a", "complete": True}]}
    lines = tmp_path / "inv.jsonl"
    image = json.dumps({"region": "cn-a", "image": {"ImageId": "m-a", "ImageName": "NAME"}})
    other = json.dumps({"region": "cn-a", "image": {"ImageId": "m-b", "ImageName": "SUR"}})
    lines.write_bytes(b"\n".join([json.dumps(header).encode(),
                                  image.encode().replace(b"NAME", "云".encode("gbk")),
                                  other.replace("SUR", "\\udc00").encode(), b""]))
    result = run_cli("scan", "--input", lines, "--format", "json", "--no-builtin-rules")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == 2
    notes = {n["image_id"]: n for n in report["data_quality"]}
    assert notes["m-a"]["message"].startswith("line 2: bytes that are not UTF-8")
    assert notes["m-b"]["message"].startswith("a lone UTF-16 surrogate")
    assert {n["region"] for n in notes.values()} == {"cn-a"}


@pytest.mark.parametrize(("doc", "images", "complete"), [
    ({"RequestId": "R", "RegionId": "cn-a", "TotalCount": 0}, 0, True),  # no Images at all
    ({"RequestId": "R", "RegionId": "cn-a", "TotalCount": 0, "Images": {}}, 0, True),
    ({"RequestId": "R", "RegionId": "cn-a", "TotalCount": -5, "Images": {"Image": [
        {"ImageId": "m-1"}]}}, 1, True),
    ({"RequestId": "R", "RegionId": "cn-a", "Images": {"Image": [{"ImageId": "m-1"}]}}, 1, True),
    ({"RequestId": "R", "RegionId": "cn-a", "TotalCount": 10**9, "Images": {"Image": [
        {"ImageId": "m-1"}]}}, 1, False),
    ({"RequestId": "R", "RegionId": "cn-a", "TotalCount": "2", "Images": {"Image": [
        {"ImageId": "m-1"}, {"ImageId": 7}]}}, 2, True),
])
def test_odd_page_shapes_through_the_cli(run_cli: Run, tmp_path: Path, doc: dict,
                                         images: int, complete: bool) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps(doc))
    result = run_cli("scan", "--input", page, "--format", "json", "--no-builtin-rules")
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == images and report["scan"]["complete"] is complete
    assert result.exit_code == (0 if complete else 3), result.stderr
    if not complete:
        assert "1 of 1000000000 images present in the input" in result.stderr


def test_an_input_saved_with_a_byte_order_mark_reads_as_without(run_cli: Run,
                                                                tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM: the file reads the same (one document, not
    JSON Lines: no second line)."""
    plain, marked = tmp_path / "plain.json", tmp_path / "bom.json"
    plain.write_text(json.dumps(PAGE), encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    reports = []
    for page in (plain, marked):
        result = run_cli("scan", "--input", page, "--format", "json", "--fail-on", "never")
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["scan"]["images"] == 1 and not report["data_quality"]
        reports.append((report["findings"], report["rules"]))
    assert reports[0] == reports[1]


@pytest.mark.parametrize("key", [["a"], {"a": 1}])
def test_a_tag_key_that_is_a_list_or_an_object_is_kept_raw(run_cli: Run, tmp_path: Path,
                                                           key: object) -> None:
    """No mapping can hold such a key: the tags are kept raw in a note, the image is read
    (this stopped the scan with an internal error, exit 4)."""
    page = tmp_path / "page.json"
    page.write_text(json.dumps({**PAGE, "Images": {"Image": [
        {"ImageId": "m-1", "Tags": {"Tag": [{"TagKey": key, "TagValue": "x"}]}}]}}))
    result = run_cli("scan", "--input", page, "--format", "json", "--no-builtin-rules")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scan"]["images"] == 1
    (note,) = report["data_quality"]
    assert (note["image_id"], note["field"]) == ("m-1", "Tags")
    assert note["value"] == [{"TagKey": key, "TagValue": "x"}]


def _saved(path: Path, collected_at: object, region: str, lines: bool = False) -> Path:
    header = {"format": "imgaudit-inventory", "format_version": 1, "tool_version": "0",
              "collected_at": collected_at, "regions": [{"region": region}]}
    image = {"ImageId": f"m-{region}", "ImageOwnerAlias": "self"}
    if lines:
        path.write_text(json.dumps({**header, "layout": "jsonl"}) + "\n"
                        + json.dumps({"region": region, "image": image}) + "\n")
    else:
        path.write_text(json.dumps({**header, "regions": [{"region": region,
                                                            "images": [image]}]}))
    return path


def test_a_collection_time_without_a_zone_is_utc(run_cli: Run, tmp_path: Path) -> None:
    """Inputs are merged, their collection times compared: one without a zone stopped the
    scan with an internal error (exit 4: a naive and an aware time do not compare)."""
    aware = _saved(tmp_path / "a.json", "2026-11-27T08:00:00Z", "cn-a")
    naive = _saved(tmp_path / "b.json", "2026-11-27T09:00:00", "cn-b")
    result = run_cli("scan", "--input", aware, "--input", naive, "--format", "json",
                     "--no-builtin-rules")
    assert result.exit_code == 0, result.stderr
    assert _images(result.stdout) == 2


@pytest.mark.parametrize("lines", [False, True])
@pytest.mark.parametrize("collected_at", [5, 1.7e9, "1700000000", True, None, ["x"]])
def test_a_collection_time_that_is_no_time_text_is_refused(
        run_cli: Run, tmp_path: Path, collected_at: object, lines: bool) -> None:
    """pydantic reads a number (or its text) as seconds since 1970: such a file is refused
    with one line naming it, not read as collected in 1970 (or 2023)."""
    path = _saved(tmp_path / "inv.json", collected_at, "cn-a", lines)
    result = run_cli("scan", "--input", path, "--format", "json", "--no-builtin-rules")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "inv.json: not a valid inventory: collected_at: expected a date-time text, like "
        "2026-11-27T08:00:00Z"), result.stderr
