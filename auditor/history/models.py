"""What `imgaudit history ...` answers: typed records, serialised as its JSON (docs/history.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.history.scope import Scope

HISTORY_SCHEMA = "imgaudit-history"  # the `schema` and `schema_version` of every answer


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Document(_Out):
    schema_: Literal["imgaudit-history"] = Field("imgaudit-history", alias="schema")
    schema_version: Literal[1] = 1


class RunInfo(_Out):
    """One recorded scan. `new`: findings it saw first; `fixed`: findings it found gone."""

    id: int
    started_at: datetime
    finished_at: datetime
    tool_version: str
    source: str
    scope_id: int
    scope: Scope
    complete: bool
    incomplete_regions: list[str]
    image_count: int = Field(alias="images")  # `images` in the JSON answers
    counts: dict[str, int]  # open (not waived) findings by severity
    rule_counts: dict[str, int]
    waived: int
    new: int
    fixed: int


class FindingState(_Out):
    """A finding's state as of one run; `age_days` counts to that run, or to its fix."""

    fingerprint: str
    rule_id: str
    title: str
    severity: str
    image_id: str
    image_name: str | None
    region: str
    account: str | None
    first_seen: datetime
    first_seen_run: int
    last_seen_run: int
    fixed_at: datetime | None
    fixed_run: int | None
    waived: bool
    age_days: int


class RunList(_Document):
    runs: list[RunInfo]


class RunDetail(_Document):
    run: RunInfo
    new: list[FindingState]
    fixed: list[FindingState]


class RunDiff(_Document):
    from_run: RunInfo = Field(alias="from")
    to_run: RunInfo = Field(alias="to")
    new: list[FindingState]
    fixed: list[FindingState]
    open: list[FindingState]


class TrendPoint(_Out):
    id: int
    started_at: datetime
    complete: bool
    counts: dict[str, int]
    new: int
    fixed: int


class AgeBucket(_Out):
    label: str
    min_days: int
    max_days: int | None  # exclusive; None: no upper bound
    counts: dict[str, int]
    total: int


class FixTime(_Out):
    fixed: int
    mean_days: float | None


class Trend(_Document):
    scope_id: int
    scope: Scope
    as_of: datetime  # the latest run of the scope: ages are counted to it
    runs: list[TrendPoint]
    open_by_age: list[AgeBucket]
    time_to_fix: dict[str, FixTime]  # by severity


class PruneResult(_Document):
    keep_days: int
    cutoff: datetime
    runs_removed: int
    findings_removed: int
    runs_kept: int
