"""The state behind the fake endpoint: accounts, keys, regions and images, faults, the call log.

Images are kept in the collapsed form of `auditor.models` (Tags a mapping, lists flat) and
rendered back into the API's wrapper shape by `bench/synth.py`'s `raw_page`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "1234567890123456"
KEY_ID = "LTAI5tTestKeyId0001"
SECRET = "TestSecretValue-7f3c9a2e-do-not-print"
REGIONS = ("cn-hangzhou", "cn-shanghai", "eu-central-1")


@dataclass
class Key:
    """An access key the fake accepts; STS keys also need their token."""

    key_id: str
    secret: str
    account_id: str = ACCOUNT_ID
    token: str | None = None
    expires: float | None = None  # time.time() after which STS refuses the key

    def expiration(self) -> str:
        """The `Expiration` STS writes: whole seconds, never later than the real end."""
        when = self.expires if self.expires is not None else 4070908800.0  # 2099
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


@dataclass
class Member:
    """A member account of the caller's Resource Directory, with its own images. Its role
    `acs:ram::<id>:role/<role name>` is assumable by the caller unless `assume_denied`;
    `images_denied` refuses its DescribeImages (Forbidden.RAM), as a role without the
    permission would."""

    account_id: str
    display_name: str
    status: str = "CreateSuccess"
    regions: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {r: [] for r in REGIONS})
    assume_denied: bool = False
    images_denied: bool = False
    join_method: str = "created"


@dataclass
class Fault:
    """An injected failure. `kind`: throttle | unavailable | internal | badgateway | error |
    slow | truncated | cut | nonjson | redirect | body (answers `body` as is) | total (the
    real page with TotalCount's JSON text replaced by `total`, or removed when it is "") |
    repeat (page N answers page N-1) | drip (the real page, one byte every `delay` seconds) |
    gzipbomb (`bomb_mib` MiB of zeros, gzip-encoded). `retry_after` adds that header (name,
    value) to the answer. Matches calls by action, region, page, owner alias and image id
    (the ImageId parameter); fires `times` times (None: forever)."""

    kind: str
    action: str = "DescribeImages"
    region: str | None = None
    page: int | None = None
    owner: str | None = None
    times: int | None = 1
    delay: float = 0.0              # for `slow`
    code: str = "Forbidden.RAM"     # for `error`
    status: int = 403               # for `error`
    message: str = "User not authorized to operate on the specified resource."
    body: bytes = b""               # for `body`
    total: str = ""                 # for `total`
    bomb_mib: int = 1024            # for `gzipbomb`
    retry_after: tuple[str, str] | None = None  # e.g. ("x-acs-retry-after", "50")
    image: str | None = None        # only calls with this ImageId

    def matches(self, action: str, params: dict[str, str]) -> bool:
        return (
            self.action == action
            and (self.region is None or params.get("RegionId") == self.region)
            and (self.page is None or params.get("PageNumber", "1") == str(self.page))
            and (self.owner is None or params.get("ImageOwnerAlias") == self.owner)
            and (self.image is None or params.get("ImageId") == self.image)
            and (self.times is None or self.times > 0)
        )


@dataclass
class CallRecord:
    action: str
    params: dict[str, str]
    status: int = 200
    code: str | None = None
    key_id: str | None = None   # the access key that signed it, once verified
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None


@dataclass
class PageHook:
    """Runs `change(cloud)` once page `page` of `region` is answered (before the answer is sent), `times` times."""

    region: str
    page: int
    change: Callable[[FakeCloud], None]
    times: int = 1


def image(image_id: str, **fields: Any) -> dict[str, Any]:
    """A small image in collapsed form; `fields` override the defaults."""
    base: dict[str, Any] = {
        "ImageId": image_id, "ImageName": f"name-{image_id}", "ImageOwnerAlias": "self",
        "Status": "Available", "OSType": "linux", "Architecture": "x86_64",
        "CreationTime": "2025-06-01T10:00:00Z", "Usage": "none", "ImageFamily": "",
        "IsPublic": False, "Size": 40, "Tags": {},
        "DiskDeviceMappings": [{"Type": "system", "Device": "/dev/xvda", "Size": 40}],
        "DetectionOptions": {"Status": "Finished", "Items": [{"Name": "Nvme",
                                                               "Value": "Supported"}]},
        "Features": {"NvmeSupport": "supported"},
    }
    return base | fields


def many_images(prefix: str, count: int, **fields: Any) -> list[dict[str, Any]]:
    """`count` images with ids `m-<prefix>00000`..., newest first by CreationTime."""
    return [
        image(f"m-{prefix}{i:05d}", CreationTime=f"2025-01-01T00:{i // 60 % 60:02d}:"
              f"{i % 60:02d}Z", **fields)
        for i in range(count)
    ]


@dataclass
class FakeCloud:
    """Everything the fake endpoint knows; safe to change from the test thread."""

    regions: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {r: [] for r in REGIONS})
    keys: dict[str, Key] = field(default_factory=lambda: {KEY_ID: Key(KEY_ID, SECRET)})
    roles: dict[str, str] = field(default_factory=dict)  # role ARN -> account id
    external_ids: dict[str, str] = field(default_factory=dict)  # role ARN -> its ExternalId
    oidc_providers: dict[str, str] = field(default_factory=dict)  # provider ARN -> valid token
    sts_lifetime: float | None = None  # seconds temporary keys live (None: until 2099)
    uri_answer: bytes | None = None  # replaces the credentials URI's answer
    uri_status: int = 200
    uri_calls: list[str] = field(default_factory=list)
    instance_role: str | None = None                     # ECS metadata role name
    metadata_answer: bytes | None = None  # replaces the role's credentials document
    metadata_drip: float = 0.0  # > 0: the credentials document goes out a byte at a time
    latency: float = 0.0
    max_skew_seconds: int = 900
    faults: list[Fault] = field(default_factory=list)
    # image id -> {"accounts": [(AliyunId, SharedTime)], "groups": [Group]} (see `share`)
    shares: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (account id, region) -> instances, each {"InstanceId", "ImageId"} (see `run`)
    instances: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    hooks: list[PageHook] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    metadata_calls: list[str] = field(default_factory=list)
    connections: int = 0  # TCP connections accepted (keep-alive reuses them)
    nonces: set[str] = field(default_factory=set)
    cache_pages: bool = False  # the benchmark's switch; tests change images between pages
    page_cache: dict[Any, Any] = field(default_factory=dict)
    # The caller's Resource Directory (ListAccounts): None, not enabled; else its members
    # besides the caller's own (management) account, which ListAccounts lists first.
    members: dict[str, Member] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    dripping: threading.Event = field(default_factory=threading.Event)  # a drip began

    def add_member(self, member: Member,
                   role_name: str = "ResourceDirectoryAccountAccessRole") -> Member:
        """A member of the directory (enabled by the first one), its role assumable."""
        with self.lock:
            if self.members is None:
                self.members = {}
            self.members[member.account_id] = member
            self.roles[f"acs:ram::{member.account_id}:role/{role_name}"] = member.account_id
        return member

    def regions_of(self, account_id: str) -> dict[str, list[dict[str, Any]]]:
        """The regions and images of an account: a member's own, else the caller's."""
        member = (self.members or {}).get(account_id)
        return member.regions if member is not None else self.regions

    def add_images(self, region: str, images: list[dict[str, Any]]) -> None:
        with self.lock:
            self.regions.setdefault(region, []).extend(images)

    def delete_images(self, region: str, image_ids: set[str]) -> None:
        with self.lock:
            self.regions[region] = [i for i in self.regions[region]
                                    if i["ImageId"] not in image_ids]

    def share(self, region: str, image_id: str, accounts: Sequence[str] = (),
              groups: Sequence[str] = (), shared_time: str = "2025-07-01T08:00:00Z",
              owner: str = ACCOUNT_ID) -> None:
        """Share a self image of `owner` with `accounts` and `groups` (`all`: publish it), and
        set the image's IsSelfShared / IsPublic as the API then reports them."""
        with self.lock:
            self.shares[image_id] = {"accounts": [(a, shared_time) for a in accounts],
                                     "groups": list(groups)}
            for image in self.regions_of(owner)[region]:
                if image["ImageId"] == image_id:
                    image["IsSelfShared"] = "true" if accounts else "false"
                    image["IsPublic"] = "all" in groups
            self.page_cache.clear()

    def run(self, region: str, image_id: str, count: int = 1, prefix: str = "i-",
            account: str = ACCOUNT_ID) -> list[str]:
        """Start `count` instances of `image_id` in `account`'s `region`; their ids."""
        with self.lock:
            instances = self.instances.setdefault((account, region), [])
            ids = [f"{prefix}{region}-{len(instances) + n:06d}" for n in range(count)]
            instances += [{"InstanceId": i, "ImageId": image_id} for i in ids]
        return ids

    def issue_sts_key(self, account_id: str) -> Key:
        """Temporary keys, as AssumeRole or the metadata service hand them out."""
        expires = None if self.sts_lifetime is None else time.time() + self.sts_lifetime
        key = Key(f"STS.{uuid.uuid4().hex[:20]}", f"sts-secret-{uuid.uuid4().hex}",
                  account_id, f"CAIS+token/{uuid.uuid4().hex}=", expires)
        with self.lock:
            self.keys[key.key_id] = key
        return key

    def take_fault(self, action: str, params: dict[str, str]) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(action, params):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def record(self, record: CallRecord) -> None:
        with self.lock:
            self.calls.append(record)

    def calls_of(self, action: str) -> list[CallRecord]:
        with self.lock:
            return [c for c in self.calls if c.action == action]

    def after_page(self, region: str, page: int) -> None:
        with self.lock:
            due = [h for h in self.hooks if h.times > 0 and h.region == region and h.page == page]
            for hook in due:
                hook.times -= 1
                hook.change(self)
