"""Waivers: accepted exceptions from the config file, matched to findings.

A waiver matches a finding when the rule id is equal and every selector it gives matches the
finding's image: `images` (the image id), `image_names`, `image_families`, `accounts` (the
finding's account) each by any of their values, `tags` by every key it lists. Values are
equal to, or match the glob of (fnmatch's syntax, case-sensitive, run under RE2: see
patterns.py), the image's. It suppresses the finding until its `expires` date has passed (it
is valid through that day); after that the finding is open again and carries the expired
waiver. Waivers that matched nothing are reported as stale; waivers in use whose expiry
is at most the configured `waiver_expiry_warning_days` away as expiring (0 turns that off).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Literal

from auditor.config import Waiver
from auditor.engine.patterns import Match, glob_matcher
from auditor.findings import AppliedWaiver, WaiverReport
from auditor.models import Image

# `(image, account) -> bool`: one compiled selector of a waiver
Selector = Callable[[Image, str | None], bool]


class WaiverIndex:
    """Waivers by rule id, with match counts for the report."""

    def __init__(self, waivers: Sequence[Waiver], today: date, warning_days: int = 0) -> None:
        self.waivers = list(waivers)
        self.today = today
        self.warning_days = warning_days
        self.matched = [0] * len(self.waivers)
        self._by_rule: dict[str, list[tuple[int, list[Selector]]]] = {}
        for i, waiver in enumerate(self.waivers):
            self._by_rule.setdefault(waiver.rule, []).append((i, selectors(waiver)))

    def covers(self, rule_id: str) -> bool:
        """Whether any waiver names this rule."""
        return rule_id in self._by_rule

    def apply(self, rule_id: str, image: Image, account: str | None = None) -> AppliedWaiver | None:
        """The first waiver (in config order) that matches, counted; else None."""
        for i, tests in self._by_rule.get(rule_id, ()):
            if all(test(image, account) for test in tests):
                self.matched[i] += 1
                waiver = self.waivers[i]
                return AppliedWaiver(reason=waiver.reason, owner=waiver.owner,
                                     expires=waiver.expires, expired=waiver.expires < self.today)
        return None

    def reports(self) -> list[WaiverReport]:
        """Expired waivers that matched, stale waivers (matched nothing), and waivers that
        matched and expire within `warning_days`."""
        reports = []
        for waiver, matched in zip(self.waivers, self.matched, strict=True):
            days_left = (waiver.expires - self.today).days
            state: Literal["stale", "expired", "expiring"]
            if not matched:
                state = "stale"
            elif days_left < 0:
                state = "expired"
            elif self.warning_days and days_left <= self.warning_days:
                state = "expiring"
            else:
                continue
            reports.append(WaiverReport(
                rule=waiver.rule, images=list(waiver.images), image_names=waiver.image_names,
                image_families=waiver.image_families, tags=waiver.tags,
                accounts=waiver.accounts, reason=waiver.reason, owner=waiver.owner,
                expires=waiver.expires, state=state, matched=matched,
            ))
        return reports


def selectors(waiver: Waiver) -> list[Selector]:
    """The tests a finding's image and account must all pass, cheapest (the id) first."""
    tests: list[Selector] = []
    if waiver.images:
        by_id = matcher(waiver.images)
        tests.append(lambda image, _: by_id(image.ImageId))
    if waiver.image_names:
        by_name = matcher(waiver.image_names)
        tests.append(lambda image, _: image.ImageName is not None and by_name(image.ImageName))
    if waiver.image_families:
        by_family = matcher(waiver.image_families)
        tests.append(lambda image, _: image.ImageFamily is not None
                     and by_family(image.ImageFamily))
    for key, value in waiver.tags.items():
        tests.append(_tag_test(key, matcher([value])))
    if waiver.accounts:
        by_account = matcher(waiver.accounts)
        tests.append(lambda _, account: account is not None and by_account(account))
    return tests


def _tag_test(key: str, value: Match) -> Selector:
    def test(image: Image, _: str | None) -> bool:
        found = image.Tags.get(key)
        return found is not None and value(found)
    return test


def matcher(patterns: Iterable[str]) -> Match:
    """`text -> bool`: equal to one of the values, or matching one of the globs among them."""
    patterns = list(patterns)
    exact = frozenset(p for p in patterns if not is_glob(p))
    globs = [p for p in patterns if is_glob(p)]
    if not globs:
        return exact.__contains__
    pattern = glob_matcher(globs)
    return lambda text: text in exact or pattern(text)


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
