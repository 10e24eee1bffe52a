"""Waivers: accepted exceptions from the config file, matched to findings.

A waiver matches a finding when the rule id is equal and the image id is equal to, or matches
the glob of (fnmatch's syntax, case-sensitive, run under RE2: see patterns.py), one of its
images. It suppresses the finding until its `expires` date has passed (it is valid through
that day); after that the finding is open again and carries the expired waiver. Waivers that
matched nothing are reported as stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from auditor.config import Waiver
from auditor.engine.patterns import Match, glob_matcher
from auditor.findings import AppliedWaiver, WaiverReport


class WaiverIndex:
    """Waivers by rule id, with match counts for the report."""

    def __init__(self, waivers: Sequence[Waiver], today: date) -> None:
        self.waivers = list(waivers)
        self.today = today
        self.matched = [0] * len(self.waivers)
        self._by_rule: dict[str, list[tuple[int, frozenset[str], Match | None]]] = {}
        for i, waiver in enumerate(self.waivers):
            exact = frozenset(p for p in waiver.images if not is_glob(p))
            globs = [p for p in waiver.images if is_glob(p)]
            pattern = glob_matcher(globs) if globs else None
            self._by_rule.setdefault(waiver.rule, []).append((i, exact, pattern))

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
        """Expired waivers that matched, and stale waivers (matched nothing)."""
        reports = []
        for waiver, matched in zip(self.waivers, self.matched, strict=True):
            expired = waiver.expires < self.today
            if matched and not expired:
                continue
            reports.append(WaiverReport(
                rule=waiver.rule, images=list(waiver.images), reason=waiver.reason,
                owner=waiver.owner, expires=waiver.expires,
                state="expired" if matched else "stale", matched=matched,
            ))
        return reports


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
