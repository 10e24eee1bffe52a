"""The real collector against the fake endpoint over real HTTP: shape, scope, pagination."""

from __future__ import annotations

import pytest
from fakeecs import ACCOUNT_ID, FAST_RETRY, FakeCloud, FakeEndpoint, PageHook, image, many_images
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
    assert img.DiskDeviceMappings[0].Size == "60"  # a string in the API and the SDK
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


def test_at_most_page_concurrency_requests_are_in_flight() -> None:
    """Pages are fetched concurrently, but never more than `page_concurrency` requests wait
    for an answer at once."""
    cloud = FakeCloud(latency=0.02)
    cloud.add_images("cn-hangzhou", many_images("p", 1000))
    with FakeEndpoint(cloud) as fake:
        region = collect(request(fake, page_concurrency=2, lookup_account=False)).regions[0]
    assert len(region.images) == 1000 and region.complete
    calls = cloud.calls_of("DescribeImages")
    assert sorted(int(c.params["PageNumber"]) for c in calls) == list(range(1, 11))
    # each request waits at least the latency at the server: those windows are in flight
    edges = sorted([(c.started, 1) for c in calls] + [(c.started + 0.02, -1) for c in calls])
    in_flight = [0]
    for _, step in edges:
        in_flight.append(in_flight[-1] + step)
    assert max(in_flight) <= 2


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
        image("m-community", ImageOwnerAlias="others", IsPublic=True),
        image("ubuntu_22", ImageOwnerAlias="system", IsPublic=True),
        image("m-market", ImageOwnerAlias="marketplace", IsPublic=True),
    ])
    scope = Scope(owners=["self", "others", "system", "marketplace"])
    inventory = collect(request(fake, scope=scope))
    region = inventory.regions[0]
    assert {i.ImageId for i in region.images} == {"m-self", "m-shared", "m-community",
                                                  "ubuntu_22", "m-market"}
    sent = sorted((c.params["ImageOwnerAlias"], c.params.get("IsPublic", "-"))
                  for c in fake.cloud.calls_of("DescribeImages"))
    assert sent == [("marketplace", "-"), ("others", "-"), ("others", "true"), ("self", "-"),
                    ("system", "-")]
    assert region.total_count == 5


@pytest.mark.parametrize("owners,expected", [
    (["shared"], {"m-shared"}),
    (["community"], {"m-community"}),
    (["others"], {"m-shared", "m-community"}),
    (["shared", "community"], {"m-shared", "m-community"}),
    (["all"], {"m-self", "m-shared", "m-community", "ubuntu"}),
])
def test_shared_and_community_images_are_two_listings(
    fake: FakeEndpoint, owners: list[str], expected: set[str]
) -> None:
    """The API lists community images only for `others` with IsPublic=true: this catches
    `--owner others` sending no IsPublic and so never seeing a community image."""
    fake.cloud.add_images("cn-hangzhou", [
        image("m-self"), image("m-shared", ImageOwnerAlias="others"),
        image("m-community", ImageOwnerAlias="others", IsPublic=True),
        image("ubuntu", ImageOwnerAlias="system", IsPublic=True)])
    inventory = collect(request(fake, scope=Scope(owners=owners)))
    assert {i.ImageId for i in inventory.regions[0].images} == expected
    assert inventory.regions[0].complete


def test_an_image_in_both_listings_is_kept_once(fake: FakeEndpoint) -> None:
    """Published while the shared listing ran: it is in both listings, and kept once."""
    fake.cloud.add_images("cn-hangzhou", [image("m-flip", ImageOwnerAlias="others"),
                                          image("m-community", ImageOwnerAlias="others",
                                                IsPublic=True)])

    def publish(cloud: FakeCloud) -> None:
        cloud.delete_images("cn-hangzhou", {"m-flip"})
        cloud.add_images("cn-hangzhou", [image("m-flip", ImageOwnerAlias="others",
                                               IsPublic=True)])

    fake.cloud.hooks.append(PageHook("cn-hangzhou", 1, publish))
    region = collect(request(fake, scope=Scope(owners=["others"]))).regions[0]
    assert [i.ImageId for i in region.images] == ["m-flip", "m-community"]
    assert region.complete


def test_community_listing_is_paged(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("pub", 230, ImageOwnerAlias="others",
                                                     IsPublic=True))
    fake.cloud.add_images("cn-hangzhou", many_images("shr", 120, ImageOwnerAlias="others"))
    inventory = collect(request(fake, scope=Scope(owners=["shared", "community"])))
    region = inventory.regions[0]
    assert len(region.images) == 350 and region.complete
    pages = sorted((c.params.get("IsPublic", "-"), c.params["PageNumber"])
                   for c in fake.cloud.calls_of("DescribeImages"))
    assert pages == [("-", "1"), ("-", "2"), ("true", "1"), ("true", "2"), ("true", "3")]


@pytest.mark.parametrize("owners", [["nobody"], ["self", "public"], [" "]])
def test_unknown_owner_scopes_are_refused(fake: FakeEndpoint, owners: list[str]) -> None:
    with pytest.raises(UsageError, match=r"owner.*choose from self, shared, community"):
        collect(request(fake, scope=Scope(owners=owners)))
    assert fake.cloud.calls == []


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


def _describe(fake: FakeEndpoint, **params: str) -> dict[str, object]:
    """One DescribeImages call through the collector's own signed client."""
    from fakeecs import KEY_ID, SECRET

    from auditor.collector.client import ApiClient, Call, new_session
    from auditor.collector.signing import Credentials
    from auditor.errors import ApiError

    with new_session(1) as session:
        client = ApiClient(session, Credentials(KEY_ID, SECRET), retry=FAST_RETRY)
        call = Call(fake.url, "DescribeImages", "2014-05-26",
                    {"RegionId": "cn-hangzhou", **params})
        try:
            return client.call(call, max_attempts=1)
        except ApiError as error:
            return {"Code": error.code, "Status": error.http_status}


@pytest.mark.parametrize("params,expected", [
    ({"ImageOwnerAlias": "others"}, ["m-shared"]),
    ({"ImageOwnerAlias": "others", "IsPublic": "false"}, ["m-shared"]),
    ({"ImageOwnerAlias": "others", "IsPublic": "true"}, ["m-community"]),
    ({"ImageOwnerAlias": "others", "IsPublic": "True"}, ["m-community"]),  # the Python SDK's form
    ({}, ["m-community", "m-self", "m-shared"]),
    ({"IsPublic": "false"}, ["m-self", "m-shared"]),
])
def test_fake_answers_is_public_as_documented(
    fake: FakeEndpoint, params: dict[str, str], expected: list[str]
) -> None:
    fake.cloud.add_images("cn-hangzhou", [
        image("m-self"), image("m-shared", ImageOwnerAlias="others"),
        image("m-community", ImageOwnerAlias="others", IsPublic=True)])
    body = _describe(fake, Status="Available", **params)
    images = body["Images"]["Image"]  # type: ignore[index]
    assert sorted(i["ImageId"] for i in images) == expected


@pytest.mark.parametrize("alias", [None, "self", "system", "marketplace"])
def test_fake_refuses_is_public_without_others(fake: FakeEndpoint, alias: str | None) -> None:
    """"When you set this parameter to true, you must set ImageOwnerAlias to others."""
    params = {"IsPublic": "true"} | ({"ImageOwnerAlias": alias} if alias else {})
    assert _describe(fake, **params) == {"Code": "InvalidImageOwnerAlias.ValueNotSupported",
                                         "Status": 400}


def test_tag_filter_past_the_api_cap_is_listed_without_it(fake: FakeEndpoint) -> None:
    """The API returns at most 1,000 images for a tag filter, with a TotalCount that does not
    say more exist: the collector lists again without the tags and filters them itself."""
    fake.cloud.add_images("cn-hangzhou", many_images("t", 1150, Tags={"env": "prod"}))
    fake.cloud.add_images("cn-hangzhou", many_images("u", 60, Tags={"env": "dev"}))
    fake.cloud.add_images("cn-hangzhou", many_images("k", 5, Tags={"env": "prod", "x": "1"}))
    scope = Scope(filters={"Tag.env": "prod"})
    region = collect(request(fake, scope=scope)).regions[0]
    assert len(region.images) == 1155 and region.complete and region.total_count == 1155
    assert {i.Tags["env"] for i in region.images} == {"prod"}
    calls = fake.cloud.calls_of("DescribeImages")
    assert sum("Tag.1.Key" in c.params for c in calls) == 10  # 1,000 capped: 10 pages
    assert sum("Tag.1.Key" not in c.params for c in calls) == 13  # 1,215 images


def test_tag_filter_under_the_cap_is_sent_to_the_api(fake: FakeEndpoint) -> None:
    fake.cloud.add_images("cn-hangzhou", many_images("t", 150, Tags={"env": "prod"}))
    fake.cloud.add_images("cn-hangzhou", many_images("u", 10, Tags={"team": "a"}))
    scope = Scope(filters={"Tag.env": ""})  # a key alone: any value
    region = collect(request(fake, scope=scope)).regions[0]
    assert len(region.images) == 150 and region.complete
    calls = fake.cloud.calls_of("DescribeImages")
    assert len(calls) == 2 and all(c.params["Tag.1.Key"] == "env" for c in calls)
    assert all("Tag.1.Value" not in c.params for c in calls)
