"""Our DescribeImages request parameters equal the official SDK's for the same filters."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as sdk
from alibabacloud_tea_openapi.utils import Utils

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
