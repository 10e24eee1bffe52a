"""The scan pipeline, one function per command: collect -> inventory -> evaluate -> report.

The CLI parses options into the dataclasses here and calls one function that returns an exit
code (`collect` alone is app/collect.py). Everything that can fail on bad input fails before
the first API call: output paths, rules, config and the baseline are checked first. Outputs
are written by app/output.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TextIO

from auditor import __version__
from auditor.app import output
from auditor.app.collect import Progress, collected, warn_region_errors
from auditor.app.output import STDOUT, ReportSet, Target
from auditor.baseline import apply_baseline, load_baseline
from auditor.collector import CollectRequest
from auditor.config import DEFAULT_WAIVER_WARNING_DAYS, Config
from auditor.engine import Evaluation, RuleSet, Selection, load_rules
from auditor.engine.evaluate import Batch, batches, evaluate_batches
from auditor.errors import UsageError
from auditor.findings import AuditResult, FailOn, RegionReport, ScanInfo, framework_reports
from auditor.gcpause import keep_until_exit
from auditor.inventory import dump_inventory, inventory_format, load_inputs, open_inputs
from auditor.lang import DEFAULT_LANG, Lang
from auditor.models import Inventory, InventorySummary
from auditor.reporters import ReportOptions, render_pieces
from auditor.reporters.i18n import catalogue
from auditor.scoping import OfflineScope, matcher, recorded, select

log = logging.getLogger("imgaudit")


@dataclass(frozen=True)
class ScanOptions:
    inputs: list[Path] = field(default_factory=list)
    collect: CollectRequest | None = None
    input_scope: OfflineScope | None = None  # scope flags applied to the --input files
    rule_paths: list[Path] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    fail_on: FailOn = "low"
    stdout_format: str | None = "text"   # None: a file option or the inventory takes stdout
    files: dict[str, Path] = field(default_factory=dict)   # format -> output path (`-`: stdout)
    baseline: Path | None = None
    save_inventory: Path | None = None
    include_suppressed: bool = True
    color: bool = False
    command_line: list[str] = field(default_factory=list)
    progress: Progress | None = None
    selection: Selection | None = None  # None: the config's select, disable and min_severity
    history: Path | None = None  # record the run in this history file
    history_timeout: float | None = None  # None: the history store's default
    summary: bool = False               # text on stdout: counts only
    show_waived: bool = False           # text on stdout: list waived findings too
    group_by_tag: str | None = None     # text, Markdown, HTML: findings by this image tag
    lang: Lang = DEFAULT_LANG           # rule texts, messages and report headings
    waiver_warning_days: int = DEFAULT_WAIVER_WARNING_DAYS  # warn of waivers expiring so soon
    now: datetime | None = None         # a fixed clock (IMGAUDIT_NOW); None: the system's
    # Enrichments of a live scan: True / False as asked, None: when a selected rule uses them
    sharing: bool | None = None
    instances: bool | None = None


def _load_ruleset(options: ScanOptions) -> RuleSet:
    config = options.config
    paths = [*config.rule_paths(), *options.rule_paths]
    ruleset = load_rules(paths, builtin=config.builtin_rules, config=config)
    selected = ruleset.select(options.selection or Selection.from_config(config))
    if not selected.rules:
        log.warning("no rule selected: nothing is checked (see --rule, --skip-rule, "
                    "--min-severity, --framework)")
    return selected


def _inventory(options: ScanOptions, ruleset: RuleSet) -> Inventory:
    """The whole inventory, held: collected, or every input read (to save it)."""
    if options.inputs:
        inventory = load_inputs(options.inputs)
        return select(inventory, options.input_scope) if options.input_scope else inventory
    if options.collect is None:
        raise UsageError("nothing to scan: give --region (collect live) or --input FILE")
    return collected(enriched(options.collect, ruleset, options), options.progress)


def enriched(request: CollectRequest, ruleset: RuleSet, options: ScanOptions) -> CollectRequest:
    """The request with the enrichments asked for, or (by default) those a selected rule
    reads or shows (`Rule.uses`)."""
    uses = {name for rule in ruleset.rules for name in rule.uses}
    sharing = options.sharing if options.sharing is not None else "SharePermission" in uses
    instances = options.instances if options.instances is not None else "InstanceIds" in uses
    return replace(request, sharing=sharing, instances=instances)


def _check_enrichment_flags(options: ScanOptions) -> None:
    if options.inputs and (options.sharing or options.instances):
        flag = "--sharing" if options.sharing else "--instances"
        raise UsageError(f"{flag} collects live (with --region); an --input inventory "
                         "holds what its collection asked for")


def _evaluated(options: ScanOptions, ruleset: RuleSet, targets: dict[str, Target],
               stdout: TextIO, today: date) -> tuple[InventorySummary, Evaluation]:
    """Read (or collect) the images and evaluate them. Input files are streamed: their images
    are evaluated a batch at a time and let go; only findings and counts stay. A collected
    inventory, or one saved with --save-inventory, is held whole."""
    _check_enrichment_flags(options)
    run = set(ruleset.ids())  # a waiver of a rule not run is neither used nor stale
    waivers = [w for w in options.config.waivers if w.rule in run]

    def evaluated(batches: Iterable[Batch]) -> Evaluation:
        return evaluate_batches(batches, ruleset, waivers=waivers, today=today,
                                lang=options.lang,
                                expiry_warning_days=options.waiver_warning_days)

    if options.inputs and options.save_inventory is None:
        scope = options.input_scope
        stream = open_inputs(options.inputs, matcher(scope) if scope else None)
        evaluation = evaluated(stream.records())
        summary = stream.summary()
        if scope:
            summary = replace(summary, scope=recorded(scope, summary.scope))
        return summary, evaluation
    inventory = _inventory(options, ruleset)
    if options.save_inventory is not None:
        text = dump_inventory(inventory, inventory_format(options.save_inventory))
        output.write_output(targets["--save-inventory"], text, stdout)
    return inventory.summary(), evaluated(batches(inventory))


def build_result(
    inventory: InventorySummary,
    ruleset: RuleSet,
    evaluation: Evaluation,
    options: ScanOptions,
    started_at: datetime,
) -> AuditResult:
    """Assemble what every reporter renders; pure apart from the clock."""
    scan = ScanInfo(
        tool_version=__version__,
        started_at=started_at,
        finished_at=options.now or datetime.now(timezone.utc),
        command_line=options.command_line,
        account_id=inventory.account_id if len(inventory.accounts) <= 1 else None,
        accounts=inventory.accounts,
        account_names=inventory.account_names or {},
        source="file" if options.inputs else "api",
        inputs=[str(p) for p in options.inputs],
        owners=inventory.scope.owners,
        statuses=inventory.scope.statuses,
        filters=inventory.scope.filters,
        regions=list(dict.fromkeys(r.region for r in inventory.regions)),
        image_count=inventory.image_count,
        complete=inventory.complete,
    )
    regions = [
        RegionReport(region=r.region, account_id=inventory.account_of(r), complete=r.complete,
                     image_count=r.image_count, total_count=r.total_count, errors=r.errors)
        for r in inventory.regions
    ]
    rules = [info.counted(evaluation.counts.get(info.id, (0, 0, 0, 0)))
             for info in ruleset.infos(options.lang)]
    return AuditResult(
        scan=scan,
        fail_on=options.fail_on,
        regions=regions,
        rules=rules,
        frameworks=framework_reports(rules, options.selection.frameworks
                                     if options.selection else ()),
        findings=evaluation.findings,
        waivers=evaluation.waivers,
        data_quality=inventory.notes,
        lang=options.lang,
    )


def _outputs(options: ScanOptions) -> dict[str, Target]:
    """Every output of the scan, checked before any work is done."""
    outputs: dict[str, Path | str | None] = {f"--{f}": p for f, p in options.files.items()}
    outputs["--save-inventory"] = options.save_inventory
    if options.stdout_format is not None:
        outputs[f"--format {options.stdout_format}"] = STDOUT
    return output.plan(outputs)


def _stage_reports(result: AuditResult, options: ScanOptions, targets: dict[str, Target],
                   reports: ReportSet) -> None:
    """Render every report and stage it (the report set puts them all in place at once)."""
    file_options = ReportOptions(include_suppressed=options.include_suppressed,
                                 group_by_tag=options.group_by_tag)
    for fmt in options.files:
        reports.add(targets[f"--{fmt}"], render_pieces(fmt, result, file_options))
    if options.stdout_format is not None:
        stdout_options = ReportOptions(color=options.color,
                                       include_suppressed=options.include_suppressed,
                                       summary=options.summary,
                                       show_waived=options.show_waived,
                                       group_by_tag=options.group_by_tag)
        reports.add(targets[f"--format {options.stdout_format}"],
                    render_pieces(options.stdout_format, result, stdout_options))


def run_scan(options: ScanOptions, stdout: TextIO) -> int:
    """The whole scan; returns the exit code of DESIGN §2."""
    targets = _outputs(options)
    if options.history:
        from auditor.history import check_history  # the store only with --history

        check_history(options.history, write=True)
    with _timed("loaded rules"):
        ruleset = _load_ruleset(options)
        baseline = load_baseline(options.baseline) if options.baseline else None
    started_at = options.now or datetime.now(timezone.utc)
    with _timed(f"read and evaluated {len(ruleset.rules)} rules"):
        inventory, evaluation = _evaluated(options, ruleset, targets, stdout, started_at.date())
    log.debug("%d images, %d findings", inventory.image_count, len(evaluation.findings))
    for warning in evaluation.warnings:
        log.warning("%s", warning)
    t = catalogue()  # stderr speaks English, as every log line
    for waiver in evaluation.waivers:  # once, whatever the formats (each report says it too)
        if waiver.state == "expiring":
            log.warning("%s", t("waiver.expiring", rule=waiver.rule, images=t.selection(waiver),
                                owner=waiver.owner, expires=waiver.expires.isoformat()))
    result = build_result(inventory, ruleset, evaluation, options, started_at)
    _warn_not_evaluated(result, ruleset)
    if baseline is not None:
        result = apply_baseline(result, baseline, baseline.path)
    # reports and the history run land together: the run is committed once every report
    # rendered, the reports are put in place once it is (see app/history.recorded_in_history)
    with (_timed(f"wrote reports ({len(result.findings)} findings)"),
          output.report_set(stdout) as reports,
          _recorded(options, result) as result):
        _stage_reports(result, options, targets, reports)
    for fmt, path in options.files.items():
        log.info("wrote %s report to %s", fmt, path)
    warn_region_errors(result.regions)
    keep_until_exit(result, evaluation)  # freed by the process's exit (auditor/gcpause.py)
    return result.exit_code


def _recorded(options: ScanOptions, result: AuditResult) -> AbstractContextManager[AuditResult]:
    """The run recorded in the history with --history (`app/history.recorded_in_history`);
    without it, the result as it is, and the history store never imported."""
    if options.history is None:
        return nullcontext(result)
    from auditor.app.history import recorded_in_history

    return recorded_in_history(options.history, result, options.history_timeout)


def _warn_not_evaluated(result: AuditResult, ruleset: RuleSet) -> None:
    """Rules that could not judge some images: never a silent pass (the reports count them)."""
    rules = {rule.id: rule for rule in ruleset.rules}
    for info in result.rules:
        if info.not_evaluated and info.id in rules:
            needs = ", ".join(sorted(rules[info.id].needs))
            log.warning("rule %s did not evaluate %d image(s): the data it reads (%s) was not "
                        "collected for them (see docs/collector.md, Enrichments)", info.id,
                        info.not_evaluated, needs)


@contextmanager
def _timed(what: str) -> Iterator[None]:
    """With -v, how long each stage took (on stderr, like every log line)."""
    start = time.perf_counter()
    yield
    log.debug("%s in %.2f s", what, time.perf_counter() - start)
