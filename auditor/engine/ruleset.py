"""The loaded, validated rules, in load order (built-in rules first)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.engine.rule import Rule
from auditor.errors import UsageError
from auditor.findings import RuleInfo
from auditor.yamlio import did_you_mean


@dataclass
class RuleSet:
    rules: list[Rule]

    def __len__(self) -> int:
        return len(self.rules)

    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    def infos(self) -> list[RuleInfo]:
        """Rule metadata (with severity overrides applied), for reports and `rules list`."""
        return [rule.info() for rule in self.rules]

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; an unknown id is a UsageError with a did-you-mean."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        hint = did_you_mean(rule_id, self.ids())
        raise UsageError(f"no rule with id {rule_id!r}{hint}")
