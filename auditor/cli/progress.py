"""What a person at a terminal sees while images are collected."""

from __future__ import annotations

import sys

import click


class TerminalProgress:
    """One status line on stderr: regions done, pages and images listed so far."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}
        self.images: dict[str, int] = {}
        self.done, self.total = 0, 0

    def page(self, region: str, pages: int, images: int) -> None:
        self.pages[region], self.images[region] = pages, images
        self._draw()

    def region(self, region: str, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._draw()
        if done == total:
            click.echo("", err=True)

    def _draw(self) -> None:
        regions = f"{self.done}/{self.total}" if self.total else "…"
        click.echo(f"\r\033[Kregions {regions}, {sum(self.pages.values())} pages, "
                   f"{sum(self.images.values())} images", err=True, nl=False)


def terminal_progress(quiet: bool) -> TerminalProgress | None:
    """Progress on stderr only for a person watching a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    return TerminalProgress()
