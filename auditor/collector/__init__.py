"""Collect an Inventory from the ECS DescribeImages API: signed, paged, retried, per region."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.models import Inventory, Scope


@dataclass(frozen=True)
class CollectRequest:
    """What to collect and how. `regions == ["all"]` asks DescribeRegions."""

    regions: list[str]
    scope: Scope = field(default_factory=Scope)
    endpoint: str | None = None        # overrides https://ecs.<region>.aliyuncs.com
    profile: str | None = None         # aliyun CLI profile name
    signature: str = "v3"              # "v3" (ACS3-HMAC-SHA256) or "v1" (HMAC-SHA1)
    concurrency: int = 4


ProgressCallback = Callable[[str, int, int], None]  # (region, pages_done, images_so_far)


def collect(request: CollectRequest, *, progress: ProgressCallback | None = None) -> Inventory:
    """Collect every image in scope; failed regions are kept, marked incomplete."""
    from auditor.collector.run import collect_inventory

    return collect_inventory(request, progress=progress)
