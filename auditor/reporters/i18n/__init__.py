"""Report headings and labels, one plain dict per language (en.py, zh_cn.py).

Plain dicts rather than gettext: the strings ship as Python (no .po -> .mo build step, no
binary catalogue in the wheel), they are keyed by a stable id rather than by the English text
(so rewording the English does not silently orphan a translation), and a test checks that
every key exists in every language with the same placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.lang import DEFAULT_LANG
from auditor.reporters.i18n import en, zh_cn

if TYPE_CHECKING:
    from auditor.findings import WaiverReport

CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "zh-CN": zh_cn.MESSAGES}


@dataclass(frozen=True)
class Catalogue:
    """The strings of one language: `t(key, **values)`."""

    lang: str
    messages: dict[str, str]

    def __call__(self, key: str, /, **values: Any) -> str:
        text = self.messages[key]
        return text.format(**values) if values else text

    def plural(self, key: str, count: int, /, **values: Any) -> str:
        """`key.one` for exactly one (English), else `key.other` (CLDR plural categories)."""
        form = "one" if count == 1 and f"{key}.one" in self.messages else "other"
        return self(f"{key}.{form}", count=count, **values)

    def severity(self, value: str) -> str:
        return self.messages[f"sev.{value}"]

    def compliance(self, percent: float | None) -> str:
        """A rule's compliance: `93.5%`, or the word for "not applicable" (no image selected)."""
        return self.messages["posture.na"] if percent is None else f"{percent:.1f}%"

    def age(self, min_days: int, max_days: int | None) -> str:
        """An age bucket of the open findings (`7-30 days`), worded from its bounds."""
        if max_days is None:
            return self("age.over", min=min_days)
        if min_days == 0:
            return self("age.under", max=max_days)
        return self("age.between", min=min_days, max=max_days)

    def selection(self, waiver: WaiverReport) -> str:
        """What a waiver selects, for people: `m-1, m-2` or `image name web-* and tag
        env=sandbox` (ids, names and tags as written; the words in this language)."""
        either, both = self.messages["sel.or"], self.messages["sel.and"]
        tags = [f"{key}={value}" for key, value in waiver.tags.items()]
        parts = [", ".join(waiver.images)] if waiver.images else []
        parts += [self(key, values=joiner.join(values)) for key, values, joiner in (
            ("sel.image_name", waiver.image_names, either),
            ("sel.image_family", waiver.image_families, either),
            ("sel.tag", tags, both),
            ("sel.account", waiver.accounts, either)) if values]
        return both.join(parts)

    def prefixed(self, prefix: str) -> dict[str, str]:
        """The strings under `prefix.`, keyed without it (for the HTML report's script)."""
        return {k[len(prefix) + 1:]: v for k, v in self.messages.items()
                if k.startswith(prefix + ".")}


def catalogue(lang: str = DEFAULT_LANG) -> Catalogue:
    return Catalogue(lang, CATALOGUES.get(lang, en.MESSAGES))
