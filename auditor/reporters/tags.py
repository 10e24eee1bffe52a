"""`--group-by-tag KEY`: the label of a group of findings, in every report that groups them."""

from __future__ import annotations

from collections.abc import Callable

from auditor.findings import TagGroup
from auditor.reporters.i18n import Catalogue
from auditor.safetext import visible


def tag_label(group: TagGroup, key: str, t: Catalogue,
              escape: Callable[[str], str] = visible) -> str:
    """`tag owner=alice`, or `untagged (no tag owner)`; the key and value (strings of the
    cloud or the command line) through `escape`."""
    if group.value is None:
        return t("tag.untagged", key=escape(key))
    return t("tag.value", key=escape(key), value=escape(group.value))


def image_count(group: TagGroup) -> int:
    """The distinct images among the group's findings."""
    return len({(f.account_id, f.region, f.image_id) for f in group.findings})
