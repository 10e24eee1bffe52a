"""Which accounts an organisation scan covers: an accounts file, or a Resource Directory.

The accounts file (`--accounts FILE`) lists member accounts and the role to assume in each:

    accounts:
      - id: "1234567890123456"
        name: prod
        role_arn: acs:ram::1234567890123456:role/imgaudit-reader
        external_id: 7f3c0e
        regions: [cn-hangzhou, cn-beijing]

It is read like the config file (auditor/yamlio.py: bounded, positioned, no anchors); every
problem is reported with its file:line:column. Account ids are the 16 digits Alibaba Cloud
gives every account; a role ARN is `acs:ram::<account id>:role/<name>` (names of 1 to 64
letters, digits, `.`, `-`, `_`) and must be a role of the account it is listed under. Without
`role_arn` the account's `--role-name` role is assumed (ResourceDirectoryAccountAccessRole),
except in the caller's own account, which is read with the caller's credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from auditor.collector.region_ids import REGION_ID
from auditor.errors import RuleError, SourceProblem
from auditor.yamlio import YamlDoc, read_yaml, validation_problems

ACCOUNT_ID = re.compile(r"\d{16}")
ROLE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
ROLE_ARN = re.compile(r"acs:ram::(\d{16}):role/([A-Za-z0-9._-]{1,64})")
MAX_ACCOUNTS = 10_000  # a Resource Directory holds at most a few thousand members


@dataclass(frozen=True)
class Account:
    """One account to scan. `role_arn` None: the `--role-name` role, or for the caller's own
    account its own credentials."""

    id: str
    name: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    regions: tuple[str, ...] | None = None  # None: the scan's --region

    @property
    def label(self) -> str:
        """`prod (1234567890123456)`, or the id alone."""
        return f"{self.name} ({self.id})" if self.name else self.id


def role_arn(account_id: str, role_name: str) -> str:
    return f"acs:ram::{account_id}:role/{role_name}"


def check_role_name(name: str) -> str:
    """The role name, or ValueError saying what a RAM role name is."""
    if not ROLE_NAME.fullmatch(name):
        raise ValueError(f"role name {name!r}: 1 to 64 letters, digits, '.', '-' or '_'")
    return name


def _text(value: Any) -> Any:
    """Ids are numbers in YAML unless quoted: `id: 1234567890123456` is meant as text."""
    return str(value) if type(value) is int else value


def _region_id(value: str) -> str:
    """A region id as `--region` takes it (or `all`); each one's problem at its own line."""
    if value != "all" and not REGION_ID.match(value):
        raise ValueError(f"malformed region id {value!r} (expected e.g. cn-hangzhou, or all)")
    return value


RegionId = Annotated[str, AfterValidator(_region_id)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str | None = Field(None, min_length=1, max_length=256)
    role_arn: str | None = None
    external_id: str | None = Field(None, min_length=1, max_length=1024)
    regions: list[RegionId] | None = Field(None, min_length=1)

    @field_validator("id", "external_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return _text(value)

    @field_validator("id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        if not ACCOUNT_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not an account id (16 digits)")
        return value

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.fullmatch(value):
            raise ValueError(f"{value!r} is not a RAM role ARN "
                             "(acs:ram::<16-digit account id>:role/<role name>)")
        return value



class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[_Entry] = Field(min_length=1, max_length=MAX_ACCOUNTS)


def load_accounts(path: Path) -> list[Account]:
    """The accounts of an accounts file; RuleError with every problem positioned."""
    try:
        return _load(path)
    except RuleError as exc:  # the YAML reader's codes say `rule.`: this is a config file
        raise RuleError([problem.of_config() for problem in exc.problems]) from None


def _load(path: Path) -> list[Account]:
    docs = read_yaml(path)
    if len(docs) > 1:
        raise RuleError([docs[1].problem((), "an accounts file holds one YAML document")])
    doc = docs[0] if docs else YamlDoc(path=str(path), value=None)
    if not isinstance(doc.value, dict):
        raise RuleError([doc.problem((), "an accounts file is a mapping with a list "
                                         "`accounts:` of {id, role_arn, ...}")])
    try:
        parsed = _File.model_validate(doc.value)
    except ValidationError as exc:
        problems = validation_problems(exc, doc, (), _File)
        raise RuleError(sorted(problems, key=lambda p: (p.line, p.column))) from None
    problems = _cross_checks(parsed, doc)
    if problems:
        raise RuleError(problems)
    return [Account(id=e.id, name=e.name, role_arn=e.role_arn,
                    external_id=e.external_id,
                    regions=tuple(dict.fromkeys(e.regions)) if e.regions else None)
            for e in parsed.accounts]


def _cross_checks(parsed: _File, doc: YamlDoc) -> list[SourceProblem]:
    """Duplicates, and role ARNs of another account than the one they are listed under."""
    problems = []
    first: dict[str, int] = {}
    for n, entry in enumerate(parsed.accounts):
        if entry.id in first:
            line = doc.mark(("accounts", first[entry.id], "id"))[0]
            problems.append(doc.problem(("accounts", n, "id"), f"account {entry.id} is "
                                        f"listed twice (first at line {line})",
                                        code="config.invalid"))
        first.setdefault(entry.id, n)
        match = ROLE_ARN.fullmatch(entry.role_arn or "")
        if match and match.group(1) != entry.id:
            problems.append(doc.problem(
                ("accounts", n, "role_arn"), f"role_arn is a role of account {match.group(1)}, "
                f"not of {entry.id}", code="config.invalid-value"))
    return problems
