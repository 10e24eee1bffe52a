"""Failures against the fake endpoint: retries, incomplete regions, refused credentials,
images changing between pages, and no secret in any message."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from fakeecs import (
    FAST_RETRY,
    KEY_ID,
    SECRET,
    FakeCloud,
    FakeEndpoint,
    Fault,
    Key,
    PageHook,
    collect_process,
    image,
    many_images,
)
from fakeecs import collect_request as request

from auditor.collector import collect, signing
from auditor.collector.signing import Credentials
from auditor.errors import EXIT_INTERRUPTED, CredentialsError

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("env_keys")


def _pages(fake: FakeEndpoint, region: str = "cn-hangzhou") -> list[int]:
    return sorted(int(c.params["PageNumber"]) for c in fake.cloud.calls_of("DescribeImages")
                  if c.params.get("RegionId") == region)


@pytest.mark.parametrize("kind", [
    "throttle", "unavailable", "internal", "badgateway", "nonjson", "truncated", "cut",
])
def test_transient_failures_are_retried(fake: FakeEndpoint, kind: str) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("t", 250))
    fake.cloud.faults.append(Fault(kind, page=2, times=2))
    inventory = collect(request(fake))
    region = inventory.regions[0]
    assert region.complete and len(region.images) == 250 and region.errors == []
    assert _pages(fake) == [1, 2, 2, 2, 3]
    assert not [c for c in fake.cloud.calls if c.code == "SignatureNonceUsed"]


def test_redirects_are_not_followed(fake: FakeEndpoint) -> None:
    """A redirect would carry the token header to another host: it is an unreadable answer."""
    fake.cloud.faults.append(Fault("redirect", times=None))
    region = collect(request(fake)).regions[0]
    assert not region.complete
    assert "InvalidResponse" in region.errors[0] and "HTTP 302" in region.errors[0]


def test_slow_answer_times_out_and_is_retried(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.faults.append(Fault("slow", delay=1.0, times=1))
    inventory = collect(request(fake, timeout=0.2))
    assert inventory.complete and len(inventory.regions[0].images) == 1
    assert _pages(fake) == [1, 1]


def test_persistent_throttling_marks_only_that_region_incomplete(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("h", 5))
    fake.cloud.add_images("cn-shanghai", many_images("s", 5))
    fake.cloud.faults.append(Fault("throttle", region="cn-shanghai", times=None))
    inventory = collect(request(fake, regions=["cn-hangzhou", "cn-shanghai"]))
    good, bad = inventory.regions
    assert good.complete and len(good.images) == 5
    assert not bad.complete and bad.images == []
    assert not inventory.complete
    (error,) = bad.errors
    assert "DescribeImages failed in cn-shanghai: Throttling.User" in error
    assert "Request was denied due to user flow control." in error
    assert "HTTP 400, RequestId " in error
    assert len(_pages(fake, "cn-shanghai")) == FAST_RETRY.max_attempts


@pytest.mark.parametrize("code,status", [
    ("Forbidden.RAM", 403), ("InvalidParameter", 400), ("InvalidOSType", 404),
])
def test_permission_and_parameter_errors_are_not_retried(
    fake: FakeEndpoint, code: str, status: int
) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("f", 250))
    fake.cloud.faults.append(Fault("error", page=2, code=code, status=status, times=None))
    region = collect(request(fake)).regions[0]
    assert _pages(fake) == [1, 2, 3]
    assert not region.complete
    assert len(region.images) == 150  # pages 1 and 3 are kept
    (error,) = region.errors
    assert f": {code}: " in error and "page 2 of 3 not collected" in error


def test_region_time_budget_bounds_the_retries(fake: FakeEndpoint) -> None:
    fake.cloud.faults.append(Fault("unavailable", times=None))
    policy = replace(FAST_RETRY, max_attempts=50, region_budget=0.0)
    region = collect(request(fake, retry=policy)).regions[0]
    assert not region.complete and "ServiceUnavailable" in region.errors[0]
    assert _pages(fake) == [1]


def test_wrong_secret_is_a_credentials_error_without_retry(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    with pytest.raises(CredentialsError, match="SignatureDoesNotMatch") as caught:
        collect(request(fake))
    assert "RequestId" in str(caught.value) and "environment" in str(caught.value)
    assert len(fake.cloud.calls_of("DescribeRegions")) == 1
    assert fake.cloud.calls_of("DescribeImages") == []


def test_unknown_key_is_refused(fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-nobody")
    with pytest.raises(CredentialsError, match=r"InvalidAccessKeyId\.NotFound"):
        collect(request(fake, signature="v1"))


def test_server_refuses_a_stale_date(fake: FakeEndpoint) -> None:
    """The fake checks x-acs-date like the API does (so the collector must send a fresh one)."""
    creds = Credentials(KEY_ID, SECRET)
    host = fake.url.removeprefix("http://")
    headers = signing.v3_headers(
        method="POST", host=host, action="DescribeRegions", version="2014-05-26", params={},
        credentials=creds, date="2020-01-01T00:00:00Z", nonce=signing.new_nonce(),
    )
    answer = requests.post(fake.url + "/", headers=headers, timeout=5)
    assert answer.status_code == 400 and answer.json()["Code"] == "InvalidTimeStamp.Expired"


def test_server_refuses_a_replayed_nonce(fake: FakeEndpoint) -> None:
    creds = Credentials(KEY_ID, SECRET)
    headers = signing.v3_headers(
        method="POST", host=fake.url.removeprefix("http://"), action="DescribeRegions",
        version="2014-05-26", params={}, credentials=creds, date=signing.utc_timestamp(),
        nonce="same-nonce",
    )
    assert requests.post(fake.url + "/", headers=headers, timeout=5).status_code == 200
    again = requests.post(fake.url + "/", headers=headers, timeout=5)
    assert again.json()["Code"] == "SignatureNonceUsed"


def test_all_regions_fail_when_describe_regions_fails(fake: FakeEndpoint) -> None:
    from auditor.errors import ApiError

    fake.cloud.faults.append(Fault("error", action="DescribeRegions", times=None))
    with pytest.raises(ApiError, match=r"DescribeRegions failed: Forbidden\.RAM"):
        collect(request(fake, regions=["all"]))


def test_explicit_regions_survive_a_describe_regions_failure(
    fake: FakeEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.faults.append(Fault("error", action="DescribeRegions", times=None))
    with caplog.at_level(logging.WARNING):
        inventory = collect(request(fake))
    assert inventory.complete and len(inventory.regions[0].images) == 1
    assert "cannot check the region ids" in caplog.text


def test_image_created_between_pages_shifts_pages_without_loss(fake: FakeEndpoint) -> None:
    """A new image pushes the listing back by one: page 2 repeats page 1's last image, which
    de-duplication absorbs; the count still agrees with page 1's TotalCount."""
    fake.cloud.add_images("cn-hangzhou", many_images("c", 250))
    newest = image("m-new", CreationTime="2030-01-01T00:00:00Z")
    fake.cloud.hooks.append(
        PageHook("cn-hangzhou", 1, lambda cloud: cloud.add_images("cn-hangzhou", [newest])))
    region = collect(request(fake)).regions[0]
    assert region.complete and region.errors == []
    assert len(region.images) == 250 and region.total_count == 250
    assert _pages(fake) == [1, 2, 3]


def test_image_deleted_between_pages_triggers_one_relisting(fake: FakeEndpoint) -> None:
    """A deletion pulls the listing forward: one image is never seen, the count disagrees,
    and the second listing (no deletion this time) is complete."""
    fake.cloud.add_images("cn-hangzhou", many_images("x", 250))
    fake.cloud.hooks.append(
        PageHook("cn-hangzhou", 1, lambda cloud: cloud.delete_images("cn-hangzhou",
                                                                     {"m-x00249"})))
    region = collect(request(fake)).regions[0]
    assert region.complete and region.errors == []
    assert len(region.images) == 249 and region.total_count == 249
    assert "m-x00150" in {i.ImageId for i in region.images}
    assert _pages(fake) == [1, 1, 2, 2, 3, 3]


def test_persistent_count_disagreement_is_recorded(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("d", 250))
    doomed = iter(f"m-d{i:05d}" for i in range(10))  # the oldest images, on the last page

    def delete_one(cloud: FakeCloud) -> None:
        cloud.delete_images("cn-hangzhou", {next(doomed)})

    fake.cloud.hooks.append(PageHook("cn-hangzhou", 1, delete_one, times=2))
    region = collect(request(fake)).regions[0]
    assert not region.complete  # fewer than TotalCount: an image may have been skipped
    (note,) = region.errors
    assert "TotalCount 249 but 248 unique images listed, twice" in note
    assert "images may be missing" in note
    assert _pages(fake) == [1, 1, 2, 2, 3, 3]


def test_more_images_than_total_count_twice_is_noted_but_complete(fake: FakeEndpoint) -> None:
    """Images created while paging that land on later pages: nothing is missing."""
    fake.cloud.add_images("cn-hangzhou", many_images("o", 150))
    counter = iter(range(100))

    def add_oldest(cloud: FakeCloud) -> None:
        cloud.add_images("cn-hangzhou", [image(f"m-old{next(counter)}",
                                               CreationTime="2001-01-01T00:00:00Z")])

    fake.cloud.hooks.append(PageHook("cn-hangzhou", 1, add_oldest, times=2))
    region = collect(request(fake)).regions[0]
    assert region.complete
    (note,) = region.errors
    assert "TotalCount 151 but 152 unique images listed, twice" in note
    assert "nothing is missing" in note


def test_no_secret_or_token_in_any_error(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake echoes the signed headers (token included) on a bad signature, as the API
    echoes its string to sign; the collector must scrub it."""
    sts_key = Key("STS.leaky", "the-real-sts-secret", token="CAIS+very/secret=token")
    fake.cloud.keys[sts_key.key_id] = sts_key
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", sts_key.key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "a-wrong-secret-value")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", sts_key.token)
    for signature in ("v3", "v1"):
        with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsError) as caught:
            collect(request(fake, signature=signature))
        text = str(caught.value) + caplog.text
        assert "SignatureDoesNotMatch" in text and "***" in text
        for form in ("CAIS+very/secret=token", "CAIS%2Bvery%2Fsecret%3Dtoken",
                     "CAIS%252Bvery%252Fsecret%253Dtoken", "very/secret"):
            assert form not in text
        assert "a-wrong-secret-value" not in text


def test_ctrl_c_starts_no_new_region_or_page(fake: FakeEndpoint, tmp_path: Path) -> None:
    """Ctrl-C while regions are pending (`imgaudit collect` in a child process, signalled once
    the first page is asked for, which the fake holds 30 s): the call in flight ends, nothing
    new starts, and the run exits 130 without an inventory."""
    for region in fake.cloud.regions:
        fake.cloud.add_images(region, many_images(region[:2] + region[-1], 250))
    fake.cloud.faults.append(Fault("slow", delay=30.0, times=None))
    folder = tmp_path / "run"
    folder.mkdir()
    proc = collect_process(fake, folder, "--region", "all", "--concurrency", "1")
    deadline = time.monotonic() + 60
    while not fake.cloud.calls_of("DescribeImages"):  # the first page is on its way
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.decode().strip().splitlines()[-1] == "imgaudit: interrupted"
    assert list(folder.iterdir()) == []  # no inventory, no temporary file
    (call,) = fake.cloud.calls_of("DescribeImages")  # 3 regions x 3 pages were due
    assert call.params["PageNumber"] == "1"
