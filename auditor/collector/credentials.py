"""Where the credentials come from, in the order of DESIGN §3.

1. `--profile NAME` (a profile of the aliyun CLI config file);
2. the environment: ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN;
3. the aliyun CLI config file's current profile (or ALIBABA_CLOUD_PROFILE);
4. the ECS instance RAM role from the metadata service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from auditor.collector import aliyun_config, metadata, sts
from auditor.collector.client import ApiClient
from auditor.collector.signing import Credentials
from auditor.errors import CredentialsError

ENV_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_NO_METADATA = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"


@dataclass(frozen=True)
class CredentialOptions:
    """Where to look; the URLs and the config path are settable for tests."""

    profile: str | None = None
    config_path: Path | None = None
    sts_endpoint: str = sts.DEFAULT_STS_ENDPOINT
    metadata_url: str = metadata.DEFAULT_METADATA_URL
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 30.0  # seconds one request to the metadata service may take


def _from_environment(env: Mapping[str, str]) -> Credentials | None:
    key_id, secret = env.get(ENV_KEY_ID, "").strip(), env.get(ENV_SECRET, "").strip()
    if not key_id and not secret:
        return None
    if not (key_id and secret):
        missing = ENV_SECRET if key_id else ENV_KEY_ID
        raise CredentialsError(f"{missing} is not set (its pair is): set both or neither")
    token = env.get(ENV_TOKEN, "").strip() or None
    return Credentials(key_id, secret, token, source="environment")


class _Resolver:
    def __init__(self, options: CredentialOptions, session: requests.Session) -> None:
        self.options = options
        self.session = session
        self.path = options.config_path or aliyun_config.default_config_path()

    def assume_role(self, keys: Credentials, arn: str, name: str, duration: int) -> Credentials:
        client = ApiClient(self.session, keys, timeout=self.options.timeout)
        return sts.assume_role(client, self.options.sts_endpoint, arn, name, duration)

    def instance_role(self, role_name: str | None) -> Credentials:
        try:
            return metadata.role_credentials(self.session, self.options.metadata_url, role_name,
                                             self.options.timeout)
        except metadata.MetadataUnreachableError:
            raise CredentialsError(
                f"EcsRamRole: the ECS metadata service {self.options.metadata_url} "
                "cannot be reached (not on an ECS instance?)"
            ) from None

    def from_profile(self, name: str | None) -> Credentials:
        config = aliyun_config.load_config(self.path)
        profile = aliyun_config.find_profile(config, name, self.path)
        return aliyun_config.profile_credentials(
            profile, self.path, self.assume_role, self.instance_role
        )

    def from_metadata(self) -> Credentials | None:
        try:
            return metadata.role_credentials(self.session, self.options.metadata_url,
                                             seconds=self.options.timeout)
        except metadata.MetadataUnreachableError:
            return None


def resolve_credentials(options: CredentialOptions, session: requests.Session) -> Credentials:
    """The first source that has credentials; CredentialsError naming every source tried."""
    resolver = _Resolver(options, session)
    env = options.environ
    if options.profile:
        if not resolver.path.is_file():
            raise CredentialsError(
                f"--profile {options.profile}: aliyun CLI config {resolver.path} not found"
            )
        return resolver.from_profile(options.profile)
    found = _from_environment(env)
    if found is None and resolver.path.is_file():
        found = resolver.from_profile(env.get(ENV_PROFILE) or None)
    metadata_off = env.get(ENV_NO_METADATA, "").lower() in {"1", "true", "yes"}
    if found is None and not metadata_off:
        found = resolver.from_metadata()
    if found is None:
        raise CredentialsError(_none_found(resolver.path, options.metadata_url, metadata_off))
    return found


def _none_found(path: Path, metadata_url: str, metadata_off: bool) -> str:
    role = (f"{ENV_NO_METADATA} is set" if metadata_off
            else f"metadata service {metadata_url} not reachable")
    return (
        "no Alibaba Cloud credentials found. Tried: --profile (not given); environment "
        f"{ENV_KEY_ID} and {ENV_SECRET} (not set); aliyun CLI config {path} (not found); "
        f"ECS instance RAM role ({role}). Set the environment variables, run `aliyun "
        "configure`, or pass --profile NAME."
    )
