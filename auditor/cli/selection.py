"""`--rule`, `--skip-rule`, `--min-severity` and `--framework`: which loaded rules run (scan,
rules list).

Each option's config key (`select`, `disable`, `min_severity`) is its default and the
environment (`IMGAUDIT_RULE`, `IMGAUDIT_SKIP_RULE`: space-separated) wins over that; a value
given replaces the config's list rather than adding to it, as Checkov's flags replace its
config file's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.options import env_name
from auditor.findings import SEVERITIES, Severity
from auditor.frameworks import FRAMEWORKS

if TYPE_CHECKING:
    from auditor.engine import Selection


def selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--rule", multiple=True, metavar="ID|GLOB", envvar=env_name("rule"),
                     help="Run only these rules (repeatable; globs like 'IMG-*' allowed)."),
        click.option("--skip-rule", multiple=True, metavar="ID|GLOB",
                     envvar=env_name("skip_rule"), help="Do not run these rules (repeatable)."),
        click.option("--min-severity", type=click.Choice(SEVERITIES),
                     envvar=env_name("min_severity"), help="Do not run rules below this."),
        click.option("--framework", "frameworks", multiple=True, metavar="ID",
                     envvar=env_name("framework"),
                     help="Only rules mapped to this framework (repeatable; "
                          f"{', '.join(FRAMEWORKS)}; see docs/frameworks.md)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selection(p: dict[str, Any]) -> Selection:
    from auditor.engine import Selection  # the engine only for the commands that run rules

    level = p["min_severity"]
    return Selection(tuple(p["rule"]), tuple(p["skip_rule"]),
                     Severity(level) if level is not None else None, tuple(p["frameworks"]))


def split_severities(_ctx: click.Context, param: click.Parameter,
                     values: tuple[str, ...]) -> tuple[Severity, ...]:
    """`--severity high,critical` or repeated, as Trivy takes it; each checked."""
    items = [v.strip().lower() for value in values for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in SEVERITIES]
    if unknown:
        raise click.BadParameter(f"unknown severity {unknown[0]!r}; choose from "
                                 f"{', '.join(SEVERITIES)}", param=param)
    return tuple(Severity(v) for v in items)
