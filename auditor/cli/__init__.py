"""The command line. `main` is the console script's entry point."""

try:
    from auditor.cli.commands import cli, main
except KeyboardInterrupt:  # Ctrl-C while the modules load ends as one during a run does
    import sys

    sys.stderr.write("imgaudit: interrupted\n")
    raise SystemExit(130) from None

__all__ = ["cli", "main"]
