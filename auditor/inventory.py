"""Read and merge input files: saved inventories (JSON or JSON Lines) and raw DescribeImages
response bodies, one batch of images at a time.

A raw response is what the API (or `aliyun ecs DescribeImages`) prints: one page, or all pages
merged by the CLI's pager. Every kind is read by the one reader of `auditor.responses`, so an
odd value never drops an image (it is kept raw in a data-quality note). Several files of one
region merge into one region, de-duplicated by ImageId (the first copy kept, as the collector
does, with a note). Raw pages of one listing (same owners, same TotalCount) are complete when
their entries reach that TotalCount; a saved inventory's regions keep the completeness
the collector recorded.

`open_inputs` streams: images are validated a batch at a time while the scan evaluates them,
and only the regions' metadata stays (`InventorySummary`). A JSON Lines inventory (`collect -o
FILE.jsonl`, docs/inventory.md) is read line by line, so its size is not bounded; a JSON
document (saved inventory or raw page) is read whole, up to `MAX_INPUT_BYTES`, and its images
are turned into records batch by batch. `-` is standard input, and a FIFO (`<(command)`)
reads like a file.

A saved inventory's images are decoded by `auditor.typed` (msgspec: parsed and type-checked
in C), and what it refuses is read as before: orjson, the canonical check, validation with
its notes (a document whole when orjson would read it otherwise, so that its notes name the
same places; see `typed.document`). `TYPED` off (tests only) reads everything the old way.
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from auditor import __version__, typed
from auditor.canonical import RawImage, canonical, image_of
from auditor.errors import InputError
from auditor.models import (
    INVENTORY_FORMAT,
    DataNote,
    Image,
    Inventory,
    InventorySummary,
    RegionInventory,
    RegionSummary,
    Scope,
    owner_scope,
)
from auditor.responses import mend_surrogates, read_image, read_page, repeated

# Far above any real inventory (100,000 images are ~110 MB saved): a bound, so that an input
# that never ends (/dev/zero, a runaway pipe) is refused instead of filling memory. A JSON
# Lines inventory is read a line at a time: only each line is bounded.
MAX_INPUT_BYTES = 1 << 30
MAX_LINE_BYTES = 16 << 20
LINES_LAYOUT = "jsonl"  # the header's `layout`: images follow, one per line
BATCH = 1000  # images validated and evaluated at a time
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
TYPED = True  # saved images decoded by `auditor.typed` first (tests turn it off to compare)

Batch = tuple[str, str | None, list[Image]]  # region, account (when known), images
# the same, decoded saved images as they are, canonical ones as their parsed mappings
# (`records()`)
RecordBatch = tuple[str, str | None, list[Image | RawImage | typed.Decoded]]
Keep = Callable[[Image], bool]


def _open(path: Path) -> IO[bytes]:
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(path, "no such file", unreadable=True) from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a JSON file", unreadable=True) from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}", unreadable=True) from None


def _close(handle: IO[bytes]) -> None:
    if handle is not sys.stdin.buffer:
        handle.close()


def _file_size(handle: IO[bytes]) -> int | None:
    """The size of a regular file (None for a pipe, a terminal, a socket)."""
    try:
        status = os.fstat(handle.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _read_chunks(path: Path, handle: IO[bytes], data: bytearray, limit: int,
                 until_newline: bool = False) -> None:
    """Append chunks of `handle` to `data` until its end (or, with `until_newline`, the
    first chunk holding a newline); refused past `limit` bytes or when it cannot be JSON.
    One growing buffer, not a list of chunks joined: the join's copy of a 100 MB inventory
    took 0.06 s more (its fresh pages). The rest of a regular file is read at once (its size
    and one byte more, bounded by `limit`): 1 MiB chunks took ~0.05 s more over 100 MB."""
    size = len(data)
    whole = None if until_newline else _file_size(handle)
    try:
        while size <= limit:
            want = _CHUNK if whole is None else min(max(whole - size + 1, _CHUNK),
                                                     limit + 1 - size)
            chunk = handle.read(want)
            if not chunk:
                break
            if not size and chunk.lstrip(b" \t\r\n" + _BOM)[:1] not in (b"{", b"[", b""):
                raise InputError(path, "not JSON: it does not start with { or [")
            data += chunk
            size += len(chunk)
            if until_newline and b"\n" in chunk:
                return
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}", unreadable=True) from None
    if size > limit:
        raise InputError(path, f"larger than {limit >> 20} MiB, more than any real inventory; "
                               "is it the right file?")


def read_bytes(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The whole input, refused past `limit` bytes or when it cannot be JSON at all."""
    handle = _open(path)
    data = bytearray()
    try:
        _read_chunks(path, handle, data, limit)
    finally:
        _close(handle)
    return bytes(data)


def _utf8(path: Path, data: bytes | bytearray, notes: list[DataNote] | None,
          where: str = "") -> bytes | bytearray:
    """Bytes that are not UTF-8 replaced by U+FFFD, with a note, so the rest is not lost."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if notes is not None:
            notes.append(DataNote(source=str(path), message=f"{where}bytes that are not UTF-8 "
                                  f"(the first at byte {exc.start}) read as U+FFFD"))
        data = data.decode("utf-8", errors="replace").encode()
    return data


def _loads(path: Path, data: bytes | bytearray, notes: list[DataNote] | None,
           where: str = "") -> Any:
    """Parse with orjson (twice as fast as the stdlib on a 100 MB inventory). orjson refuses
    bytes that are not UTF-8, so only an input it refuses is decoded to find them (`_utf8`)."""
    if data.startswith(_BOM):  # (a bytearray's removeprefix would copy it, BOM or not)
        data = data[len(_BOM):]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        replaced = _utf8(path, data, notes, where)
    try:
        return orjson.loads(replaced)
    except orjson.JSONDecodeError as exc:
        refused = exc
    try:  # whole JSON orjson refuses: a lone surrogate escape, NaN, an integer past 64 bits
        doc = json.loads(replaced)
    except (ValueError, RecursionError):
        at = (f"line {refused.lineno}, column {refused.colno}" if not where
              else f"column {refused.colno}")
        raise InputError(path, f"{where}not JSON: {refused.msg} at {at}") from None
    mended: list[DataNote] = []
    doc = mend_surrogates(doc, mended)
    if notes is not None:
        notes += [note.model_copy(update={"source": str(path)}) for note in mended]
    return doc


@dataclass
class _Part:
    """One file's share of one region. `listing` is (owners, TotalCount) for a raw page;
    `pending` the image entries of a saved JSON region not read yet."""

    region: RegionInventory
    listing: tuple[tuple[str, ...], int | None] | None = None
    entries: int = 0  # the entries of a raw page, repeated ImageIds included
    pending: list[Any] | None = None


@dataclass
class _File:
    """One input, opened: its metadata read, its images still to come (`batches`)."""

    path: Path
    inventory: Inventory  # the file's metadata; regions hold the images already read
    parts: list[_Part] = field(default_factory=list)
    lines: _Lines | None = None  # a JSON Lines inventory: the image lines still to read

    @property
    def accounts(self) -> set[str | None]:
        return {self.inventory.account_of(part.region) for part in self.parts}

    def batches(self, raw: bool = False) -> Iterator[tuple[_Part, list[Any]]]:
        """The file's images in its own order, at most BATCH at a time; with `raw`, a
        decoded saved image as it is (`auditor.typed`), a canonical one as its parsed mapping
        (`auditor.canonical`)."""
        if self.lines is not None:
            yield from self.lines.batches(self.path, self.parts, raw)
            return
        for part in self.parts:
            if part.pending is not None:
                yield from _saved_batches(part, raw)
                continue
            images = part.region.images
            for start in range(0, len(images), BATCH):
                yield part, images[start:start + BATCH]


def _problem(exc: ValidationError) -> str:
    """The first problem of a validation error, as `field: message`."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{where}: {error['msg']}"


def _read_saved(part: _Part, item: Any, entry: str, raw: bool = False) -> Image | RawImage | None:
    """One saved image entry; values kept raw and entries left out go to the part's region
    notes and errors (`entry` names the entry: `#3`, `on line 7`). With `raw`, a canonical
    entry is returned as it is (normalised in place: `auditor.canonical`)."""
    if raw and canonical(item):
        return item
    region = part.region
    image, notes = read_image(item, api=False)
    if image is None:
        region.errors.append(f"image entry {entry} left out: {notes[0].message}")
        region.complete = False
        return None
    region.notes += [n.model_copy(update={"region": region.region}) for n in notes]
    return image


def _saved_batches(part: _Part, raw: bool) -> Iterator[tuple[_Part, list[Any]]]:
    """A saved region's entries as Images, a batch at a time, each mapping freed as it is
    read (peak memory: what is left of the JSON, and one batch); with `raw`, a decoded image
    as it is, a canonical one as its mapping."""
    items = part.pending or []
    part.pending = None
    for start in range(0, len(items), BATCH):
        batch: list[Image | RawImage | typed.Decoded] = []
        for index in range(start, min(start + BATCH, len(items))):
            item = items[index]
            items[index] = None
            if typed.decoded(item):  # decoded and type-checked (`auditor.typed`)
                batch.append(item if raw else image_of(typed.record(item)))
                continue
            if raw and canonical(item):  # most entries: no call, no entry name made
                batch.append(item)
                continue
            image = _read_saved(part, item, f"#{index + 1}")
            if image is not None:
                batch.append(image)
        yield part, batch


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _metadata(path: Path, doc: dict[str, Any]) -> tuple[Inventory, list[list[Any] | None]]:
    """A saved inventory's metadata validated, and each region's image entries set apart."""
    pending: list[list[Any] | None] = []
    for region in _list(doc.get("regions")):
        images = region.get("images") if isinstance(region, dict) else None
        if isinstance(images, list):
            del region["images"]
            pending.append(images)
        else:
            pending.append(None)  # not a list: validation says so
    doc.pop("layout", None)
    try:
        inventory = Inventory.model_validate(doc)
    except ValidationError as exc:
        raise InputError(path, f"not a valid inventory: {_problem(exc)}") from None
    return inventory, pending


def _parse_inventory(path: Path, doc: dict[str, Any]) -> _File:
    inventory, pending = _metadata(path, doc)
    parts = [_Part(region, pending=items) for region, items in
             zip(inventory.regions, pending, strict=True)]
    return _File(path, inventory, parts)


def _parse_raw(path: Path, doc: dict[str, Any], notes: list[DataNote]) -> _File:
    page = read_page(doc)
    if page.region_id is None:
        raise InputError(path, "this DescribeImages response has no RegionId: region unknown")
    region = page.region_id
    file_notes = [n.model_copy(update={"source": str(path), "region": region})
                  for n in page.notes if n.image_id is None]
    image_notes = [n.model_copy(update={"region": region}) for n in page.notes if n.image_id]
    part = RegionInventory(
        region=region,
        total_count=page.total_count,
        images=page.images,
        request_ids=[page.request_id] if page.request_id else [],
        errors=[f"{path}: {error}" for error in page.errors],
        complete=not page.errors,
        notes=image_notes,
    )
    owners = tuple(sorted({i.ImageOwnerAlias or "" for i in page.images}))
    inventory = Inventory(
        tool_version=__version__,
        collected_at=datetime.now(timezone.utc),
        source="file",
        account_id=_account_of(page.images),
        scope=Scope(owners=_owners_of(page.images)),
        regions=[part],
        notes=[*(n if n.region else n.model_copy(update={"region": region}) for n in notes),
               *file_notes],  # a raw page is one region's: its reading's notes are too
    )
    return _File(path, inventory, [_Part(part, (owners, page.total_count), page.entries)])


def _is_raw(doc: Any) -> bool:
    return isinstance(doc, dict) and "format" not in doc and any(
        key in doc for key in ("Images", "TotalCount", "RequestId", "RegionId"))


def _is_lines_header(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("format") == INVENTORY_FORMAT
            and doc.get("layout") == LINES_LAYOUT)


def _document(path: Path, doc: Any, notes: list[DataNote]) -> _File:
    """A whole JSON input: a saved inventory or a raw DescribeImages response."""
    if isinstance(doc, dict) and doc.get("format") == INVENTORY_FORMAT:
        read = _parse_inventory(path, doc)
        read.inventory.notes[:0] = notes
        return read
    if _is_raw(doc):
        return _parse_raw(path, doc, notes)
    raise InputError(
        path,
        f"is neither an imgaudit inventory (\"format\": \"{INVENTORY_FORMAT}\") "
        "nor a DescribeImages response (with \"RegionId\" and \"Images\")",
    )


class _Lines:
    """The image lines of a JSON Lines inventory, read as they are asked for."""

    def __init__(self, handle: IO[bytes], rest: bytes, line: int) -> None:
        self.handle, self.rest, self.line = handle, rest, line

    def _lines(self, path: Path) -> Iterator[bytes]:
        """The lines, read from the rest of the header's chunk by an index (cutting the rest
        off each line copied the chunk's rest each time: ~0.5 GB over its ~900 lines)."""
        pending, start = self.rest, 0
        self.rest = b""
        try:
            while True:
                cut = pending.find(b"\n", start)
                if cut < 0:
                    more = self.handle.readline(MAX_LINE_BYTES + 1)
                    if not more:
                        if pending[start:].strip():
                            yield pending[start:]
                        return
                    pending, start = pending[start:] + more, 0
                    if len(pending) > MAX_LINE_BYTES:
                        raise InputError(path, f"line {self.line + 1} is longer than "
                                         f"{MAX_LINE_BYTES >> 20} MiB: not one image")
                    continue
                line, start = pending[start:cut], cut + 1
                self.line += 1
                if line.strip():
                    yield line
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror}", unreadable=True) from None
        finally:
            _close(self.handle)

    def batches(self, path: Path, parts: Sequence[_Part],
                raw: bool) -> Iterator[tuple[_Part, list[Any]]]:
        """`{"region": ..., ["account_id": ...,] "image": {...}}` per line, as batches of
        consecutive lines of one region."""
        by_key = {(p.region.account_id, p.region.region): p for p in parts}
        decoding = typed.Decoding()
        part: _Part | None = None
        batch: list[Any] = []
        for text in self._lines(path):
            decoded = decoding.line(text) if TYPED else None
            if decoded is not None:  # decoded and type-checked (`auditor.typed`)
                name, account, image = decoded
            else:
                where = f"line {self.line}: "
                line_notes: list[DataNote] = []
                entry = _loads(path, text, line_notes, where)
                if not isinstance(entry, dict) or not isinstance(entry.get("region"), str) \
                        or "image" not in entry:
                    raise InputError(path, f"{where}not an image line "
                                     '({"region": ..., "image": {...}})')
                name, account, image = entry["region"], entry.get("account_id"), entry["image"]
            # (an account id that is no text names no region: a list would not even hash)
            target = by_key.get((account, name)) if isinstance(account, str | None) else None
            if target is None:
                raise InputError(path, f"line {self.line}: region {name} is not listed in the "
                                 "header line")
            if target is not part or len(batch) >= BATCH:
                if part is not None and batch:
                    yield part, batch
                part, batch = target, []
            if decoded is not None:
                batch.append(image if raw else image_of(typed.record(image)))
                continue
            image_id = image.get("ImageId") if isinstance(image, dict) else None
            image_id = image_id if isinstance(image_id, str) else None
            target.region.notes += [note.model_copy(update={
                "region": target.region.region, "image_id": note.image_id or image_id})
                for note in line_notes]
            read = _read_saved(target, image, f"on line {self.line}", raw)
            if read is not None:
                batch.append(read)
        if part is not None and batch:
            yield part, batch


def _open_file(path: Path) -> _File:
    """Open one input: a JSON Lines inventory is read up to its header, anything else whole."""
    notes: list[DataNote] = []
    handle = _open(path)
    data = bytearray()
    lines = False  # the handle handed on to the line reader, which closes it
    try:
        _read_chunks(path, handle, data, MAX_INPUT_BYTES, until_newline=True)
        cut = data.find(b"\n")
        if cut >= 0 and data[cut + 1:].strip():  # more than one line: a header line?
            header = _header(path, bytes(data[:cut]), notes)
            if header is not None:
                read = _parse_inventory(path, header)
                read.inventory.notes[:0] = notes
                read.lines, lines = _Lines(handle, bytes(data[cut + 1:]), 1), True
                return read
        _read_chunks(path, handle, data, MAX_INPUT_BYTES)
    finally:
        if not lines:
            _close(handle)
    doc = typed.Decoding().document(
        memoryview(data)[len(_BOM) if data.startswith(_BOM) else 0:]) if TYPED else None
    if doc is None:  # not a saved inventory msgspec reads: read the old way
        doc = _loads(path, data, notes)
    return _document(path, doc, notes)


def _header(path: Path, line: bytes, notes: list[DataNote]) -> dict[str, Any] | None:
    """The first line as a JSON Lines header, or None when it is not one (the first line of
    an indented JSON document is not JSON at all)."""
    try:
        doc = orjson.loads(_utf8(path, line.removeprefix(_BOM), None))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not _is_lines_header(doc):
        return None
    _utf8(path, line, notes, "line 1: ")  # the note only when it is the header
    return doc


def _owners_of(images: Sequence[Image]) -> list[str]:
    scopes = {owner_scope(i.ImageOwnerAlias, i.IsPublic) for i in images}
    return sorted(scope for scope in scopes if scope) or ["self"]


def _account_of(images: Sequence[Image]) -> str | None:
    """Self images carry the account's own id as ImageOwnerId."""
    owners = {i.ImageOwnerId for i in images if i.ImageOwnerAlias == "self" and i.ImageOwnerId}
    return str(owners.pop()) if len(owners) == 1 else None


def _listing_checks(parts: Sequence[_Part]) -> tuple[int | None, list[str]]:
    """Raw pages grouped into listings (owners, TotalCount): their total, and what is short.

    A listing is short when its pages hold fewer entries than its TotalCount; a page given
    twice (same RequestId and images) counts once, and an ImageId repeated within
    the pages is a note, not a missing page."""
    listings: dict[tuple[tuple[str, ...], int | None], dict[Any, int]] = {}
    for part in parts:
        if part.listing is not None:
            pages = listings.setdefault(part.listing, {})
            images = part.region.images
            key = (tuple(part.region.request_ids), tuple(i.ImageId for i in images))
            pages[key] = part.entries
    totals = [total for (_, total) in listings if total is not None]
    errors = []
    for (_, total), pages in listings.items():
        present = sum(pages.values())
        if total is not None and present < total:
            errors.append(f"{present} of {total} images present in the input (pages missing?)")
    return (sum(totals) if totals else None), errors


def _accounts(files: Sequence[_File]) -> list[str]:
    """The accounts of the inputs; InputError when an input's account cannot be told apart.

    Inputs that name no account (no `account_id`, no self image carrying its ImageOwnerId)
    join the one account the others name, or stay unknown when none does; beside inputs of
    two or more accounts they could belong to any, so they are refused."""
    known = sorted({a for read in files for a in read.accounts if a})
    if len(known) > 1:
        for read in files:
            if None in read.accounts:
                raise InputError(read.path, "its account cannot be told: it has no account_id "
                                 "and no self image naming its owner, while the other inputs "
                                 f"are of accounts {', '.join(known)}; scan it on its own")
    return known


@dataclass
class _Region:
    """One merged region (an account's region over every input) while its images stream."""

    name: str
    account: str | None  # the account its images are of, when known
    parts: list[_Part] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # ImageIds read so far
    repeats: list[DataNote] = field(default_factory=list)
    image_count: int = 0  # kept in scope

    def summary(self, several: bool) -> tuple[RegionSummary, list[DataNote]]:
        parts = self.parts
        raw_total, short = _listing_checks(parts)
        saved_totals = [p.region.total_count for p in parts
                        if p.listing is None and p.region.total_count is not None]
        totals = [*saved_totals, *([raw_total] if raw_total is not None else [])]
        region = RegionSummary(
            region=self.name,
            account_id=self.account if several else None,
            complete=all(p.region.complete for p in parts) and not short,
            image_count=self.image_count,
            total_count=sum(totals) if totals else None,
            request_ids=[rid for p in parts for rid in p.region.request_ids],
            errors=[err for p in parts for err in p.region.errors] + short,
        )
        return region, [note for p in parts for note in p.region.notes] + self.repeats


class InventoryStream:
    """Input files opened and merged; `batches()` reads their images once, then `summary()`
    tells what reports need of the inventory (no image)."""

    def __init__(self, files: Sequence[_File], keep: Keep | None = None) -> None:
        self.files, self.keep = files, keep
        known = _accounts(files)
        self.account_id = known[0] if len(known) == 1 else None
        self.several = len(known) > 1
        self.regions: dict[tuple[str | None, str], _Region] = {}
        self._part_region: dict[int, _Region] = {}
        for read in files:
            for part in read.parts:
                account = read.inventory.account_of(part.region) or self.account_id
                key = (account, part.region.region)
                region = self.regions.get(key) or self.regions.setdefault(
                    key, _Region(part.region.region, account))
                region.parts.append(part)
                self._part_region[id(part)] = region

    def batches(self) -> Iterator[Batch]:
        """Every image once (the first copy of an ImageId in a region), in input order,
        at most BATCH at a time; with `keep`, only the images it keeps."""
        return self._batches(raw=False)

    def records(self) -> Iterator[RecordBatch]:
        """`batches()`, a decoded saved image as it is (`auditor.typed`), a canonical one as
        its parsed mapping (`auditor.canonical`): what the engine reads without validating
        it. With `keep`, as `batches()`."""
        return self._batches(raw=self.keep is None)

    def _batches(self, raw: bool) -> Iterator[Any]:
        keep = self.keep
        for read in self.files:
            for part, images in read.batches(raw):
                region = self._part_region[id(part)]
                seen, kept = region.seen, []
                for image in images:
                    image_id = image["ImageId"] if type(image) is dict else image.ImageId
                    if image_id in seen:
                        region.repeats.append(repeated(image_id, region.name))
                    else:
                        seen.add(image_id)
                        if keep is None or keep(image):
                            kept.append(image)
                region.image_count += len(kept)
                if kept:
                    yield region.name, region.account, kept

    def _sorted(self) -> list[_Region]:
        return [region for _, region in sorted(
            self.regions.items(), key=lambda item: (item[0][1], item[0][0] or ""))]

    def summary(self) -> InventorySummary:
        """The merged inventory without its images (once `batches()` has been read)."""
        inventories = [read.inventory for read in self.files]
        first = inventories[0]
        regions, notes = [], [note for inv in inventories for note in inv.notes]
        for region in self._sorted():
            merged, more = region.summary(self.several)
            regions.append(merged)
            notes += more
        owners = sorted({o for inv in inventories for o in inv.scope.owners})
        return InventorySummary(
            tool_version=first.tool_version,
            collected_at=max(inv.collected_at for inv in inventories),
            source=first.source,
            account_id=self.account_id,
            account_names={k: v for inv in inventories for k, v in
                           (inv.account_names or {}).items()} or None,
            scope=first.scope.model_copy(update={"owners": owners}),
            regions=regions,
            notes=notes,
        )

    def inventory(self) -> Inventory:
        """Every image read and held: the merged Inventory."""
        held: dict[int, list[Image]] = {}
        by_name = {(r.name, r.account): r for r in self.regions.values()}
        for name, account, images in self.batches():
            held.setdefault(id(by_name[(name, account)]), []).extend(images)
        summary = self.summary()
        regions = []
        for own, region in zip(self._sorted(), summary.regions, strict=True):
            _, notes = own.summary(self.several)
            regions.append(RegionInventory(
                region=region.region, account_id=region.account_id, complete=region.complete,
                total_count=region.total_count, images=held.get(id(own), []),
                request_ids=region.request_ids, errors=region.errors, notes=notes))
        return Inventory(
            tool_version=summary.tool_version, collected_at=summary.collected_at,
            source=summary.source, account_id=summary.account_id,
            account_names=summary.account_names, scope=summary.scope, regions=regions,
            notes=[note for read in self.files for note in read.inventory.notes])


def open_inputs(paths: Sequence[Path], keep: Keep | None = None) -> InventoryStream:
    """Every input file opened (a JSON document read whole, a JSON Lines inventory up to its
    header) and merged; images are read when `batches()` is."""
    if sum(1 for path in paths if str(path) == "-") > 1:
        raise InputError(Path("-"), "standard input can be read only once")
    return InventoryStream([_open_file(path) for path in paths], keep)


def load_inputs(paths: Sequence[Path]) -> Inventory:
    """Every input file read and merged, every image held."""
    return open_inputs(paths).inventory()


def load_file(path: Path) -> Inventory:
    """One input file as an Inventory (a raw response becomes a one-region inventory)."""
    return load_inputs([path])


INVENTORY_FORMATS = ("json", "jsonl")


def inventory_format(path: Path | str, given: str | None = None) -> str:
    """`given`, else `jsonl` for a path ending in `.jsonl`, else `json`."""
    if given is not None:
        return given
    return "jsonl" if str(path).lower().endswith(".jsonl") else "json"


def dump_inventory(inventory: Inventory, fmt: str = "json") -> str:
    """Compact JSON (like the JSON report: a third smaller and faster than indented), or
    JSON Lines (`fmt` jsonl, see `dump_inventory_lines`)."""
    if fmt == "jsonl":
        return dump_inventory_lines(inventory)
    return inventory.model_dump_json(exclude_none=True)


def dump_inventory_lines(inventory: Inventory) -> str:
    """The JSON Lines inventory: a header line (the inventory without its images, with
    `"layout": "jsonl"`), then one line per image, `{"region": ..., "image": {...}}` (and
    `account_id` when the region names one). Every line ends with a newline."""
    lines = [lines_header(inventory)]
    for region in inventory.regions:
        lines += image_lines(region)
    return "\n".join(lines) + "\n"


def lines_header(inventory: Inventory) -> str:
    """The first line of a JSON Lines inventory (without its newline): everything but the
    images (which the regions need not hold any more)."""
    header = inventory.model_dump(mode="json", exclude_none=True,
                                  exclude={"regions": {"__all__": {"images"}}})
    first = {"format": header.pop("format"), "format_version": header.pop("format_version"),
             "layout": LINES_LAYOUT, **header}
    return orjson.dumps(first).decode()


def image_lines(region: RegionInventory) -> list[str]:
    """The JSON Lines of a region's images (without newlines)."""
    prefix = line_prefix(region).decode()
    return [prefix + image.model_dump_json(exclude_none=True) + "}" for image in region.images]


def line_prefix(region: RegionInventory) -> bytes:
    """What each JSON Lines line of the region's images starts with, up to the image."""
    where = {"region": region.region}
    if region.account_id is not None:
        where["account_id"] = region.account_id
    return orjson.dumps(where)[:-1] + b',"image":'

