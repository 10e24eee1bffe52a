"""Credentials that are fetched again before they expire, shared by concurrent regions.

A scan can outlive temporary keys (an assumed role, the instance role, OIDC, a credentials
URI), so they are fetched again once less than a margin of their life remains: at most
five minutes, and never more than a third of the life they were issued with, so that a
token issued for a few seconds is still used for most of them. One thread fetches while
the others wait for the result. When a fetch fails, the keys at hand are used (with a warning)
until a tenth of their life before they expire, so no request reaches the server with expired
keys; then the failure is the caller's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from auditor.collector.signing import Credentials
from auditor.errors import CredentialsError

log = logging.getLogger("imgaudit.collector")

MAX_MARGIN = 300.0  # seconds before expiry when a fetch is due
RETRY_AFTER_FAILURE = 10.0  # seconds between fetches that failed while the old keys still work
# Keys this close to their expiry are no longer handed out: a request signed now could reach
# the server after they expired. A tenth of the keys' life, at most a minute.
MAX_SAFETY = 60.0


@runtime_checkable
class CredentialProvider(Protocol):
    """Hands out the keys to sign the next request with, and every secret ever handed out."""

    def get(self) -> Credentials: ...

    def secrets(self) -> list[str]: ...


class StaticCredentials:
    """Keys that never change (an access key, a security token from the environment)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def get(self) -> Credentials:
        return self.credentials

    def secrets(self) -> list[str]:
        return self.credentials.secrets()


class RefreshingCredentials:
    """Keys from `fetch`, fetched again before their `expiration`; thread-safe."""

    def __init__(self, fetch: Callable[[], Credentials], *, first: Credentials | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Credentials | None = None
        self._refresh_at = 0.0
        self._safety = 0.0
        self._seen: list[str] = []
        if first is not None:
            self._current = self._adopt(first, clock())

    def get(self) -> Credentials:
        with self._lock:
            now = self._clock()
            if self._current is None or now >= self._refresh_at:
                self._current = self._renew(now)
            return self._current

    def secrets(self) -> list[str]:
        with self._lock:
            return list(self._seen)

    def _renew(self, now: float) -> Credentials:
        try:
            fresh = self._fetch()
        except CredentialsError as error:
            old = self._current
            if old is None or old.expiration is None:
                raise
            left = old.expiration - self._safety - now  # seconds the old keys may still sign
            if left <= 0:
                raise
            log.warning("could not renew the credentials from %s (the current ones work for "
                        "%.0f s more): %s", old.source, left, error)
            self._refresh_at = now + min(RETRY_AFTER_FAILURE, left / 2)
            return old
        return self._adopt(fresh, now)

    def _adopt(self, fresh: Credentials, now: float) -> Credentials:
        self._seen.extend(s for s in fresh.secrets() if s not in self._seen)
        if fresh.expiration is None:
            self._refresh_at = float("inf")
        else:
            life = max(fresh.expiration - now, 0.0)
            self._refresh_at = fresh.expiration - min(MAX_MARGIN, life / 3)
            self._safety = min(MAX_SAFETY, life / 10)
        return fresh


def as_provider(credentials: Credentials | CredentialProvider) -> CredentialProvider:
    """A provider for either form (fixed keys are wrapped)."""
    if isinstance(credentials, Credentials):
        return StaticCredentials(credentials)
    return credentials
