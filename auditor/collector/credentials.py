"""Where the credentials come from, in the order of DESIGN §3.

1. `--profile NAME` (a profile of the aliyun CLI config file);
2. the environment: ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN;
3. OIDC / RRSA: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and
   ALIBABA_CLOUD_OIDC_TOKEN_FILE (STS AssumeRoleWithOIDC; ALIBABA_CLOUD_ROLE_SESSION_NAME);
4. ALIBABA_CLOUD_CREDENTIALS_URI;
5. the aliyun CLI config file's current profile (or ALIBABA_CLOUD_PROFILE);
6. the ECS instance RAM role from the metadata service.

Temporary credentials (assumed roles, OIDC, the URI, the instance role) come as a
`RefreshingCredentials`, fetched again before they expire. `assumed_role` is the one way to
assume a role with other credentials, for profiles as for member accounts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from auditor.collector import aliyun_config, metadata, sts, uri
from auditor.collector.client import ApiClient
from auditor.collector.refresh import CredentialProvider, RefreshingCredentials, StaticCredentials
from auditor.collector.signing import Credentials
from auditor.collector.sts import RoleSpec
from auditor.errors import CredentialsError

ENV_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_NO_METADATA = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
ENV_ROLE_ARN = "ALIBABA_CLOUD_ROLE_ARN"
ENV_OIDC_PROVIDER = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
ENV_OIDC_TOKEN_FILE = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
ENV_SESSION_NAME = "ALIBABA_CLOUD_ROLE_SESSION_NAME"
ENV_CREDENTIALS_URI = "ALIBABA_CLOUD_CREDENTIALS_URI"
ENV_STS_REGION = "ALIBABA_CLOUD_STS_REGION"
ENV_STS_VPC = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
OIDC_VARIABLES = (ENV_ROLE_ARN, ENV_OIDC_PROVIDER, ENV_OIDC_TOKEN_FILE)


@dataclass(frozen=True)
class CredentialOptions:
    """Where to look; the URLs and the config path are settable for tests."""

    profile: str | None = None
    config_path: Path | None = None
    sts_endpoint: str | None = None  # None: the STS region's endpoint, else the central one
    metadata_url: str = metadata.DEFAULT_METADATA_URL
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 30.0  # seconds one request to a credentials service may take


def assumed_role(session: requests.Session, keys: Credentials | CredentialProvider,
                 sts_endpoint: str, role: RoleSpec, timeout: float = 30.0
                 ) -> RefreshingCredentials:
    """`role` assumed with `keys` (STS AssumeRole), assumed again before it expires."""
    client = ApiClient(session, keys, timeout=timeout)
    return _fetched(lambda: sts.assume_role(client, sts_endpoint, role))


def _fetched(fetch: Callable[[], Credentials]) -> RefreshingCredentials:
    """A refreshing provider that has fetched once: a broken source fails now, not mid-scan."""
    provider = RefreshingCredentials(fetch)
    provider.get()
    return provider


def _from_environment(env: Mapping[str, str]) -> CredentialProvider | None:
    key_id, secret = env.get(ENV_KEY_ID, "").strip(), env.get(ENV_SECRET, "").strip()
    if not key_id and not secret:
        return None
    if not (key_id and secret):
        missing = ENV_SECRET if key_id else ENV_KEY_ID
        raise CredentialsError(f"{missing} is not set (its pair is): set both or neither")
    token = env.get(ENV_TOKEN, "").strip() or None
    return StaticCredentials(Credentials(key_id, secret, token, source="environment"))


class _Resolver:
    """The sources; implements `aliyun_config.Sources` for the profiles."""

    def __init__(self, options: CredentialOptions, session: requests.Session) -> None:
        self.options = options
        self.session = session
        self.path = options.config_path or aliyun_config.default_config_path()

    def sts_endpoint(self, region: str | None) -> str:
        env = self.options.environ
        vpc = env.get(ENV_STS_VPC, "").strip().lower() == "true"
        return self.options.sts_endpoint or sts.regional_endpoint(
            region or env.get(ENV_STS_REGION, "").strip() or None, vpc)

    def assume_role(self, keys: CredentialProvider, role: RoleSpec,
                    sts_region: str | None) -> CredentialProvider:
        return assumed_role(self.session, keys, self.sts_endpoint(sts_region), role,
                            self.options.timeout)

    def instance_role(self, role_name: str | None) -> CredentialProvider:
        return _fetched(lambda: self._instance_role(role_name))

    def _instance_role(self, role_name: str | None) -> Credentials:
        try:
            return metadata.role_credentials(self.session, self.options.metadata_url, role_name,
                                             self.options.timeout)
        except metadata.MetadataUnreachableError:
            raise CredentialsError(
                f"EcsRamRole: the ECS metadata service {self.options.metadata_url} "
                "cannot be reached (not on an ECS instance?)"
            ) from None

    def oidc(self, role: RoleSpec, provider_arn: str, token_file: Path,
             sts_region: str | None) -> CredentialProvider:
        endpoint = self.sts_endpoint(sts_region)
        return _fetched(lambda: sts.assume_role_with_oidc(
            self.session, endpoint, role, provider_arn, token_file, self.options.timeout))

    def uri(self, url: str) -> CredentialProvider:
        uri.check_uri(url)
        return _fetched(lambda: uri.uri_credentials(self.session, url, self.options.timeout))

    def from_profile(self, name: str | None) -> CredentialProvider:
        config = aliyun_config.load_config(self.path)
        profile = aliyun_config.find_profile(config, name, self.path)
        return aliyun_config.profile_credentials(config, profile, self.path, self)

    def from_oidc_environment(self) -> CredentialProvider | None:
        env = self.options.environ
        values = {name: env.get(name, "").strip() for name in OIDC_VARIABLES}
        if not any(values.values()):
            return None
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise CredentialsError(f"OIDC: {', '.join(missing)} not set (the others are): "
                                   f"set all of {', '.join(OIDC_VARIABLES)} or none")
        role = RoleSpec(arn=values[ENV_ROLE_ARN],
                        session_name=env.get(ENV_SESSION_NAME, "").strip() or "imgaudit")
        return self.oidc(role, values[ENV_OIDC_PROVIDER], Path(values[ENV_OIDC_TOKEN_FILE]),
                         None)

    def from_uri_environment(self) -> CredentialProvider | None:
        url = self.options.environ.get(ENV_CREDENTIALS_URI, "").strip()
        return self.uri(url) if url else None

    def from_metadata(self) -> CredentialProvider | None:
        """The instance role, when there is a metadata service; None when there is none."""
        try:
            first = metadata.role_credentials(self.session, self.options.metadata_url,
                                              seconds=self.options.timeout)
        except metadata.MetadataUnreachableError:
            return None
        return RefreshingCredentials(lambda: self._instance_role(None), first=first)


def resolve_credentials(options: CredentialOptions,
                        session: requests.Session) -> CredentialProvider:
    """The first source that has credentials; CredentialsError naming every source tried."""
    resolver = _Resolver(options, session)
    env = options.environ
    if options.profile:
        if not resolver.path.is_file():
            raise CredentialsError(
                f"--profile {options.profile}: aliyun CLI config {resolver.path} not found"
            )
        return resolver.from_profile(options.profile)
    found = (_from_environment(env) or resolver.from_oidc_environment()
             or resolver.from_uri_environment())
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
        f"{ENV_KEY_ID} and {ENV_SECRET} (not set); OIDC {ENV_ROLE_ARN}, {ENV_OIDC_PROVIDER} "
        f"and {ENV_OIDC_TOKEN_FILE} (not set); {ENV_CREDENTIALS_URI} (not set); aliyun CLI "
        f"config {path} (not found); ECS instance RAM role ({role}). Set the environment "
        "variables, run `aliyun configure`, or pass --profile NAME."
    )
