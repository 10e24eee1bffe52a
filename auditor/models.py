"""Typed records of an ECS image (DescribeImages) and of a collected inventory.

Field names are the API's own, so rule paths (`Features.NvmeSupport`, `Tags.owner`) read
exactly like the API documentation, and every field is typed as the official SDK
(`alibabacloud-ecs20140526`, `DescribeImagesResponseBody`) types it; `tests/test_models_sdk.py`
compares the two. The API's wrapper levels (`Tags.Tag[]`, `DiskDeviceMappings.DiskDeviceMapping[]`,
`DetectionOptions.Items.Item[]`) are collapsed when the data is API-shaped (validation context
`API_SHAPE`, given by `auditor.responses`), never in a saved inventory (`SAVED_SHAPE`), so a
tag whose key is `Tag` stays a tag; without a context only unambiguous wrappers collapse.
Fields the API adds later are kept, not rejected. Values sent in another JSON type (`"true"`,
`"60"`, `60` for a string) are normalised by pydantic's lax mode; what cannot be normalised is
handled by `auditor.responses` (the image is kept, the value goes to a `DataNote`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

INVENTORY_FORMAT = "imgaudit-inventory"  # the `format` of a saved inventory

OWNER_ALIASES = ("self", "others", "system", "marketplace")  # an image's ImageOwnerAlias
# What `--owner` / `Scope.owners` name: the API's aliases, with `others` split in two, since
# the API lists images shared with the account (`others`) and community images (`others` with
# `IsPublic=true`) separately. `others` on the command line means both.
OWNER_SCOPES = ("self", "shared", "community", "system", "marketplace")
def owner_scope(alias: str | None, is_public: bool | None) -> str | None:
    """The OWNER_SCOPES name of an image: `others` is `community` when public, else `shared`."""
    if alias == "others":
        return "community" if is_public is True else "shared"
    return alias if alias in OWNER_SCOPES else None


IMAGE_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")
# Validation contexts: the image is API-shaped (wrappers collapsed), or from a saved inventory
# (already flat: never collapsed). Without one, only what is unambiguously a wrapper collapses.
API_SHAPE = {"shape": "api"}
SAVED_SHAPE = {"shape": "saved"}


def _shape(info: ValidationInfo) -> str | None:
    return info.context.get("shape") if isinstance(info.context, dict) else None


def _looks_wrapped(data: dict[str, Any]) -> bool:
    """API wrappers no flat image has: a disk mapping object, or `{"Tag": [...]}` (a tag's
    value is a string, so a saved tag named `Tag` never looks like this)."""
    tags = data.get("Tags")
    return type(data.get("DiskDeviceMappings")) is dict or (
        type(tags) is dict and len(tags) == 1 and type(tags.get("Tag", "")) in (list, type(None)))


def _unwrap(value: Any, key: str) -> Any:
    """`{"Item": [...]}` -> `[...]`; already-flat lists pass through."""
    if isinstance(value, dict) and set(value) == {key}:
        return value[key] or []
    return value


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_MAX_SHARED_SETS = 4096  # distinct combinations of given fields remembered; then no sharing


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    def model_post_init(self, context: Any, /) -> None:
        """Records given the same fields share one `model_fields_set`.

        Measured (issue 12): 3.1 KB per held image instead of 7.1 KB (~390 MB less for
        100,000), for ~1.6 us more per image to validate. A streamed scan holds no image, but
        a collection, `--save-inventory` and `load_inputs` hold them all, so it stays.
        Assigning a field un-shares it first (`__setattr__`), so no record sees another's.
        """
        fields = self.__pydantic_fields_set__
        key = frozenset(fields)
        shared = _FIELDS_SETS.get(key)
        if shared is None:
            if len(_FIELDS_SETS) >= _MAX_SHARED_SETS:
                return
            shared = _FIELDS_SETS[key] = set(fields)
        object.__setattr__(self, "__pydantic_fields_set__", shared)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        super().__setattr__(name, value)


class DiskDeviceMapping(_ApiModel):
    Type: str | None = None
    Device: str | None = None
    Size: str | None = None  # a string in the API (and the SDK), unlike Image.Size
    SnapshotId: str | None = None
    Format: str | None = None
    ImportOSSBucket: str | None = None
    ImportOSSObject: str | None = None
    Progress: str | None = None
    RemainTime: int | None = None
    Encrypted: bool | None = None


class DetectionItem(_ApiModel):
    Name: str | None = None
    Value: str | None = None
    RiskLevel: str | None = None
    RiskCode: str | None = None


class ImageDetection(_ApiModel):
    Status: str | None = None
    Items: list[DetectionItem] = Field(default_factory=list)

    @field_validator("Items", mode="before")
    @classmethod
    def _collapse_items(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return []
        return value if _shape(info) == "saved" else _unwrap(value, "Item")


class ImageFeatures(_ApiModel):
    CpuOnlineDowngrade: str | None = None
    CpuOnlineUpgrade: str | None = None
    ImdsSupport: str | None = None
    MemoryOnlineDowngrade: str | None = None
    MemoryOnlineUpgrade: str | None = None
    NvmeSupport: str | None = None


class ImageSecureBootOptions(_ApiModel):
    SecureBootSupport: str | None = None


def tags_to_mapping(value: Any) -> Any:
    """The API's `{"Tag": [{"TagKey", "TagValue"}]}` (or a bare list of pairs) as a mapping.

    A missing TagValue reads as "". What is not a list of pairs is returned unchanged, for
    validation to report, as is a list with a key that is a list or an object (no mapping
    can hold it)."""
    value = _unwrap(value, "Tag")
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(tag, dict) for tag in value):
        pairs = {}
        for tag in value:
            key = tag.get("TagKey", tag.get("Key"))
            if isinstance(key, list | dict):
                return value
            value_ = tag.get("TagValue", tag.get("Value"))
            pairs[key] = "" if value_ is None else value_
        return pairs
    return value


def collapse_api_shape(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of an API-shaped image with Tags and DiskDeviceMappings flattened."""
    data = dict(data)
    if "Tags" in data:
        data["Tags"] = tags_to_mapping(data["Tags"])
    if "DiskDeviceMappings" in data:
        disks = data["DiskDeviceMappings"]
        data["DiskDeviceMappings"] = [] if disks is None else _unwrap(disks, "DiskDeviceMapping")
    return data


class SharedAccount(_ApiModel):
    """An account an image is shared with (DescribeImageSharePermission `Accounts.Account[]`)."""

    AliyunId: str | None = None  # the account id
    SharedTime: datetime | None = None
    # Not from the API: the account belongs to the organisation scanned (the caller's own
    # account, and every account of --accounts / --resource-directory); set by the collector.
    InOrganization: bool | None = None


class ShareGroup(_ApiModel):
    """A group an image is shared with (`ShareGroups.ShareGroup[]`): `all` is everyone."""

    Group: str | None = None


class ImageSharePermission(_ApiModel):
    """Who a custom image is shared with: every page of DescribeImageSharePermission,
    its wrapper levels (`Accounts.Account`, `ShareGroups.ShareGroup`) collapsed."""

    Accounts: list[SharedAccount] = Field(default_factory=list)
    ShareGroups: list[ShareGroup] = Field(default_factory=list)

    @field_validator("Accounts", mode="before")
    @classmethod
    def _collapse_accounts(cls, value: Any) -> Any:
        return [] if value is None else _unwrap(value, "Account")

    @field_validator("ShareGroups", mode="before")
    @classmethod
    def _collapse_groups(cls, value: Any) -> Any:
        return [] if value is None else _unwrap(value, "ShareGroup")


# Fields the collector adds to an image from other API calls ("enrichments"), by the
# name a rule reads them with. None on an image: not collected (not asked for, or the image
# needs none: only shared or published self images have a SharePermission).
ENRICHMENTS = {
    "SharePermission": "DescribeImageSharePermission",
    "InstanceIds": "DescribeInstances",
}


class Image(_ApiModel):
    """One image as DescribeImages returns it, wrapper levels collapsed; the enrichments of
    ENRICHMENTS beside the API's fields."""

    ImageId: str = Field(min_length=1)
    ImageName: str | None = None
    ImageFamily: str | None = None
    ImageVersion: str | None = None
    ImageOwnerAlias: str | None = None
    ImageOwnerId: int | None = None  # the owner's account id (a long)
    Description: str | None = None
    Status: str | None = None
    Progress: str | None = None
    CreationTime: datetime | None = None
    Size: int | None = None
    Usage: str | None = None
    OSType: str | None = None
    OSName: str | None = None
    OSNameEn: str | None = None
    Platform: str | None = None
    Architecture: str | None = None
    BootMode: str | None = None
    IsPublic: bool | None = None
    IsCopied: bool | None = None
    IsSelfShared: str | None = None  # "true"/"false": a string in the API and the SDK
    IsSubscribed: bool | None = None
    IsSupportIoOptimized: bool | None = None
    IsSupportCloudinit: bool | None = None
    LoginAsNonRootSupported: bool | None = None
    ProductCode: str | None = None
    SupplierName: str | None = None
    ResourceGroupId: str | None = None
    LicenseType: str | None = None
    Usable: bool | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    DiskDeviceMappings: list[DiskDeviceMapping] = Field(default_factory=list)
    DetectionOptions: ImageDetection | None = None
    Features: ImageFeatures | None = None
    SecureBootOptions: ImageSecureBootOptions | None = None
    # Enrichments (not DescribeImages fields; see ENRICHMENTS):
    SharePermission: ImageSharePermission | None = None
    InstanceIds: list[str] | None = None  # the instances of the region that run the image
    NotCollected: list[str] | None = None  # enrichments whose calls failed for this image

    @field_validator("CreationTime", mode="before")
    @classmethod
    def _parse_api_time(cls, value: Any) -> Any:
        """The API's one time shape (`2019-11-15T06:07:05Z`) parsed by the stdlib's C parser.

        Same value as pydantic's own parsing, ~12 us less per image (about 1.2 s over 100,000
        images); any other shape, or an invalid date, goes to pydantic unchanged. The plain
        shape is parsed whole (its `Z` as the offset `+00:00`, which Python 3.10 reads too): a
        tenth of the time of parsing the first 19 characters and then setting the zone
        (`replace` is slow), which only the other shapes still do (ISO week dates, basic
        times, ...)."""
        if type(value) is str and len(value) == 20 and value[19] == "Z" and value[10] == "T":
            try:
                if (value[4] == "-" and value[7] == "-" and value[13] == ":"
                        and value[16] == ":"):
                    return datetime.fromisoformat(value[:19] + "+00:00")
                return datetime.fromisoformat(value[:19]).replace(tzinfo=timezone.utc)
            except ValueError:
                return value
        return value

    @field_validator("IsSelfShared", mode="before")
    @classmethod
    def _bool_as_text(cls, value: Any) -> Any:
        """A JSON boolean (or `"True"`) where the API has the text "true"/"false" means the
        same: one spelling, so that a rule compares with one value."""
        if type(value) is bool:
            return "true" if value else "false"
        if type(value) is str and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        return value

    @model_validator(mode="before")
    @classmethod
    def _collapse(cls, data: Any, info: ValidationInfo) -> Any:
        """The API's wrapper levels collapsed, never in a saved inventory (see the module doc).

        Flat data costs one check per image, no copy."""
        if not isinstance(data, dict):
            return data
        shape = _shape(info)
        if shape == "api" or (shape is None and _looks_wrapped(data)):
            return collapse_api_shape(data)
        return data


def is_shared(image: Image) -> bool:
    """A self image shared with other accounts or published to the community: the images
    whose SharePermission the collector asks for."""
    return shared(image.ImageOwnerAlias, image.IsSelfShared, image.IsPublic)


def shared(owner_alias: Any, self_shared: Any, public: Any) -> bool:
    """`is_shared` of these three values (of an Image, or of a canonical image's mapping)."""
    return owner_alias == "self" and (self_shared == "true" or public is True)


def missing_enrichments(image: Image) -> set[str]:
    """The ENRICHMENTS this image lacks: the calls failed (`NotCollected`), or were never
    made (an inventory collected without them)."""
    return lacking(image.NotCollected, image.InstanceIds,
                   image.SharePermission is None and is_shared(image))


def lacking(not_collected: list[str] | None, instance_ids: list[str] | None,
            unknown_sharing: bool) -> set[str]:
    """`missing_enrichments` of these values (of an Image, or of a canonical mapping)."""
    missing = set(not_collected or ())
    if instance_ids is None:
        missing.add("InstanceIds")
    if unknown_sharing:
        missing.add("SharePermission")
    return missing


class Scope(BaseModel):
    """What was asked for: the filters a collection (or a scan of saved files) ran with.

    `owners` are names from OWNER_SCOPES. `filters` is keyed by the API's own request parameter
    names: `OSType`, `Architecture`, `ImageFamily`, `Usage`, `CreationStartTime`,
    `CreationEndTime` (sent as `Filter.N.Key/Value`), and one `Tag.<key>` entry per tag filter
    (sent as `Tag.N.Key` / `Tag.N.Value`).
    """

    model_config = ConfigDict(extra="forbid")

    owners: list[str] = Field(default_factory=lambda: ["self"])
    statuses: list[str] = Field(default_factory=lambda: list(IMAGE_STATUSES))
    filters: dict[str, str] = Field(default_factory=dict)


class DataNote(BaseModel):
    """A data-quality note: a value kept raw (the image itself is kept), or an odd input.

    Nothing was lost, so a note never makes a scan incomplete; the reports list every note."""

    model_config = ConfigDict(extra="forbid")

    message: str
    region: str | None = None
    image_id: str | None = None
    field: str | None = None  # the field path, `DiskDeviceMappings[0].Size`
    value: Any = None  # the raw value, as the input had it
    source: str | None = None  # the input file, when the note is about one

    def __str__(self) -> str:
        where = [part for part in (self.source, self.region) if part]
        if self.image_id:
            where.append(f"image {self.image_id}")
        if self.field:
            where.append(f"{self.field} = {_short(self.value)}")
        return ": ".join([*where, self.message])


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RegionInventory(BaseModel):
    """The images of one region, and whether the listing of that region is complete."""

    model_config = ConfigDict(extra="forbid")

    region: str
    account_id: str | None = None  # when the inventory holds several accounts: this region's
    complete: bool = True
    total_count: int | None = None
    images: list[Image] = Field(default_factory=list)
    request_ids: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    notes: list[DataNote] = Field(default_factory=list)


class _RegionLike(Protocol):
    @property
    def complete(self) -> bool: ...
    @property
    def account_id(self) -> str | None: ...


class _Regions:
    """Completeness and accounts of an inventory, held whole or only summarised: both have an
    `account_id` (the input's) and `regions` (each maybe naming its own account)."""

    account_id: str | None
    regions: Sequence[_RegionLike]

    @property
    def complete(self) -> bool:
        return all(region.complete for region in self.regions)

    def account_of(self, region: _RegionLike) -> str | None:
        return region.account_id or self.account_id

    @property
    def accounts(self) -> list[str]:
        """Every known account of the inventory."""
        known = {self.account_of(region) for region in self.regions} | {self.account_id}
        return sorted(account for account in known if account)


_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")  # a time's text begins with its date


class Inventory(_Regions, BaseModel):
    """The saved inventory: one JSON document, written by `collect` / `--save-inventory`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["imgaudit-inventory"] = "imgaudit-inventory"
    format_version: Literal[1] = 1
    tool_version: str
    collected_at: datetime
    source: Literal["api", "file"] = "api"
    account_id: str | None = None
    account_names: dict[str, str] | None = None  # account id -> its name (organisation scans)
    scope: Scope = Field(default_factory=Scope)
    regions: list[RegionInventory] = Field(default_factory=list)
    notes: list[DataNote] = Field(default_factory=list)  # about the input, not one region

    @field_validator("collected_at", mode="before")
    @classmethod
    def _time_text(cls, value: Any) -> Any:
        """A time as text (pydantic would read a number, or a number's text, as seconds since
        1970: `"collected_at": 5` is no time of a collection)."""
        if (isinstance(value, str) and _DATE_TEXT.match(value)) or isinstance(value, datetime):
            return value
        raise PydanticCustomError("datetime_text",
                                  "expected a date-time text, like 2026-11-27T08:00:00Z")

    @field_validator("collected_at")
    @classmethod
    def _utc_when_naive(cls, value: datetime) -> datetime:
        """A time without a zone is UTC, as the rules read one (the API's times are UTC): the
        times of several inputs are compared (the merged inventory's is the latest)."""
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)

    @property
    def image_count(self) -> int:
        return sum(len(region.images) for region in self.regions)

    @property
    def all_notes(self) -> list[DataNote]:
        """Every data-quality note: the input's, then each region's."""
        return [*self.notes, *(note for region in self.regions for note in region.notes)]

    def summary(self) -> InventorySummary:
        """What reports need of this inventory: everything but the images."""
        regions = [RegionSummary(region=r.region, account_id=r.account_id, complete=r.complete,
                                 image_count=len(r.images), total_count=r.total_count,
                                 request_ids=r.request_ids, errors=r.errors)
                   for r in self.regions]
        return InventorySummary(tool_version=self.tool_version, collected_at=self.collected_at,
                                source=self.source, account_id=self.account_id,
                                account_names=self.account_names, scope=self.scope,
                                regions=regions, notes=self.all_notes)


@dataclass(frozen=True)
class RegionSummary:
    """A region of an inventory whose images were read and let go: how many there were."""

    region: str
    account_id: str | None
    complete: bool
    image_count: int
    total_count: int | None
    request_ids: list[str]
    errors: list[str]


@dataclass(frozen=True)
class InventorySummary(_Regions):
    """An inventory without its images (a streamed scan holds none): scope, regions, counts,
    completeness and every data-quality note (the input's, then each region's)."""

    tool_version: str
    collected_at: datetime
    source: Literal["api", "file"]
    account_id: str | None
    account_names: dict[str, str] | None
    scope: Scope
    regions: list[RegionSummary]
    notes: list[DataNote]

    @property
    def image_count(self) -> int:
        return sum(region.image_count for region in self.regions)
