"""The scope (owners, states, filters) as DescribeImages request parameters.

One parameter set per owner alias: the API takes one `ImageOwnerAlias` per listing.
Filters are keyed by the API's own names (see `auditor.models.Scope`); tags arrive as
`Tag.<key>` and go out as `Tag.N.Key` / `Tag.N.Value`; the creation times go out as
`Filter.N.Key` / `Filter.N.Value`.
"""

from __future__ import annotations

import re

from auditor.errors import UsageError
from auditor.models import IMAGE_STATUSES, OWNER_ALIASES, Scope

PAGE_SIZE = 100
MAX_TAGS = 20
PLAIN_FILTERS = ("OSType", "Architecture", "ImageFamily", "Usage")
TIME_FILTERS = ("CreationStartTime", "CreationEndTime")
API_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def api_time(value: str, name: str) -> str:
    """`yyyy-MM-ddTHH:mmZ` (UTC) as the API wants it; a bare date means its midnight."""
    value = value.strip()
    if DATE_ONLY.match(value):
        return f"{value}T00:00Z"
    if API_TIME.match(value):
        return value
    raise UsageError(f"{name} {value!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MMZ (UTC)")


def _tag_params(filters: dict[str, str]) -> dict[str, str]:
    tags = [(k[len("Tag."):], v) for k, v in filters.items() if k.startswith("Tag.")]
    if len(tags) > MAX_TAGS:
        raise UsageError(f"at most {MAX_TAGS} tag filters, got {len(tags)}")
    params = {}
    for n, (key, value) in enumerate(tags, start=1):
        if not key:
            raise UsageError("a tag filter needs a key (KEY=VALUE)")
        params[f"Tag.{n}.Key"] = key
        if value:
            params[f"Tag.{n}.Value"] = value
    return params


def _filter_params(filters: dict[str, str]) -> dict[str, str]:
    params: dict[str, str] = {}
    unknown = [k for k in filters
               if not k.startswith("Tag.") and k not in PLAIN_FILTERS + TIME_FILTERS]
    if unknown:
        raise UsageError(f"unknown filter {', '.join(unknown)}; "
                         f"known: {', '.join(PLAIN_FILTERS + TIME_FILTERS)}, Tag.<key>")
    for name in PLAIN_FILTERS:
        if filters.get(name):
            params[name] = filters[name]
    n = 0
    for name in TIME_FILTERS:
        if filters.get(name):
            n += 1
            params[f"Filter.{n}.Key"] = name
            params[f"Filter.{n}.Value"] = api_time(filters[name], name)
    return params | _tag_params(filters)


def listing_params(scope: Scope) -> dict[str, dict[str, str]]:
    """owner alias -> the request parameters of its listing (RegionId and page excluded)."""
    bad_owners = [o for o in scope.owners if o not in OWNER_ALIASES]
    bad_states = [s for s in scope.statuses if s not in IMAGE_STATUSES]
    if bad_owners or not scope.owners:
        raise UsageError(f"unknown owner {', '.join(bad_owners) or '(none)'}; "
                         f"choose from {', '.join(OWNER_ALIASES)}")
    if bad_states or not scope.statuses:
        raise UsageError(f"unknown status {', '.join(bad_states) or '(none)'}; "
                         f"choose from {', '.join(IMAGE_STATUSES)}")
    common = {"Status": ",".join(scope.statuses), "PageSize": str(PAGE_SIZE)}
    common |= _filter_params(scope.filters)
    return {owner: {"ImageOwnerAlias": owner, **common} for owner in dict.fromkeys(scope.owners)}
