"""The rule engine: load and validate YAML rules, compile them once, evaluate them purely.

The language is documented in docs/rule-language.md.
"""

from auditor.engine.evaluate import Evaluation, evaluate
from auditor.engine.loader import builtin_rules_dir, load_rules, rule_files
from auditor.engine.rule import Rule, RuleSpec
from auditor.engine.ruleset import RuleSet, Selection
from auditor.engine.ruletests import RuleTestResult, run_rule_tests
from auditor.engine.schema import rule_json_schema

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
