"""Credentials from `ALIBABA_CLOUD_CREDENTIALS_URI`: a local HTTP service (a sidecar, a
vault agent) that answers a GET with `{"Code": "Success", "AccessKeyId": ...,
"AccessKeySecret": ..., "SecurityToken": ..., "Expiration": "2024-01-02T03:04:05Z"}`, the
shape the official credentials library reads."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests
import urllib3

from auditor.collector import transport
from auditor.collector.client import environment_settings
from auditor.collector.signing import Credentials
from auditor.collector.sts import temporary_credentials
from auditor.errors import CredentialsError

MAX_ANSWER = 64 * 1024


def shown(url: str) -> str:
    """The URL without its query or user info, which may carry a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" \
           f"{parts.path}"


def check_uri(url: str) -> None:
    """An http(s) URL with a host, else a clear error."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise CredentialsError(f"ALIBABA_CLOUD_CREDENTIALS_URI {shown(url)!r} is not an "
                               "http(s) URL")


def uri_credentials(session: requests.Session, url: str, seconds: float) -> Credentials:
    """The temporary keys the service hands out now."""
    what = f"credentials URI {shown(url)}"
    try:
        response, body = transport.bounded_request(
            session, "GET", url, seconds=seconds, limit=MAX_ANSWER,
            timeout=(min(5.0, seconds), seconds), **environment_settings(url))
    except transport.DeadlineExceededError:
        raise CredentialsError(f"{what}: no answer within {seconds:g} s") from None
    except (transport.BodyTooLargeError, ValueError):
        raise CredentialsError(f"{what}: answered over {MAX_ANSWER} bytes, or unreadably"
                               ) from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise CredentialsError(f"{what}: cannot be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise CredentialsError(f"{what}: answered HTTP {response.status_code}")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise CredentialsError(f"{what}: the answer is not a JSON object")
    code = doc.get("Code")
    if code != "Success":
        shown_code = " ".join(str(code).split())[:80] if isinstance(code, str) else "none"
        raise CredentialsError(f"{what}: the answer's Code is {shown_code!r}, not 'Success'")
    credentials = temporary_credentials(doc, f"credentials URI {shown(url)}", what)
    if credentials.expiration is None:
        raise CredentialsError(f"{what}: the answer has no usable Expiration")
    return credentials
