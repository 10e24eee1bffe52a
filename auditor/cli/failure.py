"""With `--format json`, an error is also one JSON object on standard output.

A CI integration then reads what went wrong, and where, without parsing stderr (which keeps
its human lines): `{"error": {"code", "message", "file", "line", "column", "problems"}}`.
`code` is a stable identifier from auditor.errors.ERROR_CODES (docs/errors.md); for a rule
or config file `problems` holds every problem, each positioned, and the error is the first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

import click

from auditor.errors import AuditError, InputError, OutputError, RuleError, SourceProblem

FORMAT_ENV = "IMGAUDIT_FORMAT"


class ErrorFormat:
    """Whether this run reports errors as JSON too: `--format json` on the command line (seen
    even when click cannot parse the rest), or the format a command settled on."""

    def __init__(self, args: Sequence[str]) -> None:
        flags = list(args[: args.index("--")] if "--" in args else args)
        pairs = zip(flags, [*flags[1:], ""], strict=False)  # no args: none
        self.json = any(flag == "--format=json" or (flag == "--format" and value == "json")
                        for flag, value in pairs)
        self.json = self.json or (bool(flags) and flags[0] == "scan"
                                  and os.environ.get(FORMAT_ENV) == "json")


def settle(ctx: click.Context, fmt: str) -> None:
    """A command's own `--format`, once known (after its config file): the last word."""
    found = ctx.find_object(ErrorFormat)
    if found is not None:
        found.json = fmt == "json"


def error_document(exc: BaseException) -> dict[str, Any]:
    """The JSON object for an error that ended the run."""
    if isinstance(exc, RuleError) and exc.problems:
        problems = [_problem(problem) for problem in exc.problems]
        return {"error": {**problems[0], "problems": problems}}
    file = None
    if isinstance(exc, AuditError):
        code, message = exc.error_code, str(exc)
        if isinstance(exc, InputError):
            file, message = exc.path, exc.problem
    elif isinstance(exc, click.FileError):
        code, message, file = "input.unreadable", exc.format_message(), exc.ui_filename
    elif isinstance(exc, click.ClickException):
        code, message = "usage", exc.format_message()
    elif isinstance(exc, (click.exceptions.Abort, KeyboardInterrupt)):
        code, message = "interrupted", "interrupted"
    else:
        code, message = "internal", f"internal error ({type(exc).__name__})"
    return {"error": {"code": code, "message": message, "file": file, "line": None,
                      "column": None, "problems": []}}


def _problem(problem: SourceProblem) -> dict[str, Any]:
    return {"code": problem.code, "message": problem.problem, "file": problem.path,
            "line": problem.line or None, "column": problem.column or None}


def write_error(asked: ErrorFormat, exc: BaseException, stdout: TextIO) -> None:
    """The JSON object on stdout, when asked for and stdout can still take it."""
    if not asked.json or (isinstance(exc, OutputError) and exc.stdout):
        return
    try:
        stdout.write(json.dumps(error_document(exc), indent=2, ensure_ascii=False) + "\n")
        stdout.flush()
    except (OSError, ValueError):
        pass  # stdout gone: the stderr line said it all
