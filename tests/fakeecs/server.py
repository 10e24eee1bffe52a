"""The fake endpoint: a real HTTP server on 127.0.0.1 (port 0) speaking the RPC API, STS and
the ECS metadata service, with the faults of `cloud.Fault` injected on demand."""

from __future__ import annotations

import functools
import json
import re
import ssl
import struct
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import api
from .auth import RefusedError, verify_v1, verify_v3
from .cloud import CallRecord, FakeCloud, Fault

ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
CREDENTIALS_URI_PATH = "/credentials-uri"
FAULT_ANSWERS = {
    "throttle": (400, "Throttling.User", "Request was denied due to user flow control."),
    "unavailable": (503, "ServiceUnavailable",
                    "The request has failed due to a temporary failure of the server."),
    "internal": (500, "InternalError",
                 "The request processing has failed due to some unknown error."),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    extra_headers: list[tuple[str, str]]

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in getattr(self, "extra_headers", []):
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n")  # headers and body in one write
        self.wfile.write(b"".join(self._headers_buffer) + body)
        self._headers_buffer = []

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"RequestId": api.request_id(), "HostId": "ecs.aliyuncs.com",
                            "Code": code, "Message": message,
                            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"})

    def do_PUT(self) -> None:
        self._metadata("PUT")

    def do_GET(self) -> None:
        if self.path.startswith("/latest/"):
            self._metadata("GET")
        elif self.path.startswith(CREDENTIALS_URI_PATH):
            self._credentials_uri()
        else:
            self._api("GET")

    def do_POST(self) -> None:
        self._api("POST")

    def _metadata(self, method: str) -> None:
        cloud = self.server.cloud
        cloud.metadata_calls.append(f"{method} {self.path}")
        if method == "PUT" and self.path == "/latest/api/token":
            if not self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds"):
                return self._send(400, b"missing ttl header", "text/plain")
            token = uuid.uuid4().hex
            self.server.metadata_tokens.add(token)
            return self._send(200, token.encode(), "text/plain")
        if self.headers.get("X-aliyun-ecs-metadata-token") not in self.server.metadata_tokens:
            return self._send(401, b"Unauthorized", "text/plain")
        if not self.path.startswith(ROLE_PATH) or cloud.instance_role is None:
            return self._send(404, b"Not Found", "text/plain")
        name = self.path[len(ROLE_PATH):]
        if not name:
            return self._send(200, cloud.instance_role.encode(), "text/plain")
        if name != cloud.instance_role:
            return self._send(404, b"Not Found", "text/plain")
        if cloud.metadata_answer is not None:
            return self._send(200, cloud.metadata_answer, "text/plain")
        key = cloud.issue_sts_key(cloud.keys[next(iter(cloud.keys))].account_id)
        if cloud.metadata_drip:
            return self._drip(b'{"AccessKeyId": "' + key.key_id.encode() + b'"}',
                              cloud.metadata_drip)
        self._json(200, {"AccessKeyId": key.key_id, "AccessKeySecret": key.secret,
                         "SecurityToken": key.token, "Expiration": key.expiration(),
                         "LastUpdated": "2026-11-27T00:00:00Z", "Code": "Success"})

    def _credentials_uri(self) -> None:
        """A credentials service as ALIBABA_CLOUD_CREDENTIALS_URI names it: GET, JSON keys."""
        cloud = self.server.cloud
        cloud.uri_calls.append(self.path)
        if cloud.uri_status != 200:
            return self._send(cloud.uri_status, b"unavailable", "text/plain")
        if cloud.uri_answer is not None:
            return self._send(200, cloud.uri_answer)
        key = cloud.issue_sts_key(cloud.keys[next(iter(cloud.keys))].account_id)
        self._json(200, {"Code": "Success", "AccessKeyId": key.key_id,
                         "AccessKeySecret": key.secret, "SecurityToken": key.token,
                         "Expiration": key.expiration()})

    def _read(self) -> tuple[dict[str, str], dict[str, str], bytes]:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        form = {}
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return query, form, body

    def _api(self, method: str) -> None:
        record = CallRecord(action="", params={})
        try:
            self._answer(method, record)
        finally:
            record.finished = time.monotonic()

    def _answer(self, method: str, record: CallRecord) -> None:
        cloud = self.server.cloud
        query, form, body = self._read()
        headers = {k.lower(): v for k, v in self.headers.items()}
        params = query | form
        if cloud.latency:
            time.sleep(cloud.latency)
        v3 = "authorization" in headers
        record.action = headers.get("x-acs-action", "") if v3 else params.get("Action", "")
        record.params = params
        action = record.action
        cloud.record(record)
        self.extra_headers = []
        fault = None
        try:
            if action == "AssumeRoleWithOIDC" and not v3:  # anonymous: nothing signed
                if params.get("Version") != api.STS_VERSION:
                    raise RefusedError(400, "InvalidVersion",
                                       "Specified parameter Version is not valid.")
                fault = cloud.take_fault(action, params)
                if fault is not None and self._fault(fault, record):
                    return
                doc = api.assume_role_with_oidc(cloud, params)
                return self._send(200, _encode(doc))
            if v3:
                key = verify_v3(cloud, method, "/", headers, query, body)
                version = headers.get("x-acs-version", "")
            else:
                key = verify_v1(cloud, method, params)
                version = params.get("Version", "")
            record.key_id = key.key_id
            fault = cloud.take_fault(action, params)
            if fault is not None and fault.retry_after:
                self.extra_headers.append(fault.retry_after)
            if fault is not None and self._fault(fault, record):
                return
            if fault is not None and fault.kind == "repeat":
                params = params | {"PageNumber": str(max(1, int(params["PageNumber"]) - 1))}
            doc = api.answer(cloud, action, version, key, params)
        except RefusedError as refused:
            record.status, record.code = refused.status, refused.code
            return self._error(refused.status, refused.code, refused.message)
        if not v3 and params.get("Format", "XML").upper() != "JSON":
            return self._send(200, b"<?xml version='1.0'?><Response/>", "text/xml")
        encoded = doc if isinstance(doc, bytes) else _encode(doc)
        if action == "DescribeImages":
            # The change lands before the answer leaves: once the client holds this page, a
            # request for the next one (from any thread) must see it, whatever the scheduling.
            cloud.after_page(params.get("RegionId", ""), int(params.get("PageNumber", "1")))
        if fault is not None and fault.kind in ("total", "drip"):
            self._rewritten(fault, encoded)
        else:
            self._send(200, encoded)

    def _rewritten(self, fault: Fault, body: bytes) -> None:
        """The real answer, with its TotalCount replaced, or dripped out slowly."""
        if fault.kind == "total":
            field = b'"TotalCount": ' + fault.total.encode() + b", " if fault.total else b""
            return self._send(200, re.sub(rb'"TotalCount": [^,}]*(, )?', field, body, count=1))
        self._drip(body, fault.delay)

    def _drip(self, body: bytes, delay: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                self.server.cloud.dripping.set()  # the answer has started: a test may act
                time.sleep(delay)
        except OSError:  # the client gave up: what it should do
            self.close_connection = True

    def _fault(self, fault: Fault, record: CallRecord) -> bool:
        """Answers with the fault; False when the call should then proceed (slow, or a fault
        that changes the real answer)."""
        record.code = fault.kind
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind in ("total", "repeat", "drip"):
            return False
        if fault.kind in FAULT_ANSWERS:
            status, code, message = FAULT_ANSWERS[fault.kind]
            record.status = status
            self._error(status, code, message)
        elif fault.kind == "error":
            record.status = fault.status
            self._error(fault.status, fault.code, fault.message)
        elif fault.kind == "badgateway":
            record.status = 502
            self._send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif fault.kind == "redirect":
            record.status = 302
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault.kind == "body":
            self._send(fault.status, fault.body)
        elif fault.kind == "gzipbomb":
            self.extra_headers.append(("Content-Encoding", "gzip"))
            self._send(200, gzip_zeros(fault.bomb_mib))
        elif fault.kind == "nonjson":
            self._send(200, b"<html>maintenance</html>", "text/html")
        elif fault.kind == "truncated":
            self._send(200, b'{"RequestId": "X", "TotalCount": 3, "Images": {"Ima')
        elif fault.kind == "cut":
            self.close_connection = True
            self._send(200, b'{"RequestId": "X", "Tot', length=4096)
        else:
            raise ValueError(f"unknown fault kind {fault.kind}")
        return True


def _encode(doc: dict[str, Any]) -> bytes:
    """UTF-8 JSON; text that UTF-8 cannot hold (a lone surrogate) goes out `\\uXXXX`-escaped."""
    try:
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc).encode("ascii")


@functools.lru_cache(maxsize=4)
def gzip_zeros(mib: int) -> bytes:
    """`mib` MiB of zero bytes, one valid gzip stream (about 1 kB per MiB). After a full flush
    the compressor's state repeats, so one compressed MiB is repeated instead of recomputed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]  # the last block, without the 3 MiB stream's trailer
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return first + again * (mib - 1) + end + trailer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, cloud: FakeCloud) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cloud = cloud
        self.metadata_tokens: set[str] = set()

    def get_request(self) -> Any:
        accepted = super().get_request()
        with self.cloud.lock:
            self.cloud.connections += 1
        return accepted

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (as the collector does on a gzip bomb or past a
        deadline) is no server error; anything else still prints."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeEndpoint:
    """`with FakeEndpoint(cloud) as fake: fake.url` -> http://127.0.0.1:PORT."""

    def __init__(self, cloud: FakeCloud | None = None,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.cloud = cloud or FakeCloud()
        self._server = _Server(self.cloud)
        scheme = "http"
        if tls is not None:  # (certificate, key): serve HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)

    def __enter__(self) -> FakeEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
