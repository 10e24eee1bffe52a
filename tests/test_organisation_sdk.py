"""ListAccounts as the official SDK (alibabacloud-resourcemanager20200331) sends and reads it:
the SDK's own client, signing its own way, is answered by the fake, every field of the answer
is one the SDK's model knows, and our request carries the same parameters as the SDK's."""

from __future__ import annotations

from typing import Any

from alibabacloud_resourcemanager20200331 import models
from alibabacloud_resourcemanager20200331.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from fakeecs import KEY_ID, SECRET, FakeEndpoint, Member, api

from auditor.collector.client import ApiClient, new_session
from auditor.collector.organisation import members
from auditor.collector.signing import Credentials

pytest_plugins = ["fakeecs.fixtures"]


def _sdk(fake: FakeEndpoint) -> Client:
    return Client(Config(access_key_id=KEY_ID, access_key_secret=SECRET,
                         endpoint=fake.url.removeprefix("http://"), protocol="http"))


def test_the_sdk_reads_every_field_of_the_fakes_answer(fake: FakeEndpoint) -> None:
    fake.cloud.add_member(Member("1111111111111111", "prod", status="InviteSuccess",
                                 join_method="invited"))
    answer = _sdk(fake).list_accounts(models.ListAccountsRequest(page_number=1, page_size=100))
    body: dict[str, Any] = answer.body.to_map()
    raw = api.list_accounts(fake.cloud, fake.cloud.keys[KEY_ID],
                            {"PageNumber": "1", "PageSize": "100"})
    raw["RequestId"] = body["RequestId"]
    assert body == raw  # nothing the SDK's model does not know, nothing misnamed
    listed = answer.body.accounts.account
    assert [(a.account_id, a.display_name, a.status) for a in listed] == [
        ("1234567890123456", "management", "CreateSuccess"),
        ("1111111111111111", "prod", "InviteSuccess")]


def test_our_request_is_the_sdks(fake: FakeEndpoint) -> None:
    fake.cloud.add_member(Member("1111111111111111", "prod"))
    _sdk(fake).list_accounts(models.ListAccountsRequest(page_number=1, page_size=100))
    with new_session(2) as session:
        members(ApiClient(session, Credentials(KEY_ID, SECRET)), fake.url)
    theirs, ours = fake.cloud.calls_of("ListAccounts")
    assert ours.params == theirs.params == {"PageNumber": "1", "PageSize": "100"}
    assert ours.status == theirs.status == 200
