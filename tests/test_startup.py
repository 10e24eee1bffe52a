"""What every command pays before it does anything: its imports, the models they build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path

from auditor.inventory import dump_inventory
from auditor.models import Image, Inventory, RegionInventory


def test_the_program_walks_nothing_with_the_gc_from_its_first_import(tmp_path: Path) -> None:
    """`python -m auditor` (and the console script, which imports `run` from the same module)
    pauses the cyclic collector before it imports the command line: no pass, start to end;
    and pydantic reads no distribution's entry points for plugins."""
    inventory = tmp_path / "inv.json"
    inventory.write_text(dump_inventory(Inventory(
        tool_version="0.1.0", collected_at=datetime(2026, 11, 30, tzinfo=timezone.utc),
        regions=[RegionInventory(region="cn-hangzhou", images=[Image(ImageId="m-1")])])))
    seen = tmp_path / "gc.json"
    run = ("import gc, json, os, runpy, sys\n"
           "def count(): return sum(gen['collections'] for gen in gc.get_stats())\n"
           "at = {}\n"
           "def hook(event, args):  # the command line's first import\n"
           "    if event == 'import' and args[0] == 'auditor.cli' and not at:\n"
           "        at.update(enabled=gc.isenabled(), passes=count())\n"
           "sys.addaudithook(hook)\n"
           "end = os._exit\n"
           f"def record(code): open({str(seen)!r}, 'w').write(json.dumps("
           "{'enabled': at['enabled'], 'passes': count() - at['passes'], 'plugins': "
           "sys.modules['pydantic.plugin._loader']._plugins})); end(code)\n"
           "os._exit = record\n"
           "sys.argv[0] = 'imgaudit'\n"
           "runpy.run_module('auditor', run_name='__main__')\n")
    done = subprocess.run(
        [sys.executable, "-c", run, "scan", "--input", str(inventory), "--format", "json",
         "--fail-on", "never", "--rule", "IMG-NVME"],
        env={**{k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"},
             "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scan"]["images"] == 1
    # nor did pydantic look for plugins (`_plugins`: None until it has)
    assert json.loads(seen.read_text()) == {"enabled": False, "passes": 0, "plugins": None}
    (script,) = entry_points(group="console_scripts", name="imgaudit")  # as installed
    assert script.value == "auditor.__main__:run"
