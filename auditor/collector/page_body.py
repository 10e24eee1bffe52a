"""One DescribeImages page read from its bytes into `Image` records.

The fast path parses the body with orjson, checks the page's own fields in Python and
validates the whole image list in one pydantic-core call (a `TypeAdapter`): about a quarter
less CPU per page than validating the body as a pydantic model from its JSON, since
`Image`'s wrapper-collapsing validator needs Python dicts anyway. A page that fails it is
read by `auditor.responses.read_page`, the one reader that `--input` uses too: an odd value
is kept raw in a data-quality note (`Page.notes`) and its image kept; an entry that is no
image at all is a `Page.errors` line. A body that is not JSON raises orjson's JSONDecodeError:
the client retries that as a transient `InvalidResponse`. Whole JSON that orjson refuses (a
lone surrogate escape, Infinity, a 400-digit number) is read by the standard library instead,
the same on every page. A page without a usable TotalCount raises ValueError: the client
reports it, without asking again, as a `MalformedResponse`.

A page read only to be saved (`collect -o`, `parse_saved_page`) skips the records: each
plain image becomes the mapping the inventory writes (auditor/collector/saved.py) and only
the others are validated, in one call; a page one of them fails is read whole by `read_page`,
with the same notes and errors as `parse_page` gives.

Pages are read one at a time (a lock), each to the end before the next. Reading is CPU
work that holds the GIL, so the page threads of all regions share one core whatever they
do: when sixteen answers arrive together, reading them at once makes each finish when the
last does (the interpreter switches between them every few milliseconds), and only then
does any of them free its request slot for the next page; read in turn, the first frees its
slot after one page's reading, the next after two, and so on. Measured with `python
bench/bench_collect.py --library`-style runs (two sets of 5 alternating pairs on the shared
2-core box): API phase 2.59 and 2.92 s against 2.76 and 3.13 s (medians), 9 pairs of 10
faster, and less CPU (fewer thread switches).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from auditor.collector.plain_page import read_plain_page
from auditor.collector.saved import SavedImage, saved_image
from auditor.models import API_SHAPE, DataNote, Image
from auditor.responses import Page, mend_surrogates, read_page
from auditor.safetext import visible

__all__ = ["Page", "SavedPage", "parse_page", "parse_saved_page"]

_IMAGES = TypeAdapter(list[Image])
_MAX_COUNT = 2**53  # a TotalCount beyond what a JSON number holds exactly goes to read_page
_READING = threading.Lock()  # one page read at a time: see the module's docstring


def parse_page(body: bytes) -> Page:
    """The page's TotalCount, RequestId, images and notes; ValueError when it is unusable."""
    with _READING:
        try:
            doc = orjson.loads(body)  # orjson.JSONDecodeError is a ValueError
        except orjson.JSONDecodeError as refused:
            return _read_odd(body, refused)
        page = _well_formed(doc)
        return _read_doc(doc) if page is None else page


@dataclass
class SavedPage:
    """A page read only to be saved (`collect -o`): each plain image as the saved inventory
    holds it (auditor/collector/saved.py), the others as `Image` records, validated as
    `parse_page` validates them; the notes and errors `parse_page` gives."""

    total_count: int | None
    request_id: str | None
    images: list[Image | SavedImage]
    notes: list[DataNote] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_saved_page(body: bytes) -> SavedPage:
    """`parse_page` for a page that is only saved: plain images are not validated."""
    with _READING:
        typed = read_plain_page(body)  # a page of plain values: one typed pass (msgspec)
        if typed is not None:
            return SavedPage(typed.total_count, typed.request_id, typed.images)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as refused:
            return _as_saved(_read_odd(body, refused))
        header = _header(doc)
        if header is not None:
            total, request_id, _, items = header
            plain = [saved_image(item) for item in items]
            odd = [item for item, saved in zip(items, plain, strict=True) if saved is None]
            try:
                validated = iter(_IMAGES.validate_python(odd, context=API_SHAPE) if odd else ())
            except ValidationError:
                pass  # the whole page is read as parse_page reads it, with its notes
            else:
                images: list[Image | SavedImage] = [
                    next(validated) if saved is None else SavedImage.of(saved)
                    for saved in plain]
                return SavedPage(total, request_id, images)
        return _as_saved(_read_doc(doc))


def _as_saved(page: Page) -> SavedPage:
    return SavedPage(page.total_count, page.request_id, list(page.images), page.notes,
                     page.errors)


def _read_odd(body: bytes, refused: orjson.JSONDecodeError) -> Page:
    """A body orjson refused: read by the standard library when it is whole JSON."""
    mended: list[DataNote] = []
    page = _read_doc(mend_surrogates(_complete_json(body, refused), mended))
    page.notes[:0] = mended
    return page


def _read_doc(doc: Any) -> Page:
    """A page the fast path refused, read by `read_page` (with its notes)."""
    page = read_page(doc)
    if page.total_count is None:
        raise ValueError(f"the page has no usable TotalCount ({_count_of(doc)})")
    return page


def _complete_json(body: bytes, refused: orjson.JSONDecodeError) -> Any:
    """A body orjson refused that is whole JSON to the standard library: a lone UTF-16
    surrogate escape, NaN or Infinity, an integer beyond 64 bits. Asking again would give the
    same answer, so it is read as it is; a body the standard library refuses too (cut short,
    not JSON) raises orjson's error again, which the client retries; one nested too deeply
    for either raises a plain ValueError (asking again gives the same answer)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    except ValueError:
        raise refused from None


def _count_of(doc: Any) -> str:
    if not isinstance(doc, dict) or "TotalCount" not in doc:
        return "none"
    return f"TotalCount {visible(repr(doc['TotalCount']))[:60]}"


def _header(doc: Any) -> tuple[int, str | None, str | None, list[Any]] | None:
    """(TotalCount, RequestId, RegionId, image entries) when every part of the page around
    the images is what the API documents; None sends the page to read_page."""
    if type(doc) is not dict:
        return None
    total, request_id, region_id = doc.get("TotalCount"), doc.get("RequestId"), doc.get("RegionId")
    if not (type(total) is int and 0 <= total <= _MAX_COUNT and _text(request_id)
            and _text(region_id)):
        return None
    wrapper = doc.get("Images")
    items = [] if wrapper is None else wrapper.get("Image", []) if type(wrapper) is dict else None
    if type(items) is not list:
        return None
    return total, request_id, region_id, items


def _well_formed(doc: Any) -> Page | None:
    """The page when every part of it is what the API documents; None sends it to read_page."""
    header = _header(doc)
    if header is None:
        return None
    total, request_id, region_id, items = header
    try:
        images = _IMAGES.validate_python(items, context=API_SHAPE)
    except ValidationError:
        return None
    return Page(total, request_id, region_id, images, entries=len(images))


def _text(value: Any) -> bool:
    return value is None or type(value) is str
