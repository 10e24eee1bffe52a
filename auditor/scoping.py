"""Scope flags applied offline: an `--input` scan filtered exactly as DescribeImages would.

Each flag keeps what the API's own parameter would list (see
`shared/reference/DescribeImages.txt` and the fake endpoint in `tests/fakeecs/api.py`):

- owners: `self`, `system`, `marketplace` match `ImageOwnerAlias`; `shared` is an `others`
  image that is not public, `community` an `others` image with `IsPublic` true;
- statuses: `Status` is one of them;
- `OSType`, `Architecture`, `ImageFamily`, `Usage`: the image's value equals the one given;
- `Tag.<key>`: the image has the tag, with that value when one is given (`KEY=` is any value);
- `CreationStartTime` / `CreationEndTime` (`yyyy-MM-ddTHH:mmZ`, UTC): created at or after /
  at or before that minute; an image without a CreationTime matches neither.

Only the flags the user gave filter (`--owner` defaults to `self` for a collection, but a
saved file is scanned whole unless asked otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.models import Image, Inventory, Scope, owner_scope

PLAIN = ("OSType", "Architecture", "ImageFamily", "Usage")
Match = Callable[[Image], bool]


@dataclass(frozen=True)
class OfflineScope:
    """The scope flags given for an `--input` scan; None (or empty) means not given."""

    owners: list[str] | None = None  # names from OWNER_SCOPES
    statuses: list[str] | None = None
    filters: dict[str, str] = field(default_factory=dict)  # the keys of `auditor.models.Scope`

    def __bool__(self) -> bool:
        return self.owners is not None or self.statuses is not None or bool(self.filters)


def _minute(image: Image) -> str | None:
    created = image.CreationTime
    return None if created is None else created.strftime("%Y-%m-%dT%H:%M")


def _matchers(scope: OfflineScope) -> list[Match]:
    checks: list[Match] = []
    if scope.owners is not None:
        owners = set(scope.owners)
        checks.append(lambda image: owner_scope(image.ImageOwnerAlias, image.IsPublic) in owners)
    if scope.statuses is not None:
        statuses = set(scope.statuses)
        checks.append(lambda image: image.Status in statuses)
    for name in PLAIN:
        if scope.filters.get(name):
            wanted = scope.filters[name]
            checks.append(lambda image, name=name, wanted=wanted:  # type: ignore[misc]
                          getattr(image, name) == wanted)
    tags = {k[len("Tag."):]: v for k, v in scope.filters.items() if k.startswith("Tag.")}
    if tags:
        checks.append(lambda image: all(
            key in image.Tags and (not value or image.Tags[key] == value)
            for key, value in tags.items()))
    start, end = scope.filters.get("CreationStartTime"), scope.filters.get("CreationEndTime")
    if start:
        checks.append(lambda image: (_minute(image) or "") >= start[:16])
    if end:
        checks.append(lambda image: (m := _minute(image)) is not None and m <= end[:16])
    return checks


def matcher(scope: OfflineScope) -> Match | None:
    """`image -> whether the scope lists it`; None when the scope filters nothing."""
    if not scope:
        return None
    checks = _matchers(scope)
    return lambda image: all(check(image) for check in checks)


def recorded(scope: OfflineScope, inventory_scope: Scope) -> Scope:
    """The scope an inventory records once `scope` filtered it."""
    return inventory_scope.model_copy(update={
        "owners": scope.owners if scope.owners is not None else inventory_scope.owners,
        "statuses": scope.statuses if scope.statuses is not None else inventory_scope.statuses,
        "filters": {**inventory_scope.filters, **scope.filters},
    })


def select(inventory: Inventory, scope: OfflineScope) -> Inventory:
    """The inventory holding only the images the scope lists; its recorded scope updated."""
    keep = matcher(scope)
    if keep is None:
        return inventory
    regions = [region.model_copy(update={"images": list(filter(keep, region.images))})
               for region in inventory.regions]
    return inventory.model_copy(update={"regions": regions,
                                        "scope": recorded(scope, inventory.scope)})
