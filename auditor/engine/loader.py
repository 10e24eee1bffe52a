"""Find, read and validate rule files; apply the config file; return a RuleSet.

Everything is validated before anything runs, and all problems are reported together, each
with file, line and column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from auditor.config import Config
from auditor.engine.conditions import param_uses
from auditor.engine.operators import OPERATORS
from auditor.engine.patterns import PatternError, check_glob, glob_matcher
from auditor.engine.rule import Rule, build_rule
from auditor.engine.ruleset import RuleSet, unmatched_problem
from auditor.engine.waivers import is_glob
from auditor.errors import InputError, RuleError, SourceProblem
from auditor.yamlio import Loc, YamlDoc, did_you_mean, read_yaml

RULE_SUFFIXES = (".yaml", ".yml")


def builtin_rules_dir() -> Path:
    """`<package>/builtin_rules` in an installed wheel, else the repository's `rules/`."""
    package = Path(__file__).resolve().parents[1]
    shipped = package / "builtin_rules"
    return shipped if shipped.is_dir() else package.parent / "rules"


MAX_FOLDER_ENTRIES = 100_000  # files and folders looked at under one rule folder


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders searched recursively for *.yaml / *.yml, in sorted order.
    Raises RuleError naming every path that cannot be used."""
    problems: list[SourceProblem] = []
    files = _find_files(paths, problems, {})
    if problems:
        raise RuleError(problems)
    return files


def _find_files(paths: Sequence[Path], problems: list[SourceProblem],
                where: dict[Path, SourceProblem]) -> list[Path]:
    """`where` maps a path named in the config file to a problem at its line there."""
    files: list[Path] = []
    for path in paths:
        def fail(text: str, path: Path = path) -> None:
            at = where.get(path)
            problems.append(SourceProblem(at.path, at.line, at.column, f"{path}: {text}")
                            if at else SourceProblem(str(path), 0, 0, text))

        if path.is_dir():
            found = _walk(path, fail)
            if found == []:  # most likely a wrong path: say so rather than check nothing
                fail("folder holds no rule files (*.yaml, *.yml)")
            files += found or []
        elif path.exists():
            files.append(path)
        else:
            fail("no such rule file or folder")
    return files


def _walk(folder: Path, fail: Callable[[str], None]) -> list[Path] | None:
    """Rule files under `folder` (None: too many entries). Symlinks are followed, but a folder
    already searched (a symlink loop, or two links to one folder) is searched once; the walk
    stops with a problem after MAX_FOLDER_ENTRIES entries (`rules: [/]` must not read the
    whole disk)."""
    found: list[Path] = []
    seen = {os.path.realpath(folder)}
    stack, entries = [folder], 0
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as scan:
                items = list(scan)
        except OSError as exc:
            fail(f"cannot read folder {current}: {exc.strerror or exc}")
            continue
        entries += len(items)
        if entries > MAX_FOLDER_ENTRIES:
            fail(f"more than {MAX_FOLDER_ENTRIES} files and folders under it; give the rule "
                 "folder itself")
            return None
        for entry in items:
            path = Path(entry.path)
            if _is_dir(entry):
                real = os.path.realpath(path)
                if real not in seen:
                    seen.add(real)
                    stack.append(path)
            elif path.suffix in RULE_SUFFIXES and (entry.is_symlink() or entry.is_file()):
                found.append(path)  # a broken link is read, and reported, like a missing file
    return sorted(found)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a symlink loop (ELOOP)
        return False


def _rule_values(doc: YamlDoc, problems: list[SourceProblem]) -> Iterator[tuple[object, Loc]]:
    """A document is one rule, or `rules: [...]`."""
    value = doc.value
    if isinstance(value, dict) and "rules" in value:
        if set(value) != {"rules"} or not isinstance(value["rules"], list):
            problems.append(doc.problem(("rules",), "a file with `rules:` holds only a list of "
                                        "rules under that key", key=True))
            return
        for i, item in enumerate(value["rules"]):
            yield item, ("rules", i)
    elif value is not None:
        yield value, ()


def _read_rules(files: list[Path], problems: list[SourceProblem]) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, str] = {}  # rule id -> where it was first defined
    for path in files:
        try:
            docs = read_yaml(path)
        except RuleError as exc:
            problems += exc.problems
            continue
        except InputError as exc:  # unreadable, not a regular file, too large
            problems.append(SourceProblem(exc.path, 0, 0, exc.problem))
            continue
        for doc in docs:
            for value, base in _rule_values(doc, problems):
                rule, found = build_rule(doc, value, base)
                problems += found
                rule_id = value.get("id") if isinstance(value, dict) else None
                if isinstance(rule_id, str) and rule_id in seen:
                    problems.append(doc.problem((*base, "id"), f"duplicate rule id {rule_id!r} "
                                                f"(first defined at {seen[rule_id]})"))
                    continue
                if isinstance(rule_id, str):
                    seen[rule_id] = _where(doc, (*base, "id"))
                if rule is not None:
                    rules.append(rule)
    return rules


def _where(doc: YamlDoc, loc: Loc) -> str:
    line, column = doc.mark(loc)
    return f"{doc.path}:{line}:{column}"


def load_rules(
    paths: Sequence[Path], *, builtin: bool = True, config: Config | None = None
) -> RuleSet:
    """Load, validate and configure rules; raises RuleError listing every problem.
    Paths that came from the config file's `rules:` are reported at their line there."""
    problems: list[SourceProblem] = []
    where = ({path: config.problem(("rules", i), "") for i, path in enumerate(config.rule_paths())}
             if config is not None else {})
    files = _find_files([builtin_rules_dir()] if builtin else [], problems, {})
    files += _find_files(list(paths), problems, where)
    rules = _read_rules(files, problems)
    if config is not None:
        _configure(rules, config, problems)
    for rule in rules:
        problems += _check_params(rule, config)
    if problems:
        order = {str(path): i for i, path in enumerate(files)}
        problems.sort(key=lambda p: (order.get(p.path, -1), p.path, p.line, p.column))
        raise RuleError(problems)
    return RuleSet(rules)


def _unknown_rule(config: Config, loc: Loc, rule_id: str, ids: set[str]) -> SourceProblem:
    text = f"unknown rule id {rule_id!r}{did_you_mean(rule_id, ids)}"
    return config.problem(loc, text, key=loc[0] in ("severity", "params"),
                          code="config.unknown-rule")


def _configure(rules: list[Rule], config: Config, problems: list[SourceProblem]) -> None:
    """Severity overrides and params applied; every rule id named checked. Which rules run
    (select, disable, min_severity) is `RuleSet.select`'s business: the command line may
    override those keys."""
    by_id = {rule.id: rule for rule in rules}
    ids = set(by_id)
    for key in ("select", "disable"):
        for i, pattern in enumerate(getattr(config, key)):
            problem = unmatched_problem(pattern, sorted(ids))
            if problem:
                problems.append(config.problem((key, i), problem, code="config.unknown-rule"))
    for rule_id, severity in config.severity.items():
        if rule_id in by_id:
            by_id[rule_id].severity = severity
        else:
            problems.append(_unknown_rule(config, ("severity", rule_id), rule_id, ids))
    for rule_id, values in config.params.items():
        if rule_id not in by_id:
            problems.append(_unknown_rule(config, ("params", rule_id), rule_id, ids))
            continue
        declared = by_id[rule_id].spec.params
        for name, value in values.items():
            if name in declared:
                by_id[rule_id].params[name] = value
            else:
                hint = did_you_mean(name, declared)
                known = f"; {rule_id} declares: {', '.join(declared)}" if declared else ""
                problems.append(config.problem(
                    ("params", rule_id, name), f"unknown param {name!r} for {rule_id}{hint}{known}",
                    key=True,
                ))
    for i, waiver in enumerate(config.waivers):
        if waiver.rule not in ids:
            problems.append(_unknown_rule(config, ("waivers", i, "rule"), waiver.rule, ids))
        for key, values in waiver.selectors().items():
            problems += _check_waiver_globs(config, ("waivers", i, key), values)


def _check_waiver_globs(config: Config, loc: tuple[str | int, ...],
                        values: list[str] | dict[str, str]) -> list[SourceProblem]:
    """Each glob of a waiver's selector must compile (see patterns.py), and so must all of
    a list's globs together (they run as one pattern)."""
    items = list(values.items()) if isinstance(values, dict) else list(enumerate(values))
    globs = [(j, value) for j, value in items if is_glob(value)]
    where = ".".join(map(str, loc))
    problems = [config.problem((*loc, j), f"{where}.{j}: {problem}")
                for j, value in globs if (problem := check_glob(value))]
    if len(globs) > 1 and not problems and not isinstance(values, dict):
        try:
            glob_matcher([value for _, value in globs])
        except PatternError as exc:
            problems.append(config.problem(loc, f"{where}: {exc}"))
    return problems


def _check_params(rule: Rule, config: Config | None) -> list[SourceProblem]:
    """Each param used as an operand must suit its operator, default or overridden."""
    overridden = config.params.get(rule.id, {}) if config else {}
    problems = []
    for cond in (*param_uses(rule.when), *param_uses(rule.require)):
        name = cond.operand.name
        if rule.params[name] == [] and cond.op in ("in", "not_in"):
            continue  # a list param may be empty (an allowlist nobody filled): in [] never holds
        problem = OPERATORS[cond.op].problem(rule.params[name], cond.field.kind)
        if not problem:
            continue
        text = f"param {name!r} of {rule.id} ({cond.field.path}: {cond.op}) {problem}"
        if config is not None and name in overridden:
            problems.append(config.problem(("params", rule.id, name), text))
        else:
            problems.append(rule.doc.problem((*rule.base, "params", name), text))
    return problems
