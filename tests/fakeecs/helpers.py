"""Collect requests, and `imgaudit collect` processes, aimed at a fake endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.collector import CollectRequest, RetryPolicy

from .cloud import KEY_ID, SECRET
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


def keys_env(url: str, home: Path) -> dict[str, str]:
    """What a CI job would set to run `imgaudit` against the fake at `url`: its key in the
    environment, STS and metadata aimed at it, HOME without a ~/.aliyun profile."""
    return {"HOME": str(home), "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET, "IMGAUDIT_STS_ENDPOINT": url,
            "IMGAUDIT_METADATA_URL": url}


def cli_env(url: str, home: Path, **extra: str) -> dict[str, str]:
    """The whole environment of an `imgaudit` child process: ours, `keys_env`, `extra`."""
    return dict(os.environ, **keys_env(url, home), **extra)


def collect_process(fake: FakeEndpoint, folder: Path, *args: str) -> subprocess.Popen[bytes]:
    """`imgaudit collect --endpoint FAKE -q -o FOLDER/inventory.json ARGS` started in a child
    process (a signal for it is not one for the test process), stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", "collect", "--endpoint", fake.url, "-q", "-o",
         str(folder / "inventory.json"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(fake.url, folder),
        cwd=folder)
