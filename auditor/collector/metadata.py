"""Credentials of the ECS instance RAM role, from the token-protected metadata service."""

from __future__ import annotations

import json
import re

import requests
import urllib3

from auditor.collector import transport
from auditor.collector.signing import Credentials
from auditor.collector.sts import parse_expiration
from auditor.errors import CredentialsError

DEFAULT_METADATA_URL = "http://100.100.100.200"
ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL = "21600"
ROLE_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")  # RAM's own rule; nothing that changes a path
TIMEOUT = (1.0, 5.0)  # a laptop has no metadata service: give up on it quickly
MAX_ANSWER = 64 * 1024  # a credentials document is under 2 kB


class MetadataUnreachableError(Exception):
    """The metadata service cannot be reached (we are not on an ECS instance)."""


def _fetch(session: requests.Session, method: str, url: str, headers: dict[str, str],
           seconds: float) -> tuple[int, bytes]:
    """(status, body) of one bounded request: one deadline, at most MAX_ANSWER bytes."""
    try:
        response, body = transport.bounded_request(
            session, method, url, seconds=seconds, limit=MAX_ANSWER, headers=headers,
            timeout=(TIMEOUT[0], min(TIMEOUT[1], seconds)))
    except transport.DeadlineExceededError:
        raise CredentialsError(f"ECS metadata service: {url} gave no complete answer within "
                               f"{seconds:g} s") from None
    except (transport.BodyTooLargeError, ValueError):
        raise CredentialsError(f"ECS metadata service: {url} answered more than "
                               f"{MAX_ANSWER} bytes, or unreadably") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise MetadataUnreachableError(str(exc)) from None
    return response.status_code, body


def _token(session: requests.Session, base_url: str, seconds: float) -> str:
    status, body = _fetch(session, "PUT", f"{base_url}/latest/api/token",
                          {"X-aliyun-ecs-metadata-token-ttl-seconds": TOKEN_TTL}, seconds)
    token = body.decode("utf-8", "replace").strip()
    if status != 200 or not token:
        raise CredentialsError(
            f"ECS metadata service {base_url}: token request answered HTTP {status}")
    return token


def _get(session: requests.Session, url: str, token: str, seconds: float) -> bytes:
    status, body = _fetch(session, "GET", url, {"X-aliyun-ecs-metadata-token": token}, seconds)
    if status == 404:
        raise CredentialsError(f"ECS metadata service: no RAM role attached ({url}: HTTP 404)")
    if status != 200:
        raise CredentialsError(f"ECS metadata service: {url} answered HTTP {status}")
    return body


def role_credentials(
    session: requests.Session, base_url: str, role_name: str | None = None,
    seconds: float = 30.0,
) -> Credentials:
    """The role's temporary keys; asks the attached role's name when none is given. Each
    request must end within `seconds`."""
    base_url = base_url.rstrip("/")
    token = _token(session, base_url, seconds)
    if not role_name:
        names = _get(session, base_url + ROLE_PATH, token, seconds).decode(
            "utf-8", "replace").split()
        if not names:
            raise CredentialsError("ECS metadata service: no RAM role attached to this instance")
        role_name = names[0]
    if not ROLE_NAME.match(role_name):
        raise CredentialsError(f"ECS metadata service: {role_name[:80]!r} is not a RAM role name")
    answer = _get(session, base_url + ROLE_PATH + role_name, token, seconds)
    try:
        data = json.loads(answer)
    except (ValueError, RecursionError):
        data = None
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken")
    if not isinstance(data, dict) or not all(
            isinstance(data.get(name), str) and data[name] for name in fields):
        raise CredentialsError(
            f"ECS metadata service: unreadable credentials for role {role_name!r}")
    return Credentials(
        access_key_id=data["AccessKeyId"],
        access_key_secret=data["AccessKeySecret"],
        security_token=data["SecurityToken"],
        source=f"ECS RAM role {role_name}",
        expiration=parse_expiration(data.get("Expiration")),
    )
