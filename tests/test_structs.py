"""msgspec Structs from the models (auditor/structs.py), and the collector's Structs of a
DescribeImages page (auditor/collector/plain_page.py) against the official SDK's response model:
the same wire names, wrapper levels and JSON types, none missing and none invented."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Any, Literal

import alibabacloud_ecs20140526.models as sdk
import msgspec
import pytest
from pydantic import BaseModel, Field
from test_models_sdk import wire_fields

from auditor.collector import plain_page
from auditor.models import Image
from auditor.structs import OMIT, Shape, struct_of


def _fields(struct: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(struct, include_extras=True)
    return {f.name: hints[f.name] for f in msgspec.structs.fields(struct)}


def _plain(kind: Any) -> Any:
    """The JSON type under None, a constraint or a choice of texts."""
    if typing.get_origin(kind) is Annotated:
        return _plain(typing.get_args(kind)[0])
    if typing.get_origin(kind) is Literal:
        (kind,) = {type(value) for value in typing.get_args(kind)}
        return kind
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, type(int | None)) and len(args) == 1:
        return _plain(args[0])
    return kind


def compare(struct: Any, theirs: type, where: str, problems: list[str]) -> None:
    ours = _fields(struct)
    wire = wire_fields(theirs)
    problems += [f"{where}.{name}: not in the SDK" for name in sorted(set(ours) - set(wire))]
    for name, kind in wire.items():
        if name not in ours:
            problems.append(f"{where}.{name}: in the SDK, not decoded")
            continue
        mine = _plain(ours[name])
        if typing.get_origin(kind) in (list, typing.List):  # noqa: UP006 (the SDK's own)
            if typing.get_origin(mine) is not list:
                problems.append(f"{where}.{name}: a list in the SDK, {mine} here")
            else:
                compare(_plain(typing.get_args(mine)[0]), typing.get_args(kind)[0],
                        f"{where}.{name}[]", problems)
        elif hasattr(kind, "to_map"):
            if not (isinstance(mine, type) and issubclass(mine, msgspec.Struct)):
                problems.append(f"{where}.{name}: an object in the SDK, {mine} here")
            else:
                compare(mine, kind, f"{where}.{name}", problems)
        elif mine is not kind:
            problems.append(f"{where}.{name}: {kind.__name__} in the SDK, {mine} here")


def test_the_page_structs_are_the_sdks_describe_images_response() -> None:
    """Every field the SDK knows, at its wrapper level, of its JSON type; none invented."""
    problems: list[str] = []
    compare(plain_page._Page, sdk.DescribeImagesResponseBody, "page", problems)
    assert problems == []


def test_the_comparison_notices_a_field_typed_otherwise_or_invented() -> None:
    class Narrow(BaseModel):
        SecureBootSupport: int | None = None
        Invented: str | None = None

    struct = struct_of(Narrow, Shape("Check"))
    problems: list[str] = []
    compare(struct, sdk.DescribeImagesResponseBodyImagesImageSecureBootOptions, "x", problems)
    assert problems == ["x.Invented: not in the SDK",
                        "x.SecureBootSupport: str in the SDK, <class 'int'> here"]


def test_a_struct_has_the_models_fields_in_order_types_and_constraints() -> None:
    shape = Shape("Walk")
    struct = struct_of(Image, shape)
    assert struct is struct_of(Image, shape)  # built once per shape
    assert [f.name for f in msgspec.structs.fields(struct)] == list(Image.model_fields)
    fields = _fields(struct)
    assert fields["ImageId"] == Annotated[str, msgspec.Meta(min_length=1)]
    assert fields["Size"] == int | None and fields["IsPublic"] == bool | None
    assert fields["CreationTime"] == datetime | None
    assert fields["Tags"] == dict[str, str] and fields["InstanceIds"] == list[str] | None
    (disk,) = typing.get_args(fields["DiskDeviceMappings"])
    assert [f.name for f in msgspec.structs.fields(disk)] == list(
        Image.model_fields["DiskDeviceMappings"].annotation.__args__[0].model_fields)  # type: ignore[union-attr]
    decode = msgspec.json.Decoder(struct).decode
    assert decode(b'{"ImageId": "m"}').Tags == {}  # the model's default
    for refused in (b'{"ImageId": ""}', b'{"ImageId": "m", "Size": "60"}',
                    b'{"ImageId": "m", "Other": 1}', b'{"ImageName": "x"}'):
        with pytest.raises(msgspec.ValidationError):
            decode(refused)


def test_a_shape_replaces_or_leaves_out_fields_and_bounds_scalars() -> None:
    class Small(BaseModel):
        Name: str | None = None
        Count: int = 0
        Extra: list[str] | None = None
        Label: str | None = Field(None, max_length=2)

    bounded = Annotated[int, msgspec.Meta(ge=0)]
    shape = Shape("Odd", types={(Small, "Name"): Literal["a"] | None, (Small, "Extra"): OMIT},
                  scalars={int: bounded})
    struct = struct_of(Small, shape)
    assert _fields(struct) == {"Name": Literal["a"] | None, "Count": bounded,
                               "Label": Annotated[str, msgspec.Meta(max_length=2)] | None}
    decode = msgspec.json.Decoder(struct).decode
    assert decode(b'{"Name": "a", "Count": 3, "Label": null}') == struct(  # type: ignore[call-arg]
        Name="a", Count=3)
    assert decode(b'{"Label": "ab"}').Label == "ab"
    for refused in (b'{"Name": "b"}', b'{"Count": -1}', b'{"Extra": []}', b'{"Label": "abc"}'):
        with pytest.raises(msgspec.ValidationError):
            decode(refused)


def test_an_unknown_annotation_or_constraint_is_refused() -> None:
    class Odd(BaseModel):
        When: set[str] | None = None

    class Patterned(BaseModel):
        Name: str = Field(pattern="^a")

    with pytest.raises(TypeError, match="no JSON type"):
        struct_of(Odd, Shape("Odd"))
    with pytest.raises(TypeError, match="no msgspec form"):
        struct_of(Patterned, Shape("Odd"))
