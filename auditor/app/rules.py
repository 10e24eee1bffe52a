"""`imgaudit rules ...`: list, show, explain, validate and test rules; print the rule format's
schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from auditor.config import Config
from auditor.engine import RuleSet, Selection, load_rules, rule_json_schema, run_rule_tests
from auditor.engine.codegen import generate
from auditor.engine.conditions import tree_lines
from auditor.engine.evaluate import utc_today
from auditor.errors import EXIT_OK, EXIT_POLICY, UsageError
from auditor.findings import RuleInfo, Severity
from auditor.frameworks import FRAMEWORKS
from auditor.lang import DEFAULT_LANG
from auditor.reporters.i18n import catalogue
from auditor.safetext import visible as v


def _ruleset(paths: Sequence[Path], config: Config) -> RuleSet:
    return load_rules([*config.rule_paths(), *paths], builtin=config.builtin_rules, config=config)


@dataclass(frozen=True)
class ListFilter:
    """What `rules list` shows: the selection a scan would run, then severities and tags."""

    selection: Selection | None = None  # None: the config's
    severities: tuple[Severity, ...] = ()
    tags: tuple[str, ...] = ()

    def keep(self, info: RuleInfo) -> bool:
        return ((not self.severities or info.severity in self.severities)
                and (not self.tags or bool(set(self.tags) & set(info.tags))))


def markdown_table(infos: Sequence[RuleInfo], frameworks: Sequence[str] = ()) -> str:
    """The README's rule table; a test regenerates it and fails on drift. With `frameworks`
    (`--framework`), a column of each rule's controls in them."""
    if frameworks:
        rows = ["| id | severity | controls | title |", "| --- | --- | --- | --- |"]
        rows += [f"| `{r.id}` | {r.severity.value} | {controls_text(r, frameworks)} | {r.title} |"
                 for r in infos]
    else:
        rows = ["| id | severity | title |", "| --- | --- | --- |"]
        rows += [f"| `{r.id}` | {r.severity.value} | {r.title} |" for r in infos]
    return "\n".join(rows) + "\n"


def controls_text(info: RuleInfo, frameworks: Sequence[str]) -> str:
    """`cis-alibaba-v2 4.2, 4.5; mlps2-l3 8.1.4.8`: the rule's controls in `frameworks`."""
    return "; ".join(f"{f} {', '.join(info.frameworks[f])}" for f in frameworks
                     if f in info.frameworks)


def rules_list(paths: Sequence[Path], config: Config, fmt: str, out: TextIO,
               shown: ListFilter | None = None, lang: str = DEFAULT_LANG) -> int:
    """The severity column stays the id `--severity` takes; only the title (the last column,
    so a wide CJK title cannot shift the others) is translated."""
    shown = shown or ListFilter()
    ruleset = _ruleset(paths, config).select(shown.selection or Selection.from_config(config))
    infos = [info for info in ruleset.infos(lang) if shown.keep(info)]
    frameworks = shown.selection.frameworks if shown.selection else ()
    if fmt == "markdown":
        out.write(markdown_table(infos, frameworks))
    elif fmt == "json":
        out.write(json.dumps([i.model_dump(mode="json") for i in infos], indent=2,
                             ensure_ascii=False) + "\n")
    else:
        width = max((len(i.id) for i in infos), default=2)
        controls = {i.id: controls_text(i, frameworks) for i in infos}
        cwidth = max((len(c) for c in controls.values()), default=0)
        for info in infos:
            column = f"{v(controls[info.id]):<{cwidth}}  " if frameworks else ""
            out.write(f"{v(info.id):<{width}}  {info.severity.value:<8}  {column}"
                      f"{v(info.title)}\n")
    return EXIT_OK


def rules_show(rule_id: str, paths: Sequence[Path], config: Config, out: TextIO,
               lang: str = DEFAULT_LANG) -> int:
    infos = {i.id: i for i in _ruleset(paths, config).infos(lang)}
    if rule_id not in infos:
        import difflib

        close = difflib.get_close_matches(rule_id, list(infos), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"no rule {rule_id!r}{hint}; `imgaudit rules list` shows them all")
    info, t = infos[rule_id], catalogue(lang)
    out.write(f"{v(info.id)}  [{info.severity.value}]  {v(info.title)}\n\n")
    for label, text in ((t("rules.why"), info.description),
                        (t("rules.remediation"), info.remediation)):
        if text:
            out.write(f"{label}:\n{v(text.rstrip(), newlines=True)}\n\n")
    for ref in info.references:
        out.write(f"{t('rules.see')}: {v(ref)}\n")
    if info.tags:
        out.write(f"{t('rules.tags')}: {v(', '.join(info.tags))}\n")
    if info.frameworks:
        out.write(f"{t('rules.controls')}:\n")
    for framework_id, controls in info.frameworks.items():
        known = FRAMEWORKS[framework_id].controls
        for control in controls:
            title = f"  {known[control]}" if control in known else ""
            out.write(f"  {v(framework_id)} {v(control)}{title}\n")
    return EXIT_OK


def rules_explain(rule_id: str, paths: Sequence[Path], config: Config, out: TextIO) -> int:
    """The rule as the engine sees it: its normalised condition tree (params resolved) and
    the Python source generated for it, with what each generated name stands for."""
    rule = _ruleset(paths, config).get(rule_id)
    generated = generate(rule.when, rule.require, rule.params, utc_today(), rule.id)
    out.write(f"{rule.id}  [{rule.severity.value}]  {rule.spec.title}\n")
    out.write(f"defined at {rule.where}\n\n")
    for label, cond in (("when", rule.when), ("require", rule.require)):
        out.write(f"{label}:\n")
        lines = tree_lines(cond, rule.params, "  ") if cond is not None else ["  (every image)"]
        out.write("\n".join(lines) + "\n")
    out.write(f"\ngenerated filter ({generated.filename}): an image fails when `when` holds "
              "and `require` does not\n")
    for number, line in enumerate(generated.source.splitlines(), 1):
        out.write(f"{number:4}  {line}\n")
    if generated.notes:
        out.write("\nwhere\n")
        for name, note in generated.notes.items():
            out.write(f"  {name} = {note}\n")
    return EXIT_OK


def rules_validate(paths: Sequence[Path], out: TextIO) -> int:
    """Errors raise RuleError (exit 2, every problem on its own line)."""
    ruleset = load_rules(paths, builtin=False)
    out.write(f"ok: {len(ruleset.rules)} rules valid\n")
    return EXIT_OK


def rules_test(paths: Sequence[Path], out: TextIO) -> int:
    results = run_rule_tests(paths)
    failed = [r for r in results if not r.passed]
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        line = f"{status}  {v(result.rule_id)}  {v(result.case)}"
        if not result.passed and result.detail:
            line += f": {v(result.detail)}"
        out.write(line + "\n")
    out.write(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
    return EXIT_POLICY if failed else EXIT_OK


def rules_schema(out: TextIO) -> int:
    out.write(json.dumps(rule_json_schema(), indent=2) + "\n")
    return EXIT_OK
