"""One self-contained HTML file: summary on the server side, findings table in the browser.

Everything the page needs (CSS, JS, data) is inlined, so it works offline and from file://.
The template is autoescaped; the findings travel as a script-safe JSON blob and the script
only ever writes them with textContent, never as HTML.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from auditor.findings import SEVERITIES, AuditResult
from auditor.reporters import ReportOptions
from auditor.reporters.charts import posture_charts, trend_charts
from auditor.reporters.html_data import by_tag, findings_blob, summarize
from auditor.reporters.i18n import Catalogue, catalogue
from auditor.safetext import visible

TEMPLATES = Path(__file__).parent / "templates"
FIXED_SHOWN = 500  # fixed findings listed in full; the rest are counted
NOTES_SHOWN = 1000  # data-quality notes listed; every one is in the JSON report


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )


def _shown(value: Any) -> Any:
    """Every string the template prints, control characters escaped visibly (HTML forbids
    most of them, and a reader should see they are there); our own markup is left alone."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@lru_cache(maxsize=2)
def _asset(name: str) -> Markup:
    """Our own CSS or JS, inlined verbatim (it is code we ship, not data)."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    if "</" in text:
        raise ValueError(f"{name} must not contain '</' (it would end its element)")
    return Markup(text)


def render(result: AuditResult, options: ReportOptions) -> str:
    template = _environment().get_template("report.html.j2")
    fixed = result.baseline.fixed if result.baseline else []
    history_fixed = result.history.fixed if result.history else []
    t = catalogue(result.lang)
    return template.render(
        t=t,
        lang=result.lang,
        result=result,
        scan=result.scan,
        summary=summarize(result),
        severities=SEVERITIES,
        incomplete=[r for r in result.regions if not r.complete],
        data_quality=result.data_quality_lines(NOTES_SHOWN),
        fixed=fixed[:FIXED_SHOWN],
        fixed_hidden=max(0, len(fixed) - FIXED_SHOWN),
        history=result.history,
        charts=posture_charts(result, t),
        trend_charts=trend_charts(result, t),
        since_label=(t("html.history_since", run=result.history.previous_run)
                     if result.history and result.history.previous_run else t("html.history")),
        history_fixed=history_fixed[:FIXED_SHOWN],
        history_fixed_hidden=max(0, len(history_fixed) - FIXED_SHOWN),
        data=Markup(findings_blob(result, _script_labels(t), options.group_by_tag)),
        group_tag=visible(options.group_by_tag) if options.group_by_tag else None,
        by_tag=by_tag(result, options.group_by_tag),
        css=_asset("report.css"),
        js=_asset("report.js"),
        js_hash=_csp_hash(_asset("report.js")),
    )


def _script_labels(t: Catalogue) -> dict[str, object]:
    """What report.js writes itself, in the report's language."""
    return {**t.prefixed("js"),
            "severities": [t.severity(sev) for sev in SEVERITIES],
            "status": [t("html.status_open"), t("html.status_waived"), t("html.status_expired")],
            "baseline": ["", t("baseline.new"), t("baseline.unchanged")]}


def _csp_hash(script: str) -> str:
    """The page's CSP runs only our own script: an injected one would be blocked as well."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
