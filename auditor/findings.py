"""Findings and the audit result that every reporter renders.

`AuditResult` is the one typed boundary between the engine and the reporters; its JSON form
is the versioned JSON report (see docs/json-report.md) and the input of `--baseline`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auditor.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_POLICY
from auditor.frameworks import FRAMEWORKS, control_sort_key
from auditor.lang import DEFAULT_LANG, Lang
from auditor.models import DataNote

REPORT_SCHEMA = "imgaudit-report"  # the `schema` and `schema_version` of the JSON report
REPORT_SCHEMA_VERSION = 1


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe: critical 4 ... info 0."""
        return _RANK[self]


_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}

SEVERITIES = tuple(s.value for s in Severity)
FAIL_ON_CHOICES = (*SEVERITIES, "never")
FailOn = Literal["critical", "high", "medium", "low", "info", "never"]


def fail_threshold(fail_on: str) -> int:
    """The lowest severity rank that fails the gate; above every rank for `never`."""
    return 99 if fail_on == "never" else Severity(fail_on).rank


def fingerprint(rule_id: str, region: str, image_id: str, account: str | None = None) -> str:
    """Stable identity of a finding across runs: the same rule on the same image of the same
    account. Without a known account it is the rule, region and image alone (which is also
    what reports written before accounts were kept apart used: see `auditor.baseline`)."""
    return fingerprints(rule_id, region, account)(image_id)


def fingerprints(rule_id: str, region: str, account: str | None = None) -> Callable[[str], str]:
    """`image id -> fingerprint(rule_id, region, image id, account)`, the rest of the key
    joined once (the engine's findings of a rule, a region at a time)."""
    head, tail = f"{rule_id}\x1f{region}\x1f", f"\x1f{account}" if account else ""
    sha256 = hashlib.sha256

    def of(image_id: str) -> str:
        return sha256((head + image_id + tail).encode()).hexdigest()[:32]

    return of


def arn_prefix(region: str, account_id: str | None) -> str | None:
    """What the ARN of an image of this region and account is before the image id; None
    without a known account."""
    return f"acs:ecs:{region}:{account_id}:image/" if account_id else None


def image_arn(region: str, account_id: str | None, image_id: str) -> str | None:
    prefix = arn_prefix(region, account_id)
    return None if prefix is None else prefix + image_id


_M = TypeVar("_M", bound=BaseModel)
_FIELDS_SETS: dict[type[BaseModel], set[str]] = {}
_set, _new = object.__setattr__, object.__new__  # pydantic's models have no __new__ of their own


def trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """An instance of `cls` from `values` (every field, declared types, declared order), as
    pydantic's own validation would leave it, without validating again.

    The engine builds 100,000s of findings and evidence records from values it made itself.
    Measured per Finding (issue 12): validation 3.7 us and 1,336 bytes; pydantic's public
    `model_construct()` 6.7 us (pure Python, slower than validating) and 1,280 bytes; this
    0.56 us and 552 bytes, since all instances of a class share one `model_fields_set` (every
    field). Per Evidence: 1.3 us / 488 bytes, 2.2 us / 488 bytes, 0.57 us / 272 bytes. Over
    the 128,000 findings of 100,000 images: ~0.6 s and ~130 MB, a third of a streamed scan's
    memory.
    """
    fields = _FIELDS_SETS.get(cls)
    if fields is None:
        fields = _FIELDS_SETS[cls] = set(cls.model_fields)
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", fields)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _english(description: str) -> Any:
    """The English text beside a translated one: only in a report in another language."""
    return Field(None, description=description, exclude_if=lambda value: value is None)


class Evidence(_Record):
    """A field path of the image, the value it had, and what the rule expected of it."""

    path: str
    actual: Any = None
    expected: str


class AppliedWaiver(_Record):
    reason: str
    owner: str
    expires: date
    expired: bool


class Finding(_Record):
    rule_id: str
    severity: Severity
    title: str
    message: str
    image_id: str
    image_name: str | None = None
    region: str
    account_id: str | None = None  # the image's account (as far as it is known)
    owner_alias: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    fingerprint: str
    resource: str | None = None
    waiver: AppliedWaiver | None = None
    baseline_state: Literal["new", "unchanged"] | None = None
    first_seen: datetime | None = None  # with --history: when this finding's stretch began
    first_seen_run: int | None = None   # ... and the run that saw it first
    age_days: int | None = None         # ... and whole days from then to this scan's start
    title_en: str | None = _english("the title in English (when `lang` is not en)")
    message_en: str | None = _english("the message in English (when `lang` is not en)")
    # the image's tags, for `--group-by-tag` in the human reports; not in the JSON report
    # (the findings of one image share the image's own mapping)
    tags: dict[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def suppressed(self) -> bool:
        """Waived by a waiver that has not expired."""
        return self.waiver is not None and not self.waiver.expired


class RuleInfo(_Record):
    """A rule's metadata, as the reports show it (the rule's YAML is its documentation)."""

    id: str
    title: str
    severity: Severity
    description: str = ""
    remediation: str = ""
    references: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)  # framework id -> controls
    title_en: str | None = _english("the title in English (when `lang` is not en)")
    description_en: str | None = _english("the description in English")
    remediation_en: str | None = _english("the remediation in English")
    # posture, counted by the engine (0 in reports written before imgaudit counted them):
    # images the rule's `when` selected, how many of them passed and failed (a waived failure
    # is failed and waived), and passed / evaluated in percent (null when it evaluated none);
    # not_evaluated: selected images the rule could not judge, since data it reads could not
    # be collected (a failed DescribeImageSharePermission, DescribeInstances): neither passed
    # nor failed, and the scan is incomplete
    evaluated: int = 0
    passed: int = 0
    failed: int = 0
    waived: int = 0
    not_evaluated: int = 0
    compliance: float | None = None

    @property
    def compliance_text(self) -> str:
        """`93.5%`, or `n/a` when the rule selected no image."""
        return "n/a" if self.compliance is None else f"{self.compliance:.1f}%"

    def counted(self, counts: RuleCounts) -> RuleInfo:
        """This rule with the engine's counts of one scan."""
        evaluated, failed, waived, not_evaluated = counts
        passed = evaluated - failed
        compliance = round(100 * passed / evaluated, 1) if evaluated else None
        return self.model_copy(update={"evaluated": evaluated, "passed": passed,
                                       "failed": failed, "waived": waived,
                                       "not_evaluated": not_evaluated,
                                       "compliance": compliance})


# the engine's count per rule: evaluated, failed, waived, not evaluated
RuleCounts = tuple[int, int, int, int]


class ControlReport(_Record):
    """One control of a framework: the rules that evidence it and their counts added up (image
    checks: an image judged by two rules of the control counts twice). `fail`: a rule of it
    has an open (unwaived) failure; `pass`: its rules judged images and none failed open;
    `not evaluated`: its rules judged no image."""

    id: str
    title: str | None = None  # None: a control id the framework declares no title for
    rules: list[str]
    evaluated: int
    passed: int
    failed: int
    waived: int
    status: Literal["pass", "fail", "not evaluated"]


class FrameworkReport(_Record):
    """A framework some rule of the run maps to, with each of its controls so mapped."""

    id: str
    title: str
    version: str
    url: str
    controls: list[ControlReport]


def framework_reports(rules: list[RuleInfo], only: Sequence[str] = ()) -> list[FrameworkReport]:
    """Per declared framework named by a rule's `frameworks:` (of `only` when given: `scan
    --framework`), its controls (in number order) with their rules and counts (see
    docs/frameworks.md)."""
    reports = []
    for framework in FRAMEWORKS.values():
        if only and framework.id not in only:
            continue
        by_control: dict[str, list[RuleInfo]] = {}
        for rule in rules:
            for control in rule.frameworks.get(framework.id, []):
                by_control.setdefault(control, []).append(rule)
        if not by_control:
            continue
        controls = [_control_report(c, framework.controls.get(c), by_control[c])
                    for c in sorted(by_control, key=control_sort_key)]
        reports.append(FrameworkReport(id=framework.id, title=framework.title,
                                       version=framework.version, url=framework.url,
                                       controls=controls))
    return reports


def _control_report(control: str, title: str | None, rules: list[RuleInfo]) -> ControlReport:
    evaluated = sum(r.evaluated for r in rules)
    failed = sum(r.failed for r in rules)
    waived = sum(r.waived for r in rules)
    # a control passes only when its rules judged every image they selected (not_evaluated:
    # data a rule reads could not be collected)
    unknown = any(r.not_evaluated for r in rules)
    status: Literal["pass", "fail", "not evaluated"] = (
        "fail" if failed > waived else "pass" if evaluated and not unknown else "not evaluated")
    return ControlReport(id=control, title=title, rules=[r.id for r in rules],
                         evaluated=evaluated, passed=evaluated - failed, failed=failed,
                         waived=waived, status=status)


class RegionReport(_Record):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    region: str
    account_id: str | None = None
    complete: bool
    image_count: int = Field(alias="images")  # `images` in the JSON report
    total_count: int | None = None
    errors: list[str] = Field(default_factory=list)


class WaiverReport(_Record):
    """A waiver worth a reader's attention: `expired` (matched, no longer suppresses),
    `stale` (matched nothing) or `expiring` (matched, and expires within the configured
    `waiver_expiry_warning_days`)."""

    rule: str
    images: list[str]
    image_names: list[str] = Field(default_factory=list)
    image_families: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    accounts: list[str] = Field(default_factory=list)
    reason: str
    owner: str
    expires: date
    state: Literal["expired", "stale", "expiring"]
    matched: int = 0


class FixedFinding(_Record):
    """A finding of the baseline that this scan no longer produces."""

    fingerprint: str
    rule_id: str
    severity: Severity
    title: str
    image_id: str
    region: str


class BaselineSummary(_Record):
    path: str
    new: int
    unchanged: int
    fixed: list[FixedFinding] = Field(default_factory=list)


class TrendRun(_Record):
    """One run of the scope's history, for the trend pictures: open (not waived) findings by
    severity, and how many it saw first and found fixed."""

    run: int
    started_at: datetime
    complete: bool
    counts: dict[str, int]
    new: int
    fixed: int


class AgeCount(_Record):
    """Open (not waived) findings of the scope whose age falls in one bucket, by severity."""

    label: str
    min_days: int
    max_days: int | None  # exclusive; None: no upper bound
    counts: dict[str, int]


class HistorySummary(_Record):
    """With `--history`: this run in the history file, and what changed since the last complete
    run of the same scope (`previous_run`; None when there is none, and every finding is new).
    A finding is new when its `first_seen_run` is after `previous_run`. `trend` and `ages` are
    the scope's runs so far and the age of its open findings (the HTML draws them)."""

    path: str
    run: int
    previous_run: int | None = None
    previous_started_at: datetime | None = None
    new: int
    fixed: list[FixedFinding] = Field(default_factory=list)
    trend: list[TrendRun] = Field(default_factory=list)
    ages: list[AgeCount] = Field(default_factory=list)

    def is_new(self, finding: Finding) -> bool:
        """First seen after the last complete run of the scope (every finding, without one)."""
        run = finding.first_seen_run
        return run is not None and (self.previous_run is None or run > self.previous_run)


class ScanInfo(_Record):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tool_version: str
    started_at: datetime
    finished_at: datetime
    command_line: list[str] = Field(default_factory=list)
    account_id: str | None = None  # the one account scanned; None when unknown or several
    accounts: list[str] = Field(default_factory=list)  # every account known in the scan
    account_names: dict[str, str] = Field(default_factory=dict)  # id -> name (organisations)
    source: Literal["api", "file"] = "file"
    inputs: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=list)
    filters: dict[str, str] = Field(default_factory=dict)
    regions: list[str] = Field(default_factory=list)
    image_count: int = Field(0, alias="images")  # `images` in the JSON report
    complete: bool = True


@dataclass
class TagGroup:
    """The findings of images with one value of the `--group-by-tag` key; `value` None: the
    images without that tag."""

    value: str | None
    findings: list[Finding]


def tag_groups(findings: Iterable[Finding], key: str) -> list[TagGroup]:
    """`findings` by the value of the image tag `key` (case-sensitive, as in the API): values
    in order, then the images without the tag (`value` None)."""
    groups: dict[str | None, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.tags.get(key), []).append(finding)
    order = sorted(groups, key=lambda value: (value is None, value or ""))
    return [TagGroup(value, groups[value]) for value in order]


@dataclass
class AccountSummary:
    """One account's line of the per-account tables (text, Markdown, HTML)."""

    account: str
    label: str
    regions: int = 0
    image_count: int = 0
    open: int = 0
    incomplete: list[str] = field(default_factory=list)  # "region: why", one per region

    @property
    def complete(self) -> bool:
        return not self.incomplete


class AuditResult(_Record):
    """Everything a report shows: scope, completeness, rules, findings, waivers, baseline."""

    schema_: Literal["imgaudit-report"] = Field("imgaudit-report", alias="schema")
    schema_version: Literal[1] = 1
    scan: ScanInfo
    fail_on: FailOn = "low"
    regions: list[RegionReport] = Field(default_factory=list)
    rules: list[RuleInfo] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    waivers: list[WaiverReport] = Field(default_factory=list)
    baseline: BaselineSummary | None = None
    data_quality: list[DataNote] = Field(default_factory=list)  # values kept raw; nothing lost
    history: HistorySummary | None = None
    frameworks: list[FrameworkReport] = Field(default_factory=list)  # controls the rules map to
    lang: Lang = DEFAULT_LANG  # the language of titles, messages and the human reports

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _rules_cover_findings(self) -> AuditResult:
        """Checked once, where a result is built or read: every finding's rule is among
        `rules`, so a reporter looks each one up there and needs no fallback."""
        missing = {f.rule_id for f in self.findings}.difference(r.id for r in self.rules)
        if missing:
            raise ValueError(f"findings of rules missing from `rules`: "
                             f"{', '.join(sorted(missing))}")
        return self

    def fails_gate(self, finding: Finding) -> bool:
        """An open finding at or above `fail_on`; with a baseline, only a new one."""
        if finding.suppressed or finding.severity.rank < fail_threshold(self.fail_on):
            return False
        return finding.baseline_state != "unchanged"

    @property
    def gate_failures(self) -> list[Finding]:
        """The findings that fail the gate (`fails_gate`); not the images that failed a rule,
        which the rules' posture counts (`RuleInfo.failed`)."""
        return [f for f in self.findings if self.fails_gate(f)]

    @property
    def fails(self) -> bool:
        """Whether some finding fails the gate: the first one found is enough, and with
        `fail_on: never` none is looked at."""
        if fail_threshold(self.fail_on) > max(_RANK.values()):
            return False
        return any(map(self.fails_gate, self.findings))

    @property
    def several_accounts(self) -> bool:
        """Whether the scan holds more than one account (reports then name each one)."""
        return len(self.scan.accounts) > 1

    def account_label(self, account: str | None) -> str:
        """`prod (1234567890123456)` when the account has a name, else its id."""
        name = self.scan.account_names.get(account or "")
        return f"{name} ({account})" if name else (account or "?")

    def where(self, region: str, account: str | None) -> str:
        """`cn-hangzhou`, or `prod (1234567890123456)/cn-hangzhou` in a scan of accounts."""
        if self.several_accounts and account:
            return f"{self.account_label(account)}/{region}"
        return region

    def by_account(self) -> list[AccountSummary]:
        """Per account of a scan of several: regions, images, open findings, what is missing."""
        if not self.several_accounts:
            return []
        rows = {a: AccountSummary(account=a, label=self.account_label(a))
                for a in self.scan.accounts}
        for region in self.regions:
            row = rows.get(region.account_id or "")
            if row is not None:
                row.regions += 1
                row.image_count += region.image_count
                if not region.complete:
                    row.incomplete.append(f"{region.region}: "
                                          f"{'; '.join(region.errors) or 'not collected'}")
        for finding in self.findings:
            row = rows.get(finding.account_id or "")
            if row is not None and not finding.suppressed:
                row.open += 1
        return list(rows.values())

    @property
    def not_evaluated(self) -> int:
        """Images some rule could not judge (data it reads was not collected)."""
        return sum(rule.not_evaluated for rule in self.rules)

    def data_quality_lines(self, limit: int) -> list[str]:
        """The data-quality notes as lines, at most `limit` and one saying how many more."""
        lines = [str(note) for note in self.data_quality[:limit]]
        hidden = len(self.data_quality) - limit
        if hidden > 0:
            lines.append(f"... and {hidden} more data-quality notes (all in the JSON report)")
        return lines

    @property
    def expired_waivers(self) -> list[WaiverReport]:
        return [w for w in self.waivers if w.state == "expired" and w.matched]

    @property
    def expiring_waivers(self) -> list[WaiverReport]:
        return [w for w in self.waivers if w.state == "expiring"]

    @property
    def exit_code(self) -> int:
        """3 when incomplete (wins over 1), 1 on policy failures, else 0."""
        if not self.scan.complete:
            return EXIT_INCOMPLETE
        if self.fails or self.expired_waivers:
            return EXIT_POLICY
        return EXIT_OK

    def counts_by_severity(self, *, include_suppressed: bool = False) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            if include_suppressed or not finding.suppressed:
                counts[finding.severity.value] += 1
        return counts
