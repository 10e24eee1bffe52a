"""Scope flags mean the same offline: `scan --input` filters as the API (the fake) lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CliResult
from fakeecs import FakeEndpoint, image

from auditor.models import Image, Inventory
from auditor.scoping import OfflineScope, select

pytest_plugins = ["fakeecs.fixtures"]

Run = Callable[..., CliResult]

IMAGES = [
    image("m-self-old", CreationTime="2019-11-15T06:07:05Z", Tags={"env": "prod", "team": "a"}),
    image("m-self-new", CreationTime="2026-01-02T00:00:59Z", Tags={"env": "dev"},
          OSType="windows", Architecture="arm64", Usage="instance", ImageFamily="fam"),
    image("m-self-edge", CreationTime="2024-03-01T12:30:00Z", Status="Deprecated",
          Tags={"env": "prod"}, Architecture="i386"),
    image("m-shared", ImageOwnerAlias="others", IsPublic=False, Status="CreateFailed"),
    image("m-community", ImageOwnerAlias="others", IsPublic=True, ImageFamily="fam"),
    image("m-system", ImageOwnerAlias="system", IsPublic=True, OSType="windows"),
    image("m-market", ImageOwnerAlias="marketplace", IsPublic=True, Usage="instance"),
]

FLAG_SETS = [
    ["--owner", "self"], ["--owner", "system,marketplace"], ["--owner", "shared"],
    ["--owner", "community"], ["--owner", "others"],
    ["--status", "Deprecated,CreateFailed"], ["--status", "Available"],
    ["--os-type", "windows"], ["--arch", "arm64"], ["--arch", "i386"],
    ["--usage", "instance"], ["--image-family", "fam"],
    ["--tag", "env=prod"], ["--tag", "env="], ["--tag", "env=prod", "--tag", "team=a"],
    ["--created-after", "2024-03-01T12:30Z"], ["--created-before", "2024-03-01T12:30Z"],
    ["--created-after", "2020-01-01", "--created-before", "2026-01-02T00:00Z"],
    ["--owner", "self", "--status", "Available", "--tag", "env=prod"],
]


def _ids(path: Path) -> set[str]:
    doc = json.loads(path.read_text())
    return {i["ImageId"] for region in doc["regions"] for i in region["images"]}


@pytest.fixture
def everything(run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path) -> Path:
    fake.cloud.add_images("cn-hangzhou", [dict(i) for i in IMAGES])
    path = tmp_path / "all.json"
    result = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                     "--owner", "all", "--status", "all", "-o", path, env=env)
    assert result.exit_code == 0, result.stderr
    assert _ids(path) == {i["ImageId"] for i in IMAGES}
    return path


@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda flags: " ".join(flags))
def test_input_scan_filters_as_the_api_lists(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path, everything: Path,
    flags: list[str],
) -> None:
    live = tmp_path / "live.json"
    status = [] if "--status" in flags else ["--status", "all"]
    owner = [] if "--owner" in flags else ["--owner", "all"]
    collected = run_cli("collect", "--region", "cn-hangzhou", "--endpoint", fake.url,
                        *owner, *status, *flags, "-o", live, env=env)
    assert collected.exit_code == 0, collected.stderr
    offline = tmp_path / "offline.json"
    report = tmp_path / "report.json"
    scanned = run_cli("scan", "--input", everything, *flags, "--no-builtin-rules",
                      "--save-inventory", offline, "--json", report, env=env)
    assert scanned.exit_code == 0, scanned.stdout + scanned.stderr
    assert _ids(offline) == _ids(live), flags
    assert json.loads(report.read_text())["scan"]["images"] == len(_ids(live))


def test_without_flags_an_input_is_read_whole(run_cli: Run, everything: Path,
                                              tmp_path: Path) -> None:
    """`--owner` defaults to self for a collection; a file is not filtered by that default."""
    saved = tmp_path / "out.json"
    result = run_cli("scan", "--input", everything, "--no-builtin-rules", "--save-inventory",
                     saved)
    assert result.exit_code == 0 and _ids(saved) == _ids(everything)


def test_config_file_scope_filters_an_input_too(run_cli: Run, everything: Path,
                                                tmp_path: Path) -> None:
    config = tmp_path / "imgaudit.yaml"
    config.write_text("owner: system\n")
    saved = tmp_path / "out.json"
    result = run_cli("scan", "--input", everything, "--no-builtin-rules", "--config", config,
                     "--save-inventory", saved)
    assert result.exit_code == 0, result.stderr
    assert _ids(saved) == {"m-system"}


@pytest.mark.parametrize(("flags", "message"), [
    (["--owner", "nobody"], "unknown owner 'nobody'"),
    (["--status", "Gone"], "unknown status Gone"),
    (["--created-after", "last week"], "--created-after 'last week': expected YYYY-MM-DD"),
    (["--tag", "novalue"], "--tag 'novalue': expected KEY=VALUE"),
])
def test_bad_scope_flags_are_refused_offline_too(run_cli: Run, everything: Path,
                                                  flags: list[str], message: str) -> None:
    result = run_cli("scan", "--input", everything, *flags)
    assert result.exit_code == 2 and message in result.stderr


def test_select_records_the_scope_it_applied() -> None:
    inventory = Inventory.model_validate({
        "tool_version": "0", "collected_at": "2026-01-01T00:00:00Z",
        "regions": [{"region": "cn-a", "images": [Image(ImageId="m-1", OSType="linux"),
                                                  Image(ImageId="m-2", OSType="windows")]}]})
    chosen = select(inventory, OfflineScope(filters={"OSType": "windows"}))
    assert [i.ImageId for i in chosen.regions[0].images] == ["m-2"]
    assert chosen.scope.filters == {"OSType": "windows"}
    assert select(inventory, OfflineScope()) is inventory
