"""Evaluate a RuleSet over an inventory: pure, no I/O, deterministic output.

Per rule and region, one list comprehension calls the compiled closures; Finding objects,
evidence and messages are built only for images that fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from operator import attrgetter
from typing import Any

from auditor.config import Waiver
from auditor.engine.rule import Rule
from auditor.engine.ruleset import RuleSet
from auditor.engine.waivers import WaiverIndex
from auditor.findings import (
    AppliedWaiver,
    Finding,
    WaiverReport,
    fingerprint,
    image_arn,
    trusted,
)
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
    return _messages(rule)(image, region)


def _messages(rule: Rule) -> Callable[[Image, str], str]:
    """`(image, region) -> message` for one rule, what does not vary prepared once.

    The sandbox is immutable, so one `rule` mapping serves every render."""
    title, render = rule.spec.title, rule.render
    if render is None:
        return lambda image, region: title
    base: dict[str, Any] = {
        "params": rule.params,
        "rule": {"id": rule.id, "title": title, "severity": rule.severity.value},
    }

    def text(image: Image, region: str) -> str:
        try:
            return render({"image": image, **base, "region": region})
        except Exception as exc:  # a sandbox refusal must not stop a scan
            return f"{title} (message template failed: {type(exc).__name__})"

    return text


FindingMaker = Callable[[Image, str, AppliedWaiver | None], Finding]


def finding_maker(rule: Rule, account: str | None, today: date) -> FindingMaker:
    """`(image, region, waiver) -> Finding` for one rule: message, evidence and fingerprint
    are computed once per finding, the rule's own fields once per rule."""
    _, require = rule.compiled(today)
    explain, text = require.explain, _messages(rule)
    rule_id, severity, title = rule.id, rule.severity, rule.spec.title

    def make(image: Image, region: str, waiver: AppliedWaiver | None) -> Finding:
        image_id = image.ImageId
        return trusted(Finding, {
            "rule_id": rule_id, "severity": severity, "title": title,
            "message": text(image, region), "image_id": image_id,
            "image_name": image.ImageName, "region": region,
            "owner_alias": image.ImageOwnerAlias, "evidence": explain(image),
            "fingerprint": fingerprint(rule_id, region, image_id),
            "resource": image_arn(region, account, image_id), "waiver": waiver,
            "baseline_state": None,
        })

    return make


def make_finding(rule: Rule, image: Image, region: str, account: str | None, today: date,
                 waiver: AppliedWaiver | None = None) -> Finding:
    return finding_maker(rule, account, today)(image, region, waiver)


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
        make, apply = finding_maker(rule, account, today), index.apply
        for region, images in regions:
            hits = failing(rule, images, today)
            hits.sort(key=_image_id)
            findings += [make(i, region, apply(rule.id, i.ImageId)) for i in hits]


_image_id = attrgetter("ImageId")
