"""Profiles of the aliyun CLI's `~/.aliyun/config.json`, turned into credentials.

Modes: AK, StsToken, RamRoleArn (STS AssumeRole with the profile's keys) and EcsRamRole
(the instance metadata service). Other modes are refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.collector.signing import Credentials
from auditor.errors import CredentialsError

SUPPORTED_MODES = ("AK", "StsToken", "RamRoleArn", "EcsRamRole")

# (keys, role_arn, session_name, duration) -> assumed-role credentials
AssumeRole = Callable[[Credentials, str, str, int], Credentials]
# (role_name or None) -> instance role credentials
InstanceRole = Callable[[str | None], Credentials]


def default_config_path() -> Path:
    return Path.home() / ".aliyun" / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    """The parsed file; a file that is not a JSON object is a clear error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read aliyun CLI config: {exc.strerror}") from None
    except ValueError as exc:
        raise CredentialsError(f"{path}: aliyun CLI config is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles", []), list):
        raise CredentialsError(f"{path}: aliyun CLI config has no `profiles` list")
    return data


def find_profile(config: dict[str, Any], name: str | None, path: Path) -> dict[str, Any]:
    """The named profile, else the file's `current` one."""
    wanted = name or config.get("current") or "default"
    profiles = [p for p in config.get("profiles", []) if isinstance(p, dict)]
    for profile in profiles:
        if profile.get("name") == wanted:
            return profile
    names = ", ".join(str(p.get("name")) for p in profiles) or "none"
    raise CredentialsError(f"{path}: no profile named {wanted!r} (profiles: {names})")


def _need(profile: dict[str, Any], key: str, path: Path) -> str:
    value = profile.get(key)
    if not value:
        raise CredentialsError(
            f"{path}: profile {profile.get('name')!r} (mode {profile.get('mode')}) lacks {key}"
        )
    return str(value)


def profile_credentials(
    profile: dict[str, Any], path: Path, assume_role: AssumeRole, instance_role: InstanceRole
) -> Credentials:
    """Credentials of one profile, by its mode."""
    mode = profile.get("mode") or "AK"
    name = profile.get("name")
    source = f"aliyun CLI profile {name!r} ({mode})"
    if mode == "EcsRamRole":
        return instance_role(profile.get("ram_role_name") or None)
    if mode not in SUPPORTED_MODES:
        raise CredentialsError(
            f"{path}: profile {name!r} uses mode {mode}, which imgaudit does not support "
            f"(supported: {', '.join(SUPPORTED_MODES)})"
        )
    keys = Credentials(
        access_key_id=_need(profile, "access_key_id", path),
        access_key_secret=_need(profile, "access_key_secret", path),
        security_token=_need(profile, "sts_token", path) if mode == "StsToken" else None,
        source=source,
    )
    if mode != "RamRoleArn":
        return keys
    raw_duration = profile.get("expired_seconds") or 3600
    try:
        duration = int(raw_duration)
    except (TypeError, ValueError, OverflowError):
        duration = 0
    if isinstance(raw_duration, bool) or not 900 <= duration <= 43200:
        raise CredentialsError(f"{path}: profile {name!r}: expired_seconds {raw_duration!r} is "
                               "not a number of seconds from 900 to 43200")
    session_name = str(profile.get("ram_session_name") or "imgaudit")
    return assume_role(keys, _need(profile, "ram_role_arn", path), session_name, duration)
