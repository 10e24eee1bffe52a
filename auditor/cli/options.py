"""Option parsing shared by the commands: config precedence, scope, the collect request."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from auditor.collector import DEFAULT_ROLE_NAME, CollectRequest
from auditor.collector.params import OWNER_CHOICES, api_time, owner_scopes
from auditor.config import DEFAULT_CONFIG_NAME, Config, load_config
from auditor.errors import RuleError, UsageError
from auditor.formats import FILE_FORMATS, FORMATS
from auditor.lang import LANGS, Lang, locale_lang
from auditor.models import IMAGE_STATUSES, Scope
from auditor.safetext import visible
from auditor.scoping import OfflineScope

VERBOSE_ENV = "IMGAUDIT_VERBOSE"
NOW_ENV = "IMGAUDIT_NOW"


def env_name(name: str) -> str:
    return f"IMGAUDIT_{name.upper()}"


def fixed_now() -> datetime | None:
    """The time `IMGAUDIT_NOW` sets (ISO 8601 with a zone, e.g. 2026-11-27T08:00:00Z), else None
    (the system clock). For reproducible reports and histories: the example month in reports/,
    tests. It is the scan's start and finish time and its `today` (image ages, waiver expiry),
    and the time `history prune` counts back from."""
    value = os.environ.get(NOW_ENV)
    if not value:
        return None
    try:  # (Python 3.10's fromisoformat does not read a `Z`)
        when = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise UsageError(f"{NOW_ENV}={value!r}: expected an ISO 8601 time with its zone, "
                         "such as 2026-11-27T08:00:00Z")
    return when.astimezone(timezone.utc)


def read_config(path: Path | None) -> Config:
    if path is not None:
        return load_config(path)
    default = Path(DEFAULT_CONFIG_NAME)
    return load_config(default) if default.is_file() else Config()


def configured(ctx: click.Context, params: dict[str, Any]) -> Config:
    """The config file (--config, or ./imgaudit.yaml); options the user left at their
    default take its value."""
    config = read_config(params["config_path"])
    if config.role_name is not None:  # checked here: auditor.config is below the collector
        from auditor.collector.accounts import check_role_name  # only for organisation scans

        try:
            check_role_name(config.role_name)
        except ValueError as error:
            raise RuleError([config.problem(("role_name",), str(error))]) from None
    for name, value in config.option_defaults().items():
        if name in params and ctx.get_parameter_source(name) == ParameterSource.DEFAULT:
            params[name] = tuple(value) if isinstance(params[name], tuple) else value
    return config


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
        owners=owner_scopes(p["owner"].split(",")),
        statuses=_split(p["status"], IMAGE_STATUSES, "status"),
        filters={k: v for k, v in filters.items() if v} | _tag_filters(p["tag"]),
    )


def input_scope(ctx: click.Context, p: dict[str, Any]) -> OfflineScope:
    """The scope flags given (command line, environment or config file) for an `--input`
    scan: each filters the files as the API would (auditor.scoping). `--owner` and `--status`
    filter only when given: their defaults are a collection's, and a file is read whole."""
    scope = _scope(p)
    filters = dict(scope.filters)
    for key, flag in (("CreationStartTime", "--created-after"),
                      ("CreationEndTime", "--created-before")):
        if key in filters:
            filters[key] = api_time(filters[key], flag)
    return OfflineScope(
        owners=scope.owners if _given(ctx, p, "owner") else None,
        statuses=scope.statuses if _given(ctx, p, "status") else None,
        filters=filters,
    )


def _given(ctx: click.Context, p: dict[str, Any], name: str) -> bool:
    if ctx.get_parameter_source(name) != ParameterSource.DEFAULT:
        return True
    param = next(param for param in ctx.command.params if param.name == name)
    return bool(p[name] != param.get_default(ctx))  # set by the config file


def collect_request(p: dict[str, Any]) -> CollectRequest | None:
    organisation = p["accounts_file"] is not None or p["resource_directory"]
    if not p["region"] and not organisation:
        return None
    if p["concurrency"] < 1:
        raise UsageError("--concurrency must be at least 1")
    from auditor.collector.accounts import check_role_name, load_accounts  # a live scan's

    try:
        role_name = check_role_name(p["role_name"])
    except ValueError as error:
        raise UsageError(f"--role-name: {error}") from None
    return CollectRequest(
        regions=list(p["region"]), scope=_scope(p), endpoint=p["endpoint"],
        profile=p["profile"], signature=p["signature"], concurrency=p["concurrency"],
        timeout=p["timeout"],
        accounts=tuple(load_accounts(p["accounts_file"])) if p["accounts_file"] else None,
        resource_directory=p["resource_directory"], role_name=role_name,
        caller_account=p["caller_account"], sharing=bool(p["sharing"]),
        instances=bool(p["instances"]),
    )


class VisibleFormatter(logging.Formatter):
    """Log lines carry cloud strings (region errors, server messages): one line each, with
    control characters shown escaped, never sent to the terminal raw."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), newlines=bool(record.exc_info))


def report_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--format NAME` and one `--NAME FILE` per format that writes a file (auditor.formats)."""
    options = [click.option("--format", type=click.Choice(FORMATS), default="text",
                            show_default=True, envvar=env_name("format"),
                            help="What goes to stdout.")]
    options += [click.option(f"--{fmt.name}", f"{fmt.name}_file", type=click.Path(path_type=Path),
                             help=f"Write {fmt.written}.") for fmt in FILE_FORMATS]
    for option in reversed(options):
        func = option(func)
    return func


def report_files(p: dict[str, Any]) -> dict[str, Path]:
    """The report files asked for, by format (`-`: standard output)."""
    return {fmt.name: p[f"{fmt.name}_file"] for fmt in FILE_FORMATS if p[f"{fmt.name}_file"]}


lang_option = click.option(
    "--lang", type=click.Choice(LANGS), envvar=env_name("lang"),
    help="Language of rule texts and reports (default: the config file's `lang`, else the "
         "locale: LC_ALL, LC_MESSAGES, LANG; zh_CN.* is zh-CN, anything else en).")


def chosen_lang(p: dict[str, Any]) -> Lang:
    """`--lang`, IMGAUDIT_LANG or the config file's `lang` (already in `p`), else the locale."""
    lang: Lang | None = p.get("lang")
    return lang if lang is not None else locale_lang()


def setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter("imgaudit: %(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def collect_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `scan` and `collect`: where and what to collect."""
    options = [
        click.option("--region", multiple=True, envvar=env_name("region"),
                     help="Region id to collect (repeatable), or `all`."),
        click.option("--owner", default="self", show_default=True, envvar=env_name("owner"),
                     help=f"Image owners, comma-separated: {OWNER_CHOICES}. `shared`: "
                     "images other accounts share with yours; `community`: images other "
                     "accounts publish to everyone."),
        click.option("--status", default="all", show_default=True, envvar=env_name("status"),
                     help="Image states, comma-separated, or all."),
        click.option("--os-type", type=click.Choice(["linux", "windows"]), help="OSType filter."),
        click.option("--arch", type=click.Choice(["i386", "x86_64", "arm64"]),
                     help="Architecture filter."),
        click.option("--tag", multiple=True, metavar="KEY=VALUE", help="Tag filter (repeatable)."),
        click.option("--image-family", help="ImageFamily filter."),
        click.option("--usage", type=click.Choice(["instance", "none"]), help="Usage filter."),
        click.option("--created-after", metavar="YYYY-MM-DDTHH:MMZ", help="CreationStartTime."),
        click.option("--created-before", metavar="YYYY-MM-DDTHH:MMZ", help="CreationEndTime."),
        click.option("--accounts", "accounts_file", type=click.Path(path_type=Path),
                     envvar=env_name("accounts"),
                     help="Accounts file (YAML): scan these accounts too, each through its "
                     "role (docs/organisation.md)."),
        click.option("--resource-directory", is_flag=True,
                     help="Scan every active member of the caller's Resource Directory "
                     "(ResourceManager ListAccounts), each through --role-name."),
        click.option("--role-name", default=DEFAULT_ROLE_NAME, show_default=True,
                     envvar=env_name("role_name"),
                     help="Role assumed in each member account that names no role_arn."),
        click.option("--caller-account/--no-caller-account", default=True, show_default=True,
                     help="With --accounts or --resource-directory: scan the caller's own "
                     "account too."),
        click.option("--endpoint", envvar=env_name("endpoint"),
                     help="API base URL (default https://ecs.<region>.aliyuncs.com)."),
        click.option("--profile", envvar=env_name("profile"), help="aliyun CLI profile name."),
        click.option("--signature", type=click.Choice(["v3", "v1"]), default="v3",
                     show_default=True, envvar=env_name("signature"), help="Request signature."),
        click.option("--concurrency", type=int, default=4, show_default=True,
                     envvar=env_name("concurrency"), help="Regions (and pages) collected at once."),
        click.option("--instances/--no-instances", default=None, envvar=env_name("instances"),
                     help="List each region's instances (DescribeInstances): each image names "
                     "the instances that run it, and images they run outside the scope are "
                     "looked up. scan: by default when a selected rule reads or shows "
                     "InstanceIds."),
        click.option("--sharing/--no-sharing", default=None, envvar=env_name("sharing"),
                     help="Ask who each shared or published self image is shared with "
                     "(DescribeImageSharePermission). scan: by default when a selected rule "
                     "reads SharePermission."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0,
                     show_default=True, envvar=env_name("timeout"),
                     help="Seconds one API request may take, from connecting to the last byte "
                     "of its answer."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     envvar=env_name("config"),
                     help=f"Config file (default ./{DEFAULT_CONFIG_NAME})."),
        click.option("-q", "--quiet", is_flag=True, help="No progress, errors only on stderr."),
        click.option("-v", "--verbose", is_flag=True, envvar=VERBOSE_ENV,
                     help="Debug logging; tracebacks on errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
