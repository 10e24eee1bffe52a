"""The loaded, validated rules, in load order (built-in rules first)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from auditor.config import Config
from auditor.engine.rule import Rule
from auditor.errors import UsageError
from auditor.findings import RuleInfo, Severity
from auditor.frameworks import FRAMEWORKS
from auditor.lang import DEFAULT_LANG
from auditor.yamlio import did_you_mean


def matches(rule_id: str, patterns: Iterable[str]) -> bool:
    """Whether an id or glob (`IMG-*`, `*-RISK`, case-sensitive) among `patterns` names it."""
    return any(fnmatchcase(rule_id, pattern) for pattern in patterns)


def unmatched_problem(pattern: str, ids: Sequence[str]) -> str | None:
    """Why `pattern` is a mistake (it names no rule), with a did-you-mean; None when it is not."""
    if any(fnmatchcase(rule_id, pattern) for rule_id in ids):
        return None
    hint = did_you_mean(pattern, ids) or "; `imgaudit rules list` shows the rules in force"
    if any(c in pattern for c in "*?["):
        return f"glob {pattern!r} matches no rule id{hint}"
    return f"unknown rule id {pattern!r}{hint}"


@dataclass(frozen=True)
class Selection:
    """Which loaded rules run: `--rule`, `--skip-rule`, `--min-severity` (or their config keys
    `select`, `disable`, `min_severity`), and `--framework` (`frameworks`: rules mapped to
    one of these frameworks)."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    min_severity: Severity | None = None
    frameworks: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> Selection:
        return cls(tuple(config.select), tuple(config.disable), config.min_severity,
                   tuple(config.frameworks))


@dataclass
class RuleSet:
    rules: list[Rule]

    def __len__(self) -> int:
        return len(self.rules)

    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    def infos(self, lang: str = DEFAULT_LANG) -> list[RuleInfo]:
        """Rule metadata in `lang` (with severity overrides applied), for reports and
        `rules list`."""
        return [rule.info(lang) for rule in self.rules]

    def select(self, selection: Selection) -> RuleSet:
        """The rules named by `selection.only` (all when empty), less `selection.skip`, at or
        above `selection.min_severity`, mapped to one of `selection.frameworks` (when given).
        Every id or glob must name a rule, every framework id a declared framework: a typo
        must not silently run (or skip) nothing."""
        ids = self.ids()
        problems = [unmatched_problem(p, ids) for p in (*selection.only, *selection.skip)]
        problems += [f"unknown framework {f!r}{did_you_mean(f, FRAMEWORKS)}; known: "
                     f"{', '.join(FRAMEWORKS)}" for f in selection.frameworks
                     if f not in FRAMEWORKS]
        if any(problems):
            raise UsageError("\n".join(p for p in problems if p))
        floor = selection.min_severity.rank if selection.min_severity is not None else 0
        return RuleSet([r for r in self.rules
                        if (not selection.only or matches(r.id, selection.only))
                        and not matches(r.id, selection.skip) and r.severity.rank >= floor
                        and (not selection.frameworks
                             or set(selection.frameworks) & set(r.spec.frameworks))])

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; an unknown id is a UsageError with a did-you-mean."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        hint = did_you_mean(rule_id, self.ids())
        raise UsageError(f"no rule with id {rule_id!r}{hint}")
