"""The command line: click commands that parse options and call one function in auditor.app.

Precedence: command line > environment (IMGAUDIT_<OPTION>) > config file > defaults. click
tells where each value came from; a value still at its default takes the config file's.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from auditor import __version__, app
from auditor.app.output import remove_staged
from auditor.cli.color import COLOR_CHOICES, use_color
from auditor.cli.failure import ErrorFormat, settle, write_error
from auditor.cli.history import history, history_timeout
from auditor.cli.interrupts import Terminated, watched
from auditor.cli.options import (
    VERBOSE_ENV,
    chosen_lang,
    collect_options,
    collect_request,
    configured,
    env_name,
    fixed_now,
    input_scope,
    lang_option,
    read_config,
    report_files,
    report_options,
    setup_logging,
)
from auditor.cli.progress import terminal_progress
from auditor.cli.selection import selection, selection_options, split_severities
from auditor.config import DEFAULT_WAIVER_WARNING_DAYS, Config
from auditor.errors import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT,
    EXIT_TERMINATED,
    EXIT_USAGE,
    AuditError,
    OutputError,
    RuleError,
    UsageError,
)
from auditor.findings import FAIL_ON_CHOICES
from auditor.gcpause import gc_paused
from auditor.inventory import INVENTORY_FORMATS
from auditor.safetext import visible

EXIT_EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code:<3}  {text}"
                                           for code, text in EXIT_CODES.items())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgaudit")
def cli() -> None:
    """imgaudit: a compliance linter for Alibaba Cloud ECS images."""


@cli.command(epilog=EXIT_EPILOG)
@collect_options
@click.option("--input", "inputs", multiple=True, type=click.Path(path_type=Path),
              help="Saved inventory or raw DescribeImages JSON (repeatable) instead of --region.")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule file or folder (repeatable).")
@click.option("--no-builtin-rules", is_flag=True, help="Use only the rules given.")
@selection_options
@report_options
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="low", show_default=True,
              envvar=env_name("fail_on"), help="Lowest severity that fails the gate.")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="Previous JSON report: only new findings fail the gate.")
@click.option("--sarif-suppressed/--no-sarif-suppressed", default=True, show_default=True,
              help="Keep waived findings in SARIF as suppressed results.")
@click.option("--save-inventory", type=click.Path(path_type=Path),
              help="Also save the collected inventory.")
@click.option("--color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True,
              envvar=env_name("color"),
              help="Colour the text report: auto = a terminal, unless NO_COLOR is set "
                   "(FORCE_COLOR: always).")
@click.option("--history", type=click.Path(path_type=Path), envvar=env_name("history"),
              help="Record the run in this history file (SQLite; see `imgaudit history`).")
@click.option("--waiver-expiry-warning-days", type=click.IntRange(0, 36500),
              default=DEFAULT_WAIVER_WARNING_DAYS, show_default=True,
              envvar=env_name("waiver_expiry_warning_days"),
              help="Warn about waivers in use that expire within this many days (0: never).")
@click.option("--summary", is_flag=True,
              help="Text report: only the counts per severity and rule, and the verdict.")
@click.option("--show-waived", is_flag=True,
              help="Text report: list waived findings too (they are always counted).")
@click.option("--group-by-tag", metavar="KEY", envvar=env_name("group_by_tag"),
              help="Text, Markdown and HTML reports: findings grouped by the value of this "
                   "image tag (case-sensitive, e.g. owner), images without it as untagged.")
@lang_option
@click.pass_context
def scan(ctx: click.Context, /, **p: Any) -> int:
    """Collect (or read) images, evaluate the rules, report; the exit code is the gate."""
    setup_logging(p["verbose"], p["quiet"])
    settle(ctx, p["format"])  # command line or IMGAUDIT_FORMAT: errors as JSON from here
    config = configured(ctx, p)
    settle(ctx, p["format"])  # ... or the config file's `format:`
    region_given = ctx.get_parameter_source("region") == ParameterSource.COMMANDLINE
    if p["inputs"] and p["region"] and region_given:
        raise UsageError("give either --region (collect live) or --input FILE, not both")
    if p["inputs"] and (p["accounts_file"] or p["resource_directory"]):
        flag = "--accounts" if p["accounts_file"] else "--resource-directory"
        raise UsageError(f"{flag} collects live; --input FILE reads saved inventories: "
                         "give one of them")
    if p["format"] != "text" and (p["summary"] or p["show_waived"]):
        flag = "--summary" if p["summary"] else "--show-waived"
        raise UsageError(f"{flag} shapes the text report; --format {p['format']} carries "
                         f"every finding (waived ones marked)")
    if config.builtin_rules and p["no_builtin_rules"]:
        config = config.model_copy(update={"builtin_rules": False})
    options = app.ScanOptions(
        inputs=list(p["inputs"]),
        collect=None if p["inputs"] else collect_request(p),
        input_scope=input_scope(ctx, p) if p["inputs"] else None,
        rule_paths=list(p["rule_paths"]),
        config=config,
        fail_on=p["fail_on"],
        stdout_format=_stdout_format(ctx, config, p),
        files=report_files(p),
        baseline=p["baseline"],
        save_inventory=p["save_inventory"],
        include_suppressed=p["sarif_suppressed"],
        color=p["format"] == "text" and use_color(p["color"], sys.stdout),
        command_line=["imgaudit", *sys.argv[1:]],
        progress=terminal_progress(p["quiet"]),
        selection=selection(p),
        history=Path(p["history"]) if p["history"] else None,
        history_timeout=history_timeout(),
        summary=p["summary"],
        show_waived=p["show_waived"],
        group_by_tag=p["group_by_tag"] or None,
        lang=chosen_lang(p),
        waiver_warning_days=p["waiver_expiry_warning_days"],
        now=fixed_now(),
        sharing=p["sharing"],
        instances=p["instances"],
    )
    return app.run_scan(options, sys.stdout)


def _stdout_format(ctx: click.Context, config: Config, p: dict[str, Any]) -> str | None:
    """The report for standard output: `--format` unless `-` was given as a file option
    (`--json -`) and `--format` was not chosen; two outputs there are refused later."""
    dashes = [*report_files(p).values(), p["save_inventory"]]
    chosen = (ctx.get_parameter_source("format") != ParameterSource.DEFAULT
              or config.format is not None)
    if not chosen and any(app.is_stdout(str(path)) for path in dashes if path is not None):
        return None
    return str(p["format"])


@cli.command(epilog=EXIT_EPILOG)
@collect_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Where to write the inventory (`-`: standard output).")
@click.option("--inventory-format", type=click.Choice(INVENTORY_FORMATS), default=None,
              help="json: one document; jsonl: JSON Lines, one image per line, for "
                   "inventories too large to hold (default: jsonl for a FILE.jsonl, else json).")
@click.pass_context
def collect(ctx: click.Context, /, **p: Any) -> int:
    """Collect the inventory only (no rules), for a later `scan --input`."""
    setup_logging(p["verbose"], p["quiet"])
    configured(ctx, p)
    request = collect_request(p)
    if request is None:
        raise UsageError("collect needs --region ID (repeatable) or --region all "
                         "(or --accounts FILE, --resource-directory)")
    return app.run_collect(request, p["output"], terminal_progress(p["quiet"]), sys.stdout,
                           p["inventory_format"])


@cli.group()
def rules() -> None:
    """List, show, validate and test rules."""


_rule_paths = click.option("--rules", "rule_paths", multiple=True,
                           type=click.Path(path_type=Path), help="Extra rule file or folder.")
_config_option = click.option("--config", "config_path", type=click.Path(path_type=Path),
                              envvar=env_name("config"), help="Config file.")


@rules.command("list")
@_rule_paths
@_config_option
@selection_options
@click.option("--severity", "severities", multiple=True, metavar="LEVEL[,LEVEL]",
              callback=split_severities, help="Only rules of these severities (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only rules with one of these tags (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@lang_option
@click.pass_context
def rules_list(ctx: click.Context, /, **p: Any) -> int:
    """List the rules in force (built-in, config and --rules), as a scan would run them."""
    config = configured(ctx, p)
    shown = app.ListFilter(selection(p), p["severities"], tuple(p["tags"]))
    return app.rules_list(p["rule_paths"], config, p["fmt"], sys.stdout, shown,
                          lang=chosen_lang(p))


@rules.command("show")
@click.argument("rule_id")
@_rule_paths
@_config_option
@lang_option
@click.pass_context
def rules_show(ctx: click.Context, /, **p: Any) -> int:
    """Show one rule: why it matters and how to fix it."""
    config = configured(ctx, p)
    return app.rules_show(p["rule_id"], p["rule_paths"], config, sys.stdout,
                          lang=chosen_lang(p))


@rules.command("explain")
@click.argument("rule_id")
@_rule_paths
@_config_option
def rules_explain(rule_id: str, rule_paths: tuple[Path, ...], config_path: Path | None) -> int:
    """Show how a rule is evaluated: its normalised conditions and the generated code."""
    return app.rules_explain(rule_id, rule_paths, read_config(config_path), sys.stdout)


@rules.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def rules_validate(paths: tuple[Path, ...]) -> int:
    """Check rule files; every problem with file:line:column."""
    return app.rules_validate(paths, sys.stdout)


@rules.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def rules_test(paths: tuple[Path, ...]) -> int:
    """Run the `tests:` examples inside rule files."""
    return app.rules_test(paths, sys.stdout)


@rules.command("schema")
def rules_schema() -> int:
    """Print the JSON Schema of the rule format (for editors)."""
    return app.rules_schema(sys.stdout)


cli.add_command(history)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: maps every error to its exit code (errors.EXIT_CODES), once."""
    args = list(sys.argv[1:] if argv is None else argv)
    asked = ErrorFormat(args)  # with --format json, each error is also JSON on stdout
    with watched(remove_staged) as watch:  # Ctrl-C and SIGTERM: auditor/cli/interrupts.py
        try:
            return _run(args, asked)
        except (click.exceptions.Abort, KeyboardInterrupt, Terminated) as exc:
            if watch is not None:
                watch.said = True
            if isinstance(exc, Terminated):
                click.echo("imgaudit: terminated", err=True)
                code = EXIT_TERMINATED
            else:
                click.echo("imgaudit: interrupted", err=True)
                write_error(asked, exc, sys.stdout)
                code = EXIT_INTERRUPTED
            _drop_stdout()  # what is still buffered is half a report, and its reader may stall
            return code


def _run(args: list[str], asked: ErrorFormat) -> int:
    """The command, and every error but Ctrl-C and SIGTERM as its one line and exit code."""
    try:
        with gc_paused():  # the one GC pause: auditor/gcpause.py
            result = cli.main(args=args, prog_name="imgaudit", standalone_mode=False,
                              obj=asked)
        sys.stdout.flush()
    except click.exceptions.Abort:  # Ctrl-C inside click (a RuntimeError): main's
        raise
    except click.ClickException as exc:
        exc.show()
        write_error(asked, exc, sys.stdout)
        return EXIT_USAGE  # click's own FileError would say 1: a verdict it is not
    except AuditError as exc:
        if _verbose(args):
            _traceback()
        # one line per problem; other messages (which may quote a server) stay on one line
        several = isinstance(exc, (RuleError, UsageError))
        lines = str(exc).split("\n") if several else [str(exc)]
        for line in lines:
            click.echo(f"imgaudit: error: {visible(line)}", err=True)
        write_error(asked, exc, sys.stdout)
        if isinstance(exc, OutputError) and exc.stdout:
            _drop_stdout()
        return exc.exit_code
    except OSError as exc:  # standard output closed or full at the final flush
        click.echo(f"imgaudit: error: cannot write standard output: {exc.strerror}", err=True)
        _drop_stdout()
        return EXIT_OUTPUT
    except Exception as exc:  # a bug: never a verdict, never a traceback unless asked
        if _verbose(args):
            _traceback()
        click.echo(f"imgaudit: internal error ({type(exc).__name__}); this is a bug in "
                   "imgaudit: run again with -v for the traceback and report it", err=True)
        write_error(asked, exc, sys.stdout)
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0


def _traceback() -> None:
    click.echo(visible(traceback.format_exc(), newlines=True), err=True, nl=False)


def _verbose(args: Sequence[str]) -> bool:
    flags = args[: args.index("--")] if "--" in args else args
    env = os.environ.get(VERBOSE_ENV, "").lower() not in ("", "0", "false", "no")
    return env or "-v" in flags or "--verbose" in flags


def _drop_stdout() -> None:
    """Point standard output at /dev/null: the unwritable text still buffered must not fail
    again, as a traceback, when Python flushes it at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file descriptor (a test's captured stream)


if __name__ == "__main__":
    raise SystemExit(main())
