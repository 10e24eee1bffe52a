"""A hostile or broken endpoint: deadlines per request, Ctrl-C mid-answer, throttling advice,
malformed credential answers, and secrets in every form a server may echo them."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from fakeecs import KEY_ID, SECRET, FakeEndpoint, Fault, Key, collect_process, image, many_images
from fakeecs import collect_request as request

from auditor.collector import collect
from auditor.collector.client import redact, retry_after
from auditor.errors import EXIT_INTERRUPTED, CredentialsError

pytest_plugins = ["fakeecs.fixtures"]


def _page_calls(fake: FakeEndpoint, page: str) -> list[float]:
    return [c.started for c in fake.cloud.calls_of("DescribeImages")
            if c.params.get("PageNumber") == page]


@pytest.mark.usefixtures("env_keys")
@pytest.mark.parametrize("header,value,seconds", [
    ("x-acs-retry-after", "400", 0.4), ("Retry-After", "1", 1.0),
])
def test_throttling_advice_is_followed(
    fake: FakeEndpoint, header: str, value: str, seconds: float
) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("r", 150))
    fake.cloud.faults.append(Fault("throttle", page=2, times=1, retry_after=(header, value)))
    region = collect(request(fake)).regions[0]
    assert region.complete and len(region.images) == 150
    first, second = _page_calls(fake, "2")
    assert second - first >= seconds - 0.05  # the retry waited as told, not the tiny backoff


@pytest.mark.usefixtures("env_keys")
def test_advice_beyond_the_region_budget_ends_the_retries_at_once(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("r", 150))
    fake.cloud.faults.append(Fault("throttle", page=2, times=None,
                                   retry_after=("x-acs-retry-after", "3600000")))
    started = time.monotonic()
    region = collect(request(fake)).regions[0]
    assert time.monotonic() - started < 5
    assert not region.complete and len(_page_calls(fake, "2")) == 1
    assert "Throttling.User" in region.errors[0] and "page 2 of 2 not collected" in region.errors[0]


@pytest.mark.parametrize("headers,expected", [
    ({"x-acs-retry-after": "1500"}, 1.5), ({"Retry-After": "2"}, 2.0),
    ({"x-acs-retry-after": "250", "Retry-After": "9"}, 0.25),
    ({"x-acs-retry-after": "soon"}, None), ({"x-acs-retry-after": "-5"}, None),
    ({"Retry-After": "inf"}, None), ({"Retry-After": "nan"}, None), ({}, None),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # in the past
])
def test_retry_after_values(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected


@pytest.mark.usefixtures("env_keys")
def test_a_dripping_answer_ends_at_the_request_deadline(fake: FakeEndpoint) -> None:
    """One byte every 0.2 s never trips a per-read timeout; the request's deadline ends it."""
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.faults.append(Fault("drip", times=None, delay=0.2))
    started = time.monotonic()
    region = collect(request(fake, timeout=0.5)).regions[0]
    elapsed = time.monotonic() - started
    assert not region.complete and "Timeout" in region.errors[0]
    assert "deadline" in region.errors[0]
    assert elapsed < 5 * 0.5 + 2  # five attempts of 0.5 s, tiny backoff


def _collect_dripping(fake: FakeEndpoint, folder: Path) -> subprocess.Popen[bytes]:
    """`imgaudit collect` in a child process (a signal for it, not for the test), once the
    fake has started dripping its answer: one byte every 0.5 s under a 60 s deadline."""
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.faults.append(Fault("drip", times=None, delay=0.5))
    proc = collect_process(fake, folder, "--region", "cn-hangzhou", "--timeout", "60")
    if not fake.cloud.dripping.wait(60):
        proc.kill()
        raise AssertionError(f"the answer never started: {proc.communicate()}")
    return proc


def _ended_by_ctrl_c(proc: subprocess.Popen[bytes], folder: Path, pressed: float) -> None:
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - pressed < 5  # at once, not when the 60 s deadline ends the call
    assert proc.returncode == EXIT_INTERRUPTED
    assert err.decode().strip().splitlines()[-1] == "imgaudit: interrupted"
    assert b"Traceback" not in err and out == b""
    assert sorted(p.name for p in folder.iterdir()) == []  # no inventory, no temporary file


def test_ctrl_c_ends_a_request_in_flight(fake: FakeEndpoint, tmp_path: Path) -> None:
    """A dripping answer and a 60 s deadline: Ctrl-C ends the run at once, not in a minute."""
    proc = _collect_dripping(fake, tmp_path)
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _ended_by_ctrl_c(proc, tmp_path, pressed)


def test_ctrl_c_taken_by_another_thread_ends_the_run_too(
    fake: FakeEndpoint, tmp_path: Path
) -> None:
    """The kernel gives a process's signal to any of its threads. Taken by a thread other than
    the main one (here on purpose), it used to wake nobody: the main thread, waiting for the
    call in flight, ran the handler only when that call ended, at its deadline."""
    proc = _collect_dripping(fake, tmp_path)
    others = [int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task") if int(tid) != proc.pid]
    assert others  # the call in flight has its own thread
    pressed = time.monotonic()
    newest = max(others)  # a thread of the collection, started last
    assert ctypes.CDLL(None, use_errno=True).tgkill(proc.pid, newest, signal.SIGINT) == 0
    _ended_by_ctrl_c(proc, tmp_path, pressed)


@pytest.mark.usefixtures("env_keys")
def test_a_gzip_bomb_is_not_inflated(fake: FakeEndpoint) -> None:
    import resource

    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    fake.cloud.faults.append(Fault("gzipbomb", times=None))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    region = collect(request(fake)).regions[0]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert not region.complete and "ResponseTooLarge" in region.errors[0]
    assert grown_mib < 256  # the bound is 32 MiB decoded; 1 GiB would show here
    assert len(fake.cloud.calls_of("DescribeImages")) == 1  # the same answer again: no retry


ROLE_ARN = "acs:ram::1234567890123456:role/auditor"


def _profile(home: Path, **fields: str) -> None:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": "default", "profiles": [
        {"name": "default", "access_key_id": KEY_ID, "access_key_secret": SECRET, **fields}]}))


@pytest.mark.parametrize("body", [
    b"[]", b'{"Credentials": []}', b'{"Credentials": {"AccessKeyId": 5}}',
    b'{"Credentials": {"AccessKeyId": "a", "AccessKeySecret": "b"}}', b"null",
])
def test_malformed_assume_role_answers_are_a_clear_error(
    fake: FakeEndpoint, clean_env: Path, body: bytes
) -> None:
    fake.cloud.roles[ROLE_ARN] = "999888777666"
    _profile(clean_env, mode="RamRoleArn", ram_role_arn=ROLE_ARN)
    fake.cloud.faults.append(Fault("body", action="AssumeRole", times=None, status=200,
                                   body=body))
    with pytest.raises(CredentialsError, match="cannot assume role"):
        collect(request(fake))


@pytest.mark.parametrize("answer", [
    b"not json", b"[]", b'{"AccessKeyId": null}', b'{"AccessKeyId": "a"}', b"[" * 50_000,
])
def test_malformed_metadata_credentials_are_a_clear_error(
    fake: FakeEndpoint, clean_env: Path, answer: bytes
) -> None:
    fake.cloud.instance_role = "ecs-auditor"
    fake.cloud.metadata_answer = answer
    with pytest.raises(CredentialsError, match="unreadable credentials for role 'ecs-auditor'"):
        collect(request(fake))


def test_a_role_name_that_is_a_path_is_refused(fake: FakeEndpoint, clean_env: Path) -> None:
    fake.cloud.instance_role = "../../../latest/api"
    with pytest.raises(CredentialsError, match="is not a RAM role name"):
        collect(request(fake))


@pytest.mark.usefixtures("clean_env")
def test_secrets_are_redacted_in_every_echoed_form(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server echoing the token JSON-escaped, percent-encoded in lower-case hex, in the
    RequestId and the Code: none of it reaches the error."""
    token = "CAIS+line1\\line2/é=\"x\""
    key = Key("STS.echo", "echo-secret-value-0123", token=token)
    fake.cloud.keys[key.key_id] = key
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", key.key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", key.secret)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", token)
    forms = [token, json.dumps(token)[1:-1], json.dumps(token, ensure_ascii=False)[1:-1],
             quote(token, safe="~").lower(), quote(quote(token, safe="~"), safe="~"),
             key.secret, quote_plus(token), token.replace("+", " ")]
    echo = json.dumps({"Code": f"Forbidden.{forms[1]}", "RequestId": forms[3],
                       "Message": " | ".join(forms), "Recommend": forms[2]}).encode()
    fake.cloud.faults.append(Fault("body", times=None, status=403, body=echo))
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    region = collect(request(fake, lookup_account=False)).regions[0]
    (error,) = region.errors
    assert "***" in error
    for form in [*forms, "line1", "line2"]:
        assert form not in error


@pytest.mark.usefixtures("env_keys")
def test_a_token_that_cannot_be_sent_is_redacted_as_python_shows_it(
    fake: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests refuses a header holding a newline and quotes it, escaped, in its message."""
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "CAIS+first\nsecond-part")
    region = collect(request(fake, lookup_account=False)).regions[0]
    (error,) = region.errors
    assert "***" in error and "first" not in error and "second-part" not in error


def test_short_secrets_do_not_mask_ordinary_text() -> None:
    assert redact("Forbidden: a user is not allowed", ["a", "is"]) == (
        "Forbidden: a user is not allowed")
    assert redact("token abcdef-123 leaked", ["abcdef-123"]) == "token *** leaked"


@pytest.mark.usefixtures("env_keys")
@pytest.mark.parametrize("body", [
    b'{"Regions": []}', b'{"Regions": {"Region": {"RegionId": "cn-hangzhou"}}}',
    b'{"Regions": {"Region": [{"RegionId": "x@evil.example#"}, {"RegionId": 7}]}}',
])
def test_a_malformed_region_list_is_an_error_not_a_host(fake: FakeEndpoint, body: bytes) -> None:
    """Region ids become host names: one that is not a region id is never used."""
    from auditor.errors import ApiError

    fake.cloud.faults.append(Fault("body", action="DescribeRegions", times=None, status=200,
                                   body=body))
    with pytest.raises(ApiError, match="DescribeRegions listed no region"):
        collect(request(fake, regions=["all"]))
    assert fake.cloud.calls_of("DescribeImages") == []


@pytest.mark.usefixtures("env_keys")
def test_a_huge_echoed_message_is_cut(fake: FakeEndpoint) -> None:
    body = json.dumps({"Code": "Forbidden", "Message": "x" * 5_000_000,
                       "RequestId": "R" * 100_000}).encode()
    fake.cloud.faults.append(Fault("body", times=None, status=403, body=body))
    region = collect(request(fake, lookup_account=False)).regions[0]
    (error,) = region.errors
    assert len(error) < 2500


def test_a_dripping_metadata_service_ends_at_the_deadline(
    fake: FakeEndpoint, clean_env: Path
) -> None:
    fake.cloud.instance_role = "ecs-auditor"
    fake.cloud.metadata_drip = 0.3
    started = time.monotonic()
    with pytest.raises(CredentialsError, match="no complete answer within 1 s"):
        collect(request(fake, timeout=1))
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("seconds", ["abc", [900], 10**400, 60, True])
def test_an_unusable_role_duration_is_a_clear_error(
    fake: FakeEndpoint, clean_env: Path, seconds: object
) -> None:
    path = clean_env / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"current": "default", "profiles": [
        {"name": "default", "mode": "RamRoleArn", "access_key_id": KEY_ID,
         "access_key_secret": SECRET, "ram_role_arn": ROLE_ARN, "expired_seconds": seconds}]}))
    with pytest.raises(CredentialsError, match=r"expired_seconds .* is not a number of seconds"):
        collect(request(fake))
    assert fake.cloud.calls_of("AssumeRole") == []


@pytest.mark.usefixtures("env_keys")
def test_bounded_reads_keep_connections_alive(fake: FakeEndpoint) -> None:
    """Reading each answer under a deadline and a size bound must not cost a new connection
    (a TLS handshake to the real API) per page."""
    fake.cloud.add_images("cn-hangzhou", many_images("k", 1000))
    region = collect(request(fake, concurrency=1, lookup_account=False)).regions[0]
    assert region.complete and len(region.images) == 1000
    assert len(fake.cloud.calls) == 11 and fake.cloud.connections == 1


@pytest.mark.usefixtures("env_keys")
@pytest.mark.parametrize("saved", [False, True])
def test_a_tag_key_that_is_a_list_is_kept_raw(fake: FakeEndpoint, tmp_path: Path,
                                              saved: bool) -> None:
    """An answer whose tag key is a list: the image is kept, its tags in a note (this
    stopped the collection with an internal error); the same for `collect -o`."""
    body = json.dumps({"RequestId": "R-1", "RegionId": "cn-hangzhou", "TotalCount": 1,
                       "Images": {"Image": [{"ImageId": "m-1", "Tags": {"Tag": [
                           {"TagKey": ["a"], "TagValue": "x"}]}}]}}).encode()
    fake.cloud.faults.append(Fault("body", region="cn-hangzhou", page=1, times=None,
                                   status=200, body=body))
    sink: list[list[object]] = []
    inventory = collect(request(fake), sink=(lambda r, images: sink.append(images))
                        if saved else None)
    (region,) = inventory.regions
    assert region.complete and region.errors == []
    images = sink[0] if saved else region.images
    assert [getattr(i, "ImageId", None) for i in images] == ["m-1"]
    (note,) = region.notes
    assert (note.image_id, note.field, note.value) == ("m-1", "Tags", [{"TagKey": ["a"],
                                                                         "TagValue": "x"}])
