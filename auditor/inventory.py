"""Read and merge input files: saved inventories and raw DescribeImages response bodies.

A raw response is what the API (or `aliyun ecs DescribeImages`) prints: one page, or all pages
merged by the CLI's pager. Both kinds are read by the one reader of `auditor.responses`, so an
odd value never drops an image (it is kept raw in a data-quality note). Several files of one
region merge into one region, de-duplicated by ImageId (the first copy kept, as the collector
does, with a note). Raw pages of one listing (same owners, same TotalCount) are complete when
their entries reach that TotalCount; a saved inventory's regions keep the completeness
the collector recorded. Inputs are read whole, up to `MAX_INPUT_BYTES`; `-` is standard input,
and a FIFO (`<(command)`) reads like a file.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from auditor import __version__
from auditor.errors import InputError
from auditor.models import (
    INVENTORY_FORMAT,
    DataNote,
    Image,
    Inventory,
    RegionInventory,
    Scope,
    owner_scope,
)
from auditor.responses import first_of_each, read_image, read_page

# Far above any real inventory (100,000 images are ~110 MB saved): a bound, so that an input
# that never ends (/dev/zero, a runaway pipe) is refused instead of filling memory.
MAX_INPUT_BYTES = 1 << 30
_CHUNK = 1 << 20


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


def read_bytes(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The whole input, refused past `limit` bytes or when it cannot be JSON at all."""
    handle = _open(path)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            if not chunks and chunk.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] not in (b"{", b"[", b""):
                raise InputError(path, "not JSON: it does not start with { or [")
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}", unreadable=True) from None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if size > limit:
        raise InputError(path, f"larger than {limit >> 20} MiB, more than any real inventory; "
                               "is it the right file?")
    return b"".join(chunks)


def read_json(path: Path, notes: list[DataNote] | None = None) -> Any:
    """Parse with orjson (twice as fast as the stdlib on a 100 MB inventory).

    Bytes that are not UTF-8 are replaced by U+FFFD, with a note, so the rest is not lost."""
    data = read_bytes(path).removeprefix(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if notes is not None:
            notes.append(DataNote(source=str(path), message=f"bytes that are not UTF-8 (the "
                                  f"first at byte {exc.start}) read as U+FFFD"))
        data = data.decode("utf-8", errors="replace").encode()
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InputError(path, f"not JSON: {exc.msg} at {where}") from None


@dataclass
class _Part:
    """One file's share of one region; `listing` is (owners, TotalCount) for a raw page."""

    region: RegionInventory
    listing: tuple[tuple[str, ...], int | None] | None = None
    entries: int = 0  # the entries of a raw page, repeated ImageIds included


@dataclass
class _File:
    path: Path
    inventory: Inventory
    parts: list[_Part] = field(default_factory=list)

    @property
    def accounts(self) -> set[str | None]:
        return {self.inventory.account_of(part.region) for part in self.parts}


def _problem(exc: ValidationError) -> str:
    """The first problem of a validation error, as `field: message`."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{where}: {error['msg']}"


def _saved_images(region: dict[str, Any]) -> None:
    """Each image mapping of a saved region replaced by its Image (freeing the mapping as it
    goes: peak memory is the records plus what is left of the JSON); values kept raw and
    entries left out are added to the region's notes and errors."""
    images = region.get("images")
    if not isinstance(images, list):
        return
    notes: list[DataNote] = []
    errors: list[str] = []
    name = region.get("region") if isinstance(region.get("region"), str) else None
    kept = []
    for index, item in enumerate(images):
        image, image_notes = read_image(item, api=False)
        images[index] = None
        if image is None:
            errors.append(f"image entry #{index + 1} left out: {image_notes[0].message}")
            continue
        kept.append(image)
        notes += [n.model_copy(update={"region": name}) for n in image_notes]
    region["images"] = kept
    if notes:
        region["notes"] = [*_list(region.get("notes")), *notes]
    if errors:
        region["errors"] = [*_list(region.get("errors")), *errors]
        region["complete"] = False


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_inventory(path: Path, doc: dict[str, Any]) -> _File:
    for region in _list(doc.get("regions")):
        if isinstance(region, dict):
            _saved_images(region)
    try:
        inventory = Inventory.model_validate(doc)
    except ValidationError as exc:
        raise InputError(path, f"not a valid inventory: {_problem(exc)}") from None
    return _File(path, inventory, [_Part(region) for region in inventory.regions])


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
        notes=[*notes, *file_notes],
    )
    return _File(path, inventory, [_Part(part, (owners, page.total_count), page.entries)])


def _is_raw(doc: Any) -> bool:
    return isinstance(doc, dict) and "format" not in doc and any(
        key in doc for key in ("Images", "TotalCount", "RequestId", "RegionId"))


def _read(path: Path) -> _File:
    notes: list[DataNote] = []
    doc = read_json(path, notes)
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


def load_file(path: Path) -> Inventory:
    """One input file as an Inventory (a raw response becomes a one-region inventory)."""
    return load_inputs([path])


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
    the pages is a note (see `first_of_each`), not a missing page."""
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


def _merge_region(name: str, parts: Sequence[_Part], account: str | None) -> RegionInventory:
    images, repeats = first_of_each([i for p in parts for i in p.region.images], name)
    raw_total, short = _listing_checks(parts)
    saved_totals = [p.region.total_count for p in parts
                    if p.listing is None and p.region.total_count is not None]
    totals = [*saved_totals, *([raw_total] if raw_total is not None else [])]
    return RegionInventory(
        region=name,
        account_id=account,
        complete=all(p.region.complete for p in parts) and not short,
        total_count=sum(totals) if totals else None,
        images=images,
        request_ids=[rid for p in parts for rid in p.region.request_ids],
        errors=[err for p in parts for err in p.region.errors] + short,
        notes=[note for p in parts for note in p.region.notes] + repeats,
    )


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


def _merge(files: Sequence[_File]) -> Inventory:
    """Regions of the same account and name merge; accounts are kept apart."""
    known = _accounts(files)
    by_region: dict[tuple[str | None, str], list[_Part]] = {}
    for read in files:
        for part in read.parts:
            account = read.inventory.account_of(part.region) or (known[0] if known else None)
            by_region.setdefault((account, part.region.region), []).append(part)
    inventories = [read.inventory for read in files]
    first = inventories[0]
    owners = sorted({o for inv in inventories for o in inv.scope.owners})
    several = len(known) > 1
    regions = [_merge_region(name, parts, account if several else None)
               for (account, name), parts in sorted(by_region.items(), key=_region_order)]
    return Inventory(
        tool_version=first.tool_version,
        collected_at=max(inv.collected_at for inv in inventories),
        source=first.source,
        account_id=known[0] if len(known) == 1 else None,
        account_names={k: v for inv in inventories for k, v in (inv.account_names or {}).items()}
        or None,
        scope=first.scope.model_copy(update={"owners": owners}),
        regions=regions,
        notes=[note for inv in inventories for note in inv.notes],
    )


def _region_order(item: tuple[tuple[str | None, str], list[_Part]]) -> tuple[str, str]:
    (account, name), _ = item
    return name, account or ""


def merge(inventories: Sequence[Inventory]) -> Inventory:
    """Merge inventories: regions of the same account and name merge, images de-duplicated
    by ImageId."""
    return _merge([_File(Path(f"<inventory {n + 1}>"), inv, [_Part(r) for r in inv.regions])
                   for n, inv in enumerate(inventories)])


def load_inputs(paths: Sequence[Path]) -> Inventory:
    """Every input file read and merged."""
    if sum(1 for path in paths if str(path) == "-") > 1:
        raise InputError(Path("-"), "standard input can be read only once")
    return _merge([_read(path) for path in paths])


def dump_inventory(inventory: Inventory) -> str:
    """Compact JSON (like the JSON report): a third smaller and faster than indented."""
    return inventory.model_dump_json(exclude_none=True)
