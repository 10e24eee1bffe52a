"""Evaluate a RuleSet over an inventory: pure, no I/O, deterministic output.

Per rule and batch of images, one generated list comprehension picks the failing images;
Finding objects, evidence and messages are built only for them. The images are not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from operator import attrgetter
from typing import Any, TypeVar

from auditor.canonical import RawImage, image_of, missing_enrichments_raw
from auditor.config import Waiver
from auditor.engine.codegen import compile_split_all
from auditor.engine.compiler import jsonable
from auditor.engine.conditions import field_roots
from auditor.engine.fields import FieldRef
from auditor.engine.rule import Rule
from auditor.engine.ruleset import RuleSet
from auditor.engine.templates import plain
from auditor.engine.waivers import WaiverIndex
from auditor.findings import (
    AppliedWaiver,
    Evidence,
    Finding,
    RuleCounts,
    WaiverReport,
    arn_prefix,
    fingerprints,
    trusted,
)
from auditor.lang import DEFAULT_LANG
from auditor.models import Image, Inventory, missing_enrichments
from auditor.typed import Decoded, decoded, record


def utc_today() -> date:
    """Ages and waiver expiry count in UTC calendar days, wherever the scan runs."""
    return datetime.now(timezone.utc).date()


@dataclass
class Evaluation:
    findings: list[Finding]
    waivers: list[WaiverReport] = field(default_factory=list)
    counts: dict[str, RuleCounts] = field(default_factory=dict)  # rule id -> posture counts
    warnings: list[str] = field(default_factory=list)  # for stderr: messages that failed


def failing(rule: Rule, images: Sequence[Image], today: date) -> list[Image]:
    """The images a rule applies to and that do not satisfy its `require`."""
    return rule.failing(today)(images)


def message(rule: Rule, image: Image, region: str, account: str | None = None,
            lang: str = DEFAULT_LANG) -> str:
    """The rendered message; a template that fails at render time falls back to the title."""
    return _messages(rule, account, RenderFailures(), lang)(region)(image)


@dataclass
class RenderFailures:
    """Messages that failed to render, per rule: the first failure in the findings' order
    (region, account, image id; whatever order the images came in) and how many."""

    # rule id -> ((region, account, image id), error)
    first: dict[str, tuple[tuple[str, str, str], str]] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    def add(self, rule_id: str, where: tuple[str, str, str], exc: Exception) -> None:
        known = self.first.get(rule_id)
        if known is None or where < known[0]:
            text = str(exc).replace("\n", " ")
            error = type(exc).__name__ + (f": {text[:200]}" if text else "")
            self.first[rule_id] = (where, error)
        self.count[rule_id] = self.count.get(rule_id, 0) + 1

    def warnings(self, order: Sequence[str] = ()) -> list[str]:
        """One line per rule whose message failed, rules in `order` first."""
        rank = {rule_id: n for n, rule_id in enumerate(order)}
        rules = sorted(self.first, key=lambda rule_id: rank.get(rule_id, len(rank)))
        return [f"rule {rule_id}: the message template failed for {self.count[rule_id]} "
                f"finding(s), first for image {self.first[rule_id][0][2]} "
                f"({self.first[rule_id][1]}); those findings carry the fallback message"
                for rule_id in rules]


Text = Callable[[Image | RawImage], str]  # an image's message, in one region


def _messages(rule: Rule, account: str | None, failures: RenderFailures,
              lang: str = DEFAULT_LANG) -> Callable[[str], Text]:
    """`region -> (image -> message)` in `lang` for one rule, what does not vary prepared
    once: the template sees plain data only (templates/data.py), and the sandbox is
    immutable, so one mapping of params, rule and region serves every image of a region."""
    title, render = rule.text("title", lang), rule.renderer(lang)
    if render is None:
        return lambda region: lambda image: title
    base: dict[str, Any] = {
        "params": plain(rule.params),
        "rule": {"id": rule.id, "title": title, "severity": rule.severity.value},
        "account": account,
    }
    rule_id = rule.id

    def of_region(region: str) -> Text:
        variables = {**base, "region": region}

        def text(image: Image | RawImage) -> str:
            try:
                return render(image, variables)
            except Exception as exc:  # a sandbox refusal or a type error must not stop a scan
                image_id = image["ImageId"] if isinstance(image, dict) else image.ImageId
                failures.add(rule_id, (region, account or "", image_id), exc)
                return f"{title} (message template failed: {type(exc).__name__})"

        return text

    return of_region


# `(images, region, their waivers or None) -> their Findings`: one rule's, of one account
FindingMaker = Callable[[Sequence[Any], str, Sequence[AppliedWaiver | None] | None],
                        list[Finding]]
# image -> (ImageId, ImageName, ImageOwnerAlias, Tags): what a finding shows of its image
_identity: Callable[[Image], tuple[str, str | None, str | None, dict[str, str]]] = attrgetter(
    "ImageId", "ImageName", "ImageOwnerAlias", "Tags")


def _raw_identity(image: RawImage) -> tuple[str, str | None, str | None, dict[str, str]]:
    """`_identity` of a canonical image's mapping, every value read as the model holds it."""
    get = image.get
    tags = get("Tags")
    return image["ImageId"], get("ImageName"), get("ImageOwnerAlias"), {} if tags is None else tags


def finding_maker(rule: Rule, account: str | None, today: date,
                  failures: RenderFailures | None = None,
                  lang: str = DEFAULT_LANG, *, raw: bool = False) -> FindingMaker:
    """The Findings of one rule over images of one account, a region's at a time: message,
    evidence and fingerprint computed once per finding, what the rule, the account and the
    region share once per call. In a language other than English, the finding carries the
    English title and message too (JSON report). With `raw`, of canonical images' mappings
    (`auditor.canonical`): the same Findings as of their Images (every value read as the
    model holds it), without validating the images."""
    _, require = rule.compiled(today, raw=raw)
    explain: Callable[[Any], list[Evidence]] = require.explain
    if rule.context:
        explain = _with_context(explain, rule.context, raw)
    failures = RenderFailures() if failures is None else failures
    texts = _messages(rule, account, failures, lang)
    english = _messages(rule, account, RenderFailures(), DEFAULT_LANG) if lang != "en" else None
    rule_id, severity, title = rule.id, rule.severity, rule.text("title", lang)
    title_en = rule.spec.title if english is not None else None
    identity = _raw_identity if raw else _identity

    def make(images: Sequence[Any], region: str,
             waivers: Sequence[AppliedWaiver | None] | None = None) -> list[Finding]:
        text, fingerprint = texts(region), fingerprints(rule_id, region, account)
        text_en = english(region) if english is not None else None
        arn = arn_prefix(region, account)
        made = []
        for image, waiver in zip(images, waivers or [None] * len(images), strict=True):
            image_id, image_name, owner_alias, tags = identity(image)
            made.append(trusted(Finding, {
                "rule_id": rule_id, "severity": severity, "title": title,
                "message": text(image), "image_id": image_id, "image_name": image_name,
                "region": region, "account_id": account, "owner_alias": owner_alias,
                "evidence": explain(image), "fingerprint": fingerprint(image_id),
                "resource": None if arn is None else arn + image_id, "waiver": waiver,
                "baseline_state": None, "first_seen": None, "first_seen_run": None,
                "age_days": None, "title_en": title_en,
                "message_en": text_en(image) if text_en is not None else None,
                "tags": tags,
            }))
        return made

    return make


def make_finding(rule: Rule, image: Image, region: str, account: str | None, today: date,
                 waiver: AppliedWaiver | None = None, lang: str = DEFAULT_LANG) -> Finding:
    return finding_maker(rule, account, today, lang=lang)([image], region, [waiver])[0]


# region, account (when known), images: `Image`s, canonical images' mappings (RawImage,
# `auditor.canonical`) or decoded images (`auditor.typed`), which rules read as they are;
# only the flagged ones become mappings (a decoded image's) and Images (for a waiver)
Batch = tuple[str, str | None, Sequence[Image | RawImage | Decoded]]


CONTEXT = "(shown for context)"  # the `expected` of an `evidence:` field: no condition


def _with_context(explain: Callable[[Any], list[Evidence]], context: tuple[FieldRef, ...],
                  raw: bool = False) -> Callable[[Any], list[Evidence]]:
    """The failed conditions' evidence, then the rule's `evidence:` fields (when known)."""

    def both(image: Image) -> list[Evidence]:
        shown = [trusted(Evidence, {"path": ref.path, "actual": jsonable(value),
                                    "expected": CONTEXT})
                 for ref in context if (value := ref.get(image)) is not None]
        return explain(image) + shown

    def both_raw(image: RawImage) -> list[Evidence]:
        shown = [trusted(Evidence, {"path": ref.path, "actual": jsonable(ref.modelled(value)),
                                    "expected": CONTEXT})
                 for ref in context if (value := ref.read(image)) is not None]
        return explain(image) + shown

    return both_raw if raw else both


def _not_evaluated(rule: Rule, batch: _Batch, today: date,
                   raw: bool = False) -> tuple[Sequence[Any], int]:
    """The batch's images the rule can judge, and how many it cannot: those its `when`
    selects (or might: when the `when` reads the missing data itself) that lack an enrichment
    the rule reads (its calls failed, or were never made: `models.missing_enrichments`). With
    `raw`, of its canonical images' mappings, else of its Images."""
    images = batch.raws if raw else batch.models
    needs = rule.needs
    if not needs:
        return images, 0
    lacking = batch.lacking(raw)
    if all(map(needs.isdisjoint, lacking)):
        return images, 0
    missing = [needs & lacks for lacks in lacking]
    when, _ = rule.compiled(today, raw=raw)
    when_reads = needs & field_roots(rule.when)
    unsure = sum(1 for i, lacks in zip(images, missing, strict=True) if lacks and (
        when is None or lacks & when_reads or when.pred(i)))
    return [i for i, lacks in zip(images, missing, strict=True) if not lacks], unsure


_Made = TypeVar("_Made")


class _Batch:
    """What the rules share of one batch: the images read by attribute (`models`: Images, or
    decoded images) and the canonical mappings (`raws`), the enrichments each of them lacks
    (found once, for every rule that reads one), the mappings of flagged decoded images and
    the Images of flagged mappings (each made once, whatever the number of rules that flag
    it). A batch of decoded images only is judged as they are; decoded images beside others
    (a refused image's mapping or Image) are judged as their mappings, as the others are."""

    def __init__(self, images: Sequence[Image | RawImage | Decoded]) -> None:
        self.decoded = bool(images) and all(map(decoded, images))
        if not self.decoded and any(map(decoded, images)):
            images = [record(i) if decoded(i) else i for i in images]
        self.raws: list[RawImage] = [i for i in images if isinstance(i, dict)]
        # Images, or decoded images (read alike: the same attributes, the same values)
        self.models: list[Any] = [] if len(self.raws) == len(images) else [
            i for i in images if not isinstance(i, dict)]
        self._lacking: dict[bool, list[set[str]]] = {}
        self.records: dict[int, RawImage] = {}
        self.made: dict[int, Image] = {}

    def lacking(self, raw: bool) -> list[set[str]]:
        """What each of the mappings (`raw`) or of the Images lacks (`missing_enrichments`)."""
        found = self._lacking.get(raw)
        if found is None:
            found = self._lacking[raw] = (
                [missing_enrichments_raw(i) for i in self.raws] if raw
                else [missing_enrichments(i) for i in self.models])
        return found

    def mappings(self, images: list[Decoded]) -> list[RawImage]:
        """The canonical mappings of some of the batch's decoded images."""
        return _made_once(self.records, images, record)

    def of(self, raws: list[RawImage]) -> list[Image]:
        """The Images of some of the batch's mappings."""
        return _made_once(self.made, raws, image_of)


def _made_once(made: dict[int, _Made], items: list[Any], make: Callable[[Any], _Made],
               ) -> list[_Made]:
    """`make` of each item, made once per item (by identity: the batch holds the items)."""
    found = []
    for item in items:
        one = made.get(id(item))
        if one is None:
            one = made[id(item)] = make(item)
        found.append(one)
    return found


def batches(inventory: Inventory) -> Iterator[Batch]:
    """An inventory held in memory as batches: a region at a time."""
    return ((r.region, inventory.account_of(r), r.images) for r in inventory.regions)


def evaluate(
    inventory: Inventory,
    ruleset: RuleSet,
    *,
    waivers: Sequence[Waiver] = (),
    today: date | None = None,
    lang: str = DEFAULT_LANG,
    expiry_warning_days: int = 0,
) -> Evaluation:
    """`evaluate_batches` over a whole inventory held in memory."""
    return evaluate_batches(batches(inventory), ruleset, waivers=waivers, today=today, lang=lang,
                            expiry_warning_days=expiry_warning_days)


def evaluate_batches(
    batches: Iterable[Batch],
    ruleset: RuleSet,
    *,
    waivers: Sequence[Waiver] = (),
    today: date | None = None,
    lang: str = DEFAULT_LANG,
    expiry_warning_days: int = 0,
) -> Evaluation:
    """Every finding of every rule on every image, waivers applied, sorted (severity desc,
    rule id, region, account, image id); titles and messages in `lang`. Images come in
    batches (a streamed inventory) and are not kept: only the findings are. Per rule, the
    images its `when` selected, the failing and the waived ones (see `RuleInfo`); an image
    with a data-quality note counts like any other (its unreadable value reads as absent, as
    the rule sees it); an image that lacks an enrichment the rule reads is not evaluated (and
    counted so), never passed. `expiry_warning_days`: report waivers in use that expire
    within that many days."""
    today = today or utc_today()
    index = WaiverIndex(waivers, today, expiry_warning_days)
    failures = RenderFailures()
    rules = [_Counted(rule, today, index, failures, lang) for rule in ruleset.rules]
    # the rules that read no enrichment judge every image: their splits in one pass
    together = [rule for rule in rules if not rule.rule.needs]
    conds = [(r.rule.id, r.rule.when, r.rule.require, r.rule.params) for r in together]
    split_all: dict[bool, Callable[[Sequence[Any]], list[tuple[int, list[Any]]]]] = {}
    for region, account, images in batches:
        batch = _Batch(images)
        presplit: dict[tuple[int, bool], tuple[int, list[Any]]] = {}
        for raw, judged in ((False, batch.models), (True, batch.raws)):
            if judged and together:
                if raw not in split_all:
                    split_all[raw] = compile_split_all(conds, today, raw=raw)
                presplit |= {(id(rule), raw): split for rule, split
                             in zip(together, split_all[raw](judged), strict=True)}
        for rule in rules:
            rule.add(region, account or None, batch,
                     presplit.get((id(rule), False)), presplit.get((id(rule), True)))
    rules.sort(key=lambda counted: (-counted.rule.severity.rank, counted.rule.id))
    findings = [finding for rule in rules for finding in rule.ordered()]
    counts = {rule.rule.id: (rule.evaluated, rule.failed, rule.waived, rule.unknown)
              for rule in rules}
    return Evaluation(findings, index.reports(), counts,
                      failures.warnings([rule.rule.id for rule in rules]))


class _Counted:
    """One rule over the batches: its findings and posture counts so far."""

    def __init__(self, rule: Rule, today: date, index: WaiverIndex, failures: RenderFailures,
                 lang: str) -> None:
        self.rule, self.today, self.failures, self.lang = rule, today, failures, lang
        self.split, self.apply = rule.split(today), index.apply
        self.split_raw = rule.split(today, raw=True)
        self.waivable = index.covers(rule.id)
        self.makers: dict[tuple[str | None, bool], FindingMaker] = {}
        # findings by (region, account or ""), each list in the order the images came
        self.findings: dict[tuple[str, str], list[Finding]] = {}
        self.evaluated = self.failed = self.waived = self.unknown = 0

    def add(self, region: str, account: str | None, batch: _Batch,
            split: tuple[int, list[Any]] | None = None,
            split_raw: tuple[int, list[RawImage]] | None = None) -> None:
        """One batch: its images read by attribute and its canonical mappings (`split`,
        `split_raw`: the rule's split of each, when it was made with other rules'). Flagged
        decoded images become their mappings. A waiver reads Images: with waivers of this
        rule, its flagged mappings are validated first."""
        hits = self.hits(batch, False, split) if batch.models else []
        raw_hits = self.hits(batch, True, split_raw) if batch.raws else []
        if batch.decoded:
            hits, raw_hits = [], batch.mappings(hits)
        if self.waivable and raw_hits:
            hits, raw_hits = hits + batch.of(raw_hits), []
        if hits:
            rule_id, apply = self.rule.id, self.apply
            waivers = [apply(rule_id, i, account) for i in hits] if self.waivable else None
            made = self.maker(account, raw=False)(hits, region, waivers)
            if self.waivable:
                self.waived += sum(1 for f in made if f.suppressed)
            self.found(region, account, made)
        if raw_hits:
            self.found(region, account, self.maker(account, raw=True)(raw_hits, region, None))

    def hits(self, batch: _Batch, raw: bool, split: tuple[int, list[Any]] | None) -> list[Any]:
        """The rule's failing images among the batch's mappings (`raw`) or other images, its
        split of them made here unless given; what it selected and could not judge counted."""
        if split is None:
            judged, unknown = _not_evaluated(self.rule, batch, self.today, raw=raw)
            self.unknown += unknown
            split = (self.split_raw if raw else self.split)(judged)
        selected, hits = split
        self.evaluated += selected
        return hits

    def found(self, region: str, account: str | None, findings: list[Finding]) -> None:
        self.failed += len(findings)
        self.findings.setdefault((region, account or ""), []).extend(findings)

    def ordered(self) -> list[Finding]:
        """The rule's findings in the report's order: region, account, image id (a sort that
        keeps the order of equal keys, like the images' own)."""
        ordered: list[Finding] = []
        for key in sorted(self.findings):
            ordered += sorted(self.findings[key], key=_image_id)
        return ordered

    def maker(self, account: str | None, *, raw: bool) -> FindingMaker:
        make = self.makers.get((account, raw))
        if make is None:
            make = self.makers[account, raw] = finding_maker(
                self.rule, account, self.today, self.failures, self.lang, raw=raw)
        return make


_image_id = attrgetter("image_id")
