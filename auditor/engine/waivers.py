"""Waivers: accepted exceptions from the config file, matched to findings.

A waiver matches a finding when the rule id is equal and the image id is equal to, or matches
the glob of (fnmatch's syntax, case-sensitive, run under RE2: see patterns.py), one of its
images. It suppresses the finding until its `expires` date has passed (it is valid through
that day); after that the finding is open again and carries the expired waiver. Waivers that
matched nothing are reported as stale; waivers in use whose expiry is at most the configured
`waiver_expiry_warning_days` away as expiring (0 turns that off).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from auditor.config import Waiver
from auditor.engine.patterns import Match, glob_matcher
from auditor.findings import AppliedWaiver, WaiverReport


class WaiverIndex:
    """Waivers by rule id, with match counts for the report."""

    def __init__(self, waivers: Sequence[Waiver], today: date, warning_days: int = 0) -> None:
        self.waivers = list(waivers)
        self.today = today
        self.warning_days = warning_days
        self.matched = [0] * len(self.waivers)
        self._by_rule: dict[str, list[tuple[int, frozenset[str], Match | None]]] = {}
        for i, waiver in enumerate(self.waivers):
            exact = frozenset(p for p in waiver.images if not is_glob(p))
            globs = [p for p in waiver.images if is_glob(p)]
            pattern = glob_matcher(globs) if globs else None
            self._by_rule.setdefault(waiver.rule, []).append((i, exact, pattern))

    def covers(self, rule_id: str) -> bool:
        """Whether any waiver names this rule."""
        return rule_id in self._by_rule

    def apply(self, rule_id: str, image_id: str) -> AppliedWaiver | None:
        """The first waiver (in config order) that matches, counted; else None."""
        for i, exact, pattern in self._by_rule.get(rule_id, ()):
            if image_id in exact or (pattern is not None and pattern(image_id)):
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
                rule=waiver.rule, images=list(waiver.images), reason=waiver.reason,
                owner=waiver.owner, expires=waiver.expires, state=state, matched=matched,
            ))
        return reports


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
