"""The fault matrix: `imgaudit collect` through the CLI against the fake endpoint, one fault per
case, asserting the exact set of image ids saved and the exit code (0: complete, 3: a region
incomplete). Every case starts from the same region of 250 images (pages of 100, 100, 50).

A page 1 whose TotalCount is no count (missing, negative, Infinity) is unusable to the one
page reader (`auditor.responses`): that listing fails, at once (asking again gives the same
answer), and the region is incomplete; a count that is merely absurd (10^9, 10^400) costs a
few requests. Whole JSON that orjson refuses (Infinity, 10^400, a lone surrogate escape) is
read by the standard library instead, the same on every page: a lone surrogate becomes U+FFFD
with a data-quality note, its image kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_helpers import CliResult
from fakeecs import (
    SECRET,
    FakeCloud,
    FakeEndpoint,
    Fault,
    PageHook,
    image,
    keys_env,
    many_images,
)

pytest_plugins = ["fakeecs.fixtures"]

REGION = "cn-hangzhou"
IDS = [f"m-x{i:05d}" for i in range(250)]     # newest first: page 1 holds 249..150
PAGE_1, PAGE_2, PAGE_3 = set(IDS[150:]), set(IDS[50:150]), set(IDS[:50])
ALL = set(IDS)


@dataclass
class Case:
    name: str
    expected: set[str]
    exit_code: int
    faults: list[Fault] = field(default_factory=list)
    setup: Callable[[FakeCloud], None] | None = None
    args: tuple[str, ...] = ()
    max_calls: int | None = None  # DescribeImages calls allowed (bounded work)


def _churn_create(cloud: FakeCloud) -> None:
    newest = image("m-new", CreationTime="2030-01-01T00:00:00Z")
    cloud.hooks.append(PageHook(REGION, 1, lambda c: c.add_images(REGION, [newest])))


def _churn_delete(cloud: FakeCloud) -> None:
    cloud.hooks.append(PageHook(REGION, 1, lambda c: c.delete_images(REGION, {"m-x00000"})))


def _odd_values(cloud: FakeCloud) -> None:
    """Values the API's types allow in more than one spelling, and fields it may add later."""
    cloud.add_images(REGION, [
        image("m-odd1", IsPublic="true", Size="60", IsSelfShared="false",
              DiskDeviceMappings=[{"Size": "60", "Type": "system"}], NewApiField={"a": [1]}),
        image("m-odd2", ImageName="", Description=None, Tags={}, ImageFamily=None,
              DetectionOptions={"Status": "", "Items": []}, Features={}),
        image("m-odd3", ImageName="名前 \u202e", Platform="Windows Server 2019"),
    ])


def _surrogate(cloud: FakeCloud, created: str = "2001-01-01T00:00:00Z") -> None:
    """The fake writes JSON with ensure_ascii=False: a lone surrogate goes out as `\\ud800`.
    The image is the oldest (on the last page) unless `created` says otherwise."""
    cloud.add_images(REGION, [image("m-sur", ImageName="bad\ud800name", CreationTime=created)])


def _surrogate_first(cloud: FakeCloud) -> None:
    _surrogate(cloud, "2031-01-01T00:00:00Z")  # the newest: on page 1


def _tagged(cloud: FakeCloud) -> None:
    cloud.add_images(REGION, many_images("t", 1100, Tags={"env": "prod"}))


def _community(cloud: FakeCloud) -> None:
    cloud.add_images(REGION, [image("m-shared", ImageOwnerAlias="others"),
                              image("m-community", ImageOwnerAlias="others", IsPublic=True)])


def _bad_body(body: bytes, page: int = 2) -> Fault:
    return Fault("body", page=page, times=None, status=200, body=body)


NESTED = b'{"RequestId": "R", "TotalCount": 250, "Images": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
THROTTLE_MS = ("x-acs-retry-after", "150")
CASES = [
    Case("clean", ALL, 0),
    Case("throttle, no retry-after", ALL, 0, [Fault("throttle", page=2, times=2)]),
    Case("throttle, x-acs-retry-after 150 ms", ALL, 0,
         [Fault("throttle", page=2, times=2, retry_after=THROTTLE_MS)]),
    Case("throttle, Retry-After 1 s", ALL, 0,
         [Fault("throttle", page=2, times=1, retry_after=("Retry-After", "1"))]),
    Case("throttle, retry-after beyond the budget", PAGE_1 | PAGE_3, 3,
         [Fault("throttle", page=2, times=None, retry_after=("Retry-After", "86400"))]),
    Case("throttle forever", PAGE_1 | PAGE_3, 3, [Fault("throttle", page=2, times=None)]),
    Case("HTTP 503 twice", ALL, 0, [Fault("unavailable", page=2, times=2)]),
    Case("HTTP 500 twice", ALL, 0, [Fault("internal", page=3, times=2)]),
    Case("HTTP 502 HTML", ALL, 0, [Fault("badgateway", page=1, times=1)]),
    Case("HTTP 500 forever on page 2", PAGE_1 | PAGE_3, 3, [Fault("internal", page=2,
                                                                  times=None)]),
    Case("truncated body", ALL, 0, [Fault("truncated", page=2, times=2)]),
    Case("connection cut mid-body", ALL, 0, [Fault("cut", page=3, times=1)]),
    Case("not JSON", ALL, 0, [Fault("nonjson", page=1, times=1)]),
    Case("odd values", ALL | {"m-odd1", "m-odd2", "m-odd3"}, 0, setup=_odd_values),
    Case("churn: image created between pages", ALL, 0, setup=_churn_create),
    Case("churn: image deleted between pages", ALL - {"m-x00000"}, 0, setup=_churn_delete),
    Case("tag cap: 1,100 images match", {f"m-t{i:05d}" for i in range(1100)}, 0,
         setup=_tagged, args=("--tag", "env=prod")),
    Case("community listing (--owner others)", {"m-shared", "m-community"}, 0,
         setup=_community, args=("--owner", "others")),
    Case("slow drip body, once", ALL, 0, [Fault("drip", page=2, times=1, delay=0.2)],
         args=("--timeout", "1")),
    Case("gzip bomb (1 MB -> 1 GiB)", PAGE_1 | PAGE_3, 3,
         [Fault("gzipbomb", page=2, times=None)]),
    Case("TotalCount 10^9", ALL, 3, [Fault("total", page=1, times=None, total="1000000000")],
         max_calls=10),
    Case("TotalCount 10^400", ALL, 3, [Fault("total", page=1, times=None,
                                             total="1" + "0" * 400)], max_calls=10),
    Case("TotalCount Infinity", set(), 3, [Fault("total", page=1, times=None, total="Infinity")],
         max_calls=1),
    Case("TotalCount Infinity on page 2", PAGE_1 | PAGE_3, 3,
         [Fault("total", page=2, times=None, total="Infinity")], max_calls=3),
    Case("TotalCount negative", set(), 3, [Fault("total", page=1, times=None, total="-5")],
         max_calls=1),
    Case("TotalCount missing", set(), 3, [Fault("total", page=1, times=None, total="")],
         max_calls=1),
    Case("TotalCount 0 with full pages", ALL, 0, [Fault("total", times=None, total="0")]),
    Case("page repeats the previous page", PAGE_1 | PAGE_2, 3,
         [Fault("repeat", page=3, times=None)]),
    Case("deeply nested JSON", PAGE_1 | PAGE_3, 3, [_bad_body(NESTED)], max_calls=3),
    Case("a list where the page belongs", PAGE_1 | PAGE_3, 3, [_bad_body(b"[1, 2]")]),
    Case("a list where Images belongs", PAGE_1 | PAGE_2, 3,
         [_bad_body(b'{"RequestId": "R", "TotalCount": 250, "Images": [[1]]}', page=3)]),
    # read by the standard library: the name gets U+FFFD and a note, nothing is lost
    Case("lone surrogate escape in a name", ALL | {"m-sur"}, 0, setup=_surrogate, max_calls=3),
    Case("lone surrogate escape on page 1", ALL | {"m-sur"}, 0, setup=_surrogate_first,
         max_calls=3),
    Case("malformed STS answer", ALL, 0,
         [Fault("body", action="GetCallerIdentity", times=None, status=200, body=b"[]")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_matrix(
    run_cli: Callable[..., CliResult], fake: FakeEndpoint, clean_env: Path, tmp_path: Path,
    case: Case,
) -> None:
    fake.cloud.add_images(REGION, many_images("x", 250))
    if case.setup is not None:
        case.setup(fake.cloud)
    fake.cloud.faults += case.faults
    out = tmp_path / "inventory.json"
    env = keys_env(fake.url, clean_env)
    result = run_cli("collect", "--region", REGION, "--endpoint", fake.url, "-o", str(out),
                     *case.args, env=env)
    assert "Traceback" not in result.stderr
    assert result.exit_code == case.exit_code, result.stderr
    saved = json.loads(out.read_text())
    (region,) = saved["regions"]
    ids = [i["ImageId"] for i in region["images"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == case.expected
    assert region["complete"] is (case.exit_code == 0)
    if case.exit_code == 3:
        assert region["errors"] and all(SECRET not in e for e in region["errors"])
        assert all(len(e) < 300 for e in region["errors"])  # TotalCount 10^400: not its digits
        assert REGION in result.stderr
    if case.max_calls is not None:
        assert len(fake.cloud.calls_of("DescribeImages")) <= case.max_calls
    if "m-sur" in case.expected:
        [sur] = [i for i in region["images"] if i["ImageId"] == "m-sur"]
        assert sur["ImageName"] == "bad\ufffdname"
        assert [(n["image_id"], n["field"], n["value"]) for n in region["notes"]] == [
            ("m-sur", "ImageName", "bad\\ud800name")]
