"""What every command pays before it does anything: its imports, the models they build."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import tomllib
from pydantic import BaseModel

import auditor
from auditor.inventory import dump_inventory
from auditor.models import Image, Inventory, RegionInventory


def _models() -> list[type[BaseModel]]:
    """Every pydantic model of the package, each of its modules imported."""
    for module in pkgutil.walk_packages(auditor.__path__, "auditor."):
        if module.name != "auditor.__main__":  # the program's: it pauses the GC for good
            importlib.import_module(module.name)
    found, todo = [], [BaseModel]
    while todo:
        for model in todo.pop().__subclasses__():
            todo.append(model)
            if model.__module__.startswith("auditor."):
                found.append(model)
    return found


def test_no_model_field_defaults_to_the_builtin_list() -> None:
    """pydantic reads each default factory's signature whenever a model using it is built,
    which for the builtin `list` means parsing its text (auditor/models.py, `empty_list`)."""
    models = _models()
    assert len(models) > 50
    slow = [f"{model.__module__}.{model.__qualname__}.{name}" for model in models
            for name, info in model.model_fields.items() if info.default_factory is list]
    assert not slow, f"use models.empty_list: {slow}"


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
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert scripts["project"]["scripts"]["imgaudit"] == "auditor.__main__:run"
