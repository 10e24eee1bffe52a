"""What every human report says about change with `--history`: the headline, the fixed
findings, the open findings by age, and each finding's first-seen mark (its date, run and
age). `esc` makes a string from the cloud or the command line safe in the format (visible
control characters by default; Markdown passes its cell escaping)."""

from __future__ import annotations

from collections.abc import Callable

from auditor.findings import AuditResult, Finding
from auditor.reporters.i18n import Catalogue
from auditor.safetext import visible as v

Escape = Callable[[str], str]


def headline(result: AuditResult, t: Catalogue, esc: Escape = v) -> str:
    """`history h.db: run 7; since run 6 (2026-11-29 03:17 UTC): 2 new, 1 fixed`."""
    h = result.history
    assert h is not None
    if h.previous_run is None:
        return t("history.first", path=esc(h.path), run=h.run, new=h.new)
    since = f"{h.previous_started_at:%Y-%m-%d %H:%M} UTC" if h.previous_started_at else "?"
    return t("history.since", path=esc(h.path), run=h.run, previous=h.previous_run, since=since,
             new=h.new, fixed=len(h.fixed))


def fixed_lines(result: AuditResult, t: Catalogue, limit: int, esc: Escape = v) -> list[str]:
    """One line per fixed finding, at most `limit`, then one saying how many more."""
    h = result.history
    assert h is not None
    lines = [t("history.fixed", rule=esc(f.rule_id), region=esc(f.region),
               image=esc(f.image_id))
             for f in h.fixed[:limit]]
    if len(h.fixed) > limit:
        lines.append(t("history.more", count=len(h.fixed) - limit))
    return lines


def ages(result: AuditResult, t: Catalogue) -> str | None:
    """`open findings by age: < 7 days: 2, 7-30 days: 46, ...`, or None without buckets."""
    h = result.history
    if h is None or not h.ages:
        return None
    counts = [t("history.age_count", age=t.age(a.min_days, a.max_days),
                count=sum(a.counts.values())) for a in h.ages]
    return t("history.ages", ages=t("text.separator").join(counts))


def first_seen(finding: Finding, t: Catalogue) -> str | None:
    """`first seen 2026-11-02 (run 3), age 28 d`, or None without history."""
    if finding.first_seen is None:
        return None
    return t("history.first_seen", date=f"{finding.first_seen:%Y-%m-%d}",
             run=finding.first_seen_run, age=finding.age_days)


def is_new(result: AuditResult, finding: Finding) -> bool:
    """New since the baseline, or since the last complete run of the history."""
    return finding.baseline_state == "new" or (
        result.history is not None and result.history.is_new(finding))
