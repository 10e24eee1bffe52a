"""The real collector against the fake endpoint over real HTTP: shape, scope, pagination."""

from __future__ import annotations

import pytest
from fakeecs import ACCOUNT_ID, FakeEndpoint, image, many_images
from fakeecs import collect_request as request

from auditor import __version__
from auditor.collector import collect
from auditor.errors import UsageError
from auditor.models import IMAGE_STATUSES, Scope

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("env_keys")


def test_collects_every_image_with_the_api_shape_collapsed(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", [
        image("m-one", Tags={"owner": "web", "env": "prod"},
              DiskDeviceMappings=[{"Type": "system", "Size": 60, "SnapshotId": "s-1"}],
              DetectionOptions={"Status": "Finished", "Items": [
                  {"Name": "Nvme", "Value": "Unsupported", "RiskLevel": "High"}]}),
    ])
    inventory = collect(request(fake))
    assert inventory.source == "api"
    assert inventory.tool_version == __version__
    assert inventory.account_id == ACCOUNT_ID
    assert inventory.collected_at.tzinfo is not None
    (region,) = inventory.regions
    assert region.region == "cn-hangzhou" and region.complete and region.total_count == 1
    (img,) = region.images
    assert img.Tags == {"owner": "web", "env": "prod"}
    assert img.DiskDeviceMappings[0].Size == 60
    assert img.DetectionOptions is not None
    assert img.DetectionOptions.Items[0].RiskLevel == "High"
    assert len(region.request_ids) == 1


def test_default_scope_is_self_in_every_state(fake: FakeEndpoint) -> None:
    images = [image(f"m-{s.lower()}", Status=s) for s in IMAGE_STATUSES]
    images.append(image("m-system", ImageOwnerAlias="system"))
    fake.cloud.add_images("cn-hangzhou", images)
    inventory = collect(request(fake))
    ids = {i.ImageId for i in inventory.regions[0].images}
    assert ids == {f"m-{s.lower()}" for s in IMAGE_STATUSES}
    (call,) = fake.cloud.calls_of("DescribeImages")
    assert call.params["Status"] == ",".join(IMAGE_STATUSES)
    assert call.params["ImageOwnerAlias"] == "self"
    assert call.params["PageSize"] == "100"


def test_the_api_alone_returns_only_available(fake: FakeEndpoint) -> None:
    """The fake's default matches the API's, which is why the collector sends Status."""
    fake.cloud.add_images("cn-hangzhou", [image("m-a"), image("m-d", Status="Deprecated")])
    scope = Scope(statuses=["Available"])
    inventory = collect(request(fake, scope=scope))
    assert [i.ImageId for i in inventory.regions[0].images] == ["m-a"]


def test_pages_are_all_fetched_and_counted(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("p", 250))
    seen: list[tuple[str, int, int]] = []
    inventory = collect(request(fake), progress=lambda *a: seen.append(a))
    region = inventory.regions[0]
    assert region.total_count == 250 and len(region.images) == 250 and region.complete
    assert len({i.ImageId for i in region.images}) == 250
    pages = sorted(int(c.params["PageNumber"]) for c in fake.cloud.calls_of("DescribeImages"))
    assert pages == [1, 2, 3]
    assert len(region.request_ids) == 3
    assert seen[-1][1:] == (3, 250) or max(s[2] for s in seen) == 250
    assert sorted(s[1] for s in seen) == [1, 2, 3]


def test_region_callback_counts_regions_done(fake: FakeEndpoint) -> None:
    from fakeecs import Fault

    fake.cloud.faults.append(Fault("error", region="cn-shanghai", times=None))
    done: list[tuple[str, int, int]] = []
    collect(request(fake, regions=["all"]), on_region=lambda *a: done.append(a))
    assert sorted(r for r, _, _ in done) == sorted(fake.cloud.regions)  # failed ones too
    assert [(n, total) for _, n, total in done] == [(1, 3), (2, 3), (3, 3)]


def test_owners_are_listed_one_by_one_and_merged(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", [
        image("m-self"), image("m-shared", ImageOwnerAlias="others"),
        image("ubuntu_22", ImageOwnerAlias="system"),
        image("m-market", ImageOwnerAlias="marketplace"),
    ])
    scope = Scope(owners=["self", "others", "system", "marketplace"])
    inventory = collect(request(fake, scope=scope))
    region = inventory.regions[0]
    assert {i.ImageId for i in region.images} == {"m-self", "m-shared", "ubuntu_22", "m-market"}
    owners = sorted(c.params["ImageOwnerAlias"] for c in fake.cloud.calls_of("DescribeImages"))
    assert owners == ["marketplace", "others", "self", "system"]
    assert region.total_count == 4


def test_filters_map_to_the_api_parameters(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", [
        image("m-hit", OSType="linux", Architecture="arm64", ImageFamily="web", Usage="instance",
              Tags={"env": "prod", "team": "a b*c~"}, CreationTime="2025-03-01T00:00:00Z"),
        image("m-old", OSType="linux", Architecture="arm64", ImageFamily="web", Usage="instance",
              Tags={"env": "prod", "team": "a b*c~"}, CreationTime="2023-03-01T00:00:00Z"),
        image("m-win", OSType="windows", Architecture="arm64", Tags={"env": "prod"}),
        image("m-dev", OSType="linux", Architecture="arm64", Tags={"env": "dev"}),
    ])
    scope = Scope(filters={
        "OSType": "linux", "Architecture": "arm64", "ImageFamily": "web", "Usage": "instance",
        "Tag.env": "prod", "Tag.team": "a b*c~", "CreationStartTime": "2024-01-01",
        "CreationEndTime": "2026-01-01T00:00Z",
    })
    inventory = collect(request(fake, scope=scope))
    assert [i.ImageId for i in inventory.regions[0].images] == ["m-hit"]
    (call,) = fake.cloud.calls_of("DescribeImages")
    assert call.params["Tag.1.Key"] == "env" and call.params["Tag.1.Value"] == "prod"
    assert call.params["Tag.2.Value"] == "a b*c~"
    assert call.params["Filter.1.Key"] == "CreationStartTime"
    assert call.params["Filter.1.Value"] == "2024-01-01T00:00Z"
    assert call.params["Filter.2.Key"] == "CreationEndTime"
    assert inventory.scope == scope


def test_non_ascii_tag_filter_is_signed_and_matched(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-zh", Tags={"所有者": "团队 é"}), image("m-x")])
    scope = Scope(filters={"Tag.所有者": "团队 é"})
    inventory = collect(request(fake, scope=scope))
    assert [i.ImageId for i in inventory.regions[0].images] == ["m-zh"]


@pytest.mark.parametrize("filters", [
    {"CreationStartTime": "last tuesday"},
    {"Colour": "blue"},
    {f"Tag.k{n}": "v" for n in range(21)},
])
def test_bad_filters_fail_before_any_call(fake: FakeEndpoint, filters: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        collect(request(fake, scope=Scope(filters=filters)))
    assert fake.cloud.calls == []


def test_all_regions_come_from_describe_regions(fake: FakeEndpoint) -> None:
    for n, region in enumerate(fake.cloud.regions):
        fake.cloud.add_images(region, many_images(f"r{n}x", 3))
    inventory = collect(request(fake, regions=["all"]))
    assert [r.region for r in inventory.regions] == sorted(fake.cloud.regions)
    assert all(len(r.images) == 3 for r in inventory.regions)
    assert len(fake.cloud.calls_of("DescribeRegions")) == 1


def test_regions_are_sorted_and_deduplicated(fake: FakeEndpoint) -> None:
    inventory = collect(request(fake, regions=["eu-central-1", "cn-hangzhou", "eu-central-1"]))
    assert [r.region for r in inventory.regions] == ["cn-hangzhou", "eu-central-1"]


def test_unknown_region_is_a_usage_error(fake: FakeEndpoint) -> None:
    with pytest.raises(UsageError, match="unknown region xx-nowhere-1"):
        collect(request(fake, regions=["cn-hangzhou", "xx-nowhere-1"]))
    assert fake.cloud.calls_of("DescribeImages") == []


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_both_signatures_are_accepted(fake: FakeEndpoint, signature: str) -> None:
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    inventory = collect(request(fake, signature=signature))
    assert [i.ImageId for i in inventory.regions[0].images] == ["m-1"]
    assert all(c.status == 200 for c in fake.cloud.calls)


def test_v1_sends_format_json_and_no_authorization_header(fake: FakeEndpoint) -> None:
    collect(request(fake, signature="v1"))
    call = fake.cloud.calls_of("DescribeImages")[0]
    assert call.params["Format"] == "JSON" and call.params["SignatureMethod"] == "HMAC-SHA1"


def test_account_lookup_can_be_skipped(fake: FakeEndpoint) -> None:
    inventory = collect(request(fake, lookup_account=False))
    assert inventory.account_id is None
    assert fake.cloud.calls_of("GetCallerIdentity") == []


def test_account_lookup_failure_is_a_warning(
    fake: FakeEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    from fakeecs import Fault

    fake.cloud.faults.append(Fault("error", action="GetCallerIdentity", times=None,
                                   code="NoPermission", status=403))
    fake.cloud.add_images("cn-hangzhou", [image("m-1")])
    inventory = collect(request(fake))
    assert inventory.account_id is None
    assert inventory.complete and len(inventory.regions[0].images) == 1
    assert "account id unknown" in caplog.text and "NoPermission" in caplog.text
