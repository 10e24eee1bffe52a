"""Signature checks as the real endpoint does them, computed with the official SDK's own
functions (so a bug in our signer cannot hide behind the same bug in the fake)."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import quote

from alibabacloud_openapi_util.client import Client as SdkUtil

from .cloud import FakeCloud, Key

V3 = "ACS3-HMAC-SHA256"


class RefusedError(Exception):
    """The request is refused: an API error code, HTTP status and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def _check_time(cloud: FakeCloud, stamp: str | None) -> None:
    try:
        when = datetime.strptime(stamp or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise RefusedError(400, "InvalidTimeStamp.Format",
                      "Specified time stamp or date value is not well formatted.") from None
    if abs((datetime.now(timezone.utc) - when).total_seconds()) > cloud.max_skew_seconds:
        raise RefusedError(400, "InvalidTimeStamp.Expired",
                      "Specified time stamp or date value is expired.")


def _check_nonce(cloud: FakeCloud, nonce: str | None) -> None:
    with cloud.lock:
        if not nonce or nonce in cloud.nonces:
            raise RefusedError(400, "SignatureNonceUsed",
                          "Specified signature nonce was used already.")
        cloud.nonces.add(nonce)


def _key(cloud: FakeCloud, key_id: str, token: str | None) -> Key:
    key = cloud.keys.get(key_id)
    if key is None:
        raise RefusedError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if key.token is not None and token != key.token:
        raise RefusedError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                      "Specified SecurityToken mismatch with the AccessKey.")
    if key.expires is not None and time.time() >= key.expires:
        raise RefusedError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
    return key


def verify_v3(cloud: FakeCloud, method: str, path: str, headers: dict[str, str],
              query: dict[str, str], body: bytes) -> Key:
    """Checks an `ACS3-HMAC-SHA256` request; returns the key that signed it."""
    auth = headers.get("authorization", "")
    if not auth.startswith(V3 + " "):
        raise RefusedError(400, "IncompleteSignature", "The request signature is missing.")
    fields = dict(part.split("=", 1) for part in auth[len(V3) + 1:].split(",") if "=" in part)
    names = fields.get("SignedHeaders", "").split(";")
    if "host" not in names or any(h not in names for h in headers if h.startswith("x-acs-")):
        raise RefusedError(400, "IncompleteSignature", "host and every x-acs-* header must be signed.")
    if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
        raise RefusedError(400, "IncompleteSignature", "x-acs-content-sha256 does not match the body.")
    key = _key(cloud, fields.get("Credential", ""), headers.get("x-acs-security-token"))
    _check_time(cloud, headers.get("x-acs-date"))
    request = SimpleNamespace(method=method, pathname=path, query=query,
                              headers={n: headers.get(n, "") for n in names})
    expected = SdkUtil.get_authorization(request, V3, headers["x-acs-content-sha256"],
                                         key.key_id, key.secret)
    if expected != auth:
        canonical = "\n".join(f"{n}:{headers.get(n, '')}" for n in names)
        raise RefusedError(400, "SignatureDoesNotMatch",
                      f"Specified signature does not match our calculation. "
                      f"Signed headers: {canonical}")
    _check_nonce(cloud, headers.get("x-acs-signature-nonce"))
    return key


def verify_v1(cloud: FakeCloud, method: str, params: dict[str, str]) -> Key:
    """Checks an HMAC-SHA1 (V1) request; returns the key that signed it."""
    for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp"):
        if not params.get(name):
            raise RefusedError(400, "MissingParameter", f"{name} is mandatory for this action.")
    if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
        raise RefusedError(400, "InvalidParameter", "SignatureMethod or SignatureVersion invalid.")
    key = _key(cloud, params["AccessKeyId"], params.get("SecurityToken"))
    _check_time(cloud, params.get("Timestamp"))
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    if SdkUtil.get_rpcsignature(unsigned, method, key.secret) != params["Signature"]:
        canonical = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}"
                             for k, v in sorted(unsigned.items()))
        string_to_sign = f"{method}&%2F&{quote(canonical, safe='~')}"  # as the API echoes it
        raise RefusedError(400, "SignatureDoesNotMatch",
                      f"Specified signature is not matched with our calculation. server string "
                      f"to sign is:{string_to_sign}")
    _check_nonce(cloud, params.get("SignatureNonce"))
    return key
