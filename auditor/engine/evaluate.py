"""Evaluate a RuleSet over an inventory: pure, no I/O, deterministic output.

Per rule and region, one list comprehension calls the compiled closures; Finding objects,
evidence and messages are built only for images that fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from operator import attrgetter
from typing import Any

from auditor.config import Waiver
from auditor.engine.compiler import share_fields_set
from auditor.engine.rule import Rule
from auditor.engine.ruleset import RuleSet
from auditor.engine.waivers import WaiverIndex
from auditor.findings import AppliedWaiver, Finding, WaiverReport, fingerprint, image_arn
from auditor.gcpause import gc_paused
from auditor.models import Image, Inventory


def utc_today() -> date:
    """Ages and waiver expiry count in UTC calendar days, wherever the scan runs."""
    return datetime.now(timezone.utc).date()


@dataclass
class Evaluation:
    findings: list[Finding]
    waivers: list[WaiverReport] = field(default_factory=list)


def failing(rule: Rule, images: Sequence[Image], today: date) -> list[Image]:
    """The images a rule applies to and that do not satisfy its `require`."""
    return rule.failing(today)(images)


def message(rule: Rule, image: Image, region: str) -> str:
    """The rendered message; a template that fails at render time falls back to the title."""
    if rule.render is None:
        return rule.spec.title
    context: dict[str, Any] = {
        "image": image, "params": rule.params, "region": region,
        "rule": {"id": rule.id, "title": rule.spec.title, "severity": rule.severity.value},
    }
    try:
        return rule.render(context)
    except Exception as exc:  # a sandbox refusal must not stop a scan
        return f"{rule.spec.title} (message template failed: {type(exc).__name__})"


def make_finding(rule: Rule, image: Image, region: str, account: str | None, today: date,
                 waiver: AppliedWaiver | None = None) -> Finding:
    _, require = rule.compiled(today)
    return share_fields_set(Finding(
        rule_id=rule.id, severity=rule.severity, title=rule.spec.title,
        message=message(rule, image, region), image_id=image.ImageId,
        image_name=image.ImageName, region=region, owner_alias=image.ImageOwnerAlias,
        evidence=require.explain(image), fingerprint=fingerprint(rule.id, region, image.ImageId),
        resource=image_arn(region, account, image.ImageId), waiver=waiver, baseline_state=None,
    ))


def evaluate(
    inventory: Inventory,
    ruleset: RuleSet,
    *,
    waivers: Sequence[Waiver] = (),
    today: date | None = None,
) -> Evaluation:
    """Every finding of every rule on every image, waivers applied, sorted."""
    today = today or utc_today()
    index = WaiverIndex(waivers, today)
    findings: list[Finding] = []
    with gc_paused():  # findings are many small objects, none garbage: auditor/gcpause.py
        _evaluate(inventory, ruleset, index, today, findings)
    return Evaluation(findings, index.reports())


def _evaluate(inventory: Inventory, ruleset: RuleSet, index: WaiverIndex, today: date,
              findings: list[Finding]) -> None:
    """Findings come out sorted (severity desc, rule id, region, image id) by walking rules,
    regions and failing images in that order, instead of sorting them afterwards."""
    by_region: dict[str, list[Image]] = {}
    for part in inventory.regions:
        by_region.setdefault(part.region, []).extend(part.images)
    regions = sorted(by_region.items())
    account = inventory.account_id
    for rule in sorted(ruleset.rules, key=lambda r: (-r.severity.rank, r.id)):
        for region, images in regions:
            hits = failing(rule, images, today)
            hits.sort(key=_image_id)
            for image in hits:
                waiver = index.apply(rule.id, image.ImageId)
                findings.append(make_finding(rule, image, region, account, today, waiver))


_image_id = attrgetter("ImageId")
