"""One signed RPC call over a shared `requests.Session`, retried when the failure is transient.

V3 sends the parameters in the query string and the key material in headers; V1 sends
everything as a form body, so no security token ever appears in a URL (URLs reach logs).
Every message that leaves this module has the secret and the token scrubbed from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from auditor.collector import signing
from auditor.collector.retry import Deadline, RetryPolicy, is_retryable
from auditor.collector.signing import Credentials
from auditor.errors import ApiError

log = logging.getLogger("imgaudit.collector")

T = TypeVar("T")
USER_AGENT = "imgaudit"
FORM = "application/x-www-form-urlencoded"


def new_session(pool_size: int) -> requests.Session:
    """One session per run: keep-alive connections, pooled per host, TLS always verified.

    The environment (proxies, NO_PROXY, REQUESTS_CA_BUNDLE) is read once per endpoint by the
    client, not on every request as requests does by default (a measurable cost per page).
    """
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=64, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def environment_settings(url: str) -> dict[str, Any]:
    """requests' own reading of the environment for `url`: proxies, verify (never False)."""
    probe = requests.Session()
    try:
        settings = probe.merge_environment_settings(url, {}, None, True, None)
    finally:
        probe.close()
    return {"proxies": settings["proxies"], "verify": settings["verify"] or True,
            "cert": settings["cert"]}


def json_object(body: bytes) -> dict[str, Any]:
    """The default answer parser: a JSON object, else ValueError."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def redact(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of a secret by `***`, raw or percent-encoded once or twice
    (the API echoes its V1 string to sign, where a token appears encoded twice)."""
    for secret in secrets:
        once = signing.percent_encode(secret)
        for form in sorted({secret, once, signing.percent_encode(once)}, key=len, reverse=True):
            text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class Call:
    """What to call: an RPC action of one API version at one base URL."""

    base_url: str
    action: str
    version: str
    params: Mapping[str, str]
    region: str | None = None


class ApiClient:
    """Signs, sends and retries RPC calls; returns the parsed JSON body of a success."""

    def __init__(
        self,
        session: requests.Session,
        credentials: Credentials,
        *,
        signature: str = "v3",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.session = session
        self.credentials = credentials
        self.signature = signature
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._environment: dict[str, dict[str, Any]] = {}

    def cancel(self) -> None:
        """No new attempt starts after this (Ctrl-C); waits between attempts end now."""
        self._stop.set()

    def call(
        self, call: Call, *, deadline: Deadline | None = None, max_attempts: int | None = None
    ) -> dict[str, Any]:
        """The JSON body of a successful answer; ApiError once retries are spent."""
        return self.call_parsed(call, json_object, deadline=deadline, max_attempts=max_attempts)

    def call_parsed(
        self,
        call: Call,
        parse: Callable[[bytes], T],
        *,
        deadline: Deadline | None = None,
        max_attempts: int | None = None,
    ) -> T:
        """`parse(body)` of a successful answer; a ValueError from `parse` is retried."""
        deadline = deadline or Deadline(self.retry.region_budget)
        attempts = max_attempts or self.retry.max_attempts
        for attempt in range(attempts):
            if self._stop.is_set():
                raise self._error(call, "Cancelled", "the collection was interrupted", None, None)
            try:
                return self._once(call, parse)
            except ApiError as error:
                if not is_retryable(error.code, error.http_status) or attempt + 1 >= attempts:
                    raise
                wait = self.retry.delay(attempt)
                if not deadline.allows_wait(wait):
                    raise
                log.info("retrying %s in %s after %s (wait %.2fs)",
                         call.action, call.region or "-", error.code, wait)
                self._stop.wait(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, call: Call, parse: Callable[[bytes], T]) -> T:
        started = time.monotonic()
        try:
            response = self._send(call)
        except requests.Timeout as exc:
            raise self._transport_error(call, "Timeout", exc) from None
        except requests.exceptions.SSLError as exc:  # a bad certificate does not heal: no retry
            raise self._transport_error(call, "TLSError", exc) from None
        except requests.RequestException as exc:
            raise self._transport_error(call, "ConnectionError", exc) from None
        log.debug("%s %s: HTTP %s, %d bytes, %.0f ms", call.action, call.region or "-",
                  response.status_code, len(response.content),
                  (time.monotonic() - started) * 1000)
        if response.status_code >= 400:
            raise self._answered_error(call, response)
        try:
            return parse(response.content)
        except ValueError:
            snippet = response.content[:60].decode("utf-8", "replace").replace("\n", " ")
            raise self._error(call, "InvalidResponse", f"unreadable answer ({snippet!r})",
                              response.status_code, None) from None

    def _settings(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            if base_url not in self._environment:
                self._environment[base_url] = environment_settings(base_url + "/")
            return self._environment[base_url]

    def _send(self, call: Call) -> requests.Response:
        """POST, the query (V3) or the form body (V1) encoded exactly as it was signed."""
        nonce, date = signing.new_nonce(), signing.utc_timestamp()
        if self.signature == "v1":
            form = signing.v1_params(
                method="POST", action=call.action, version=call.version, params=call.params,
                credentials=self.credentials, timestamp=date, nonce=nonce,
            )
            return self.session.post(
                call.base_url + "/", data=signing.canonical_query(form).encode("ascii"),
                headers={"Content-Type": FORM}, timeout=self.timeout, allow_redirects=False,
                **self._settings(call.base_url),
            )
        headers = signing.v3_headers(
            method="POST", host=urlsplit(call.base_url).netloc, action=call.action,
            version=call.version, params=call.params, credentials=self.credentials,
            date=date, nonce=nonce,
        )
        query = signing.canonical_query(call.params)
        url = f"{call.base_url}/?{query}" if query else f"{call.base_url}/"
        # No redirects: the token header must never follow the request to another host.
        return self.session.post(url, headers=headers, timeout=self.timeout,
                                 allow_redirects=False, **self._settings(call.base_url))

    def _answered_error(self, call: Call, response: requests.Response) -> ApiError:
        status = response.status_code
        try:
            body = json_object(response.content)
        except ValueError:
            snippet = response.content[:60].decode("utf-8", "replace").replace("\n", " ")
            return self._error(call, f"HTTP{status}", f"unreadable answer ({snippet!r})",
                               status, None)
        return self._error(call, str(body.get("Code") or f"HTTP{status}"),
                           str(body.get("Message") or response.reason), status,
                           body.get("RequestId"))

    def _transport_error(self, call: Call, code: str, exc: Exception) -> ApiError:
        return self._error(call, code, f"{type(exc).__name__}: {exc}", None, None)

    def _error(
        self, call: Call, code: str, message: str, status: int | None, request_id: str | None
    ) -> ApiError:
        return ApiError(
            code=redact(code, self.credentials.secrets()),
            message=redact(message, self.credentials.secrets()),
            region=call.region,
            request_id=request_id,
            http_status=status,
            action=call.action,
        )
