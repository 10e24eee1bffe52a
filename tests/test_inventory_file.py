"""`collect -o`: each region is written (to a spool) as soon as it is collected, and let go;
the file is put together at the end, byte for byte what `dump_inventory` writes, and never
appears half written."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, PageHook, image, many_images
from fakeecs import collect_request as request

from auditor.app.inventory_file import SpooledInventory
from auditor.app.output import target, write_stdout
from auditor.collector import Record, collect
from auditor.inventory import dump_inventory
from auditor.models import DataNote, Image, Inventory, RegionInventory, Scope

pytest_plugins = ["fakeecs.fixtures"]


def _images(prefix: str, count: int) -> list[Image]:
    return [Image.model_validate({
        "ImageId": f"m-{prefix}{n:04d}", "OSName": "Ubuntu 22.04 64位", "Size": n,
        "Tags": {"owner": "web", "引号": 'a "quoted" \\ value'}, "NewApiField": {"n": n},
        "DiskDeviceMappings": [{"Type": "system", "Size": "40"}],
        "CreationTime": "2025-06-01T10:00:00Z", "ImageFamily": None})
        for n in range(count)]


def _inventory() -> Inventory:
    """Two accounts, one region in both, an incomplete region with a note, an empty one,
    regions of more images than one batch of the writer."""
    regions = [
        RegionInventory(region="cn-hangzhou", account_id="111", total_count=250,
                        images=_images("a", 250), request_ids=["r-1", "r-2", "r-3"]),
        RegionInventory(region="cn-hangzhou", account_id="222", images=_images("b", 3)),
        RegionInventory(region="eu-central-1", account_id="222", complete=False,
                        images=_images("c", 101), errors=["page 2 of 3 not collected"],
                        notes=[DataNote(message="kept raw", region="eu-central-1",
                                        image_id="m-c0001", field="Size", value=[1, "x"])]),
        RegionInventory(region="us-west-1", account_id="111", total_count=0),
    ]
    return Inventory(tool_version="0.1.0", collected_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
                     account_names={"111": "prod", "222": "staging"},
                     scope=Scope(filters={"Tag.env": "prod"}), regions=regions,
                     notes=[DataNote(message="member skipped", source="ListAccounts")])


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_the_spooled_file_is_what_dump_inventory_writes(tmp_path: Path, fmt: str) -> None:
    inventory = _inventory()
    finished = list(inventory.regions)
    random.Random(7).shuffle(finished)  # regions finish in any order
    with SpooledInventory(target(str(tmp_path / "inv")), fmt) as spool:
        for region in finished:
            spool.add(region.model_copy(update={"images": []}), list(region.images))
        # what the collector returns once it has handed every region over: no images
        emptied = inventory.model_copy(update={"regions": [
            region.model_copy(update={"images": []}) for region in inventory.regions]})
        text = b"".join(p if isinstance(p, bytes) else p.encode()
                        for p in spool.pieces(emptied)).decode()
    assert text == dump_inventory(inventory, fmt)
    assert list(tmp_path.iterdir()) == []  # the spool has no name, and is gone


def test_regions_are_handed_over_while_the_others_are_collected(
        fake: FakeEndpoint, env_keys: None) -> None:
    regions = ["cn-hangzhou", "cn-shanghai", "eu-central-1"]
    for n, region in enumerate(regions):
        fake.cloud.add_images(region, many_images(f"r{n}", 120))
    first_handed = threading.Event()
    waited: list[bool] = []
    # the second region's first page is answered only once the first region is handed over
    fake.cloud.hooks.append(PageHook(regions[1], 1, lambda _: waited.append(
        first_handed.wait(timeout=10))))
    handed: list[tuple[str, int, bool]] = []

    def sink(region: RegionInventory, images: list[Record]) -> None:
        handed.append((region.region, len(images), region.complete))
        first_handed.set()

    inventory = collect(request(fake, regions=regions, concurrency=1), sink=sink)
    assert waited == [True], "regions are handed over only at the end"
    assert handed == [(region, 120, True) for region in regions]
    assert [r.region for r in inventory.regions] == regions and inventory.complete
    assert all(r.images == [] and r.total_count == 120 for r in inventory.regions)


def test_with_share_permissions_regions_are_handed_over_once_all_are_in(
        fake: FakeEndpoint, env_keys: None) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-1", IsSelfShared="true")])
    fake.cloud.add_images("cn-shanghai", [image("m-2")])
    fake.cloud.share("cn-hangzhou", "m-1", accounts=[ACCOUNT_ID, "5555555555555555"])
    handed: list[Record] = []
    collect(request(fake, regions=["cn-hangzhou", "cn-shanghai"], sharing=True),
            sink=lambda region, images: handed.extend(images))
    (shared,) = [i for i in handed if isinstance(i, Image) and i.SharePermission is not None]
    assert shared.SharePermission is not None  # marked before it was handed over:
    assert [a.InOrganization for a in shared.SharePermission.Accounts] == [True, False]


def _collect_cli(fake: FakeEndpoint, home: Path, out: Path, file_size: int | None = None,
                 flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
               ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=fake.url,
               IMGAUDIT_METADATA_URL=fake.url)

    def limited() -> None:  # a disk that fills up: writes beyond `file_size` bytes fail
        if file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return subprocess.run(
        [sys.executable, *(flags or ("-m", "auditor")), "collect", "--region", "all", "--endpoint",
         fake.url, "-o", str(out)], env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=limited)


def test_a_write_that_fails_exits_5_and_leaves_the_old_file(
        fake: FakeEndpoint, clean_env: Path, tmp_path: Path) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("h", 1500))
    fake.cloud.add_images("cn-shanghai", many_images("s", 1500))
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "inventory.json"
    out.write_text('{"old": true}')
    done = _collect_cli(fake, clean_env, out, file_size=1 << 20)  # the inventory: ~2 MB
    assert done.returncode == 5, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert str(out) in line and "File too large" in line and "Traceback" not in line
    assert json.loads(out.read_text()) == {"old": True}
    assert [p.name for p in folder.iterdir()] == ["inventory.json"]  # no temporary file left
    done = _collect_cli(fake, clean_env, out)
    assert done.returncode == 0, done.stderr
    saved = Inventory.model_validate_json(out.read_text())
    assert saved.image_count == 3000 and saved.complete


def test_bytes_pieces_reach_a_text_stream_whole() -> None:
    """Bytes go through a stream's binary buffer; one without a buffer gets them decoded,
    a character split between two pieces included."""
    split = "位".encode()
    plain = io.StringIO()
    write_stdout(plain, ["{", split[:1], split[1:] + b'"}', "\n"])
    assert plain.getvalue() == '{位"}\n'
    raw = io.BytesIO()
    buffered = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    write_stdout(buffered, ["{", split[:2], split[2:] + b'"}', "\n"])
    assert raw.getvalue().decode() == '{位"}\n'


def _recording_imports(modules: Path) -> str:
    """`python -c` code that runs imgaudit as `python -m auditor` does, and writes the names
    of the modules it imported into `modules` (JSON) as it ends (with `os._exit`: the console
    script's fast exit, auditor/gcpause.py)."""
    return ("import json, os, runpy, sys\n"
            "end = os._exit\n"
            f"def record(code): open({str(modules)!r}, 'w').write(json.dumps("
            "sorted(sys.modules))); end(code)\n"
            "os._exit = record\n"
            "sys.argv[0] = 'imgaudit'\n"
            "runpy.run_module('auditor', run_name='__main__')\n")


def test_collect_imports_no_rule_engine_reporter_or_history(
        fake: FakeEndpoint, clean_env: Path, tmp_path: Path) -> None:
    """Half of the CLI's start-up is the commands `collect` does not run (app/__init__.py)."""
    fake.cloud.add_images("cn-hangzhou", many_images("h", 3))
    modules = tmp_path / "modules.json"
    run = _recording_imports(modules)
    done = _collect_cli(fake, clean_env, tmp_path / "inv.json", flags=("-c", run))
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(modules.read_text()))
    assert {"auditor.collector.run", "auditor.app.collect", "requests"} <= imported
    unused = ("auditor.engine", "auditor.reporters", "auditor.history", "auditor.app.scan",
              "auditor.app.rules", "jinja2")
    assert not {m for m in imported if m.startswith(unused)}


def test_scan_of_a_saved_inventory_imports_no_http_client(clean_env: Path, tmp_path: Path) -> None:
    """A scan --input collects nothing: the HTTP client (requests, urllib3: a fifth of the
    start-up) stays unimported, though the CLI's options read the collector's names; nor
    does it record a run: the accounts file's models, the collector's saved images and the
    history store (~25 ms of start-up) stay unimported too; nor does it test rules or write
    their schema (auditor/engine/__init__.py)."""
    inventory = tmp_path / "inv.json"
    inventory.write_text(dump_inventory(Inventory(
        tool_version="0.1.0", collected_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
        regions=[RegionInventory(region="cn-hangzhou", images=_images("i", 2))])))
    modules = tmp_path / "modules.json"
    run = _recording_imports(modules)
    done = subprocess.run(
        [sys.executable, "-c", run, "scan", "--input", str(inventory), "--format", "json",
         "--fail-on", "never", "--rule", "IMG-NVME"],
        env=dict(os.environ, HOME=str(clean_env)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scan"]["images"] == 2
    imported = set(json.loads(modules.read_text()))
    assert {"auditor.app.scan", "auditor.engine", "auditor.collector"} <= imported
    assert not {m for m in imported if m.startswith((
        "requests", "urllib3", "auditor.collector.client",
        # nor the accounts file's models, the collector's saved images or the history store
        "auditor.collector.accounts", "auditor.collector.saved", "auditor.history",
        "auditor.app.history",
        # nor the runner of `rules test` or the rule format's JSON Schema
        "auditor.engine.ruletests", "auditor.engine.schema"))}
