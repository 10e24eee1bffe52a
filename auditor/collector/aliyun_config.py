"""Profiles of the aliyun CLI's `~/.aliyun/config.json`, turned into credentials.

Modes, named and keyed as the aliyun CLI writes them: AK, StsToken, RamRoleArn (STS
AssumeRole with the profile's keys; `external_id`, `policy`, `sts_region`),
ChainableRamRoleArn (AssumeRole with the credentials of `source_profile`, itself any mode),
EcsRamRole (the instance metadata service), OIDC (AssumeRoleWithOIDC) and CredentialsURI.
Other modes are refused by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from auditor.collector.refresh import CredentialProvider, StaticCredentials
from auditor.collector.signing import Credentials
from auditor.collector.sts import RoleSpec
from auditor.errors import CredentialsError

SUPPORTED_MODES = ("AK", "StsToken", "RamRoleArn", "ChainableRamRoleArn", "EcsRamRole", "OIDC",
                   "CredentialsURI")
MAX_CHAIN = 10  # source_profile links followed before the chain is called a loop


class Sources(Protocol):
    """The credential sources a profile may lead to (the resolver implements them)."""

    def assume_role(self, keys: CredentialProvider, role: RoleSpec,
                    sts_region: str | None) -> CredentialProvider: ...

    def instance_role(self, role_name: str | None) -> CredentialProvider: ...

    def oidc(self, role: RoleSpec, provider_arn: str, token_file: Path,
             sts_region: str | None) -> CredentialProvider: ...

    def uri(self, url: str) -> CredentialProvider: ...


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
    if not value or not isinstance(value, str | int):
        raise CredentialsError(
            f"{path}: profile {profile.get('name')!r} (mode {profile.get('mode')}) lacks {key}"
        )
    return str(value)


def _optional(profile: dict[str, Any], key: str, path: Path) -> str | None:
    value = profile.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise CredentialsError(f"{path}: profile {profile.get('name')!r}: {key} is not a string")
    return value


def _duration(profile: dict[str, Any], path: Path) -> int:
    raw = profile.get("expired_seconds") or 3600
    try:
        duration = int(raw)
    except (TypeError, ValueError, OverflowError):
        duration = 0
    if isinstance(raw, bool) or not 900 <= duration <= 43200:
        raise CredentialsError(f"{path}: profile {profile.get('name')!r}: expired_seconds "
                               f"{raw!r} is not a number of seconds from 900 to 43200")
    return duration


def _role(profile: dict[str, Any], path: Path, session_key: str) -> RoleSpec:
    policy = _optional(profile, "policy", path)
    if policy is not None:
        try:
            json.loads(policy)
        except ValueError:
            raise CredentialsError(f"{path}: profile {profile.get('name')!r}: policy is not "
                                   "a JSON policy document") from None
    return RoleSpec(
        arn=_need(profile, "ram_role_arn", path),
        session_name=str(profile.get(session_key) or "imgaudit"),
        duration=_duration(profile, path),
        external_id=_optional(profile, "external_id", path),
        policy=policy,
    )


def profile_credentials(
    config: dict[str, Any], profile: dict[str, Any], path: Path, sources: Sources,
    chain: tuple[str, ...] = (),
) -> CredentialProvider:
    """Credentials of one profile, by its mode."""
    mode = profile.get("mode") or "AK"
    name = str(profile.get("name"))
    if mode not in SUPPORTED_MODES:
        raise CredentialsError(
            f"{path}: profile {name!r} uses mode {mode}, which imgaudit does not support "
            f"(supported: {', '.join(SUPPORTED_MODES)})"
        )
    region = _optional(profile, "sts_region", path)
    if mode == "EcsRamRole":
        return sources.instance_role(_optional(profile, "ram_role_name", path))
    if mode == "CredentialsURI":
        return sources.uri(_need(profile, "credentials_uri", path))
    if mode == "OIDC":
        return sources.oidc(_role(profile, path, "role_session_name"),
                            _need(profile, "oidc_provider_arn", path),
                            Path(_need(profile, "oidc_token_file", path)).expanduser(), region)
    if mode == "ChainableRamRoleArn":
        source_name = _need(profile, "source_profile", path)
        if source_name in (*chain, name) or len(chain) >= MAX_CHAIN:
            raise CredentialsError(f"{path}: profile {name!r}: source_profile "
                                   f"{source_name!r} leads back into a loop "
                                   f"({' -> '.join((*chain, name, source_name))})")
        source = find_profile(config, source_name, path)
        keys: CredentialProvider = profile_credentials(config, source, path, sources,
                                                       (*chain, name))
        return sources.assume_role(keys, _role(profile, path, "ram_session_name"), region)
    fixed = Credentials(
        access_key_id=_need(profile, "access_key_id", path),
        access_key_secret=_need(profile, "access_key_secret", path),
        security_token=_need(profile, "sts_token", path) if mode == "StsToken" else None,
        source=f"aliyun CLI profile {name!r} ({mode})",
    )
    if mode != "RamRoleArn":
        return StaticCredentials(fixed)
    return sources.assume_role(StaticCredentials(fixed), _role(profile, path, "ram_session_name"),
                               region)
