"""Every credential source, in DESIGN §3 order, against the fake STS and metadata service."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, image
from fakeecs import collect_request as request

from auditor.collector import collect
from auditor.errors import CredentialsError

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("clean_env")

ROLE_ARN = "acs:ram::1234567890123456:role/auditor"


def _write_config(home: Path, profiles: list[dict[str, Any]], current: str = "default") -> Path:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": profiles, "meta_path": ""}))
    return path


def _ak(name: str = "default", key: str = KEY_ID, secret: str = SECRET) -> dict[str, Any]:
    return {"name": name, "mode": "AK", "access_key_id": key, "access_key_secret": secret,
            "region_id": "cn-hangzhou"}


def _signers(fake: FakeEndpoint, action: str = "DescribeImages") -> set[str | None]:
    return {c.key_id for c in fake.cloud.calls_of(action)}


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def with_image(fake: FakeEndpoint) -> FakeEndpoint:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    return fake


def test_environment_keys(with_image: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    assert len(collect(request(with_image)).regions[0].images) == 1
    assert _signers(with_image) == {KEY_ID}


def test_environment_sts_token(with_image: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    sts = with_image.cloud.issue_sts_key(ACCOUNT_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sts.key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sts.secret)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", str(sts.token))
    for signature in ("v3", "v1"):
        assert collect(request(with_image, signature=signature)).complete
    assert _signers(with_image) == {sts.key_id}


def test_half_set_environment_is_an_error(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"):
        collect(request(fake))


def test_config_current_profile(with_image: FakeEndpoint, clean_env: Path) -> None:
    _write_config(clean_env, [_ak("other", "LTAI-x", "y"), _ak("main")], current="main")
    assert collect(request(with_image)).complete
    assert _signers(with_image) == {KEY_ID}


def test_config_profile_from_environment(
    with_image: FakeEndpoint, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(clean_env, [_ak("default", "LTAI-wrong", "nope"), _ak("audit")])
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "audit")
    assert collect(request(with_image)).complete


def test_explicit_profile_wins_over_environment(
    with_image: FakeEndpoint, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_config(clean_env, [_ak("default", "LTAI-wrong", "nope"), _ak("audit")])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-env-wrong")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-wrong")
    assert collect(request(with_image, profile="audit")).complete
    assert _signers(with_image) == {KEY_ID}


def test_environment_wins_over_config_file(
    with_image: FakeEndpoint, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_config(clean_env, [])
    path.write_text("{ not json")  # never read: the environment comes first
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    assert collect(request(with_image)).complete


def test_config_path_is_settable(with_image: FakeEndpoint, tmp_path: Path) -> None:
    path = _write_config(tmp_path / "elsewhere", [_ak()])
    assert collect(request(with_image, aliyun_config=path)).complete


def test_sts_token_profile(with_image: FakeEndpoint, clean_env: Path) -> None:
    sts = with_image.cloud.issue_sts_key(ACCOUNT_ID)
    _write_config(clean_env, [{"name": "default", "mode": "StsToken",
                               "access_key_id": sts.key_id, "access_key_secret": sts.secret,
                               "sts_token": sts.token}])
    assert collect(request(with_image)).complete
    assert _signers(with_image) == {sts.key_id}


def test_ram_role_arn_profile_assumes_the_role(with_image: FakeEndpoint, clean_env: Path) -> None:
    with_image.cloud.roles[ROLE_ARN] = "999888777666"
    _write_config(clean_env, [{**_ak(), "mode": "RamRoleArn", "ram_role_arn": ROLE_ARN,
                               "ram_session_name": "audit-run", "expired_seconds": 900}])
    inventory = collect(request(with_image))
    (assume,) = with_image.cloud.calls_of("AssumeRole")
    assert assume.key_id == KEY_ID
    assert assume.params["RoleArn"] == ROLE_ARN
    assert assume.params["RoleSessionName"] == "audit-run"
    assert assume.params["DurationSeconds"] == "900"
    (signer,) = _signers(with_image)
    assert signer is not None and signer.startswith("STS.")
    assert inventory.account_id == "999888777666"


def test_ram_role_arn_unknown_role(fake: FakeEndpoint, clean_env: Path) -> None:
    _write_config(clean_env, [{**_ak(), "mode": "RamRoleArn", "ram_role_arn": "acs:ram::1:role/x"}])
    with pytest.raises(CredentialsError, match=r"cannot assume role .*EntityNotExist\.Role"):
        collect(request(fake))


def test_ecs_ram_role_profile(with_image: FakeEndpoint, clean_env: Path) -> None:
    with_image.cloud.instance_role = "ecs-auditor"
    _write_config(clean_env, [{"name": "default", "mode": "EcsRamRole",
                               "ram_role_name": "ecs-auditor"}])
    assert collect(request(with_image)).complete
    assert with_image.cloud.metadata_calls[0] == "PUT /latest/api/token"
    assert "GET /latest/meta-data/ram/security-credentials/ecs-auditor" in (
        with_image.cloud.metadata_calls)


def test_instance_role_from_metadata_is_the_last_resort(with_image: FakeEndpoint) -> None:
    with_image.cloud.instance_role = "ecs-auditor"
    assert collect(request(with_image)).complete
    calls = with_image.cloud.metadata_calls
    assert calls[0] == "PUT /latest/api/token"
    assert calls[1:] == ["GET /latest/meta-data/ram/security-credentials/",
                         "GET /latest/meta-data/ram/security-credentials/ecs-auditor"]
    (signer,) = _signers(with_image)
    assert signer is not None and signer.startswith("STS.")


def test_metadata_refuses_requests_without_a_token(fake: FakeEndpoint) -> None:
    fake.cloud.instance_role = "ecs-auditor"
    answer = requests.get(fake.url + "/latest/meta-data/ram/security-credentials/", timeout=5)
    assert answer.status_code == 401


def test_no_credentials_anywhere_lists_the_sources(fake: FakeEndpoint, clean_env: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        collect(request(fake, metadata_url=_closed_port_url()))
    message = str(caught.value)
    for source in ("--profile", "ALIBABA_CLOUD_ACCESS_KEY_ID", str(clean_env / ".aliyun"),
                   "ECS instance RAM role"):
        assert source in message
    assert "\n" not in message
    assert fake.cloud.calls == []


def test_metadata_can_be_switched_off(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.cloud.instance_role = "ecs-auditor"
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ECS_METADATA_DISABLED is set"):
        collect(request(fake))
    assert fake.cloud.metadata_calls == []


@pytest.mark.parametrize("content,problem", [
    ("{ not json", "not valid JSON"),
    ('["a list"]', "no `profiles` list"),
])
def test_broken_config_file(fake: FakeEndpoint, clean_env: Path, content: str,
                            problem: str) -> None:
    _write_config(clean_env, []).write_text(content)
    with pytest.raises(CredentialsError, match=problem) as caught:
        collect(request(fake))
    assert "config.json" in str(caught.value)


def test_missing_profile_names_the_ones_there(fake: FakeEndpoint, clean_env: Path) -> None:
    _write_config(clean_env, [_ak("default"), _ak("prod")])
    with pytest.raises(CredentialsError, match=r"no profile named 'ghost' \(profiles: default, "
                                               r"prod\)"):
        collect(request(fake, profile="ghost"))


def test_profile_without_config_file(fake: FakeEndpoint) -> None:
    with pytest.raises(CredentialsError, match=r"--profile audit: aliyun CLI config .* not found"):
        collect(request(fake, profile="audit"))


@pytest.mark.parametrize("profile,problem", [
    ({"name": "default", "mode": "RsaKeyPair"}, "does not support"),
    ({"name": "default", "mode": "ChainableRamRoleArn", "ram_role_arn": ROLE_ARN},
     "lacks source_profile"),
    ({"name": "default", "mode": "AK", "access_key_id": KEY_ID}, "lacks access_key_secret"),
    ({"name": "default", "mode": "StsToken", "access_key_id": "a", "access_key_secret": "b"},
     "lacks sts_token"),
])
def test_unusable_profiles(fake: FakeEndpoint, clean_env: Path, profile: dict[str, Any],
                           problem: str) -> None:
    _write_config(clean_env, [profile])
    with pytest.raises(CredentialsError, match=problem):
        collect(request(fake))


def test_sts_key_without_its_token_is_refused(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    sts = fake.cloud.issue_sts_key(ACCOUNT_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sts.key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sts.secret)
    with pytest.raises(CredentialsError, match="InvalidSecurityToken"):
        collect(request(fake))
