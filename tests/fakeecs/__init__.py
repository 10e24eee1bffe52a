"""A fake Alibaba Cloud ECS / STS / ResourceManager / metadata endpoint for the collector's tests and benchmark."""

from .cloud import (
    ACCOUNT_ID,
    KEY_ID,
    REGIONS,
    SECRET,
    CallRecord,
    FakeCloud,
    Fault,
    Key,
    Member,
    PageHook,
    image,
    many_images,
)
from .helpers import FAST_RETRY, cli_env, collect_process, collect_request, keys_env
from .server import FakeEndpoint

__all__ = [
    "ACCOUNT_ID",
    "FAST_RETRY",
    "KEY_ID",
    "REGIONS",
    "SECRET",
    "CallRecord",
    "FakeCloud",
    "FakeEndpoint",
    "Fault",
    "Key",
    "Member",
    "PageHook",
    "cli_env",
    "collect_process",
    "collect_request",
    "image",
    "keys_env",
    "many_images",
]
