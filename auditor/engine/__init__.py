"""The rule engine: load and validate YAML rules, compile them once, evaluate them purely.

The language is documented in docs/rule-language.md. `rules test`'s runner and the rule
format's JSON Schema are imported when first used (PEP 562): a scan needs neither.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from auditor.engine.evaluate import Evaluation, evaluate
from auditor.engine.loader import builtin_rules_dir, load_rules, rule_files
from auditor.engine.rule import Rule, RuleSpec
from auditor.engine.ruleset import RuleSet, Selection

if TYPE_CHECKING:
    from auditor.engine.ruletests import RuleTestResult, run_rule_tests
    from auditor.engine.schema import rule_json_schema

_LATER = {"RuleTestResult": "auditor.engine.ruletests",
          "run_rule_tests": "auditor.engine.ruletests",
          "rule_json_schema": "auditor.engine.schema"}


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LATER[name]), name)


__all__ = [
    "Evaluation",
    "Rule",
    "RuleSet",
    "RuleSpec",
    "RuleTestResult",
    "Selection",
    "builtin_rules_dir",
    "evaluate",
    "load_rules",
    "rule_files",
    "rule_json_schema",
    "run_rule_tests",
]
