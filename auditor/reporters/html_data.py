"""The HTML report's data: a compact JSON blob for the findings table and the summary tables.

100,000 findings must fit in a few megabytes, so the blob is columnar: every string is stored
once in `strings` and referred to by index; a finding is a short array of integers. The
columns of each kind of row are named once, by the NamedTuples below; the blob carries their
names (`columns`) and report.js looks every column up by name, never by position. The blob
sits inside a <script> element, so `<`, `>`, `&` and U+2028/9 are escaped as \\u escapes: no cloud
string can close the element or break the parser.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from auditor.findings import (
    SEVERITIES,
    AccountSummary,
    AuditResult,
    Finding,
    RuleInfo,
    Severity,
    image_arn,
    tag_groups,
)
from auditor.reporters.i18n import catalogue
from auditor.reporters.tags import image_count, tag_label
from auditor.safetext import visible

STATUS_OPEN, STATUS_WAIVED, STATUS_EXPIRED = 0, 1, 2
ARN_FROM_ACCOUNT = -2
BASELINE_CODES = {None: 0, "new": 1, "unchanged": 2}
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                   ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


class ImageRow(NamedTuple):
    """An image with findings; every value indexes `strings` (-1: none)."""

    id: int
    name: int
    region: int
    owner_alias: int
    arn: int  # ARN_FROM_ACCOUNT: the usual ARN, rebuilt by the page
    account: int  # the image's account (the page labels and filters by it)
    tag: int  # with --group-by-tag: the image's value of that tag (-1: untagged, or no key)


class EvidenceRow(NamedTuple):
    path: int
    actual: int
    expected: int


class WaiverRow(NamedTuple):
    reason: str
    owner: str
    expires: str
    expired: bool


class FindingRow(NamedTuple):
    rule: int                  # index into `rules`
    severity: int              # index into `severities`
    image: int                 # index into `images`
    message: int
    evidence: list[EvidenceRow]
    status: int                # STATUS_OPEN, STATUS_WAIVED or STATUS_EXPIRED
    waiver: int                # index into `waivers`, -1: none
    baseline: int              # BASELINE_CODES: since the baseline, or (without one) since
                               # the history's last complete run
    first_seen: int            # with --history: the first-seen date (a string), else -1
    first_seen_run: int        # ... the run that saw it first, else -1
    age: int                   # ... whole days since, else -1


COLUMNS = {"finding": FindingRow._fields, "image": ImageRow._fields,
           "evidence": EvidenceRow._fields, "waiver": WaiverRow._fields}


class _Strings:
    """Interns strings: each distinct string is stored once and referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        return self.index.setdefault(value, len(self.index))

    def maybe(self, value: str | None) -> int:
        return -1 if value is None else self.index.setdefault(value, len(self.index))

    def table(self) -> list[str]:
        """The strings as the page shows them: control characters escaped, visibly."""
        return [visible(value) for value in self.index]


def findings_blob(result: AuditResult, labels: dict[str, Any] | None = None,
                  group_by_tag: str | None = None) -> str:
    """The findings, images, rules and waivers as script-safe JSON text; `labels` are the
    words the script writes, in the report's language; `group_by_tag`: the image tag whose
    value each image carries (the page filters by it)."""
    s = _Strings()
    images: dict[tuple[str | None, str, str], int] = {}
    image_rows: list[ImageRow] = []
    waivers: dict[WaiverRow, int] = {}
    rule_index = {rule.id: i for i, rule in enumerate(result.rules)}
    severity_index = {Severity(v): i for i, v in enumerate(SEVERITIES)}
    rows = []
    for f in result.findings:
        image = images.get((f.account_id, f.region, f.image_id))
        if image is None:
            image = images[f.account_id, f.region, f.image_id] = len(image_rows)
            image_rows.append(ImageRow(
                id=s(f.image_id), name=s.maybe(f.image_name), region=s(f.region),
                owner_alias=s.maybe(f.owner_alias), arn=_resource(s, f, result.scan.account_id),
                account=s.maybe(f.account_id),
                tag=s.maybe(f.tags.get(group_by_tag)) if group_by_tag else -1))
        rows.append(FindingRow(
            rule=rule_index[f.rule_id], severity=severity_index[f.severity], image=image,
            message=s(f.message),
            evidence=[EvidenceRow(path=s(e.path), actual=s(_actual(e.actual)),
                                  expected=s(e.expected)) for e in f.evidence],
            status=_status(f), waiver=_waiver(f, waivers),
            baseline=_change(f, result), **_first_seen(s, f)))
    data = {"strings": s.table(), "columns": COLUMNS,
            "rules": [_rule(rule) for rule in result.rules], "images": image_rows,
            "findings": rows, "waivers": list(waivers),
            "severities": list(SEVERITIES), "arn_from_account": ARN_FROM_ACCOUNT,
            "baseline": result.baseline is not None or result.history is not None,
            "history": result.history is not None,
            "group_tag": visible(group_by_tag) if group_by_tag else None,
            "account": visible(result.scan.account_id or "") or None,
            # a scan of several accounts: each account's label (`prod (1234...)`) by id
            "accounts": {visible(a): visible(result.account_label(a))
                         for a in result.scan.accounts} if result.several_accounts else None,
            "labels": labels or {}}
    return script_json(data)


def _change(f: Finding, result: AuditResult) -> int:
    """New or unchanged since the baseline, or (without one) since the history's last complete
    run; 0 when neither was given."""
    if result.baseline is None and result.history is not None and f.first_seen_run is not None:
        return BASELINE_CODES["new" if result.history.is_new(f) else "unchanged"]
    return BASELINE_CODES[f.baseline_state]


def _first_seen(s: _Strings, f: Finding) -> dict[str, int]:
    """The first-seen date (as a string index), run and age in days; -1 each without history."""
    if f.first_seen is None or f.first_seen_run is None or f.age_days is None:
        return {"first_seen": -1, "first_seen_run": -1, "age": -1}
    return {"first_seen": s(f"{f.first_seen:%Y-%m-%d}"), "first_seen_run": f.first_seen_run,
            "age": f.age_days}


def script_json(data: Any) -> str:
    """JSON that is safe between <script type="application/json"> and </script>."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _SCRIPT_ESCAPES:
        text = text.replace(char, escape)
    return text


def _rule(rule: RuleInfo) -> dict[str, Any]:
    """What the page shows of a rule, control characters escaped visibly."""
    return {"id": visible(rule.id), "title": visible(rule.title),
            "severity": rule.severity.value,
            "description": visible(rule.description, newlines=True),
            "remediation": visible(rule.remediation, newlines=True),
            "references": [visible(ref) for ref in rule.references]}


def _resource(s: _Strings, f: Finding, account_id: str | None) -> int:
    """-2 for the usual ARN, which the page rebuilds from the account: 60 bytes an image."""
    if f.resource is not None and f.resource == image_arn(f.region, account_id, f.image_id):
        return ARN_FROM_ACCOUNT
    return s.maybe(f.resource)


_SCALARS = {True: "true", False: "false", None: "null"}


def _actual(value: Any) -> str:
    """The evidence value as its JSON text (a string as itself)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return _SCALARS[value]
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _status(f: Finding) -> int:
    if f.waiver is None:
        return STATUS_OPEN
    return STATUS_EXPIRED if f.waiver.expired else STATUS_WAIVED


def _waiver(f: Finding, waivers: dict[WaiverRow, int]) -> int:
    if f.waiver is None:
        return -1
    key = WaiverRow(reason=f.waiver.reason, owner=f.waiver.owner,
                    expires=f.waiver.expires.isoformat(), expired=f.waiver.expired)
    return waivers.setdefault(key, len(waivers))


def by_tag(result: AuditResult, key: str | None) -> list[dict[str, Any]]:
    """With --group-by-tag: per value of the tag (then untagged), its label, the value the
    page filters by (None: untagged), the images with findings and their open findings."""
    if key is None:
        return []
    t = catalogue(result.lang)
    return [{"label": tag_label(group, key, t),
             "value": None if group.value is None else visible(group.value),
             "images": image_count(group),
             "open": sum(1 for f in group.findings if not f.suppressed)}
            for group in tag_groups(result.findings, key)]


@dataclass
class Summary:
    """Counts for the cards and tables the template renders on the server side."""

    open_by_severity: dict[str, int]
    waived: int
    gate_failures: int
    by_rule: list[dict[str, Any]] = field(default_factory=list)
    by_region: list[dict[str, Any]] = field(default_factory=list)
    by_account: list[AccountSummary] = field(default_factory=list)  # a scan of several


def _rule_row(rule: RuleInfo, open_: int, waived: int) -> dict[str, Any]:
    """A row of "compliance by rule": every rule run (passing ones too), with the engine's
    counts."""
    return {"id": rule.id, "open": open_, "waived": waived, "title": rule.title,
            "severity": rule.severity.value, "evaluated": rule.evaluated, "passed": rule.passed,
            "failed": rule.failed, "compliance": rule.compliance,
            "not_evaluated": rule.not_evaluated}


def summarize(result: AuditResult) -> Summary:
    """All the counts in one pass over the findings (there may be 100,000)."""
    open_by_rule: Counter[str] = Counter()
    waived_by_rule: Counter[str] = Counter()
    open_by_region: Counter[tuple[str | None, str]] = Counter()
    several = result.several_accounts
    open_by_severity: Counter[Severity] = Counter()
    gate_failures = 0
    for f in result.findings:
        waiver = f.waiver
        if waiver is not None and not waiver.expired:
            waived_by_rule[f.rule_id] += 1
            continue
        open_by_rule[f.rule_id] += 1
        open_by_region[f.account_id if several else None, f.region] += 1
        open_by_severity[f.severity] += 1
        gate_failures += result.fails_gate(f)
    by_rule = [_rule_row(rule, open_by_rule[rule.id], waived_by_rule[rule.id])
               for rule in sorted(result.rules, key=lambda r: (-open_by_rule[r.id], r.id))]
    by_region = [{"region": r.region, "where": result.where(r.region, r.account_id),
                  "image_count": r.image_count,
                  "open": open_by_region[r.account_id if several else None, r.region],
                  "complete": r.complete, "errors": r.errors} for r in result.regions]
    return Summary(
        open_by_severity={sev: open_by_severity[Severity(sev)] for sev in SEVERITIES},
        waived=sum(waived_by_rule.values()),
        gate_failures=gate_failures,
        by_rule=by_rule,
        by_region=by_region,
        by_account=result.by_account(),
    )
