"""Credentials of the ECS instance RAM role, from the token-protected metadata service."""

from __future__ import annotations

import json
import re

import requests

from auditor.collector.signing import Credentials
from auditor.errors import CredentialsError

DEFAULT_METADATA_URL = "http://100.100.100.200"
ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL = "21600"
ROLE_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")  # RAM's own rule; nothing that changes a path
TIMEOUT = (1.0, 5.0)  # a laptop has no metadata service: give up on it quickly


class MetadataUnreachableError(Exception):
    """The metadata service cannot be reached (we are not on an ECS instance)."""


def _token(session: requests.Session, base_url: str) -> str:
    try:
        response = session.put(
            f"{base_url}/latest/api/token",
            headers={"X-aliyun-ecs-metadata-token-ttl-seconds": TOKEN_TTL},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise MetadataUnreachableError(str(exc)) from None
    if response.status_code != 200 or not response.text.strip():
        raise CredentialsError(
            f"ECS metadata service {base_url}: token request answered HTTP "
            f"{response.status_code}"
        )
    return response.text.strip()


def _get(session: requests.Session, url: str, token: str) -> requests.Response:
    try:
        response = session.get(url, headers={"X-aliyun-ecs-metadata-token": token},
                               timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise MetadataUnreachableError(str(exc)) from None
    if response.status_code == 404:
        raise CredentialsError(f"ECS metadata service: no RAM role attached ({url}: HTTP 404)")
    if response.status_code != 200:
        raise CredentialsError(f"ECS metadata service: {url} answered HTTP "
                               f"{response.status_code}")
    return response


def role_credentials(
    session: requests.Session, base_url: str, role_name: str | None = None
) -> Credentials:
    """The role's temporary keys; asks the attached role's name when none is given."""
    base_url = base_url.rstrip("/")
    token = _token(session, base_url)
    if not role_name:
        names = _get(session, base_url + ROLE_PATH, token).text.split()
        if not names:
            raise CredentialsError("ECS metadata service: no RAM role attached to this instance")
        role_name = names[0]
    if not ROLE_NAME.match(role_name):
        raise CredentialsError(f"ECS metadata service: {role_name[:80]!r} is not a RAM role name")
    response = _get(session, base_url + ROLE_PATH + role_name, token)
    try:
        data = json.loads(response.content)
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
    )
