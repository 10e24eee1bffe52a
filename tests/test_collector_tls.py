"""TLS is always verified; REQUESTS_CA_BUNDLE is how a proxy's or a test's CA is trusted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeecs import FakeEndpoint, image
from fakeecs import collect_request as request
from fakeecs.tls import self_signed

from auditor.collector import collect

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("env_keys")


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[tuple[FakeEndpoint, Path]]:
    cert, key = self_signed(tmp_path)
    with FakeEndpoint(tls=(cert, key)) as endpoint:
        endpoint.cloud.add_images("cn-hangzhou", [image("m-tls")])
        yield endpoint, cert


def test_unknown_certificate_is_refused_without_retry(
    tls_fake: tuple[FakeEndpoint, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _ = tls_fake
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    inventory = collect(request(fake, lookup_account=False))
    region = inventory.regions[0]
    assert not region.complete and region.images == []
    assert "TLSError" in region.errors[0] and "CERTIFICATE_VERIFY_FAILED" in region.errors[0]
    assert fake.cloud.calls == []  # no request got through the handshake


def test_requests_ca_bundle_is_honoured(
    tls_fake: tuple[FakeEndpoint, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, cert = tls_fake
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    inventory = collect(request(fake))
    assert inventory.complete
    assert [i.ImageId for i in inventory.regions[0].images] == ["m-tls"]
    assert fake.url.startswith("https://")
