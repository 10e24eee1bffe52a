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
    """One problem at a place in a YAML source (1-based line and column)."""

    path: str
    line: int
    column: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.problem}"


class RuleError(AuditError):
    """One or more problems in rule or config files, all reported together."""

    def __init__(self, problems: Sequence[SourceProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


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
