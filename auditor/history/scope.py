"""A run's scope: what it looked at. Runs compare (and share finding state) only within one.

Two scans see the same findings only if they ask the same question: the same accounts,
regions, owners, image states and filters. A finding's state is kept per scope, so a narrow
ad-hoc scan never marks fixed what a wide daily one found elsewhere.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from auditor.findings import ScanInfo


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=list)
    filters: dict[str, str] = Field(default_factory=dict)

    def describe(self) -> str:
        """One line for people: `account 123 regions a,b owners self`."""
        parts = [f"account {','.join(self.accounts)}" if self.accounts else "",
                 f"regions {','.join(self.regions) or '-'}",
                 f"owners {','.join(self.owners) or '-'}"]
        parts += [f"{k}={v}" for k, v in self.filters.items()]
        return " ".join(p for p in parts if p)


def scope_of(scan: ScanInfo) -> Scope:
    accounts = scan.accounts or ([scan.account_id] if scan.account_id else [])
    return Scope(accounts=sorted(set(accounts)),
                 regions=sorted(set(scan.regions)), owners=sorted(set(scan.owners)),
                 statuses=sorted(set(scan.statuses)), filters=dict(sorted(scan.filters.items())))


def scope_key(scan: ScanInfo) -> str:
    """The canonical text of the scope: equal scopes, equal keys."""
    return json.dumps(scope_of(scan).model_dump(), sort_keys=True, separators=(",", ":"))


def parse_key(key: str) -> Scope:
    return Scope.model_validate_json(key)
