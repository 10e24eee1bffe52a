"""Enrichments against the fake endpoint over real HTTP: who shared images are shared with
(DescribeImageSharePermission), which instances run each image (DescribeInstances), and the
images instances run looked up by id; failures lose nothing and say what is missing."""

from __future__ import annotations

import pytest
from fakeecs import ACCOUNT_ID, FakeEndpoint, Fault, image
from fakeecs import collect_request as request

from auditor.collector import collect
from auditor.models import Image, Scope

pytest_plugins = ["fakeecs.fixtures"]
pytestmark = pytest.mark.usefixtures("env_keys")
REGION = "cn-hangzhou"


def _by_id(images: list[Image]) -> dict[str, Image]:
    return {i.ImageId: i for i in images}


def test_share_permission_is_asked_only_for_shared_or_published_self_images(
        fake: FakeEndpoint) -> None:
    fake.cloud.add_images(REGION, [image("m-private"), image("m-shared"), image("m-public"),
                                   image("m-both")])
    fake.cloud.share(REGION, "m-shared", ["111", ACCOUNT_ID])
    fake.cloud.share(REGION, "m-public", groups=["all"])
    fake.cloud.share(REGION, "m-both", ["222"], groups=["all"])
    inventory = collect(request(fake, sharing=True))
    (region,) = inventory.regions
    assert region.complete and region.errors == []
    images = _by_id(region.images)
    calls = fake.cloud.calls_of("DescribeImageSharePermission")
    assert sorted(c.params["ImageId"] for c in calls) == ["m-both", "m-public", "m-shared"]
    assert all(c.params["RegionId"] == REGION and c.params["PageSize"] == "100" for c in calls)
    assert images["m-private"].SharePermission is None
    shared = images["m-shared"].SharePermission
    assert shared is not None and shared.ShareGroups == []
    assert [(a.AliyunId, a.InOrganization) for a in shared.Accounts] == [
        ("111", False), (ACCOUNT_ID, True)]
    assert shared.Accounts[0].SharedTime is not None
    assert shared.Accounts[0].SharedTime.isoformat() == "2025-07-01T08:00:00+00:00"
    public = images["m-public"].SharePermission
    assert public is not None and [g.Group for g in public.ShareGroups] == ["all"]


def test_no_enrichment_call_unless_asked(fake: FakeEndpoint) -> None:
    fake.cloud.add_images(REGION, [image("m-shared")])
    fake.cloud.share(REGION, "m-shared", ["111"])
    fake.cloud.run(REGION, "m-shared")
    (region,) = collect(request(fake)).regions
    assert region.images[0].SharePermission is None and region.images[0].InstanceIds is None
    assert fake.cloud.calls_of("DescribeImageSharePermission") == []
    assert fake.cloud.calls_of("DescribeInstances") == []


def test_an_image_shared_with_many_accounts_is_read_page_by_page(fake: FakeEndpoint) -> None:
    accounts = [f"{n:016d}" for n in range(1, 251)]
    fake.cloud.add_images(REGION, [image("m-wide")])
    fake.cloud.share(REGION, "m-wide", accounts)
    (region,) = collect(request(fake, sharing=True)).regions
    permission = region.images[0].SharePermission
    assert permission is not None
    assert [a.AliyunId for a in permission.Accounts] == accounts
    pages = [c.params["PageNumber"] for c in fake.cloud.calls_of("DescribeImageSharePermission")]
    assert pages == ["1", "2", "3"]


@pytest.mark.parametrize("fault", [
    Fault("error", action="DescribeImageSharePermission", image="m-bad", times=None),
    Fault("throttle", action="DescribeImageSharePermission", image="m-bad", times=None),
    Fault("body", action="DescribeImageSharePermission", image="m-bad", times=None,
          status=200, body=b'{"RequestId": "X", "Accounts": {"Account": [{"SharedTime": 1}]}}'),
    Fault("body", action="DescribeImageSharePermission", image="m-bad", times=None,
          status=200, body=b'{"RequestId": "X", "Accounts": {"Account": "everyone"}}'),
])
def test_a_failed_share_listing_keeps_the_image_and_says_what_is_missing(
        fake: FakeEndpoint, fault: Fault) -> None:
    fake.cloud.add_images(REGION, [image("m-bad"), image("m-good")])
    fake.cloud.share(REGION, "m-bad", ["111"])
    fake.cloud.share(REGION, "m-good", ["222"])
    fake.cloud.faults.append(fault)
    inventory = collect(request(fake, sharing=True))
    (region,) = inventory.regions
    images = _by_id(region.images)
    assert set(images) == {"m-bad", "m-good"}
    assert images["m-bad"].SharePermission is None
    assert images["m-bad"].NotCollected == ["SharePermission"]
    assert images["m-good"].SharePermission is not None and images["m-good"].NotCollected is None
    assert not region.complete and not inventory.complete
    (error,) = region.errors
    assert "m-bad" in error and "DescribeImageSharePermission" in error
    assert "shared with is unknown" in error


def test_a_transient_share_failure_is_retried(fake: FakeEndpoint) -> None:
    fake.cloud.add_images(REGION, [image("m-shared")])
    fake.cloud.share(REGION, "m-shared", ["111"])
    fake.cloud.faults += [Fault("throttle", action="DescribeImageSharePermission", times=2)]
    (region,) = collect(request(fake, sharing=True)).regions
    assert region.complete and region.images[0].SharePermission is not None
    assert len(fake.cloud.calls_of("DescribeImageSharePermission")) == 3


def test_instances_name_the_images_they_run(fake: FakeEndpoint) -> None:
    fake.cloud.add_images(REGION, [image("m-used"), image("m-idle")])
    ids = fake.cloud.run(REGION, "m-used", count=250)
    inventory = collect(request(fake, instances=True))
    (region,) = inventory.regions
    images = _by_id(region.images)
    assert images["m-used"].InstanceIds == sorted(ids)
    assert images["m-idle"].InstanceIds == []
    calls = fake.cloud.calls_of("DescribeInstances")
    assert [c.params.get("NextToken") is None for c in calls] == [True, False, False]
    assert all(c.params["MaxResults"] == "100" and c.params["RegionId"] == REGION
               for c in calls)
    assert "PageNumber" not in calls[0].params


def test_images_that_instances_run_outside_the_scope_are_looked_up(fake: FakeEndpoint) -> None:
    community = image("m-community", ImageOwnerAlias="others", IsPublic=True,
                      ImageOwnerId=999)
    market = image("m-market", ImageOwnerAlias="marketplace", Status="Deprecated")
    fake.cloud.add_images(REGION, [image("m-own"), community, market,
                                   image("ubuntu_22_04_x64", ImageOwnerAlias="system")])
    fake.cloud.run(REGION, "m-own")
    community_ids = fake.cloud.run(REGION, "m-community", count=2)
    fake.cloud.run(REGION, "m-market")
    fake.cloud.run(REGION, "m-deleted")
    inventory = collect(request(fake, instances=True))
    (region,) = inventory.regions
    images = _by_id(region.images)
    assert set(images) == {"m-own", "m-community", "m-market"}
    assert images["m-community"].InstanceIds == community_ids
    assert images["m-community"].ImageOwnerAlias == "others"
    lookups = [c.params for c in fake.cloud.calls_of("DescribeImages") if "ImageId" in c.params]
    assert [(p["ImageId"], p.get("ImageOwnerAlias")) for p in lookups] == [
        ("m-community,m-deleted,m-market", None), ("m-deleted,m-market", "marketplace")]
    assert all(p["ShowExpired"] == "true" and "Deprecated" in p["Status"] for p in lookups)
    (note,) = region.notes
    assert note.image_id == "m-deleted" and "no lookup finds" in note.message
    assert region.complete


def test_lookups_are_batched_by_one_hundred(fake: FakeEndpoint) -> None:
    others = [image(f"m-c{n:03d}", ImageOwnerAlias="others", IsPublic=True)
              for n in range(230)]
    fake.cloud.add_images(REGION, others)
    for other in others:
        fake.cloud.run(REGION, other["ImageId"])
    (region,) = collect(request(fake, instances=True)).regions
    assert len(region.images) == 230
    lookups = [c.params["ImageId"].split(",")
               for c in fake.cloud.calls_of("DescribeImages") if "ImageId" in c.params]
    assert [len(batch) for batch in lookups] == [100, 100, 30]


@pytest.mark.parametrize("fault", [
    Fault("error", action="DescribeInstances", times=None),
    Fault("internal", action="DescribeInstances", times=None),
    Fault("body", action="DescribeInstances", times=None, status=200,
          body=b'{"RequestId": "X", "Instances": {"Instance": [{"ImageId": "m-1"}]}}'),
    Fault("body", action="DescribeInstances", times=None, status=200,
          body=b'{"RequestId": "X", "Instances": {"Instance": []}, "NextToken": "again"}'),
])
def test_a_failed_instance_listing_keeps_the_images_and_says_what_is_missing(
        fake: FakeEndpoint, fault: Fault) -> None:
    fake.cloud.add_images(REGION, [image("m-1"), image("m-2")])
    fake.cloud.run(REGION, "m-1")
    fake.cloud.faults.append(fault)
    inventory = collect(request(fake, instances=True))
    (region,) = inventory.regions
    assert sorted(i.ImageId for i in region.images) == ["m-1", "m-2"]
    assert all(i.InstanceIds is None and i.NotCollected == ["InstanceIds"]
               for i in region.images)
    assert not inventory.complete
    (error,) = region.errors
    assert "which instances run the images is unknown" in error
    assert "DescribeInstances" in error


def test_a_failed_lookup_keeps_the_listing_and_says_what_is_missing(fake: FakeEndpoint) -> None:
    fake.cloud.add_images(REGION, [image("m-own"), image("m-c", ImageOwnerAlias="others",
                                                         IsPublic=True)])
    fake.cloud.run(REGION, "m-c")
    fake.cloud.faults.append(Fault("error", action="DescribeImages", image="m-c", times=None))
    (region,) = collect(request(fake, instances=True)).regions
    assert [i.ImageId for i in region.images] == ["m-own"]
    assert not region.complete
    (error,) = region.errors
    assert "could not be looked up" in error and "m-c" in error


def test_enrichments_for_every_region_and_in_the_saved_inventory(fake: FakeEndpoint) -> None:
    for region in ("cn-hangzhou", "cn-shanghai"):
        fake.cloud.add_images(region, [image(f"m-{region}")])
        fake.cloud.share(region, f"m-{region}", ["333"])
        fake.cloud.run(region, f"m-{region}")
    inventory = collect(request(fake, ["cn-hangzhou", "cn-shanghai"], sharing=True,
                                instances=True, scope=Scope(owners=["self"])))
    assert inventory.complete
    for region in inventory.regions:
        (img,) = region.images
        assert img.InstanceIds == [f"i-{region.region}-000000"]
        assert img.SharePermission is not None
        assert img.SharePermission.Accounts[0].AliyunId == "333"
    saved = inventory.model_dump_json(exclude_none=True)
    assert '"InstanceIds":["i-cn-hangzhou-000000"]' in saved
    assert '"InOrganization":false' in saved
