"""The text form of `imgaudit history ...` answers: aligned columns a person reads at a glance.

Image names, ids and regions come from the cloud, so control characters are shown escaped
(`auditor.safetext`), never sent raw to a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from auditor.findings import SEVERITIES
from auditor.history import FindingState, PruneResult, RunDetail, RunDiff, RunInfo, RunList, Trend
from auditor.safetext import visible

_COUNTS_HEADER = "".join(f"{s:>9}" for s in SEVERITIES)


def _safe(text: str | None) -> str:
    return "" if text is None else visible(text)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _counts(counts: dict[str, int]) -> str:
    return "".join(f"{counts.get(s, 0):>9}" for s in SEVERITIES)


def _complete(run: RunInfo) -> str:
    return "yes" if run.complete else "NO"


def run_list(answer: RunList) -> str:
    if not answer.runs:
        return "no runs recorded yet\n"
    lines = [f"{'run':>5}  {'started (UTC)':<16}  complete  {'images':>7}{_COUNTS_HEADER}"
             f"{'new':>7}{'fixed':>7}  scope\n"]
    lines += [f"{r.id:>5}  {_when(r.started_at):<16}  {_complete(r):<8}  {r.image_count:>7}"
              f"{_counts(r.counts)}{r.new:>7}{r.fixed:>7}  {r.scope_id}: "
              f"{_safe(r.scope.describe())}\n" for r in answer.runs]
    return "".join(lines)


def _run_header(run: RunInfo) -> str:
    incomplete = (f" (incomplete regions: {_safe(', '.join(run.incomplete_regions))}; their "
                  "findings were left open)" if run.incomplete_regions else "")
    open_counts = ", ".join(f"{s} {run.counts.get(s, 0)}" for s in SEVERITIES)
    return (f"run {run.id}  {_when(run.started_at)} UTC  imgaudit {_safe(run.tool_version)} "
            f"({run.source})\n"
            f"scope {run.scope_id}: {_safe(run.scope.describe())}\n"
            f"complete: {_complete(run)}{incomplete}\n"
            f"images: {run.image_count}; open findings: {open_counts}; waived: {run.waived}\n")


def _finding_lines(title: str, states: Iterable[FindingState]) -> str:
    items = list(states)
    lines = [f"{title} ({len(items)}):\n"]
    for s in items:
        fixed = f", fixed {_when(s.fixed_at)} (run {s.fixed_run})" if s.fixed_at else ""
        waived = "  [waived]" if s.waived else ""
        name = f" ({_safe(s.image_name)})" if s.image_name else ""
        lines.append(f"  {s.severity:<8}  {_safe(s.rule_id)}  {_safe(s.region)}  "
                     f"{_safe(s.image_id)}{name}  first seen {_when(s.first_seen)} "
                     f"(run {s.first_seen_run}), {s.age_days} d{fixed}{waived}\n")
    return "".join(lines)


def run_detail(answer: RunDetail) -> str:
    return (_run_header(answer.run) + _finding_lines("new in this run", answer.new)
            + _finding_lines("fixed in this run", answer.fixed))


def run_diff(answer: RunDiff) -> str:
    a, b = answer.from_run, answer.to_run
    head = (f"run {a.id} ({_when(a.started_at)}, complete: {_complete(a)}) -> run {b.id} "
            f"({_when(b.started_at)}, complete: {_complete(b)})\n"
            f"scope {b.scope_id}: {_safe(b.scope.describe())}\n")
    return (head + _finding_lines("new", answer.new) + _finding_lines("fixed", answer.fixed)
            + _finding_lines("still open", answer.open))


def trend(answer: Trend) -> str:
    lines = [f"scope {answer.scope_id}: {_safe(answer.scope.describe())}; as of "
             f"{_when(answer.as_of)} UTC\n",
             f"{'run':>5}  {'started (UTC)':<16}  complete{_COUNTS_HEADER}{'new':>7}"
             f"{'fixed':>7}\n"]
    lines += [f"{r.id:>5}  {_when(r.started_at):<16}  {'yes' if r.complete else 'NO':<8}"
              f"{_counts(r.counts)}{r.new:>7}{r.fixed:>7}\n" for r in answer.runs]
    lines.append(f"\nopen findings by age  {'total':>7}{_COUNTS_HEADER}\n")
    lines += [f"  {b.label:<19}  {b.total:>7}{_counts(b.counts)}\n"
              for b in answer.open_by_age]
    lines.append("\nmean time to fix\n")
    for severity, fix in answer.time_to_fix.items():
        mean = f"{fix.mean_days:.1f} days" if fix.mean_days is not None else "-"
        lines.append(f"  {severity:<9}{mean:>12}  ({fix.fixed} fixed)\n")
    return "".join(lines)


def pruned(answer: PruneResult) -> str:
    return (f"removed {answer.runs_removed} run(s) and {answer.findings_removed} finding(s) "
            f"fixed before {_when(answer.cutoff)} UTC; {answer.runs_kept} run(s) kept\n")
