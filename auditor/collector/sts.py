"""STS calls: who the credentials belong to, and role assumption (AssumeRole, signed with
other keys; AssumeRoleWithOIDC, anonymous, with a token from an identity provider)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
import urllib3

from auditor.collector import signing, transport
from auditor.collector.client import ApiClient, Call, environment_settings, redact
from auditor.collector.signing import Credentials
from auditor.errors import ApiError, CredentialsError

STS_VERSION = "2015-04-01"
DEFAULT_STS_ENDPOINT = "https://sts.aliyuncs.com"
MAX_ANSWER = 64 * 1024  # an STS answer is under 2 kB
MAX_OIDC_TOKEN = 64 * 1024  # a service account token is a few kB


@dataclass(frozen=True)
class RoleSpec:
    """A RAM role to assume, and how (the AssumeRole / AssumeRoleWithOIDC parameters)."""

    arn: str
    session_name: str = "imgaudit"
    duration: int = 3600
    external_id: str | None = None
    policy: str | None = None

    def params(self) -> dict[str, str]:
        """The request parameters both actions share, plus ExternalId when there is one."""
        params = {"RoleArn": self.arn, "RoleSessionName": self.session_name,
                  "DurationSeconds": str(self.duration)}
        if self.policy:
            params["Policy"] = self.policy
        if self.external_id:
            params["ExternalId"] = self.external_id
        return params


def regional_endpoint(region: str | None, vpc: bool = False) -> str:
    """STS's endpoint of a region (`sts.<region>.aliyuncs.com`, `sts-vpc.` inside a VPC), or
    the central one."""
    if not region:
        return DEFAULT_STS_ENDPOINT
    return f"https://{'sts-vpc' if vpc else 'sts'}.{region}.aliyuncs.com"


def caller_account_id(client: ApiClient, sts_endpoint: str) -> str | None:
    """The account id behind the credentials (for ARNs); None when STS does not say."""
    body = client.call(Call(sts_endpoint, "GetCallerIdentity", STS_VERSION, {}), max_attempts=2)
    account = body.get("AccountId")
    if isinstance(account, int) and not isinstance(account, bool):
        account = str(account)
    if not isinstance(account, str) or not account.strip().isdigit():
        return None  # not an account id: leave the ARNs without one rather than a wrong one
    return account.strip()


def parse_expiration(value: Any) -> float | None:
    """`2024-01-02T03:04:05Z` as POSIX seconds; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc).timestamp()


def temporary_credentials(doc: Any, source: str, what: str) -> Credentials:
    """The AccessKeyId / AccessKeySecret / SecurityToken / Expiration of an answer; a clear
    error naming the missing fields (never their values) when they are not all there."""
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken")
    bad = [name for name in fields if not isinstance(doc, dict)
           or not isinstance(doc.get(name), str) or not doc[name].strip()]
    if bad:
        raise CredentialsError(f"{what}: the answer has no usable {', '.join(bad)}")
    assert isinstance(doc, dict)
    return Credentials(
        access_key_id=doc["AccessKeyId"].strip(),
        access_key_secret=doc["AccessKeySecret"].strip(),
        security_token=doc["SecurityToken"].strip(),
        source=source,
        expiration=parse_expiration(doc.get("Expiration")),
    )


def assume_role(client: ApiClient, sts_endpoint: str, role: RoleSpec) -> Credentials:
    """Temporary credentials of `role`, signed with the client's own keys."""
    try:
        body = client.call(Call(sts_endpoint, "AssumeRole", STS_VERSION, role.params()))
    except ApiError as error:
        raise CredentialsError(f"cannot assume role {role.arn}: {error}") from None
    return temporary_credentials(
        body.get("Credentials"), f"RamRoleArn {role.arn}",
        f"cannot assume role {role.arn}: STS (RequestId {str(body.get('RequestId'))[:80]})")


def read_oidc_token(path: Path) -> str:
    """The identity provider's token, read afresh for every call (Kubernetes rotates it)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_OIDC_TOKEN + 1)
    except OSError as exc:
        raise CredentialsError(f"OIDC token file {path}: cannot read it ({exc.strerror})"
                               ) from None
    token = raw.decode("utf-8", "replace").strip()
    if not token or len(raw) > MAX_OIDC_TOKEN:
        raise CredentialsError(f"OIDC token file {path}: "
                               + ("empty" if not token else f"over {MAX_OIDC_TOKEN} bytes"))
    return token


def assume_role_with_oidc(
    session: requests.Session, sts_endpoint: str, role: RoleSpec, provider_arn: str,
    token_file: Path, seconds: float,
) -> Credentials:
    """Temporary credentials of `role` for the OIDC token in `token_file`: an anonymous
    call (the token is the proof). The parameters go in a POST form body, never the URL,
    which proxies and logs keep."""
    token = read_oidc_token(token_file)
    params = {k: v for k, v in role.params().items() if k != "ExternalId"}
    form = {**params, "OIDCProviderArn": provider_arn, "OIDCToken": token,
            "Action": "AssumeRoleWithOIDC", "Version": STS_VERSION, "Format": "JSON",
            "Timestamp": signing.utc_timestamp()}
    what = f"cannot assume role {role.arn} with OIDC"
    try:
        response, body = transport.bounded_request(
            session, "POST", sts_endpoint + "/", seconds=seconds, limit=MAX_ANSWER,
            data=signing.canonical_query(form).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=(min(5.0, seconds), seconds), **environment_settings(sts_endpoint + "/"))
    except transport.DeadlineExceededError:
        raise CredentialsError(f"{what}: STS {sts_endpoint} gave no answer within "
                               f"{seconds:g} s") from None
    except (transport.BodyTooLargeError, ValueError):
        raise CredentialsError(f"{what}: STS {sts_endpoint} answered over {MAX_ANSWER} "
                               "bytes, or unreadably") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise CredentialsError(f"{what}: STS {sts_endpoint} cannot be reached "
                               f"({type(exc).__name__})") from None
    doc = _json(body)
    if response.status_code != 200:
        code = _field(doc, "Code") or f"HTTP{response.status_code}"
        message = _field(doc, "Message")
        raise CredentialsError(redact(f"{what}: {code}: {message} (HTTP {response.status_code}, "
                                      f"RequestId {_field(doc, 'RequestId') or '-'})", [token]))
    credentials = doc.get("Credentials") if doc is not None else None
    return temporary_credentials(credentials, f"OIDC role {role.arn}",
                                 f"{what}: STS (RequestId {_field(doc, 'RequestId') or '-'})")


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _field(doc: dict[str, Any] | None, name: str) -> str:
    value = doc.get(name) if doc is not None else None
    return " ".join(str(value).split())[:300] if isinstance(value, str | int) else ""
