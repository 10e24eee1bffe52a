"""`imgaudit collect`: collect, and save the inventory; and the collection a live scan makes.

Apart from app/scan.py so that `collect` imports neither the rule engine nor the reporters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

from auditor.app import output
from auditor.app.inventory_file import SpooledInventory
from auditor.collector import CollectRequest, RegionSink, collect
from auditor.errors import EXIT_INCOMPLETE, EXIT_OK
from auditor.inventory import inventory_format
from auditor.models import Inventory

log = logging.getLogger("imgaudit")


class Progress(Protocol):
    """What the CLI shows while collecting (the collector calls these from its threads)."""

    def page(self, region: str, pages: int, images: int) -> None: ...

    def region(self, region: str, done: int, total: int) -> None: ...


class _Region(Protocol):
    @property
    def region(self) -> str: ...
    @property
    def errors(self) -> list[str]: ...


def collected(request: CollectRequest, progress: Progress | None,
              sink: RegionSink | None = None) -> Inventory:
    """The collector's inventory, with the CLI's progress display."""
    if progress is None:
        return collect(request, sink=sink)
    return collect(request, progress=progress.page, on_region=progress.region, sink=sink)


def run_collect(request: CollectRequest, path: Path | str, progress: Progress | None,
                stdout: TextIO, fmt: str | None = None) -> int:
    """Collect only, and save the inventory (`-`: standard output) as JSON or JSON Lines
    (`fmt`, else by the file's suffix); exit 3 when incomplete. Each region is written (to a
    spool) as soon as it is collected, and let go (app/inventory_file.py)."""
    target = output.plan({"--output": path})["--output"]
    with SpooledInventory(target, inventory_format(path, fmt)) as spool:
        inventory = collected(request, progress, spool.add)
        output.write_output(target, spool.pieces(inventory), stdout)
    warn_region_errors(inventory.regions)
    return EXIT_OK if inventory.complete else EXIT_INCOMPLETE


def warn_region_errors(regions: Sequence[_Region]) -> None:
    """What is missing or odd per region, on stderr too (the reports say it as well)."""
    for region in regions:
        for error in region.errors:
            log.warning("%s: %s", region.region, error)
