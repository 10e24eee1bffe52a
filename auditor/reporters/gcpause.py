"""Pause the cyclic garbage collector while a large report is built.

A report builds hundreds of thousands of small objects next to an AuditResult that may hold
100,000 findings; every full collection walks all of them, which doubled the time of SARIF
and HTML in bench/bench_reports.py. Nothing built here forms reference cycles, so
reference counting frees it all the same.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
