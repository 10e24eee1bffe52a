"""What a person sees while images are collected: a status line on a terminal, and in a CI log
(stderr not a terminal) one line every IMGAUDIT_PROGRESS_INTERVAL seconds (default 10)."""

from __future__ import annotations

import os
import sys
import threading
import time

import click

from auditor.errors import UsageError

INTERVAL_ENV = "IMGAUDIT_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0


class TerminalProgress:
    """One status line on stderr: regions done, pages and images listed so far."""

    def __init__(self) -> None:
        self.page_counts: dict[str, int] = {}
        self.image_counts: dict[str, int] = {}
        self.done, self.total = 0, 0

    def page(self, region: str, page_count: int, image_count: int) -> None:
        self.page_counts[region], self.image_counts[region] = page_count, image_count
        self._draw()

    def region(self, region: str, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._draw()
        if done == total:
            self._finish()

    def status(self) -> str:
        regions = f"{self.done}/{self.total}" if self.total else "…"
        return (f"regions {regions}, {sum(self.page_counts.values())} pages, "
                f"{sum(self.image_counts.values())} images")

    def _draw(self) -> None:
        click.echo(f"\r\033[K{self.status()}", err=True, nl=False)

    def _finish(self) -> None:
        click.echo("", err=True)


class LogProgress(TerminalProgress):
    """For logs: a plain line at most every `interval` seconds, none for a quick collection.

    Lines are printed when the collector reports a page or a region, so a page that takes
    longer than the interval delays the next line; the last line says the collection is done.
    """

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval
        self.started = self.last = time.monotonic()
        self.printed = False
        self.lock = threading.Lock()  # the collector reports from its threads

    def _draw(self) -> None:
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.interval:
                return
            self.last, self.printed = now, True
            click.echo(f"imgaudit: collecting: {self.status()}", err=True)

    def _finish(self) -> None:
        with self.lock:
            if self.printed:
                elapsed = time.monotonic() - self.started
                click.echo(f"imgaudit: collected: {self.status()} in {elapsed:.0f} s", err=True)


def _interval() -> float:
    value = os.environ.get(INTERVAL_ENV, "")
    if not value:
        return DEFAULT_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise UsageError(f"{INTERVAL_ENV}={value!r}: expected a number of seconds (0 or more)")
    return seconds


def terminal_progress(quiet: bool) -> TerminalProgress | None:
    """A status line for a person at a terminal, periodic lines for a log; none when quiet."""
    if quiet:
        return None
    return TerminalProgress() if sys.stderr.isatty() else LogProgress(_interval())
