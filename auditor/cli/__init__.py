"""The command line. `main` is the console script's entry point."""

from auditor.cli.commands import cli, main

__all__ = ["cli", "main"]
