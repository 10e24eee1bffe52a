"""The one error family users can fix; the CLI catches it once and maps it to an exit code.

Each subclass carries its context (file and line; region and RequestId) and builds its own
message, so no caller formats an error twice or leaks a secret into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERNAL = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it

# The one table of exit codes: the README's table and `imgaudit scan --help` are checked
# against it. Only 0 and 1 are verdicts; every other code means "no verdict to trust".
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "passed: no open finding at or above --fail-on",
    EXIT_POLICY: "policy failure: a finding at or above --fail-on, or an expired waiver",
    EXIT_USAGE: "usage, config, rule or input error, or an unwritable output path",
    EXIT_INCOMPLETE: "incomplete scan: reports written and marked incomplete",
    EXIT_INTERNAL: "internal error (a bug): one line, the traceback with -v",
    EXIT_OUTPUT: "a report or inventory could not be written (disk full, ...)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM: a service stop, a cancelled CI job)",
}


class AuditError(Exception):
    """Base class of every failure the user can act on."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AuditError):
    """A bad option or option combination."""


class InputError(AuditError):
    """An input file (inventory, baseline, config) that cannot be used."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class SourceProblem:
    """One problem at a place in a YAML source (1-based line and column; line 0: the file)."""

    path: str
    line: int
    column: int
    problem: str

    def __str__(self) -> str:
        if not self.line:  # a problem with the file itself (missing, too large): no position
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}:{self.column}: {self.problem}"


class RuleError(AuditError):
    """One or more problems in rule or config files, all reported together."""

    def __init__(self, problems: Sequence[SourceProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OutputError(AuditError):
    """A report, inventory or standard output that could not be written after the scan ran."""

    exit_code = EXIT_OUTPUT

    def __init__(self, target: str, problem: str, *, stdout: bool = False) -> None:
        self.target = target
        self.stdout = stdout
        super().__init__(f"cannot write {target}: {problem}")


class CredentialsError(AuditError):
    """No usable credentials, or a broken credentials source."""


class ApiError(AuditError):
    """An error answered by (or on the way to) the cloud API; never carries a secret."""

    exit_code = EXIT_INCOMPLETE

    def __init__(
        self,
        *,
        code: str,
        message: str,
        region: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        action: str = "DescribeImages",
    ) -> None:
        self.code = code
        self.api_message = message
        self.region = region
        self.request_id = request_id
        self.http_status = http_status
        self.action = action
        parts = [f"{action} failed"]
        if region:
            parts.append(f"in {region}")
        text = " ".join(parts) + f": {code}: {message}"
        details = []
        if http_status is not None:
            details.append(f"HTTP {http_status}")
        if request_id:
            details.append(f"RequestId {request_id}")
        if details:
            text += f" ({', '.join(details)})"
        super().__init__(text)
