"""Typed records of an ECS image (DescribeImages) and of a collected inventory.

Field names are the API's own, so rule paths (`Features.NvmeSupport`, `Tags.owner`) read
exactly like the API documentation. The API's wrapper levels are collapsed on input
(`Tags.Tag[]` becomes a mapping, `DiskDeviceMappings.DiskDeviceMapping[]` and
`DetectionOptions.Items.Item[]` become lists); fields the API adds later are kept, not rejected.
Booleans and numbers that the API sends as strings (`"true"`, `"60"`) are normalised by
pydantic's lax mode.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

INVENTORY_FORMAT = "imgaudit-inventory"  # the `format` of a saved inventory

OWNER_ALIASES = ("self", "others", "system", "marketplace")  # an image's ImageOwnerAlias
# What `--owner` / `Scope.owners` name: the API's aliases, with `others` split in two, since
# the API lists images shared with the account (`others`) and community images (`others` with
# `IsPublic=true`) separately. `others` on the command line means both.
OWNER_SCOPES = ("self", "shared", "community", "system", "marketplace")
IMAGE_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")


def _unwrap(value: Any, key: str) -> Any:
    """`{"Item": [...]}` -> `[...]`; already-flat lists pass through."""
    if isinstance(value, dict) and set(value) == {key}:
        return value[key] or []
    return value


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_MAX_SHARED_SETS = 4096  # distinct combinations of given fields remembered; then no sharing


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def model_post_init(self, context: Any, /) -> None:
        """Records given the same fields share one `model_fields_set`.

        A set of its own per record was 40% of the memory of 100,000 loaded images (~390 MB).
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
    Size: int | None = None
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
    def _collapse_items(cls, value: Any) -> Any:
        return [] if value is None else _unwrap(value, "Item")


class ImageFeatures(_ApiModel):
    NvmeSupport: str | None = None
    ImdsSupport: str | None = None


def _tags_to_mapping(value: Any) -> Any:
    """Accept `{"Tag": [{"TagKey", "TagValue"}]}`, a list of pairs, or a mapping."""
    value = _unwrap(value, "Tag")
    if value is None:
        return {}
    if isinstance(value, list):
        pairs = {}
        for tag in value:
            if isinstance(tag, dict):
                key = tag.get("TagKey", tag.get("Key"))
                pairs[key] = tag.get("TagValue", tag.get("Value", ""))
        return pairs
    return value


_FLAT: dict[str, str] = {}
_FLAT_LIST: list[Any] = []


class Image(_ApiModel):
    """One image as DescribeImages returns it, wrapper levels collapsed."""

    ImageId: str = Field(min_length=1)
    ImageName: str | None = None
    ImageFamily: str | None = None
    ImageVersion: str | None = None
    ImageOwnerAlias: str | None = None
    ImageOwnerId: int | None = None
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
    IsSelfShared: bool | None = None
    IsSubscribed: bool | None = None
    IsSupportIoOptimized: bool | None = None
    IsSupportCloudinit: bool | None = None
    LoginAsNonRootSupported: bool | None = None
    ProductCode: str | None = None
    SupplierName: str | None = None
    ResourceGroupId: str | None = None
    LicenseType: str | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    DiskDeviceMappings: list[DiskDeviceMapping] = Field(default_factory=list)
    DetectionOptions: ImageDetection | None = None
    Features: ImageFeatures | None = None

    @field_validator("CreationTime", mode="before")
    @classmethod
    def _parse_api_time(cls, value: Any) -> Any:
        """The API's one time shape (`2019-11-15T06:07:05Z`) parsed by the stdlib's C parser.

        Same value as pydantic's own parsing, ~12 us less per image (about 1.2 s over 100,000
        images); any other shape, or an invalid date, goes to pydantic unchanged."""
        if type(value) is str and len(value) == 20 and value[19] == "Z" and value[10] == "T":
            try:
                return datetime.fromisoformat(value[:19]).replace(tzinfo=timezone.utc)
            except ValueError:
                return value
        return value

    @model_validator(mode="before")
    @classmethod
    def _collapse(cls, data: Any) -> Any:
        """Collapse the API's wrapper levels of Tags and DiskDeviceMappings.

        One check per image that does nothing for the already-flat saved inventory (two field
        validators cost ~6% of validating 100,000 images); a copy only when it collapses."""
        if not isinstance(data, dict):
            return data
        tags, disks = data.get("Tags", _FLAT), data.get("DiskDeviceMappings", _FLAT_LIST)
        if (type(tags) is dict and not (len(tags) == 1 and "Tag" in tags)
                and type(disks) is list):
            return data
        data = dict(data)
        if "Tags" in data:
            data["Tags"] = _tags_to_mapping(data["Tags"])
        if "DiskDeviceMappings" in data:
            disks = data["DiskDeviceMappings"]
            data["DiskDeviceMappings"] = [] if disks is None else _unwrap(
                disks, "DiskDeviceMapping")
        return data


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


class RegionInventory(BaseModel):
    """The images of one region, and whether the listing of that region is complete."""

    model_config = ConfigDict(extra="forbid")

    region: str
    complete: bool = True
    total_count: int | None = None
    images: list[Image] = Field(default_factory=list)
    request_ids: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


class Inventory(BaseModel):
    """The saved inventory: one JSON document, written by `collect` / `--save-inventory`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["imgaudit-inventory"] = "imgaudit-inventory"
    format_version: Literal[1] = 1
    tool_version: str
    collected_at: datetime
    source: Literal["api", "file"] = "api"
    account_id: str | None = None
    scope: Scope = Field(default_factory=Scope)
    regions: list[RegionInventory] = Field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(region.complete for region in self.regions)

    @property
    def image_count(self) -> int:
        return sum(len(region.images) for region in self.regions)
