"""Collect requests aimed at a fake endpoint."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.collector import CollectRequest, RetryPolicy

from .server import FakeEndpoint

# Backoff small enough for tests, attempts as in production.
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay=0.001, max_delay=0.005, region_budget=30)


def collect_request(
    fake: FakeEndpoint, regions: list[str] | None = None, **fields: Any
) -> CollectRequest:
    """A collect request aimed at the fake for every URL, with tiny backoff."""
    base = CollectRequest(
        regions=regions or ["cn-hangzhou"], endpoint=fake.url, sts_endpoint=fake.url,
        metadata_url=fake.url, retry=FAST_RETRY, resourcemanager_endpoint=fake.url,
    )
    return replace(base, **fields)
