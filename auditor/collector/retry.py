"""When to try a failed call again, and how long to wait: exponential backoff, full jitter."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

# Codes the API documents as transient; HTTP 5xx is retried whatever its code.
TRANSIENT_CODES = frozenset({"ServiceUnavailable", "InternalError", "RequestTimeout"})
# Codes of our own for failures on the way to the API (never sent by the server).
TRANSPORT_CODES = frozenset({"ConnectionError", "Timeout", "InvalidResponse"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retries: attempts per call, and wall time per region (all its calls)."""

    max_attempts: int = 5
    base_delay: float = 0.5     # seconds; the cap of the first wait
    max_delay: float = 10.0     # seconds; the cap of any single wait
    region_budget: float = 300.0  # seconds a region may spend before its failure is final

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempt))."""
        cap = min(self.max_delay, self.base_delay * (2 ** attempt))
        return (rng or random).uniform(0, cap)


def is_retryable(code: str, http_status: int | None) -> bool:
    """Throttling, unavailability, 5xx and transport failures; never auth or parameters."""
    if code.startswith("Throttling") or code in TRANSIENT_CODES or code in TRANSPORT_CODES:
        return True
    return http_status is not None and http_status >= 500


class Deadline:
    """A monotonic point in time after which no new attempt starts."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def allows_wait(self, seconds: float) -> bool:
        return time.monotonic() + seconds < self.end
