"""The inventory `collect` saves, written region by region while the others are collected.

A finished region is serialised at once (the collector hands it over on a thread of its own,
`collect(sink=...)`) into an unnamed spool file, and its images are let go: the serialising
and the freeing happen while the API calls of other regions are under way, not after the
last one. The header (the account, and each region's completeness, errors and notes) is
known only once every region is in, so the file is put together at the end, regions in the
order `dump_inventory` writes them, byte for byte what it writes (JSON or JSON Lines), and
goes through `app/output.py` like every output: a temporary file renamed into place, so an
interrupted collection leaves the previous file (or none), never half of one.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from itertools import groupby
from typing import IO, TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter

from auditor.app.output import Target
from auditor.errors import OutputError
from auditor.inventory import line_prefix, lines_header
from auditor.models import Image, Inventory, RegionInventory

if TYPE_CHECKING:  # a scan of input files needs no saved images (collector/saved.py)
    from auditor.collector import Record

_IMAGES = TypeAdapter(list[Image])
_BATCH = 100   # images serialised in one call: the collector's threads get the GIL between
_CHUNK = 1 << 20  # bytes of the spool read back at a time

_Key = tuple[str, str]  # (region, account id or "")


class SpooledInventory:
    """Regions serialised as they come (`add`), put together by `pieces` at the end."""

    def __init__(self, where: Target, fmt: str) -> None:
        self.where = where
        self.fmt = fmt
        self._parts: dict[_Key, tuple[int, int]] = {}  # where each region is in the spool
        self._size = 0
        self._lock = threading.Lock()
        folder = where.path.parent if where.replace and where.path is not None else None
        try:  # beside the file it becomes: on that disk, not in a small /tmp
            self._spool: IO[bytes] = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        except OSError as exc:
            raise OutputError(where.given, exc.strerror or str(exc)) from None

    def __enter__(self) -> SpooledInventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self._spool.close()

    def add(self, region: RegionInventory, images: list[Record]) -> None:
        """The collector's sink: the region and its images serialised into the spool."""
        data = _lines(region, images) if self.fmt == "jsonl" else _region_json(region, images)
        with self._lock:
            try:
                self._spool.write(data)
            except OSError as exc:
                raise OutputError(self.where.given, exc.strerror or str(exc)) from None
            self._parts[_key(region)] = (self._size, len(data))
            self._size += len(data)

    def pieces(self, inventory: Inventory) -> Iterator[str | bytes]:
        """The whole file, a piece at a time: the header, then every region of `inventory`
        (each one `add`ed before) in its order, as the spool holds it (UTF-8 bytes)."""
        self._spool.flush()
        if self.fmt == "jsonl":
            yield lines_header(inventory) + "\n"
            for region in inventory.regions:
                yield from self._read(region)
            return
        head, tail = _around(inventory, "regions")
        yield head
        for n, region in enumerate(inventory.regions):
            if n:
                yield ","
            yield from self._read(region)
        yield tail

    def _read(self, region: RegionInventory) -> Iterator[bytes]:
        offset, size = self._parts[_key(region)]
        for start in range(offset, offset + size, _CHUNK):
            yield os.pread(self._spool.fileno(), min(_CHUNK, offset + size - start), start)


def _key(region: RegionInventory) -> _Key:
    return (region.region, region.account_id or "")


def _lines(region: RegionInventory, images: list[Record]) -> bytes:
    """The region's images as `inventory.image_lines` writes them, each line ended."""
    prefix = line_prefix(region)
    return b"".join(prefix + _json(image) + b"}\n" for image in images)


def _json(image: Record) -> bytes:
    if isinstance(image, Image):
        return image.model_dump_json(exclude_none=True).encode()
    return image.encoded  # a saved image: what the model would write, byte for byte


def _region_json(region: RegionInventory, images: list[Record]) -> bytes:
    """The region as `Inventory.model_dump_json(exclude_none=True)` writes it with these
    images: records serialised by pydantic a batch at a time, saved images as they are."""
    head, tail = _around(region, "images")
    return head.encode() + b",".join(_batches(images)) + tail.encode()


def _batches(images: list[Record]) -> Iterator[bytes]:
    """The images' JSON without the list's brackets, a batch (of one kind) at a time."""
    for validated, run in groupby(images, key=lambda image: isinstance(image, Image)):
        if not validated:
            yield b",".join(image.encoded for image in run)  # type: ignore[union-attr]
            continue
        kind = list(run)
        for n in range(0, len(kind), _BATCH):
            yield _dump_images(kind[n:n + _BATCH])[1:-1]


def _dump_images(images: list[Any]) -> bytes:
    return _IMAGES.dump_json(images, exclude_none=True)


def _around(model: BaseModel, name: str) -> tuple[str, str]:
    """The model's compact JSON (without None fields) up to the opening bracket of its list
    field `name`, and from the closing bracket on."""
    fields = list(type(model).model_fields)
    at = fields.index(name)
    before = model.model_dump_json(include=set(fields[:at]), exclude_none=True)
    after = model.model_dump_json(include=set(fields[at + 1:]), exclude_none=True)
    head = before[:-1] + ("," if before != "{}" else "") + f'"{name}":['
    return head, "]" + ("," + after[1:] if after != "{}" else "}")
