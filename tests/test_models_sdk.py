"""The image model against the official SDK's response models (alibabacloud-ecs20140526).

Every field the SDK knows is a field of ours, typed the same, and we invent none: a field the
API adds later (in a newer SDK) fails here until the model has it.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

import alibabacloud_ecs20140526.models as sdk
import pytest
from pydantic import BaseModel

from auditor.models import ENRICHMENTS, Image, ImageSharePermission, SharedAccount, ShareGroup
from auditor.structs import optional

# Normalised on purpose: the API's time text is parsed (rules compare dates, not strings).
NORMALISED = {("Image", "CreationTime"): (str, datetime),
              ("SharedAccount", "SharedTime"): (str, datetime)}
# Ours on purpose, not DescribeImages' (each documented in auditor/models.py): what other
# calls add to an image, and which of them failed; whether a share's account is in the scan.
ADDED = {("Image", name) for name in (*ENRICHMENTS, "NotCollected")} | {
    ("SharedAccount", "InOrganization")}
# The API's wrapper levels, collapsed: {"Tag": [{TagKey, TagValue}]} is a mapping.
TAGS = sdk.DescribeImagesResponseBodyImagesImageTags


def _hints(cls: type) -> dict[str, Any]:
    """An SDK model's `__init__` parameters and their types, without the `Optional` that
    Python 3.10's `get_type_hints` adds to a parameter whose default is None."""
    hints = typing.get_type_hints(cls.__init__)
    hints.pop("return", None)
    for name, kind in hints.items():
        args = typing.get_args(kind)
        if typing.get_origin(kind) is typing.Union and len(args) == 2 and type(None) in args:
            hints[name] = next(arg for arg in args if arg is not type(None))
    return hints


def wire_fields(cls: type) -> dict[str, Any]:
    """The JSON names of an SDK model's fields (as its to_map writes them) and their types."""
    hints = _hints(cls)
    fields = {}
    for attribute, kind in hints.items():
        instance = cls()
        value = _sample(kind)
        setattr(instance, attribute, value)
        (name,) = instance.to_map().keys()
        fields[name] = kind
    return fields


def _sample(kind: Any) -> Any:
    if typing.get_origin(kind) is list:
        return []
    if isinstance(kind, type) and hasattr(kind, "to_map"):
        return kind()
    return kind()


def _wrapped(kind: Any) -> Any:
    """The item type of a wrapper class (one list field), else None."""
    if not (isinstance(kind, type) and hasattr(kind, "to_map")):
        return None
    hints = _hints(kind)
    if len(hints) == 1:
        (only,) = hints.values()
        if typing.get_origin(only) is list:
            return typing.get_args(only)[0]
    return None


def compare(ours: type[BaseModel], theirs: type, problems: list[str]) -> None:
    fields = ours.model_fields
    for name, kind in wire_fields(theirs).items():
        where = f"{ours.__name__}.{name}"
        if name not in fields:
            problems.append(f"{where}: in the SDK, not in our model")
            continue
        mine, _ = optional(fields[name].annotation)
        if (ours.__name__, name) in NORMALISED:
            if NORMALISED[(ours.__name__, name)] != (kind, mine):
                problems.append(f"{where}: normalisation changed ({kind} -> {mine})")
        elif kind is TAGS:
            if mine != dict[str, str]:
                problems.append(f"{where}: tags should be a mapping, not {mine}")
        elif (item := _wrapped(kind)) is not None:
            if typing.get_origin(mine) is not list:
                problems.append(f"{where}: a wrapped list in the SDK, {mine} here")
            else:
                compare(typing.get_args(mine)[0], item, problems)
        elif isinstance(kind, type) and hasattr(kind, "to_map"):
            if not (isinstance(mine, type) and issubclass(mine, BaseModel)):
                problems.append(f"{where}: an object in the SDK, {mine} here")
            else:
                compare(mine, kind, problems)
        elif mine is not kind:
            problems.append(f"{where}: {kind.__name__} in the SDK, {mine} here")
    invented = set(fields) - set(wire_fields(theirs)) - {n for (m, n) in ADDED
                                                          if m == ours.__name__}
    problems += [f"{ours.__name__}.{name}: not in the SDK" for name in sorted(invented)]


def test_image_model_has_every_sdk_field_typed_as_the_sdk_types_it() -> None:
    problems: list[str] = []
    compare(Image, sdk.DescribeImagesResponseBodyImagesImage, problems)
    assert problems == []


def test_share_permission_model_is_the_sdk_response_body_collapsed() -> None:
    """Accounts.Account[] and ShareGroups.ShareGroup[] of DescribeImageSharePermission, typed
    as the SDK types them; the body's paging fields are read by the collector, not kept."""
    body = wire_fields(sdk.DescribeImageSharePermissionResponseBody)
    assert set(ImageSharePermission.model_fields) <= set(body)
    problems: list[str] = []
    compare(SharedAccount, sdk.DescribeImageSharePermissionResponseBodyAccountsAccount, problems)
    compare(ShareGroup, sdk.DescribeImageSharePermissionResponseBodyShareGroupsShareGroup,
            problems)
    for name, item in (("Accounts", SharedAccount), ("ShareGroups", ShareGroup)):
        assert _wrapped(body[name]) is not None
        assert ImageSharePermission.model_fields[name].annotation == list[item]
    assert problems == []


def test_the_comparison_notices_a_field_we_lack() -> None:
    """The check above can fail: a model missing one field, or typing one differently."""

    class Narrow(BaseModel):
        SecureBootSupport: int | None = None

    problems: list[str] = []
    compare(Narrow, sdk.DescribeImagesResponseBodyImagesImageSecureBootOptions, problems)
    assert problems == ["Narrow.SecureBootSupport: str in the SDK, <class 'int'> here"]
    problems = []
    compare(Narrow, sdk.DescribeImagesResponseBodyImagesImageFeatures, problems)
    assert "Narrow.NvmeSupport: in the SDK, not in our model" in problems
    assert "Narrow.SecureBootSupport: not in the SDK" in problems


@pytest.mark.parametrize("name", ["TotalCount", "RequestId", "RegionId", "Images"])
def test_the_response_body_fields_we_read_are_the_sdks(name: str) -> None:
    assert name in wire_fields(sdk.DescribeImagesResponseBody)
    assert "Image" in wire_fields(sdk.DescribeImagesResponseBodyImages)
