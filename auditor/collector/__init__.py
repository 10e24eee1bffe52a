"""Collect an Inventory from the ECS DescribeImages API: signed, paged, retried, per region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.collector.retry import RetryPolicy
from auditor.models import Inventory, RegionInventory, Scope

if TYPE_CHECKING:
    from auditor.collector.accounts import Account
    from auditor.collector.saved import Record, SavedImage

# The role an organisation scan assumes in each member account (Resource Directory's default)
DEFAULT_ROLE_NAME = "ResourceDirectoryAccountAccessRole"
# Imported when first used (PEP 562): `scan --input` needs none of them (the accounts file's
# models, the saved images' conversion)
_LATER = {"Account": "auditor.collector.accounts", "Record": "auditor.collector.saved",
          "SavedImage": "auditor.collector.saved"}


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LATER[name]), name)


@dataclass(frozen=True)
class CollectRequest:
    """What to collect and how. `regions == ["all"]` asks DescribeRegions."""

    regions: list[str]
    scope: Scope = field(default_factory=Scope)
    endpoint: str | None = None        # overrides https://ecs.<region>.aliyuncs.com
    profile: str | None = None         # aliyun CLI profile name
    signature: str = "v3"              # "v3" (ACS3-HMAC-SHA256) or "v1" (HMAC-SHA1)
    concurrency: int = 4               # regions collected at once
    page_concurrency: int | None = None  # pages of one region at once (default: concurrency)
    timeout: float = 30.0              # seconds one HTTP request may take, connect to last byte
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lookup_account: bool = True        # ask STS GetCallerIdentity for the account id
    # Enrichments (auditor/collector/enrich.py): who each shared self image is shared with;
    # which instances run each image (and the images they run looked up by id).
    sharing: bool = False
    instances: bool = False
    # Where the credential sources live; None means env IMGAUDIT_STS_ENDPOINT /
    # IMGAUDIT_METADATA_URL, else https://sts.aliyuncs.com / http://100.100.100.200,
    # and ~/.aliyun/config.json.
    sts_endpoint: str | None = None
    metadata_url: str | None = None
    aliyun_config: Path | None = None
    # An organisation scan: these accounts (--accounts FILE) and/or the members of the
    # caller's Resource Directory, each read through its role; the caller's own account too
    # unless `caller_account` is False. Accounts x regions share the `concurrency` bound.
    accounts: tuple[Account, ...] | None = None
    resource_directory: bool = False
    role_name: str = DEFAULT_ROLE_NAME
    caller_account: bool = True
    resourcemanager_endpoint: str | None = None  # None: env IMGAUDIT_RESOURCEMANAGER_ENDPOINT

    @property
    def organisation(self) -> bool:
        return self.accounts is not None or self.resource_directory


ProgressCallback = Callable[[str, int, int], None]  # (region, page count, image count so far)
RegionCallback = Callable[[str, int, int], None]    # (region finished, regions_done, total)
# a region whose images are final, and its images (see `collect`)
RegionSink = Callable[[RegionInventory, list["Record"]], None]


def collect(
    request: CollectRequest,
    *,
    progress: ProgressCallback | None = None,
    on_region: RegionCallback | None = None,
    sink: RegionSink | None = None,
) -> Inventory:
    """Collect every image in scope; failed regions are kept, marked incomplete.

    `progress` is called after every page, `on_region` after every region (complete or not);
    never two calls at once, though from worker threads. With `sink`, every region (complete
    or not) is handed to it once its images are final, with its images, on a thread of its
    own while the other regions are still collected (with `request.sharing`, once all are:
    their share permissions name the accounts of every region), one region at a time; the
    regions of the inventory returned are then without their images (`sink` had them), so
    that a caller saving them never holds them all. Without enrichments, the images a sink
    gets are only for saving: each plain one a `SavedImage` (auditor/collector/saved.py: not
    validated; its `ImageId`, `Tags`, and `encoded`, its JSON as the saved inventory writes
    it), the others `Image` records.
    An exception from `sink` is raised by `collect`.
    """
    from auditor.collector.run import collect_inventory

    return collect_inventory(request, progress=progress, on_region=on_region, sink=sink)


__all__ = ["Account", "CollectRequest", "ProgressCallback", "Record", "RegionCallback",
           "RegionSink", "RetryPolicy", "SavedImage", "collect"]
