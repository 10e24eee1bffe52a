"""The one error family users can fix; the CLI catches it once and maps it to an exit code.

Each subclass carries its context (file and line; region and RequestId) and builds its own
message, so no caller formats an error twice or leaks a secret into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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


# Every `error.code` of the JSON error object (`--format json`), documented in docs/errors.md
# (tests/test_error_codes.py checks both). Each error class carries its code (`error_code`);
# a rule or config problem carries its own (SourceProblem.code).
ERROR_CODES: dict[str, str] = {
    "usage": "a bad option, option value or combination (click's own usage errors too)",
    "input.unreadable": "an input file that cannot be read: missing, not a regular file, "
                        "too large",
    "input.invalid": "an input file (inventory, baseline, history) that was read but cannot "
                     "be used",
    "config.syntax": "the config or accounts file is not valid YAML (or not UTF-8, or uses "
                     "anchors)",
    "config.unknown-key": "a key the config or accounts file does not know (with a did-you-mean)",
    "config.missing-key": "a required key is missing (a waiver's reason, owner, expires)",
    "config.invalid-value": "a value of the wrong type or out of range",
    "config.unknown-rule": "a rule id (severity, params, waivers) that names no loaded rule",
    "config.invalid": "any other problem of the config or accounts file (a duplicate account)",
    "rule.syntax": "a rule file is not valid YAML (or not UTF-8, or uses anchors)",
    "rule.unknown-key": "a key a rule does not know (with a did-you-mean)",
    "rule.missing-key": "a required key of a rule is missing (id, title, severity, require)",
    "rule.invalid-value": "a value of the wrong type or out of range",
    "rule.unknown-field": "a condition names an image field that does not exist",
    "rule.unknown-framework": "`frameworks:` names a framework imgaudit does not declare "
                              "(with a did-you-mean)",
    "rule.invalid-control": "`frameworks:` names a control id its framework does not have, "
                            "or one twice",
    "rule.invalid": "any other problem of a rule file (operators, params, templates, tests)",
    "credentials.unusable": "no usable credentials, or a broken credentials source",
    "api.failed": "the cloud API (or the way to it) failed for the whole run",
    "output.write-failed": "a report or inventory could not be written",
    "interrupted": "interrupted (Ctrl-C)",
    "internal": "a bug in imgaudit: run again with -v for the traceback",
}


class AuditError(Exception):
    """Base class of every failure the user can act on."""

    exit_code = EXIT_USAGE
    error_code = "usage"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AuditError):
    """A bad option or option combination."""


class InputError(AuditError):
    """An input file (inventory, baseline, config) that cannot be used."""

    error_code = "input.invalid"

    def __init__(self, path: Path | str, problem: str, *, unreadable: bool = False) -> None:
        self.path = str(path)
        self.problem = problem
        if unreadable:
            self.error_code = "input.unreadable"
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class SourceProblem:
    """One problem at a place in a YAML source (1-based line and column; line 0: the file)."""

    path: str
    line: int
    column: int
    problem: str
    code: str = field(default="rule.invalid", compare=False)  # an ERROR_CODES key

    def of_config(self) -> SourceProblem:
        """The same problem, found in a config file (`rule.syntax` -> `config.syntax`)."""
        return replace(self, code=self.code.replace("rule.", "config.", 1))

    def __str__(self) -> str:
        if not self.line:  # a problem with the file itself (missing, too large): no position
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}:{self.column}: {self.problem}"


class RuleError(AuditError):
    """One or more problems in rule or config files, all reported together."""

    error_code = "rule.invalid"

    def __init__(self, problems: Sequence[SourceProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OutputError(AuditError):
    """A report, inventory or standard output that could not be written after the scan ran."""

    exit_code = EXIT_OUTPUT
    error_code = "output.write-failed"

    def __init__(self, target: str, problem: str, *, stdout: bool = False) -> None:
        self.target = target
        self.stdout = stdout
        super().__init__(f"cannot write {target}: {problem}")


class CredentialsError(AuditError):
    """No usable credentials, or a broken credentials source."""

    error_code = "credentials.unusable"


class ApiError(AuditError):
    """An error answered by (or on the way to) the cloud API; never carries a secret."""

    exit_code = EXIT_INCOMPLETE
    error_code = "api.failed"  # `code` is the API's own error code

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
