"""Pause the cyclic garbage collector for a whole run of the command line, and let the
process's exit free what the run made.

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
outermost one freezes and re-enables. The program (`python -m auditor`, the console script:
auditor/__main__.py) pauses it before its first import, for good: its start-up then walks
nothing either, and its command's pause finds the collector off and leaves it so.

Freeing is the other cost with no use at the end: the 34,000 findings of a 100,000-image scan
and their records took about 0.1 s to free, object by object, once the report was written, and
the interpreter's own teardown more. The program (`auditor.cli.run`, not `main`, which tests
call in their own process) therefore ends with `exit_now`: output flushed, then
`os._exit`, as mypy's fast exit does; a command hands what it made to `keep_until_exit` so
that its last reference is not dropped before. Nothing is kept when no fast exit is ahead.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

_kept: list[object] = []
_fast_exit = False


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


def fast_exit_ahead() -> None:
    """The process ends with `exit_now`: `keep_until_exit` holds from now on."""
    global _fast_exit
    _fast_exit = True


def keep_until_exit(*objects: object) -> None:
    """Hold a run's large results until the process ends (only with a fast exit ahead)."""
    if _fast_exit:
        _kept.extend(objects)


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once standard output and error are flushed, without
    freeing objects or running the interpreter's teardown (nothing of ours needs it: every
    file is closed and every thread done by then). A flush that fails was reported by the
    command, which flushes its output itself."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # closed, or a reader gone
            stream.flush()
    os._exit(code)
