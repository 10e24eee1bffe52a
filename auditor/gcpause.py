"""Pause the cyclic garbage collector for a whole run of the command line.

Reading 100,000 images, evaluating rules into 100,000s of findings, or building a large
report creates millions of small objects, none of them in a reference cycle: reference
counting frees what is dropped (a streamed image, a parsed line) at once. With the cyclic
collector running, every few hundred allocations trigger a pass, and full passes walk all the
long-lived records (findings, the rules) again: seconds of work that free nothing.

So the application enters this pause once, around a whole command (`auditor.cli.main`); no
stage (reader, engine, collector, reporter) pauses on its own. At the end the survivors are
moved to the permanent generation (`gc.freeze`) before the collector is re-enabled, so a
process that goes on (a test session) never walks them again; only a reference cycle among
frozen objects would outlive its last reference (our records form none; a run that ends in
an error freezes nothing, since its traceback does). Nested pauses are cheap: only the
outermost one freezes and re-enables.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC inside; survivors frozen out of later passes when the outermost exits."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        # An error's traceback holds frames in reference cycles (a future and the exception
        # it holds, its frames and their sockets): left to the collector, never frozen, or a
        # process that goes on (a test session) would keep them and their connections open.
        if enabled:
            gc.enable()
        raise
    if enabled:
        gc.freeze()
        gc.enable()
