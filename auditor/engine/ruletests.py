"""Run the `tests:` examples inside rule files: images that must pass and images that must fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from auditor.engine.evaluate import failing, make_finding, utc_today
from auditor.engine.loader import load_rules
from auditor.engine.rule import Rule

EXAMPLE_REGION = "example-region"


@dataclass(frozen=True)
class RuleTestResult:
    rule_id: str
    case: str  # "pass #1 (m-...)" / "fail #2 (m-...)"
    passed: bool
    detail: str
    source: str = ""  # file:line:col of the rule


def _run_case(rule: Rule, kind: str, number: int, image_index: int, today: date) -> RuleTestResult:
    image = rule.examples[kind][image_index]
    hit = bool(failing(rule, [image], today))
    case = f"{kind} #{number} ({image.ImageId})"
    if kind == "pass":
        if not hit:
            return RuleTestResult(rule.id, case, True, "no finding, as expected", rule.where)
        finding = make_finding(rule, image, EXAMPLE_REGION, None, today)
        evidence = "; ".join(f"{e.path}={e.actual!r} expected {e.expected}"
                             for e in finding.evidence)
        return RuleTestResult(rule.id, case, False,
                              f"expected no finding, got: {finding.message} [{evidence}]",
                              rule.where)
    if hit:
        return RuleTestResult(rule.id, case, True, "finding, as expected", rule.where)
    when, _ = rule.compiled(today)
    why = "`when` does not apply" if when and not when.pred(image) else "`require` holds"
    return RuleTestResult(rule.id, case, False, f"expected a finding, got none ({why})",
                          rule.where)


def run_rule_tests(paths: Sequence[Path]) -> list[RuleTestResult]:
    """Load the rule files at `paths` (no built-in rules unless given) and run their examples."""
    results = []
    for rule in load_rules(paths, builtin=False).rules:
        tests = rule.spec.tests
        today = (tests.today if tests else None) or utc_today()
        for kind in ("pass", "fail"):
            for i in range(len(rule.examples[kind])):
                results.append(_run_case(rule, kind, i + 1, i, today))
    return results
