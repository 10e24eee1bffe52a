"""The scope (owners, states, filters) as DescribeImages request parameters.

One parameter set per owner scope: the API takes one `ImageOwnerAlias` per listing, and lists
community images only for `ImageOwnerAlias=others` with `IsPublic=true` (`others` alone lists
the images shared with the account), so `shared` and `community` are two listings.
Filters are keyed by the API's own names (see `auditor.models.Scope`); tags arrive as
`Tag.<key>` and go out as `Tag.N.Key` / `Tag.N.Value`; the creation times go out as
`Filter.N.Key` / `Filter.N.Value`.
"""

from __future__ import annotations

import re

from auditor.errors import UsageError
from auditor.models import IMAGE_STATUSES, OWNER_SCOPES, Scope

PAGE_SIZE = 100
MAX_TAGS = 20
# The API returns at most this many images for a listing filtered by tags (and may say so
# only by stopping there): such a listing is taken again without the tags, filtered here.
TAG_CAP = 1000
OWNER_PARAMS: dict[str, dict[str, str]] = {
    "self": {"ImageOwnerAlias": "self"},
    "shared": {"ImageOwnerAlias": "others"},
    "community": {"ImageOwnerAlias": "others", "IsPublic": "true"},
    "system": {"ImageOwnerAlias": "system"},
    "marketplace": {"ImageOwnerAlias": "marketplace"},
}
OWNER_GROUPS: dict[str, tuple[str, ...]] = {"others": ("shared", "community"), "all": OWNER_SCOPES}
OWNER_CHOICES = "self, shared, community, others (shared and community), system, marketplace, all"
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


def owner_scopes(names: list[str]) -> list[str]:
    """`--owner` names as scopes of OWNER_SCOPES: `others` and `all` expanded, duplicates
    dropped; UsageError for an unknown name or none."""
    scopes: list[str] = []
    for name in (n.strip() for n in names):
        if name in OWNER_GROUPS:
            scopes += OWNER_GROUPS[name]
        elif name in OWNER_PARAMS:
            scopes.append(name)
        elif name:
            raise UsageError(f"unknown owner {name!r}; choose from {OWNER_CHOICES}")
    if not scopes:
        raise UsageError(f"no owner given; choose from {OWNER_CHOICES}")
    return list(dict.fromkeys(scopes))


def tag_filters(params: dict[str, str]) -> dict[str, str]:
    """The tags a listing's parameters ask for: key -> value ("" for any value)."""
    return {key: params.get(f"Tag.{n}.Value", "")
            for n in range(1, MAX_TAGS + 1) if (key := params.get(f"Tag.{n}.Key")) is not None}


def without_tags(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not k.startswith("Tag.")}


def has_tags(tags: dict[str, str], wanted: dict[str, str]) -> bool:
    """The API's tag match: every key present, with the value asked for when one is."""
    return all(key in tags and (not value or tags[key] == value) for key, value in wanted.items())


def listing_params(scope: Scope) -> dict[str, dict[str, str]]:
    """owner scope -> the request parameters of its listing (RegionId and page excluded)."""
    owners = owner_scopes(scope.owners)
    bad_states = [s for s in scope.statuses if s not in IMAGE_STATUSES]
    if bad_states or not scope.statuses:
        raise UsageError(f"unknown status {', '.join(bad_states) or '(none)'}; "
                         f"choose from {', '.join(IMAGE_STATUSES)}")
    common = {"Status": ",".join(scope.statuses), "PageSize": str(PAGE_SIZE)}
    common |= _filter_params(scope.filters)
    return {owner: {**OWNER_PARAMS[owner], **common} for owner in owners}
