"""Request signatures of the Alibaba Cloud RPC APIs: V3 (ACS3-HMAC-SHA256) and V1 (HMAC-SHA1).

Pure functions of their inputs (the caller supplies the date and the nonce), so the tests can
compare them byte for byte with the official SDK on fixed inputs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    """The key material a request is signed with; the secret and token never print."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = "unknown"
    expiration: float | None = None  # POSIX seconds when temporary keys stop working

    def secrets(self) -> list[str]:
        """Every string that must never reach an output (used by redaction)."""
        return [s for s in (self.access_key_secret, self.security_token) if s]


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the API wants it: space -> %20, `*` -> %2A, `~` kept."""
    return quote(value, safe="~", encoding="utf-8")


def utc_timestamp(now: datetime | None = None) -> str:
    """The `x-acs-date` / `Timestamp` form: 2024-01-02T03:04:05Z."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    """A fresh signature nonce; the API refuses a nonce it has seen before."""
    return uuid.uuid4().hex


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted, percent-encoded `key=value` pairs joined by `&`."""
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    lowered = sorted((name.lower(), value.strip()) for name, value in headers.items())
    text = "".join(f"{name}:{value}\n" for name, value in lowered)
    return text, ";".join(name for name, _ in lowered)


def v3_headers(
    *,
    method: str,
    host: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    credentials: Credentials,
    date: str,
    nonce: str,
    body: bytes = b"",
) -> dict[str, str]:
    """Every header of a V3-signed request, `Authorization` included."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date,
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if credentials.security_token:
        headers["x-acs-security-token"] = credentials.security_token
    headers["Authorization"] = v3_authorization(method, "/", params, headers, body, credentials)
    return headers


def v3_authorization(
    method: str,
    path: str,
    params: Mapping[str, str],
    signed_headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
) -> str:
    """The `Authorization` value over the canonical request of the V3 signature."""
    canon_headers, names = _canonical_headers(signed_headers)
    canonical_request = "\n".join(
        [
            method,
            path,
            canonical_query(params),
            canon_headers,
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{V3_ALGORITHM}\n{digest}"
    signature = hmac.new(
        credentials.access_key_secret.encode("utf-8"),
        string_to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    return (
        f"{V3_ALGORITHM} Credential={credentials.access_key_id},"
        f"SignedHeaders={names},Signature={signature}"
    )


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """`METHOD&%2F&<encoded canonical query>` of the V1 signature."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def v1_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 keyed with `secret&`."""
    digest = hmac.new(
        f"{secret}&".encode(),
        v1_string_to_sign(method, params).encode("utf-8"),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def v1_params(
    *,
    method: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    credentials: Credentials,
    timestamp: str,
    nonce: str,
) -> dict[str, str]:
    """The request parameters of a V1-signed call, `Signature` included."""
    signed = {
        **params,
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": credentials.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": timestamp,
    }
    if credentials.security_token:
        signed["SecurityToken"] = credentials.security_token
    signed["Signature"] = v1_signature(method, signed, credentials.access_key_secret)
    return signed
