"""Ctrl-C and SIGTERM end a run, always: exit 130 or 143, no report left behind.

CPython runs a Python signal handler only between two bytecodes of the main thread. A signal
that lands just before the main thread enters a blocking system call (the read() of a FIFO
that gets no data, a write() into a stalled pipe, a lock wait), or that the kernel hands to
another thread, is recorded, but its handler waits until that call returns: perhaps never.
A Ctrl-C that came a few microseconds after `scan --input FIFO` opened its input did that.

So a watcher thread hears each signal at once (`signal.set_wakeup_fd`: the C-level handler
writes the signal's number into a pipe) and, until the main thread's handler has run, sends
it again to the main thread every few milliseconds (`pthread_kill`): the blocked call fails
with EINTR and Python runs the pending handler before it would retry the call (PEP 475).

The handler raises once: KeyboardInterrupt for SIGINT, `Terminated` for SIGTERM, so every
`finally` that removes a temporary report runs; an exception lost in a finaliser (CPython
only prints it) is raised again. If the run still has not ended `GRACE` seconds later (its
clean-up blocked: flushing into a pipe nobody reads), or at a second Ctrl-C or SIGTERM, the
watcher removes the temporary reports itself and ends the process at once, same exit code.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from auditor.errors import EXIT_INTERRUPTED, EXIT_TERMINATED

GRACE = 3.0  # seconds the run may take to unwind after the first Ctrl-C or SIGTERM
NUDGE = 0.02  # seconds between two reminders to a main thread that has not seen its signal
EXIT = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}
SAID = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
STOP = 0  # no signal has this number: the byte that tells the watcher the run is over


class Terminated(BaseException):
    """SIGTERM, raised wherever the program is. Not a KeyboardInterrupt (click would turn it
    into Abort), but a BaseException like it, so it unwinds as Ctrl-C does: every
    `except BaseException` that removes a temporary report runs, no report is written."""


class Watch:
    """One run's signals: the main thread's handler and the watcher thread's state."""

    def __init__(self, on_force: Callable[[], None]) -> None:
        self.on_force = on_force  # removes what the unwinding would have removed
        self.main = threading.main_thread().ident or 0
        self.raised: int | None = None  # the signal the main thread got as an exception
        self.handled = threading.Event()  # set once the main thread has raised it
        self.said = False  # the main thread wrote its line on stderr
        self.over = False  # the command is done: a signal now changes nothing
        self.first: int | None = None  # the first signal the watcher heard
        self.deadline = 0.0
        self.echoes: dict[int, int] = {int(s): 0 for s in EXIT}  # our reminders not heard yet
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.write_end, False)  # set_wakeup_fd wants it non-blocking

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """In the main thread: the first signal becomes an exception; later ones are the
        watcher's (raising again would cut short the clean-up of the first)."""
        if self.raised is not None or self.over:
            return
        self.raised = signum
        self.handled.set()
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    def lost(self, info: Any) -> bool:
        """Our exception was raised inside a finaliser, which CPython only prints: arm the
        handler again, so that the watcher's next reminder raises it where it counts."""
        if self.raised is None or not isinstance(info.exc_value, (KeyboardInterrupt,
                                                                  Terminated)):
            return False
        self.raised = None
        self.handled.clear()
        return True

    def watch(self) -> None:
        """The watcher thread, until the run is over (the STOP byte)."""
        with contextlib.suppress(OSError), open(self.read_end, "rb", buffering=0) as pipe:
            while True:
                ready, _, _ = select.select([pipe], [], [], self._timeout())
                if ready:
                    heard = pipe.read(64)
                    if not heard or STOP in heard:
                        return
                    self._heard(heard)
                elif self.first is not None and not self.handled.is_set():
                    self.echoes[self.first] += 1
                    signal.pthread_kill(self.main, self.first)
                elif self.first is not None and time.monotonic() >= self.deadline:
                    self.force(self.first)

    def _timeout(self) -> float | None:
        if self.first is None:
            return None
        if not self.handled.is_set():
            return NUDGE
        return max(0.0, self.deadline - time.monotonic())

    def _heard(self, heard: bytes) -> None:
        for signum in heard:
            if signum not in self.echoes:
                continue
            if self.echoes[signum]:
                self.echoes[signum] -= 1  # our own reminder
            elif self.first is None:
                self.first, self.deadline = signum, time.monotonic() + GRACE
            else:
                self.force(signum)  # pressed again: now

    def force(self, signum: int) -> None:
        """End the process now, as the unwinding would have: no temporary report left."""
        self.on_force()
        if not self.said:
            with contextlib.suppress(OSError):
                os.write(2, f"imgaudit: {SAID[signal.Signals(signum)]}\n".encode())
        os._exit(EXIT[signal.Signals(signum)])


@contextlib.contextmanager
def watched(on_force: Callable[[], None]) -> Iterator[Watch | None]:
    """While the command runs, Ctrl-C raises KeyboardInterrupt and SIGTERM `Terminated`, and
    either ends the run within `GRACE` seconds (`on_force` then removes temporary reports).
    Only the main thread may set signal handlers: elsewhere (a test's thread) nothing is set."""
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    watch = Watch(on_force)
    previous = {signum: signal.signal(signum, watch.handler) for signum in EXIT}
    previous_fd = signal.set_wakeup_fd(watch.write_end, warn_on_full_buffer=False)
    previous_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if not watch.lost(info):
            previous_hook(info)

    sys.unraisablehook = unraisable
    watcher = threading.Thread(target=watch.watch, name="imgaudit-signals", daemon=True)
    watcher.start()
    try:
        yield watch
    finally:
        watch.over = True
        # the watcher first: no reminder may reach the main thread once our handler is gone
        with contextlib.suppress(OSError):
            os.write(watch.write_end, bytes([STOP]))
        watcher.join()
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = previous_hook
        os.close(watch.write_end)
