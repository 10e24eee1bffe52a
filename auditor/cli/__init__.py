"""The command line. `run` is the program's (auditor/__main__.py); `main` does the work and
returns the exit code (tests call it in their own process)."""

from typing import NoReturn

try:
    from auditor.cli.commands import cli, main
    from auditor.gcpause import exit_now, fast_exit_ahead
except KeyboardInterrupt:  # Ctrl-C while the modules load ends as one during a run does
    import sys

    sys.stderr.write("imgaudit: interrupted\n")
    raise SystemExit(130) from None


def run() -> NoReturn:
    """`main`, then the process ends at once (auditor/gcpause.py: nothing is freed)."""
    fast_exit_ahead()
    exit_now(main())


__all__ = ["cli", "main", "run"]
