"""Pause the cyclic garbage collector while a large report is built (see auditor/gcpause.py).

A report builds hundreds of thousands of small objects next to an AuditResult that may hold
100,000 findings; every full collection walks all of them, which doubled the time of SARIF
and HTML in bench/bench_reports.py. Kept as a name for the reporters that import it here.
"""

from __future__ import annotations

from auditor.gcpause import gc_paused

__all__ = ["gc_paused"]
