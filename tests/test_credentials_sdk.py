"""The credential chain against the official libraries: the environment variable names
`alibabacloud-credentials` reads, the STS requests its providers send (driven over real HTTP
against the fake, which checks their V1 signatures), the answers they accept, and the STS
parameters of `alibabacloud-sts20150401`, compared with what imgaudit sends."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider
from alibabacloud_credentials.provider.oidc import OIDCRoleArnCredentialsProvider
from alibabacloud_credentials.provider.ram_role_arn import RamRoleArnCredentialsProvider
from alibabacloud_credentials.provider.uri import URLCredentialsProvider
from alibabacloud_credentials.utils import auth_util
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, image
from fakeecs import collect_request as request
from fakeecs.api import assume_role as fake_assume_role
from fakeecs.api import assume_role_with_oidc as fake_assume_role_with_oidc
from Tea.core import TeaCore

from auditor.collector import collect, credentials

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("clean_env")

ROLE = "acs:ram::1234567890123456:role/auditor"
PROVIDER = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YSJ9.c2ln"
# Compact: the credentials library's V1 signer encodes a space as `+` where the API's
# canonical form has `%20`, so a policy with spaces is refused from it (not from us).
POLICY = json.dumps({"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}]}, separators=(",", ":"))
# What differs by design between two correct requests: signing, time, format, session.
VOLATILE = {"Timestamp", "SignatureNonce", "Signature", "SignatureMethod", "SignatureVersion",
            "AccessKeyId", "SecurityToken", "Format", "Action", "Version"}


@pytest.fixture
def cloud(fake: FakeEndpoint) -> FakeEndpoint:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.roles[ROLE] = ACCOUNT_ID
    fake.cloud.external_ids[ROLE] = "ext-7f3c"
    fake.cloud.oidc_providers[PROVIDER] = TOKEN
    return fake


@pytest.fixture
def official_over_http(cloud: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The official providers' HTTP layer, sent to the fake as they built it (method, path,
    query, headers): nothing of theirs is changed but the address."""
    def do_action(tea: Any, runtime: Any = None) -> Any:
        headers = {k: v for k, v in tea.headers.items() if k.lower() != "host"}
        answer = requests.request(tea.method, cloud.url + (tea.pathname or "/"),
                                  params=tea.query, headers=headers, data=tea.body, timeout=10)
        return SimpleNamespace(status_code=answer.status_code, body=answer.content,
                               headers=dict(answer.headers))
    monkeypatch.setattr(TeaCore, "do_action", staticmethod(do_action))
    yield


def _sent(fake: FakeEndpoint, action: str) -> list[dict[str, str]]:
    return [{k: v for k, v in c.params.items() if k not in VOLATILE}
            for c in fake.cloud.calls_of(action)]


@pytest.mark.parametrize("ours,name", [
    (credentials.ENV_KEY_ID, "environment_access_key_id"),
    (credentials.ENV_SECRET, "environment_access_key_secret"),
    (credentials.ENV_TOKEN, "environment_security_token"),
    (credentials.ENV_PROFILE, "environment_profile_name"),
    (credentials.ENV_NO_METADATA, "environment_ecs_metadata_disabled"),
    (credentials.ENV_ROLE_ARN, "environment_role_arn"),
    (credentials.ENV_OIDC_PROVIDER, "environment_oidc_provider_arn"),
    (credentials.ENV_OIDC_TOKEN_FILE, "environment_oidc_token_file"),
    (credentials.ENV_SESSION_NAME, "environment_role_session_name"),
    (credentials.ENV_CREDENTIALS_URI, "environment_credentials_uri"),
    (credentials.ENV_STS_REGION, "environment_sts_region"),
    (credentials.ENV_STS_VPC, "environment_enable_vpc"),
])
def test_environment_variable_names_are_the_official_ones(
    monkeypatch: pytest.MonkeyPatch, ours: str, name: str
) -> None:
    monkeypatch.setenv(ours, "marker-value")
    try:
        assert getattr(importlib.reload(auth_util), name) == "marker-value"
    finally:
        monkeypatch.delenv(ours)
        importlib.reload(auth_util)


def test_assume_role_with_external_id_and_policy_sends_what_the_official_provider_sends(
    cloud: FakeEndpoint, clean_env: Path, official_over_http: None
) -> None:
    official = RamRoleArnCredentialsProvider(
        access_key_id=KEY_ID, access_key_secret=SECRET, role_arn=ROLE,
        role_session_name="audit", duration_seconds=1800, policy=POLICY,
        external_id="ext-7f3c", sts_endpoint="sts.aliyuncs.com")
    assert official.get_credentials().get_access_key_id().startswith("STS.")
    (path := clean_env / ".aliyun" / "config.json").parent.mkdir()
    path.write_text(json.dumps({"current": "default", "profiles": [{
        "name": "default", "mode": "RamRoleArn", "access_key_id": KEY_ID,
        "access_key_secret": SECRET, "ram_role_arn": ROLE, "ram_session_name": "audit",
        "expired_seconds": 1800, "policy": POLICY, "external_id": "ext-7f3c"}]}))
    assert collect(request(cloud)).complete
    theirs, ours = _sent(cloud, "AssumeRole")
    assert ours == theirs
    assert [c.code for c in cloud.cloud.calls_of("AssumeRole")] == [None, None]


def test_chainable_profile_sends_what_the_official_cli_profile_provider_sends(
    cloud: FakeEndpoint, clean_env: Path, official_over_http: None
) -> None:
    member = "acs:ram::999888777666:role/reader"
    cloud.cloud.roles[member] = "999888777666"
    path = clean_env / ".aliyun" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"current": "chain", "profiles": [
        {"name": "base", "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": SECRET},
        {"name": "hop", "mode": "RamRoleArn", "access_key_id": KEY_ID,
         "access_key_secret": SECRET, "ram_role_arn": ROLE, "ram_session_name": "hop",
         "external_id": "ext-7f3c", "expired_seconds": 3600},
        {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "hop",
         "ram_role_arn": member, "ram_session_name": "member", "expired_seconds": 900}]}))
    official = CLIProfileCredentialsProvider(profile_name="chain", profile_file=str(path))
    assert official.get_credentials().get_access_key_id().startswith("STS.")
    theirs = _sent(cloud, "AssumeRole")
    assert collect(request(cloud, profile="chain")).account_id == "999888777666"
    ours = _sent(cloud, "AssumeRole")[len(theirs):]
    assert ours == theirs and [c["RoleArn"] for c in ours] == [ROLE, member]


def test_oidc_sends_what_the_official_provider_sends(
    cloud: FakeEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    official_over_http: None,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    official = OIDCRoleArnCredentialsProvider(
        role_arn=ROLE, oidc_provider_arn=PROVIDER, oidc_token_file_path=str(token_file),
        role_session_name="pod-1", sts_endpoint="sts.aliyuncs.com")
    assert official.get_credentials().get_access_key_id().startswith("STS.")
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_SESSION_NAME", "pod-1")
    assert collect(request(cloud)).complete
    theirs, ours = _sent(cloud, "AssumeRoleWithOIDC")
    assert ours == theirs
    (first, second) = cloud.cloud.calls_of("AssumeRoleWithOIDC")
    assert first.key_id is None and second.key_id is None  # both anonymous


def test_the_official_uri_provider_reads_the_fake_and_so_do_we(
    cloud: FakeEndpoint, monkeypatch: pytest.MonkeyPatch, official_over_http: None
) -> None:
    url = cloud.url + "/credentials-uri?who=ci"
    got = URLCredentialsProvider(uri=url).get_credentials()
    assert cloud.cloud.keys[got.get_access_key_id()].secret == got.get_access_key_secret()
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", url)
    assert collect(request(cloud)).complete
    assert cloud.cloud.uri_calls == ["/credentials-uri?who=ci"] * 2


def _sts_sdk_request(call: str, model: Any) -> dict[str, Any]:
    """The action, method, auth type and query the STS SDK would send for `model`."""
    seen: dict[str, Any] = {}

    class CapturedError(Exception):
        pass

    client = StsClient(Config(access_key_id=KEY_ID, access_key_secret=SECRET,
                              endpoint="sts.aliyuncs.com"))

    def capture_rpc(action: str, version: str, protocol: str, method: str, auth_type: str,
                    body_type: str, req: Any, runtime: Any) -> Any:
        seen.update(action=action, version=version, method=method, auth=auth_type,
                    query={k: str(v) for k, v in req.query.items()})
        raise CapturedError

    def capture_api(params: Any, req: Any, runtime: Any) -> Any:
        return capture_rpc(params.action, params.version, params.protocol, params.method,
                           params.auth_type, params.body_type, req, runtime)

    client.do_rpcrequest = capture_rpc  # type: ignore[method-assign]
    client.call_api = capture_api  # type: ignore[method-assign]
    from alibabacloud_tea_util.models import RuntimeOptions
    with pytest.raises(CapturedError):
        getattr(client, call)(model, RuntimeOptions())
    return seen


def test_assume_role_parameters_match_the_sts_sdk(cloud: FakeEndpoint, clean_env: Path) -> None:
    sdk = _sts_sdk_request("assume_role_with_options", sts_models.AssumeRoleRequest(
        role_arn=ROLE, role_session_name="audit", duration_seconds=1800, policy=POLICY,
        external_id="ext-7f3c"))
    assert (sdk["action"], sdk["version"], sdk["method"]) == ("AssumeRole", "2015-04-01",
                                                              "POST")
    (path := clean_env / ".aliyun" / "config.json").parent.mkdir()
    path.write_text(json.dumps({"current": "default", "profiles": [{
        "name": "default", "mode": "RamRoleArn", "access_key_id": KEY_ID,
        "access_key_secret": SECRET, "ram_role_arn": ROLE, "ram_session_name": "audit",
        "expired_seconds": 1800, "policy": POLICY, "external_id": "ext-7f3c"}]}))
    assert collect(request(cloud)).complete
    (ours,) = _sent(cloud, "AssumeRole")
    assert ours == sdk["query"]


def test_oidc_parameters_match_the_sts_sdk(
    cloud: FakeEndpoint, tmp_path: Path, clean_env: Path
) -> None:
    sdk = _sts_sdk_request("assume_role_with_oidcwith_options",
                           sts_models.AssumeRoleWithOIDCRequest(
                               role_arn=ROLE, oidcprovider_arn=PROVIDER, oidctoken=TOKEN,
                               role_session_name="pod", duration_seconds=3600))
    assert (sdk["action"], sdk["method"], sdk["auth"]) == ("AssumeRoleWithOIDC", "POST",
                                                           "Anonymous")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    (path := clean_env / ".aliyun" / "config.json").parent.mkdir()
    path.write_text(json.dumps({"current": "default", "profiles": [{
        "name": "default", "mode": "OIDC", "ram_role_arn": ROLE, "oidc_provider_arn": PROVIDER,
        "oidc_token_file": str(token_file), "role_session_name": "pod"}]}))
    assert collect(request(cloud)).complete
    (ours,) = _sent(cloud, "AssumeRoleWithOIDC")
    assert ours == sdk["query"]


def test_the_fakes_sts_answers_parse_with_the_sts_sdk(cloud: FakeEndpoint) -> None:
    key = cloud.cloud.keys[KEY_ID]
    params = {"RoleArn": ROLE, "RoleSessionName": "s", "ExternalId": "ext-7f3c"}
    for answer, model in (
        (fake_assume_role(cloud.cloud, key, params), sts_models.AssumeRoleResponseBody()),
        (fake_assume_role_with_oidc(cloud.cloud, {**params, "OIDCProviderArn": PROVIDER,
                                                  "OIDCToken": TOKEN}),
         sts_models.AssumeRoleWithOIDCResponseBody()),
    ):
        body = model.from_map(answer)
        issued = cloud.cloud.keys[body.credentials.access_key_id]
        assert body.credentials.access_key_secret == issued.secret
        assert body.credentials.security_token == issued.token
        assert body.credentials.expiration == issued.expiration()
        assert body.assumed_role_user.arn == f"{ROLE}/s"
