"""One signed RPC call over a shared `requests.Session`, retried when the failure is transient.

V3 sends the parameters in the query string and the key material in headers; V1 sends
everything as a form body, so no security token ever appears in a URL (URLs reach logs).
Each attempt has one deadline (`timeout`, the whole request) and a bound on the answer's
size (`transport`). Throttling answers that say when to come back (`x-acs-retry-after` in
milliseconds, `Retry-After` in seconds) are retried then, if the region's time budget allows.
Every message that leaves this module has the secret and the token scrubbed from it, in
every form a server may echo it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote_plus, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from auditor.collector import signing
from auditor.collector.refresh import CredentialProvider, as_provider
from auditor.collector.retry import Deadline, RetryPolicy, is_retryable
from auditor.collector.signing import Credentials
from auditor.collector.transport import (
    ACCEPT_ENCODING,
    BodyTooLargeError,
    DeadlineExceededError,
    TrackedAdapter,
    Watchdog,
    read_body,
)
from auditor.errors import ApiError, CredentialsError

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
    adapter = TrackedAdapter(pool_connections=64, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
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


MAX_ECHO = 1000  # characters of a field a server echoes that reach an error message
MIN_SECRET = 6  # shorter strings are not redacted: they would mask ordinary text everywhere


def secret_forms(secret: str) -> set[str]:
    """Every form a secret may take in an echoed message: raw, percent-encoded once or twice
    (the API echoes its V1 string to sign, where a token appears encoded twice), in either
    hex case, JSON-escaped (`\\n`, `\\/`, `\\u` with four hex digits) as a body would carry
    it, and as Python shows it in an exception's message (`repr`)."""
    forms = {secret}
    for encoded in (signing.percent_encode(secret), signing.percent_encode(
            signing.percent_encode(secret))):
        forms |= {encoded, encoded.lower()}
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
              secret.replace("/", "\\/"), repr(secret)[1:-1], ascii(secret)[1:-1]}
    forms.add(quote_plus(secret))
    forms |= {f.replace("+", " ") for f in list(forms)}  # form decoding turns + into space
    return {f for f in forms if len(f) >= MIN_SECRET}


def redact(text: str, secrets: list[str]) -> str:
    """Replace every form of every secret (of at least MIN_SECRET characters) by `***`."""
    forms = {form for secret in secrets for form in secret_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: `x-acs-retry-after` (milliseconds, as the official
    SDK reads it) or `Retry-After` (seconds or an HTTP date); None when absent or unusable."""
    value = (headers.get("x-acs-retry-after") or "").strip()
    if value:
        try:
            millis = float(value)
        except ValueError:
            millis = float("nan")
        if 0 < millis < float("inf"):
            return millis / 1000
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return seconds if 0 <= seconds < float("inf") else None


class _ThrottledError(ApiError):
    """An error answer that says when to retry."""

    def __init__(self, *, wait: float, **fields: Any) -> None:
        super().__init__(**fields)
        self.wait = wait


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
        credentials: Credentials | CredentialProvider,
        *,
        signature: str = "v3",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.session = session
        self.provider = as_provider(credentials)
        self.signature = signature
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._environment: dict[str, dict[str, Any]] = {}
        self._watchdog = Watchdog()

    @property
    def credentials(self) -> Credentials:
        """The keys the next request is signed with (temporary ones renewed when due)."""
        return self.provider.get()

    def cancel(self) -> None:
        """No new attempt starts after this (Ctrl-C); waits between attempts and requests in
        flight end now."""
        self._stop.set()
        self._watchdog.cancel_all("the collection was interrupted")

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
                wait = (error.wait if isinstance(error, _ThrottledError)
                        else self.retry.delay(attempt))
                if not deadline.allows_wait(wait):
                    raise
                log.info("retrying %s in %s after %s (wait %.2fs)",
                         call.action, call.region or "-", error.code, wait)
                self._stop.wait(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, call: Call, parse: Callable[[bytes], T]) -> T:
        started = time.monotonic()
        with self._watchdog.watch(self.timeout) as slot:
            try:
                response = self._send(call)
                try:
                    body = read_body(response)
                    slot.done()
                finally:
                    response.close()  # never back to the pool half read
            except (requests.RequestException, urllib3.exceptions.HTTPError,
                    DeadlineExceededError) as exc:
                if slot.killed:
                    raise self._error(call, "Timeout", f"{slot.killed} ({self.timeout:g} s)",
                                      None, None) from None
                if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
                    raise self._transport_error(call, "Timeout", exc) from None
                if isinstance(exc, requests.exceptions.SSLError):  # does not heal: no retry
                    raise self._transport_error(call, "TLSError", exc) from None
                raise self._transport_error(call, "ConnectionError", exc) from None
            except BodyTooLargeError as exc:
                raise self._error(call, "ResponseTooLarge", str(exc), response.status_code,
                                  None) from None
            except ValueError as exc:  # a Content-Encoding we did not ask for, a cut stream
                raise self._error(call, "InvalidResponse", str(exc), response.status_code,
                                  None) from None
        log.debug("%s %s: HTTP %s, %d bytes, %.0f ms", call.action, call.region or "-",
                  response.status_code, len(body), (time.monotonic() - started) * 1000)
        if response.status_code >= 400:
            raise self._answered_error(call, response, body)
        try:
            return parse(body)
        except json.JSONDecodeError:  # truncated on the way, or not JSON: worth another try
            raise self._error(call, "InvalidResponse", f"unreadable answer ({_snippet(body)})",
                              response.status_code, None) from None
        except (ValueError, RecursionError, OverflowError) as exc:
            # JSON, but not a page: asking again gives the same answer
            raise self._error(call, "MalformedResponse", f"unusable answer: {_reason(exc)}",
                              response.status_code, None) from None

    def _settings(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            if base_url not in self._environment:
                self._environment[base_url] = environment_settings(base_url + "/")
            return self._environment[base_url]

    def _send(self, call: Call) -> requests.Response:
        """POST, the query (V3) or the form body (V1) encoded exactly as it was signed."""
        try:
            credentials = self.credentials  # one snapshot: never a key of one, a token of another
        except CredentialsError as error:
            raise self._error(call, "CredentialsExpired", str(error), None, None) from None
        nonce, date = signing.new_nonce(), signing.utc_timestamp()
        if self.signature == "v1":
            form = signing.v1_params(
                method="POST", action=call.action, version=call.version, params=call.params,
                credentials=credentials, timestamp=date, nonce=nonce,
            )
            return self._post(call.base_url, call.base_url + "/", {"Content-Type": FORM},
                              signing.canonical_query(form).encode("ascii"))
        headers = signing.v3_headers(
            method="POST", host=urlsplit(call.base_url).netloc, action=call.action,
            version=call.version, params=call.params, credentials=credentials,
            date=date, nonce=nonce,
        )
        query = signing.canonical_query(call.params)
        url = f"{call.base_url}/?{query}" if query else f"{call.base_url}/"
        return self._post(call.base_url, url, headers, None)

    def _post(self, base_url: str, url: str, headers: dict[str, str],
              body: bytes | None) -> requests.Response:
        """One POST, streamed, through the session's adapter: the request prepared as
        `Session.request` prepares it (the session's headers, then the call's), without its
        per-call session work (settings merged again, cookies, hooks, redirect bookkeeping:
        about a quarter of requests' CPU per call). No redirect is followed (the token header
        must never follow the request to another host), and no cookie is kept: the API uses
        none."""
        merged = CaseInsensitiveDict(self.session.headers)
        merged.update(headers)
        request = requests.PreparedRequest()
        request.prepare(method="POST", url=url, headers=merged, data=body)
        return self.session.get_adapter(url).send(request, stream=True, timeout=self.timeout,
                                                  **self._settings(base_url))

    def _answered_error(self, call: Call, response: requests.Response, body: bytes) -> ApiError:
        status = response.status_code
        try:
            doc = json_object(body)
        except (ValueError, RecursionError):
            return self._error(call, f"HTTP{status}", f"unreadable answer ({_snippet(body)})",
                               status, None)
        error = self._error(call, _text(doc.get("Code")) or f"HTTP{status}",
                            _text(doc.get("Message")) or response.reason or "",
                            status, _text(doc.get("RequestId")) or None)
        wait = retry_after(response.headers)
        if wait is None:
            return error
        return _ThrottledError(wait=wait, code=error.code, message=error.api_message,
                          region=error.region, request_id=error.request_id,
                          http_status=status, action=error.action)

    def _transport_error(self, call: Call, code: str, exc: Exception) -> ApiError:
        return self._error(call, code, f"{type(exc).__name__}: {exc}", None, None)

    def _error(
        self, call: Call, code: str, message: str, status: int | None, request_id: str | None
    ) -> ApiError:
        secrets = self.provider.secrets()
        return ApiError(  # redacted first, then cut: a cut must not split a secret
            code=redact(code, secrets)[:MAX_ECHO],
            message=redact(message, secrets)[:MAX_ECHO],
            region=call.region,
            request_id=redact(request_id, secrets)[:MAX_ECHO] if request_id else None,
            http_status=status,
            action=call.action,
        )


def _text(value: Any) -> str:
    """A field a server echoes, as one line of text whatever its JSON type."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)[:200]
    return " ".join(text.split())


def _snippet(body: bytes) -> str:
    return repr(body[:60].decode("utf-8", "replace").replace("\n", " "))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return _text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
