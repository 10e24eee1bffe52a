"""HTTP that a hostile or broken server cannot stall or flood.

`requests` bounds each socket read, not a whole request: a server that sends one byte every
few seconds would hold a call forever. Here every request has one deadline, enforced by a
watchdog thread that shuts the request's socket down when it passes (which also ends every
call at once on Ctrl-C), and every answer is read with a bound on its decoded size, so a
small gzip body cannot grow into gigabytes in memory.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_BODY = 32 * 1024 * 1024  # decoded bytes of one answer; a page of 100 images is ~150 kB
CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"  # only what `read_body` can decode with a bound

_current = threading.local()  # the request slot of this thread, while a call is under way


class BodyTooLargeError(Exception):
    """The answer decodes to more than MAX_BODY bytes."""


class DeadlineExceededError(Exception):
    """The watchdog ended the request (its deadline passed, or the run was cancelled)."""


@dataclass(eq=False)
class _Slot:
    """One request in flight: the connection it uses, once it has one."""

    connection: HTTPConnection | None = None
    killed: str | None = None  # why the watchdog ended it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self) -> None:
        """The answer is read: its connection may serve another request now, untouched."""
        with self.lock:
            self.connection = None

    def kill(self, why: str) -> None:
        with self.lock:
            if self.killed is None:
                self.killed = why
            sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # the plain socket's shutdown, also for TLS:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the blocked read returns now


class _Tracked:
    """Mixin for urllib3 connections: a request registers its connection with its slot."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        slot: _Slot | None = getattr(_current, "slot", None)
        if slot is not None:
            with slot.lock:
                slot.connection = self  # type: ignore[assignment]
                killed = slot.killed
            if killed:
                raise DeadlineExceededError(killed)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Tracked, HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class TrackedAdapter(HTTPAdapter):
    """An adapter whose connections (direct or through a proxy) the watchdog can reach."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


class Watchdog:
    """Ends requests that outlive their deadline; `cancel_all` ends every one (Ctrl-C)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Slot]] = []
        self._live: set[_Slot] = set()
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, seconds: float) -> Iterator[_Slot]:
        """The calling thread's request is ended `seconds` from now if still running."""
        slot = _Slot()
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), slot))
            self._live.add(slot)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="imgaudit-watchdog",
                                                daemon=True)
                self._thread.start()
            if self._heap[0][2] is slot:  # due first: the watchdog sleeps until an earlier one
                self._wake.notify()
        _current.slot = slot
        try:
            yield slot
        finally:
            slot.done()
            _current.slot = None
            with self._wake:
                self._live.discard(slot)

    def cancel_all(self, why: str) -> None:
        with self._wake:
            live = list(self._live)
        for slot in live:
            slot.kill(why)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, slot = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            slot.kill("no complete answer before the request's deadline")


_shared_watchdog = Watchdog()


def bounded_request(
    session: requests.Session, method: str, url: str, *, seconds: float,
    limit: int = MAX_BODY, **kwargs: Any,
) -> tuple[requests.Response, bytes]:
    """One request that must end within `seconds` with at most `limit` decoded bytes (for
    calls made outside `ApiClient`: the metadata service). Raises requests' and urllib3's
    exceptions, DeadlineExceededError, BodyTooLargeError or ValueError."""
    with _shared_watchdog.watch(seconds) as slot:
        try:
            response = session.request(method, url, stream=True, allow_redirects=False,
                                       **kwargs)
            try:
                body = read_body(response, limit)
                slot.done()
            finally:
                response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError):
            if slot.killed:
                raise DeadlineExceededError(slot.killed) from None
            raise
    return response, body


def _decoder(encoding: str) -> Any:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def read_body(response: requests.Response, limit: int = MAX_BODY) -> bytes:
    """The decoded body of a streamed response, at most `limit` bytes, else BodyTooLargeError.

    Decompression is bounded too: zlib never returns more than the room left.
    """
    decoder = _decoder(response.headers.get("Content-Encoding", "").strip().lower())
    declared = response.headers.get("Content-Length", "")
    if decoder is None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"the answer declares {int(declared)} bytes")
    out = bytearray()
    for chunk in response.raw.stream(CHUNK, decode_content=False):
        data = chunk
        if decoder is not None:
            data = decoder.decompress(chunk, limit + 1 - len(out))
            if decoder.unconsumed_tail:
                raise BodyTooLargeError(f"the answer decodes to more than {limit} bytes")
        out += data
        if len(out) > limit:
            raise BodyTooLargeError(f"the answer is larger than {limit} bytes")
    if decoder is not None:
        out += decoder.flush()
        if not decoder.eof:
            raise ValueError("the compressed answer ends early")
        if decoder.unused_data:
            raise ValueError("data after the end of the compressed answer")
    return bytes(out)
