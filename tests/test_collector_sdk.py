"""Our request parameters equal the official SDK's: DescribeImages (listings, lookups by id),
DescribeImageSharePermission and DescribeInstances."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as sdk
from alibabacloud_tea_openapi.utils import Utils

from auditor.collector.enrich import instance_params, lookup_params, share_params
from auditor.collector.params import listing_params
from auditor.models import IMAGE_STATUSES, Scope


def _sdk_query(request: sdk.DescribeImagesRequest) -> dict[str, str]:
    """The query the SDK's client sends (booleans as the API documents them: true/false)."""
    query = Utils.query(request.to_map())
    return {k: v.lower() if v in ("True", "False") else v for k, v in query.items()}


SCOPE = Scope(
    owners=["community"], statuses=["Available", "Deprecated"],
    filters={"OSType": "linux", "Architecture": "arm64", "ImageFamily": "web",
             "Usage": "instance", "CreationStartTime": "2024-01-01",
             "CreationEndTime": "2025-02-03T04:05Z", "Tag.env": "prod", "Tag.team": ""},
)


def test_a_full_scope_matches_the_sdk_request() -> None:
    ours = listing_params(SCOPE)["community"] | {"RegionId": "cn-hangzhou", "PageNumber": "3"}
    theirs = sdk.DescribeImagesRequest(
        region_id="cn-hangzhou", image_owner_alias="others", is_public=True,
        status="Available,Deprecated", ostype="linux", architecture="arm64",
        image_family="web", usage="instance", page_number=3, page_size=100,
        filter=[sdk.DescribeImagesRequestFilter(key="CreationStartTime",
                                                value="2024-01-01T00:00Z"),
                sdk.DescribeImagesRequestFilter(key="CreationEndTime",
                                                value="2025-02-03T04:05Z")],
        tag=[sdk.DescribeImagesRequestTag(key="env", value="prod"),
             sdk.DescribeImagesRequestTag(key="team")],
    )
    assert ours == _sdk_query(theirs)


@pytest.mark.parametrize("owner,alias,public", [
    ("self", "self", None), ("shared", "others", None), ("community", "others", True),
    ("system", "system", None), ("marketplace", "marketplace", None),
])
def test_each_owner_scope_matches_the_sdk_request(
    owner: str, alias: str, public: bool | None
) -> None:
    ours = listing_params(Scope(owners=[owner]))[owner] | {"RegionId": "eu-central-1",
                                                          "PageNumber": "1"}
    theirs = sdk.DescribeImagesRequest(
        region_id="eu-central-1", image_owner_alias=alias, is_public=public,
        status=",".join(IMAGE_STATUSES), page_number=1, page_size=100)
    assert ours == _sdk_query(theirs)


def test_share_permission_request_matches_the_sdk_request() -> None:
    ours = share_params("cn-beijing", "m-bp1abc", 2)
    theirs = sdk.DescribeImageSharePermissionRequest(
        region_id="cn-beijing", image_id="m-bp1abc", page_number=2, page_size=100)
    assert ours == _sdk_query(theirs)


@pytest.mark.parametrize("token", [None, "caeba0bbb2be03f84eb48b699f0a****"])
def test_instance_listing_request_matches_the_sdk_request(token: str | None) -> None:
    ours = instance_params("cn-hangzhou", token)
    theirs = sdk.DescribeInstancesRequest(region_id="cn-hangzhou", max_results=100,
                                          next_token=token)
    assert ours == _sdk_query(theirs)


@pytest.mark.parametrize("alias", ["", "marketplace"])
def test_image_lookup_by_id_matches_the_sdk_request(alias: str) -> None:
    ours = lookup_params("eu-central-1", ["m-1", "m-2"], alias)
    theirs = sdk.DescribeImagesRequest(
        region_id="eu-central-1", image_id="m-1,m-2", status=",".join(IMAGE_STATUSES),
        show_expired=True, image_owner_alias=alias or None, page_size=100, page_number=1)
    assert ours == _sdk_query(theirs)
