"""The fake endpoint: a real HTTP server on 127.0.0.1 (port 0) speaking the RPC API, STS and
the ECS metadata service, with the faults of `cloud.Fault` injected on demand."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import api
from .auth import RefusedError, verify_v1, verify_v3
from .cloud import CallRecord, FakeCloud, Fault

ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
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

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
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
        key = cloud.issue_sts_key(cloud.keys[next(iter(cloud.keys))].account_id)
        self._json(200, {"AccessKeyId": key.key_id, "AccessKeySecret": key.secret,
                         "SecurityToken": key.token, "Expiration": "2099-01-01T00:00:00Z",
                         "LastUpdated": "2026-11-27T00:00:00Z", "Code": "Success"})

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
        try:
            if v3:
                key = verify_v3(cloud, method, "/", headers, query, body)
                version = headers.get("x-acs-version", "")
            else:
                key = verify_v1(cloud, method, params)
                version = params.get("Version", "")
            record.key_id = key.key_id
            fault = cloud.take_fault(action, params)
            if fault is not None and self._fault(fault, record):
                return
            doc = api.answer(cloud, action, version, key, params)
        except RefusedError as refused:
            record.status, record.code = refused.status, refused.code
            return self._error(refused.status, refused.code, refused.message)
        if not v3 and params.get("Format", "XML").upper() != "JSON":
            return self._send(200, b"<?xml version='1.0'?><Response/>", "text/xml")
        if isinstance(doc, bytes):
            self._send(200, doc)
        else:
            self._json(200, doc)
        if action == "DescribeImages":
            cloud.after_page(params.get("RegionId", ""), int(params.get("PageNumber", "1")))

    def _fault(self, fault: Fault, record: CallRecord) -> bool:
        """Answers with the fault; False when the call should then proceed (slow)."""
        record.code = fault.kind
        if fault.kind == "slow":
            time.sleep(fault.delay)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, cloud: FakeCloud) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cloud = cloud
        self.metadata_tokens: set[str] = set()


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
