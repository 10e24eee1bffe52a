"""The HTML report's pictures, drawn on the server as inline SVG.

No script, no external resource and no `style` attribute: every shape carries a class that
report.css colours, so the page's Content-Security-Policy stays as it is and the dark scheme
and the print stylesheet apply to the pictures too. Every picture is an `img` to assistive
technology, named by its <title> and summarised by its <desc>; the template puts the numbers
beside it as a table. Labels that came from the cloud (regions, accounts, rule ids) are
escaped like every other string of the page.

Hand-written rather than a charting library: the libraries we looked at (pygal, matplotlib's
SVG backend) embed scripts or style elements the CSP blocks, or weigh far more than these few
shapes; bars and stacked areas are a page of arithmetic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from auditor.findings import SEVERITIES, AuditResult, TrendRun
from auditor.reporters.i18n import Catalogue
from auditor.safetext import visible

WIDTH = 640          # the viewBox width; the picture scales to the width of its box
ROW = 22             # height of a bar row
LABEL = 170          # room for the labels left of the bars
TOP = 30             # room for the legend
BARS_SHOWN = 25      # rows of a bar chart; the rest are summed in one "other" row
PLOT_HEIGHT = 180    # height of the plot area of a time series
LEFT, RIGHT, BOTTOM = 44, 12, 36


@dataclass(frozen=True)
class Chart:
    """One picture: its id (anchors and aria), caption, SVG, and its numbers as a table."""

    id: str
    caption: str
    svg: Markup
    head: list[str]
    rows: list[list[object]]
    note: str = ""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    label = escape(visible(text))
    return (f'<text x="{_num(x)}" y="{_num(y)}" class="{cls}" text-anchor="{anchor}">'
            f"{label}</text>")


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(ident: str, title: str, desc: str, height: float, body: Sequence[str]) -> Markup:
    return Markup(
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {_num(height)}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" focusable="false">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>")


def _legend(keys: Sequence[tuple[str, str]], y: float = 14) -> list[str]:
    """Swatches and names in one line: (css class, label)."""
    out, x = [], float(LABEL if keys else 0)
    for cls, label in keys:
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" '
                   f'class="{cls}"/>')
        out.append(_text(x + 14, y, label, "legend"))
        x += 24 + 7 * len(label)
    return out


def stacked_bars(ident: str, title: str, rows: Sequence[tuple[str, dict[str, int]]],
                 keys: Sequence[tuple[str, str, str]], *, percent: bool = False,
                 legend: bool = True) -> Markup:
    """Horizontal bars, one per row, split by `keys` (key, css class, label).

    `percent`: each bar is its row's own 100% (compliance), and the label says the share of the
    first key. Rows beyond BARS_SHOWN are summed into one last row, so the picture stays
    readable; its caption says so.
    """
    rows = list(rows)
    if len(rows) > BARS_SHOWN:
        rest: Counter[str] = Counter()
        for _, parts in rows[BARS_SHOWN - 1:]:
            rest.update(parts)
        rows = [*rows[: BARS_SHOWN - 1], (f"+{len(rows) - BARS_SHOWN + 1}", dict(rest))]
    span = WIDTH - LABEL - 56
    most = max((sum(p.values()) for _, p in rows), default=0) or 1
    body = _legend([(cls, label) for _, cls, label in keys]) if legend else []
    top = TOP if legend else 6
    desc = []
    for i, (label, parts) in enumerate(rows):
        y = top + i * ROW
        total = sum(parts.get(k, 0) for k, _, _ in keys)
        scale = span / (total or 1) if percent else span / most
        body.append(_text(LABEL - 8, y + 14, _short(label), "label", "end"))
        if percent:
            body.append(f'<rect x="{LABEL}" y="{y + 3}" width="{span}" height="{ROW - 8}" '
                        'class="track"/>')
        x = float(LABEL)
        for key, cls, name in keys:
            width = parts.get(key, 0) * scale
            if width > 0:
                body.append(f'<rect x="{_num(x)}" y="{y + 3}" width="{_num(width)}" '
                            f'height="{ROW - 8}" class="{cls}"><title>{escape(visible(label))}'
                            f": {parts.get(key, 0)} {escape(name)}</title></rect>")
                x += width
        shown = (f"{100 * parts.get(keys[0][0], 0) / total:.1f}%" if percent and total
                 else "n/a" if percent else str(total))
        body.append(_text((LABEL + span if percent else x) + 6, y + 14, shown, "value"))
        desc.append(f"{visible(label)} {shown}")
    height = top + len(rows) * ROW + 6
    return _svg(ident, title, "; ".join(desc) or "no data", height, body)


def time_series(ident: str, title: str, runs: Sequence[TrendRun],
                keys: Sequence[tuple[str, str, str]], incomplete_label: str) -> Markup:
    """Open findings by severity over the runs: stacked areas, most severe at the bottom;
    an incomplete run is marked under the axis."""
    points = list(runs) if len(runs) > 1 else [*runs, *runs]
    totals = [sum(r.counts.get(k, 0) for k, _, _ in keys) for r in points]
    most = max(totals, default=0) or 1
    plot = WIDTH - LEFT - RIGHT
    step = plot / max(1, len(points) - 1)
    base = TOP + PLOT_HEIGHT

    def xy(i: int, value: float) -> str:
        return f"{_num(LEFT + i * step)},{_num(base - value * PLOT_HEIGHT / most)}"

    body = [*_legend([(cls, label) for _, cls, label in keys]), *_axes(most)]
    below = [0] * len(points)
    for key, cls, name in keys:
        above = [b + r.counts.get(key, 0) for b, r in zip(below, points, strict=True)]
        if any(a != b for a, b in zip(above, below, strict=True)):
            line = [xy(i, v) for i, v in enumerate(above)]
            back = [xy(i, v) for i, v in reversed(list(enumerate(below)))]
            body.append(f'<polygon points="{" ".join(line + back)}" class="{cls}">'
                        f"<title>{escape(name)}</title></polygon>")
        below = above
    for i, r in enumerate(points):
        if not r.complete:
            x = LEFT + i * step
            body.append(f'<rect x="{_num(x - 1.5)}" y="{base + 3}" width="3" height="6" '
                        f'class="incomplete"><title>{escape(incomplete_label)}</title></rect>')
    body += _dates(points, step)
    last = runs[-1] if runs else None
    desc = (f"{len(runs)} runs from {runs[0].started_at:%Y-%m-%d} to {last.started_at:%Y-%m-%d}; "
            f"open findings first {sum(runs[0].counts.values())}, "
            f"last {sum(last.counts.values())}, most {max(totals)}") if last else "no runs"
    return _svg(ident, title, desc, base + BOTTOM, body)


def new_and_fixed(ident: str, title: str, runs: Sequence[TrendRun],
                  labels: tuple[str, str]) -> Markup:
    """Per run, findings first seen (up) and found fixed (down) around one axis."""
    most = max((max(r.new, r.fixed) for r in runs), default=0) or 1
    plot = WIDTH - LEFT - RIGHT
    slot = plot / max(1, len(runs))
    width = max(0.6, slot * 0.7)
    half = PLOT_HEIGHT / 2
    axis = TOP + half
    body = [*_legend([("bar-new", labels[0]), ("bar-fixed", labels[1])])]
    body += [f'<line x1="{LEFT}" y1="{axis}" x2="{WIDTH - RIGHT}" y2="{axis}" class="axis"/>',
             _text(LEFT - 6, TOP + 4, str(most), "tick", "end"),
             _text(LEFT - 6, axis + 4, "0", "tick", "end"),
             _text(LEFT - 6, TOP + PLOT_HEIGHT + 4, str(most), "tick", "end")]
    for i, r in enumerate(runs):
        x = LEFT + i * slot + (slot - width) / 2
        when = f"{r.started_at:%Y-%m-%d}"
        if r.new:
            h = r.new * half / most
            body.append(f'<rect x="{_num(x)}" y="{_num(axis - h)}" width="{_num(width)}" '
                        f'height="{_num(h)}" class="bar-new"><title>{when}: {r.new} '
                        f"{escape(labels[0])}</title></rect>")
        if r.fixed:
            h = r.fixed * half / most
            body.append(f'<rect x="{_num(x)}" y="{_num(axis)}" width="{_num(width)}" '
                        f'height="{_num(h)}" class="bar-fixed"><title>{when}: {r.fixed} '
                        f"{escape(labels[1])}</title></rect>")
    body += _dates(runs, slot, offset=slot / 2)
    desc = (f"{len(runs)} runs; {sum(r.new for r in runs)} {labels[0]}, "
            f"{sum(r.fixed for r in runs)} {labels[1]} in all")
    return _svg(ident, title, desc, TOP + PLOT_HEIGHT + BOTTOM, body)


def _axes(most: int) -> list[str]:
    base = TOP + PLOT_HEIGHT
    out = []
    for value in sorted({0, most // 2, most}):
        y = base - value * PLOT_HEIGHT / most
        out.append(f'<line x1="{LEFT}" y1="{_num(y)}" x2="{WIDTH - RIGHT}" y2="{_num(y)}" '
                   f'class="{"axis" if value == 0 else "grid"}"/>')
        out.append(_text(LEFT - 6, y + 4, str(value), "tick", "end"))
    return out


def _dates(runs: Sequence[TrendRun], step: float, offset: float = 0) -> list[str]:
    """The first, middle and last run's dates under the plot."""
    if not runs:
        return []
    y = TOP + PLOT_HEIGHT + 24
    picks = sorted({0, (len(runs) - 1) // 2, len(runs) - 1})
    anchors = {0: "start", len(runs) - 1: "end"}
    return [_text(LEFT + i * step + offset, y, f"{runs[i].started_at:%Y-%m-%d}", "tick",
                  anchors.get(i, "middle")) for i in picks]


def _severity_keys(t: Catalogue) -> list[tuple[str, str, str]]:
    return [(sev, f"sev-{sev}", t.severity(sev)) for sev in SEVERITIES]


def _by(result: AuditResult, key: str) -> list[tuple[str, dict[str, int]]]:
    """Open findings by region or account, split by severity, most first."""
    counts: dict[str, Counter[str]] = {}
    for f in result.findings:
        if f.suppressed:
            continue
        name = f.region if key == "region" else result.account_label(
            f.account_id or result.scan.account_id)
        counts.setdefault(name, Counter())[f.severity.value] += 1
    return sorted(((name, dict(c)) for name, c in counts.items()),
                  key=lambda row: (-sum(row[1].values()), row[0]))


def _severity_rows(rows: list[tuple[str, dict[str, int]]]) -> list[list[object]]:
    return [[name, *(parts.get(sev, 0) for sev in SEVERITIES), sum(parts.values())]
            for name, parts in rows]


def _cut(t: Catalogue, rows: Sequence[object]) -> str:
    return t("html.chart_cut", shown=BARS_SHOWN - 1, total=len(rows)) \
        if len(rows) > BARS_SHOWN else ""


def posture_charts(result: AuditResult, t: Catalogue) -> list[Chart]:
    """Severity distribution, compliance by rule, findings by region and (with several) by
    account: for every report."""
    keys = _severity_keys(t)
    counts = result.counts_by_severity()
    severity_rows = [(t.severity(sev), {sev: counts[sev]}) for sev in SEVERITIES]
    sev_head = [t("html.severity"), t("html.open")]
    charts = [Chart("severity", t("html.chart_severity"),
                    stacked_bars("c-severity", t("html.chart_severity"), severity_rows, keys,
                                 legend=False),
                    sev_head, [[name, sum(parts.values())] for name, parts in severity_rows])]
    rules = sorted((r for r in result.rules if r.evaluated),
                   key=lambda r: (r.compliance if r.compliance is not None else 100, r.id))
    if rules:
        rows = [(r.id, {"passed": r.passed, "failed": r.failed}) for r in rules]
        pass_fail = [("passed", "bar-pass", t("html.passed")),
                     ("failed", "bar-fail", t("html.failed"))]
        charts.append(Chart(
            "compliance", t("html.chart_compliance"),
            stacked_bars("c-compliance", t("html.chart_compliance"), rows, pass_fail,
                         percent=True),
            [t("html.rule"), t("html.evaluated"), t("html.passed"), t("html.failed"),
             t("html.compliance")],
            [[r.id, r.evaluated, r.passed, r.failed, t.compliance(r.compliance)]
             for r in rules], _cut(t, rows)))
    head = [*(t.severity(sev) for sev in SEVERITIES), t("html.open")]
    for key, ident in (("region", "region"), ("account", "account")):
        rows = _by(result, key)
        if not rows or (key == "account" and len(rows) < 2):
            continue
        title = t(f"html.chart_{ident}")
        charts.append(Chart(ident, title, stacked_bars(f"c-{ident}", title, rows, keys),
                            [t(f"html.{ident}"), *head], _severity_rows(rows),
                            _cut(t, rows)))
    return charts


def trend_charts(result: AuditResult, t: Catalogue) -> list[Chart]:
    """With --history: open findings by severity over time, new versus fixed per run, and the
    age of the open findings."""
    h = result.history
    if h is None or not h.trend:
        return []
    keys = _severity_keys(t)
    runs = h.trend
    when = [f"{r.started_at:%Y-%m-%d %H:%M}" for r in runs]
    title = t("html.chart_open_over_time")
    open_rows: list[list[object]] = [
        [w, r.run, t("html.complete") if r.complete else t("html.incomplete_status"),
         *(r.counts.get(sev, 0) for sev in SEVERITIES), r.new, r.fixed]
        for w, r in zip(when, runs, strict=True)]
    head = [t("html.started"), t("html.run"), t("html.status"),
            *(t.severity(sev) for sev in SEVERITIES), t("html.new_col"), t("html.fixed_col")]
    new_fixed = (t("html.new_col"), t("html.fixed_col"))
    ages = [(t.age(a.min_days, a.max_days), a.counts) for a in h.ages]
    age_title = t("html.chart_ages")
    return [
        Chart("open-over-time", title,
              time_series("c-open", title, runs, keys, t("html.incomplete_run")),
              head, open_rows, t("html.chart_incomplete_note")),
        Chart("new-fixed", t("html.chart_new_fixed"),
              new_and_fixed("c-new-fixed", t("html.chart_new_fixed"), runs, new_fixed),
              [t("html.started"), t("html.run"), *new_fixed],
              [[w, r.run, r.new, r.fixed] for w, r in zip(when, runs, strict=True)]),
        Chart("ages", age_title, stacked_bars("c-ages", age_title, ages, keys),
              [t("html.age"), *(t.severity(sev) for sev in SEVERITIES), t("html.open")],
              _severity_rows(ages)),
    ]
