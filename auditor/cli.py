"""The command line: click commands that parse options and call one function in auditor.app.

Precedence: command line > environment (IMGAUDIT_<OPTION>) > config file > defaults. click
tells where each value came from; a value still at its default takes the config file's.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from auditor import __version__, app
from auditor.collector import CollectRequest
from auditor.config import DEFAULT_CONFIG_NAME, Config, load_config
from auditor.errors import EXIT_USAGE, AuditError, UsageError
from auditor.findings import FAIL_ON_CHOICES
from auditor.models import IMAGE_STATUSES, OWNER_ALIASES, Scope
from auditor.reporters import FORMATS

REPORT_FILE_OPTIONS = ("json", "sarif", "html", "junit", "markdown")
_VERBOSE_ENV = "IMGAUDIT_VERBOSE"


def _env(name: str) -> str:
    return f"IMGAUDIT_{name.upper()}"


def _config(path: Path | None) -> Config:
    if path is not None:
        return load_config(path)
    default = Path(DEFAULT_CONFIG_NAME)
    return load_config(default) if default.is_file() else Config()


def _apply_config_defaults(ctx: click.Context, config: Config, params: dict[str, Any]) -> None:
    """Options the user left at their default take the config file's value."""
    for name, value in config.option_defaults().items():
        if name in params and ctx.get_parameter_source(name) == ParameterSource.DEFAULT:
            params[name] = tuple(value) if isinstance(params[name], tuple) else value


def _split(value: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if items == ["all"]:
        return list(allowed)
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise UsageError(f"unknown {what} {', '.join(unknown) or repr(value)}; "
                         f"choose from {', '.join(allowed)} or all")
    return items


def _tag_filters(tags: Sequence[str]) -> dict[str, str]:
    filters = {}
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tag {tag!r}: expected KEY=VALUE")
        filters[f"Tag.{key.strip()}"] = value
    return filters


def _scope(p: dict[str, Any]) -> Scope:
    """Filters keyed by the API's own parameter names (tags as `Tag.<key>`)."""
    filters = {
        "OSType": p["os_type"], "Architecture": p["arch"], "ImageFamily": p["image_family"],
        "Usage": p["usage"],
        "CreationStartTime": p["created_after"], "CreationEndTime": p["created_before"],
    }
    return Scope(
        owners=_split(p["owner"], OWNER_ALIASES, "owner"),
        statuses=_split(p["status"], IMAGE_STATUSES, "status"),
        filters={k: v for k, v in filters.items() if v} | _tag_filters(p["tag"]),
    )


def _collect_request(p: dict[str, Any]) -> CollectRequest | None:
    if not p["region"]:
        return None
    if p["concurrency"] < 1:
        raise UsageError("--concurrency must be at least 1")
    return CollectRequest(
        regions=list(p["region"]), scope=_scope(p), endpoint=p["endpoint"],
        profile=p["profile"], signature=p["signature"], concurrency=p["concurrency"],
    )


class _TerminalProgress:
    """One status line on stderr: regions done, pages and images listed so far."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}
        self.images: dict[str, int] = {}
        self.done, self.total = 0, 0

    def page(self, region: str, pages: int, images: int) -> None:
        self.pages[region], self.images[region] = pages, images
        self._draw()

    def region(self, region: str, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._draw()
        if done == total:
            click.echo("", err=True)

    def _draw(self) -> None:
        regions = f"{self.done}/{self.total}" if self.total else "…"
        click.echo(f"\r\033[Kregions {regions}, {sum(self.pages.values())} pages, "
                   f"{sum(self.images.values())} images", err=True, nl=False)


def _progress(quiet: bool) -> _TerminalProgress | None:
    """Progress on stderr only for a person watching a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    return _TerminalProgress()


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, force=True,
                        format="imgaudit: %(levelname)s: %(message)s")


def _collect_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `scan` and `collect`: where and what to collect."""
    options = [
        click.option("--region", multiple=True, envvar=_env("region"),
                     help="Region id to collect (repeatable), or `all`."),
        click.option("--owner", default="self", show_default=True, envvar=_env("owner"),
                     help="Image owner aliases: self,others,system,marketplace or all."),
        click.option("--status", default="all", show_default=True, envvar=_env("status"),
                     help="Image states, comma-separated, or all."),
        click.option("--os-type", type=click.Choice(["linux", "windows"]), help="OSType filter."),
        click.option("--arch", type=click.Choice(["i386", "x86_64", "arm64"]),
                     help="Architecture filter."),
        click.option("--tag", multiple=True, metavar="KEY=VALUE", help="Tag filter (repeatable)."),
        click.option("--image-family", help="ImageFamily filter."),
        click.option("--usage", type=click.Choice(["instance", "none"]), help="Usage filter."),
        click.option("--created-after", metavar="YYYY-MM-DDTHH:MMZ", help="CreationStartTime."),
        click.option("--created-before", metavar="YYYY-MM-DDTHH:MMZ", help="CreationEndTime."),
        click.option("--endpoint", envvar=_env("endpoint"),
                     help="API base URL (default https://ecs.<region>.aliyuncs.com)."),
        click.option("--profile", envvar=_env("profile"), help="aliyun CLI profile name."),
        click.option("--signature", type=click.Choice(["v3", "v1"]), default="v3",
                     show_default=True, envvar=_env("signature"), help="Request signature."),
        click.option("--concurrency", type=int, default=4, show_default=True,
                     envvar=_env("concurrency"), help="Regions (and pages) collected at once."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     envvar=_env("config"), help=f"Config file (default ./{DEFAULT_CONFIG_NAME})."),
        click.option("-q", "--quiet", is_flag=True, help="No progress, errors only on stderr."),
        click.option("-v", "--verbose", is_flag=True, envvar=_VERBOSE_ENV,
                     help="Debug logging; tracebacks on errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imgaudit")
def cli() -> None:
    """imgaudit: a compliance linter for Alibaba Cloud ECS images."""


@cli.command()
@_collect_options
@click.option("--input", "inputs", multiple=True, type=click.Path(path_type=Path),
              help="Saved inventory or raw DescribeImages JSON (repeatable) instead of --region.")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule file or folder (repeatable).")
@click.option("--no-builtin-rules", is_flag=True, help="Use only the rules given.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              envvar=_env("format"), help="What goes to stdout.")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Write JSON report.")
@click.option("--sarif", "sarif_file", type=click.Path(path_type=Path), help="Write SARIF.")
@click.option("--html", "html_file", type=click.Path(path_type=Path), help="Write HTML report.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path), help="Write JUnit XML.")
@click.option("--markdown", "markdown_file", type=click.Path(path_type=Path),
              help="Write Markdown summary.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="low", show_default=True,
              envvar=_env("fail_on"), help="Lowest severity that fails the gate.")
@click.option("--baseline", type=click.Path(path_type=Path),
              help="Previous JSON report: only new findings fail the gate.")
@click.option("--sarif-suppressed/--no-sarif-suppressed", default=True, show_default=True,
              help="Keep waived findings in SARIF as suppressed results.")
@click.option("--save-inventory", type=click.Path(path_type=Path),
              help="Also save the collected inventory.")
@click.pass_context
def scan(ctx: click.Context, **p: Any) -> int:
    """Collect (or read) images, evaluate the rules, report; the exit code is the gate."""
    _setup_logging(p["verbose"], p["quiet"])
    config = _config(p["config_path"])
    _apply_config_defaults(ctx, config, p)
    region_given = ctx.get_parameter_source("region") == ParameterSource.COMMANDLINE
    if p["inputs"] and p["region"] and region_given:
        raise UsageError("give either --region (collect live) or --input FILE, not both")
    if config.builtin_rules and p["no_builtin_rules"]:
        config = config.model_copy(update={"builtin_rules": False})
    options = app.ScanOptions(
        inputs=list(p["inputs"]),
        collect=None if p["inputs"] else _collect_request(p),
        rule_paths=list(p["rule_paths"]),
        config=config,
        fail_on=p["fail_on"],
        stdout_format=p["fmt"],
        files={fmt: p[f"{fmt}_file"] for fmt in REPORT_FILE_OPTIONS if p[f"{fmt}_file"]},
        baseline=p["baseline"],
        save_inventory=p["save_inventory"],
        include_suppressed=p["sarif_suppressed"],
        color=sys.stdout.isatty() and p["fmt"] == "text",
        command_line=["imgaudit", *sys.argv[1:]],
        progress=_progress(p["quiet"]),
    )
    return app.run_scan(options, sys.stdout)


@cli.command()
@_collect_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Where to write the inventory JSON.")
@click.pass_context
def collect(ctx: click.Context, **p: Any) -> int:
    """Collect the inventory only (no rules), for a later `scan --input`."""
    _setup_logging(p["verbose"], p["quiet"])
    _apply_config_defaults(ctx, _config(p["config_path"]), p)
    request = _collect_request(p)
    if request is None:
        raise UsageError("collect needs --region ID (repeatable) or --region all")
    return app.run_collect(request, p["output"], _progress(p["quiet"]))


@cli.group()
def rules() -> None:
    """List, show, validate and test rules."""


_rule_paths = click.option("--rules", "rule_paths", multiple=True,
                           type=click.Path(path_type=Path), help="Extra rule file or folder.")
_config_option = click.option("--config", "config_path", type=click.Path(path_type=Path),
                              envvar=_env("config"), help="Config file.")


@rules.command("list")
@_rule_paths
@_config_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
def rules_list(rule_paths: tuple[Path, ...], config_path: Path | None, fmt: str) -> int:
    """List the rules in force (built-in, config and --rules)."""
    return app.rules_list(rule_paths, _config(config_path), fmt, sys.stdout)


@rules.command("show")
@click.argument("rule_id")
@_rule_paths
@_config_option
def rules_show(rule_id: str, rule_paths: tuple[Path, ...], config_path: Path | None) -> int:
    """Show one rule: why it matters and how to fix it."""
    return app.rules_show(rule_id, rule_paths, _config(config_path), sys.stdout)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: maps every expected error to its exit code, once."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="imgaudit", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("imgaudit: aborted", err=True)
        return EXIT_USAGE
    except AuditError as exc:
        if "-v" in args or "--verbose" in args:
            traceback.print_exc()
        for line in str(exc).splitlines():
            click.echo(f"imgaudit: error: {line}", err=True)
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
