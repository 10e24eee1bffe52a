"""The sources organisations run under: RamRoleArn with ExternalId / Policy,
ChainableRamRoleArn, OIDC (RRSA), ALIBABA_CLOUD_CREDENTIALS_URI; temporary keys renewed
before they expire. Against the fake STS, metadata service and credentials URI."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, Fault, image, many_images
from fakeecs import collect_request as request

from auditor.collector import collect
from auditor.collector.sts import regional_endpoint
from auditor.errors import CredentialsError

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("clean_env")

ROLE = "acs:ram::1234567890123456:role/auditor"
MEMBER_ROLE = "acs:ram::999888777666:role/imgaudit-reader"
PROVIDER = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1"
OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmVk-oidc"
POLICY = json.dumps({"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "ecs:DescribeImages", "Resource": "*"}]})


def _config(home: Path, *profiles: dict[str, Any], current: str = "default") -> Path:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": list(profiles)}))
    return path


def _ak(name: str = "base") -> dict[str, Any]:
    return {"name": name, "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": SECRET}


@pytest.fixture
def cloud(fake: FakeEndpoint) -> FakeEndpoint:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.roles[ROLE] = ACCOUNT_ID
    fake.cloud.roles[MEMBER_ROLE] = "999888777666"
    fake.cloud.oidc_providers[PROVIDER] = OIDC_TOKEN
    return fake


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(OIDC_TOKEN + "\n")
    return path


def _oidc_env(monkeypatch: pytest.MonkeyPatch, token_file: Path) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token_file))


def _refused(fake: FakeEndpoint) -> list[str]:
    return [f"{c.action}:{c.code}" for c in fake.cloud.calls if c.code]


# RamRoleArn: ExternalId, Policy, sts_region

def test_role_that_needs_an_external_id(cloud: FakeEndpoint, clean_env: Path) -> None:
    cloud.cloud.external_ids[ROLE] = "7f3c0e"
    profile = {**_ak("default"), "mode": "RamRoleArn", "ram_role_arn": ROLE, "policy": POLICY}
    _config(clean_env, profile)
    with pytest.raises(CredentialsError, match=r"cannot assume role .*NoPermission"):
        collect(request(cloud))
    _config(clean_env, {**profile, "external_id": "7f3c0e", "sts_region": "cn-shanghai"})
    assert collect(request(cloud)).complete
    assume = cloud.cloud.calls_of("AssumeRole")[-1]
    assert assume.params["ExternalId"] == "7f3c0e" and assume.params["Policy"] == POLICY
    assert assume.code is None


def test_a_policy_that_is_not_json_is_refused_before_any_call(
    cloud: FakeEndpoint, clean_env: Path
) -> None:
    _config(clean_env, {**_ak("default"), "mode": "RamRoleArn", "ram_role_arn": ROLE,
                        "policy": "{not json"})
    with pytest.raises(CredentialsError, match="policy is not a JSON policy document"):
        collect(request(cloud))
    assert cloud.cloud.calls == []


def test_sts_region_picks_the_regional_endpoint() -> None:
    assert regional_endpoint(None) == "https://sts.aliyuncs.com"
    assert regional_endpoint("cn-shanghai") == "https://sts.cn-shanghai.aliyuncs.com"
    assert regional_endpoint("cn-shanghai", vpc=True) == "https://sts-vpc.cn-shanghai.aliyuncs.com"


# ChainableRamRoleArn

def test_chainable_role_assumes_with_the_source_profile_credentials(
    cloud: FakeEndpoint, clean_env: Path
) -> None:
    _config(clean_env, _ak("base"),
            {"name": "hop", "mode": "ChainableRamRoleArn", "source_profile": "base",
             "ram_role_arn": ROLE, "ram_session_name": "hop-1"},
            {"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "hop",
             "ram_role_arn": MEMBER_ROLE, "external_id": "x-1", "expired_seconds": 900})
    inventory = collect(request(cloud))
    first, second = cloud.cloud.calls_of("AssumeRole")
    assert first.key_id == KEY_ID and first.params["RoleArn"] == ROLE
    assert first.params["RoleSessionName"] == "hop-1"
    assert second.key_id is not None and second.key_id.startswith("STS.")  # the hop's keys
    assert second.params["RoleArn"] == MEMBER_ROLE and second.params["ExternalId"] == "x-1"
    assert second.params["DurationSeconds"] == "900"
    assert inventory.account_id == "999888777666"


def test_chainable_loop_is_a_clear_error(cloud: FakeEndpoint, clean_env: Path) -> None:
    _config(clean_env,
            {"name": "a", "mode": "ChainableRamRoleArn", "source_profile": "default",
             "ram_role_arn": ROLE},
            {"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "a",
             "ram_role_arn": ROLE})
    with pytest.raises(CredentialsError, match=r"loop \(default -> a -> default\)"):
        collect(request(cloud))


def test_chainable_from_the_instance_role(cloud: FakeEndpoint, clean_env: Path) -> None:
    cloud.cloud.instance_role = "ecs-auditor"
    _config(clean_env, {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "ecs-auditor"},
            {"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "ecs",
             "ram_role_arn": MEMBER_ROLE})
    assert collect(request(cloud)).account_id == "999888777666"
    (assume,) = cloud.cloud.calls_of("AssumeRole")
    assert assume.key_id is not None and assume.key_id.startswith("STS.")


# OIDC / RRSA

def test_oidc_from_the_environment(
    cloud: FakeEndpoint, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oidc_env(monkeypatch, token_file)
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_SESSION_NAME", "rrsa-pod")
    inventory = collect(request(cloud))
    assert inventory.complete and inventory.account_id == ACCOUNT_ID
    (call,) = cloud.cloud.calls_of("AssumeRoleWithOIDC")
    assert call.key_id is None  # anonymous
    assert call.params["OIDCToken"] == OIDC_TOKEN and call.params["OIDCProviderArn"] == PROVIDER
    assert call.params["RoleArn"] == ROLE and call.params["RoleSessionName"] == "rrsa-pod"
    assert {c.key_id for c in cloud.cloud.calls_of("DescribeImages")} != {KEY_ID}


def test_oidc_comes_after_the_environment_keys(
    cloud: FakeEndpoint, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oidc_env(monkeypatch, token_file)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    assert collect(request(cloud)).complete
    assert cloud.cloud.calls_of("AssumeRoleWithOIDC") == []


def test_oidc_profile_mode(cloud: FakeEndpoint, token_file: Path, clean_env: Path) -> None:
    _config(clean_env, {"name": "default", "mode": "OIDC", "ram_role_arn": ROLE,
                        "oidc_provider_arn": PROVIDER, "oidc_token_file": str(token_file),
                        "role_session_name": "from-profile"})
    assert collect(request(cloud)).complete
    (call,) = cloud.cloud.calls_of("AssumeRoleWithOIDC")
    assert call.params["RoleSessionName"] == "from-profile"


@pytest.mark.parametrize("change,problem", [
    ("token", "AuthenticationFail.OIDCToken.Invalid"),
    ("provider", "EntityNotExist.OIDCProvider"),
    ("role", "EntityNotExist.Role"),
    ("empty", "OIDC token file .*: empty"),
    ("missing", "OIDC token file .*: cannot read it"),
    ("partial", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN not set"),
])
def test_oidc_failures_are_one_clear_line(
    cloud: FakeEndpoint, token_file: Path, monkeypatch: pytest.MonkeyPatch, change: str,
    problem: str, caplog: pytest.LogCaptureFixture,
) -> None:
    _oidc_env(monkeypatch, token_file)
    if change == "token":
        token_file.write_text("eyJ.wrong-token-of-someone-else.sig")
    elif change == "provider":
        monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER + "-other")
    elif change == "role":
        monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE + "-other")
    elif change == "empty":
        token_file.write_text("\n")
    elif change == "missing":
        token_file.unlink()
    else:
        monkeypatch.delenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsError, match=problem) as caught:
        collect(request(cloud))
    assert "\n" not in str(caught.value)
    assert OIDC_TOKEN not in str(caught.value) + caplog.text
    assert "wrong-token-of-someone-else" not in str(caught.value) + caplog.text


@pytest.mark.parametrize("kind", ["nonjson", "body", "unavailable"])
def test_oidc_answer_faults(cloud: FakeEndpoint, token_file: Path,
                            monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    _oidc_env(monkeypatch, token_file)
    cloud.cloud.faults.append(Fault(kind=kind, action="AssumeRoleWithOIDC",
                                    body=b'{"Credentials": {"AccessKeyId": "x"}}'))
    with pytest.raises(CredentialsError, match=r"cannot assume role .* with OIDC") as caught:
        collect(request(cloud))
    assert "\n" not in str(caught.value)


# ALIBABA_CLOUD_CREDENTIALS_URI

def test_credentials_uri_from_the_environment(
    cloud: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", cloud.url + "/credentials-uri?role=r")
    assert collect(request(cloud)).complete
    assert cloud.cloud.uri_calls == ["/credentials-uri?role=r"]
    (signer,) = {c.key_id for c in cloud.cloud.calls_of("DescribeImages")}
    assert signer is not None and signer.startswith("STS.")


def test_credentials_uri_profile_mode(cloud: FakeEndpoint, clean_env: Path) -> None:
    _config(clean_env, {"name": "default", "mode": "CredentialsURI",
                        "credentials_uri": cloud.url + "/credentials-uri"})
    assert collect(request(cloud)).complete
    assert len(cloud.cloud.uri_calls) == 1


@pytest.mark.parametrize("answer,status,problem", [
    (None, 500, "answered HTTP 500"),
    (b"<html>not json</html>", 200, "not a JSON object"),
    (b'{"Code": "Failed", "Message": "no role"}', 200, "Code is 'Failed', not 'Success'"),
    (b'{"Code": "Success", "AccessKeyId": "STS.x", "AccessKeySecret": "uri-secret-value-1"}',
     200, "no usable SecurityToken"),
    (b'{"Code": "Success", "AccessKeyId": "STS.x", "AccessKeySecret": "uri-secret-value-1", '
     b'"SecurityToken": "uri-token-value-1", "Expiration": "soon"}', 200, "no usable Expiration"),
    (b"[" * 50000, 200, "not a JSON object"),
    (b" " * 70000, 200, "answered over 65536 bytes"),
])
def test_credentials_uri_faults_through_the_cli(
    cloud: FakeEndpoint, clean_env: Path, answer: bytes | None, status: int, problem: str
) -> None:
    cloud.cloud.uri_answer, cloud.cloud.uri_status = answer, status
    env = {"HOME": str(clean_env), "IMGAUDIT_STS_ENDPOINT": cloud.url,
           "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
           "ALIBABA_CLOUD_CREDENTIALS_URI": cloud.url + "/credentials-uri?secret=qs-secret-1"}
    result = invoke("collect", "--region", "cn-hangzhou", "--endpoint", cloud.url, "-o",
                    str(clean_env / "inv.json"), env=env)
    assert result.exit_code == 2
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    for secret in ("uri-secret-value-1", "uri-token-value-1", "qs-secret-1"):
        assert secret not in result.stderr + result.stdout


def test_credentials_uri_that_is_not_a_url(cloud: FakeEndpoint,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", "file:///etc/passwd")
    with pytest.raises(CredentialsError, match="is not an http"):
        collect(request(cloud))


# Renewal before expiry

SOURCES = ["RamRoleArn", "EcsRamRole", "OIDC", "CredentialsURI"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_scan_longer_than_the_tokens_life_completes(
    cloud: FakeEndpoint, clean_env: Path, token_file: Path, monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    """Keys live 3 s; two regions of 35 pages at 0.1 s a page take about 3.5 s. The fake
    refuses expired keys, so only renewal (shared by both regions) lets the scan finish.
    Keys are renewed a third of their life (1 s) before expiry and the fake checks them after
    its latency, so a page signed just before renewal has 0.9 s to spare on a loaded machine
    (CI runs three test processes on two cores); 2 s keys at 0.2 s left only 0.47 s."""
    cloud.cloud.sts_lifetime = 3.0
    cloud.cloud.latency = 0.1
    for region in ("cn-hangzhou", "cn-shanghai"):
        cloud.cloud.add_images(region, many_images(region, 3450))
    cloud.cloud.instance_role = "ecs-auditor"
    if source == "RamRoleArn":
        _config(clean_env, {**_ak("default"), "mode": "RamRoleArn", "ram_role_arn": ROLE})
    elif source == "OIDC":
        _oidc_env(monkeypatch, token_file)
    elif source == "CredentialsURI":
        monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", cloud.url + "/credentials-uri")
    inventory = collect(request(cloud, regions=["cn-hangzhou", "cn-shanghai"],
                                page_concurrency=1, lookup_account=False))
    assert inventory.complete, [r.errors for r in inventory.regions]
    assert [len(r.images) for r in inventory.regions] == [3451, 3450]
    assert _refused(cloud) == []
    signers = {c.key_id for c in cloud.cloud.calls_of("DescribeImages")}
    assert len(signers) >= 2  # renewed at least once, never used after it expired


def test_the_fake_refuses_an_expired_token(
    cloud: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.cloud.sts_lifetime = -1.0
    key = cloud.cloud.issue_sts_key(ACCOUNT_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", key.key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", key.secret)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", str(key.token))
    with pytest.raises(CredentialsError, match=r"InvalidSecurityToken\.Expired"):
        collect(request(cloud))


def test_renewal_that_fails_once_the_keys_expired_marks_regions_incomplete(
    cloud: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keys are not handed out in the last tenth of their life (0.4 s here). The fake checks
    # them after its latency, so the latency must stay well below that tenth: with 1.5 s and
    # 0.2 s, a page signed 0.16 s before expiry reached the check expired (CI, once).
    cloud.cloud.sts_lifetime = 4.0
    cloud.cloud.latency = 0.1
    cloud.cloud.add_images("cn-hangzhou", many_images("h", 5000))  # 50 pages: past the expiry
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", cloud.url + "/credentials-uri")

    def broken(fake: Any) -> None:
        fake.uri_status = 503

    from fakeecs import PageHook
    cloud.cloud.hooks.append(PageHook("cn-hangzhou", 1, broken))
    inventory = collect(request(cloud, page_concurrency=1, lookup_account=False))
    (region,) = inventory.regions
    assert not region.complete
    assert any("CredentialsExpired" in e and "answered HTTP 503" in e for e in region.errors)
    assert _refused(cloud) == []  # nothing was sent with expired keys


def test_concurrent_callers_share_one_renewal() -> None:
    """Eight threads ask for keys when they are due: one fetch, all get the new keys."""
    import threading
    import time

    from auditor.collector.refresh import RefreshingCredentials
    from auditor.collector.signing import Credentials

    now = [1000.0]
    fetched: list[int] = []

    def fetch() -> Credentials:
        fetched.append(1)
        time.sleep(0.05)  # a slow STS: the other threads must wait, not fetch too
        return Credentials(f"STS.{len(fetched)}", f"secret-{len(fetched)}-xxxxxx",
                           f"token-{len(fetched)}-xxxxxx", expiration=now[0] + 900)

    provider = RefreshingCredentials(fetch, clock=lambda: now[0])
    assert provider.get().access_key_id == "STS.1"
    now[0] += 900 - 299  # inside the 5-minute margin (a third of 900 s is more)
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(provider.get().access_key_id))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["STS.2"] * 8 and len(fetched) == 2
    assert set(provider.secrets()) == {"secret-1-xxxxxx", "token-1-xxxxxx",
                                       "secret-2-xxxxxx", "token-2-xxxxxx"}


RULE = """\
id: TEST-NOT-PUBLIC
title: Custom images are not public
severity: high
description: Test rule.
remediation: Unpublish it.
require:
  IsPublic: false
message: "{{ image.ImageId }} is public"
"""


@pytest.mark.parametrize("source", ["OIDC", "CredentialsURI", "RamRoleArn", "Chainable",
                                    "EcsRamRole"])
def test_no_secret_of_the_new_sources_appears_in_any_output(
    cloud: FakeEndpoint, clean_env: Path, token_file: Path, tmp_path: Path, source: str
) -> None:
    """Verbose scans that renew their keys and fail in part, with every output file: no
    secret, security token or OIDC token of any key the fake issued appears anywhere."""
    from urllib.parse import quote

    cloud.cloud.sts_lifetime = 2.0
    cloud.cloud.latency = 0.1
    cloud.cloud.add_images("cn-hangzhou", [*many_images("p", 1200), image("m-pub", IsPublic=True)])
    cloud.cloud.faults += [Fault("error", region="cn-shanghai", times=None),
                           Fault("error", action="GetCallerIdentity", times=None)]
    cloud.cloud.instance_role = "ecs-auditor"
    cloud.cloud.external_ids[ROLE] = "ext-1"
    env = {"HOME": str(clean_env), "IMGAUDIT_STS_ENDPOINT": cloud.url,
           "IMGAUDIT_METADATA_URL": cloud.url}
    if source == "OIDC":
        env |= {"ALIBABA_CLOUD_ROLE_ARN": ROLE, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": PROVIDER,
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file)}
    elif source == "CredentialsURI":
        env["ALIBABA_CLOUD_CREDENTIALS_URI"] = cloud.url + "/credentials-uri"
    elif source == "RamRoleArn":
        _config(clean_env, {**_ak("default"), "mode": "RamRoleArn", "ram_role_arn": ROLE,
                            "external_id": "ext-1"})
    elif source == "Chainable":
        _config(clean_env, _ak("base"),
                {"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "base",
                 "ram_role_arn": ROLE, "external_id": "ext-1"})
    rule = tmp_path / "rule.yaml"
    rule.write_text(RULE)
    outputs = tmp_path / "out"
    outputs.mkdir()
    files = [f"--{fmt}={outputs / f'report.{fmt}'}"
             for fmt in ("json", "sarif", "html", "junit", "markdown")]
    result = invoke("scan", "-v", "--region", "cn-hangzhou", "--region", "cn-shanghai",
                    "--endpoint", cloud.url, "--no-builtin-rules", "--rules", str(rule),
                    "--concurrency", "1", *files,
                    "--save-inventory", str(outputs / "inv.json"), env=env)
    assert result.exit_code == 3, result.stderr
    texts = [result.stdout, result.stderr] + [p.read_text() for p in outputs.iterdir()]
    issued = [k for k in cloud.cloud.keys.values() if k.token]
    assert len(issued) >= 2  # the keys were renewed during the scan
    forms = {OIDC_TOKEN}
    for key in issued:
        token = str(key.token)
        forms |= {key.secret, token, quote(token, safe="~"), quote(quote(token, safe="~"))}
    for text in texts:
        for form in forms:
            assert form not in text
