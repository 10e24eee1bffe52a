"""pytest fixtures around the fake endpoint; a test module loads them with
`pytest_plugins = ["fakeecs.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .cloud import KEY_ID, SECRET
from .helpers import keys_env
from .server import FakeEndpoint

CREDENTIAL_ENV = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                  "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_PROFILE",
                  "IMGAUDIT_STS_ENDPOINT", "IMGAUDIT_METADATA_URL",
                  "ALIBABA_CLOUD_ECS_METADATA_DISABLED", "ALIBABA_CLOUD_ROLE_ARN",
                  "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
                  "ALIBABA_CLOUD_ROLE_SESSION_NAME", "ALIBABA_CLOUD_CREDENTIALS_URI",
                  "ALIBABA_CLOUD_STS_REGION", "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED")


@pytest.fixture
def fake() -> Iterator[FakeEndpoint]:
    with FakeEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials anywhere: an empty HOME, no ALIBABA_CLOUD_* variables."""
    for name in CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def env_keys(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake's valid key in the environment."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)


@pytest.fixture
def env(fake: FakeEndpoint, clean_env: Path) -> dict[str, str]:
    """`run_cli(..., env=env)` as a CI job would run it: `keys_env` for the fake, empty HOME."""
    return keys_env(fake.url, clean_env)
