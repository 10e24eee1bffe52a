"""DescribeImageSharePermission and DescribeInstances, as the API documents them (the official
SDK's request and response models, alibabacloud-ecs20140526, name every parameter and field):

- DescribeImageSharePermission: RegionId and ImageId required (a custom image of the caller's
  in that region), PageNumber (from 1, default 1) and PageSize (1..100, default 10); the
  answer pages the accounts (`Accounts.Account[]`: AliyunId, SharedTime; `TotalCount` counts
  them) and lists the groups (`ShareGroups.ShareGroup[]`: Group, `all` when published).
- DescribeInstances: RegionId required; NextToken and MaxResults (default 10 when absent or
  below 10, 100 when above) page by token, the last page answering an empty NextToken; the
  older PageNumber / PageSize (1..100, default 10) page by number, with TotalCount.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from .auth import RefusedError
from .cloud import ACCOUNT_ID, FakeCloud

ShareState = dict[str, Any]  # {"accounts": [(AliyunId, SharedTime)], "groups": [Group]}


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def _region(cloud: FakeCloud, params: dict[str, str], account: str) -> str:
    region = params.get("RegionId")
    if not region:
        raise RefusedError(400, "MissingParameter", "RegionId is mandatory for this action.")
    if region not in cloud.regions_of(account):
        raise RefusedError(404, "InvalidRegionId.NotFound",
                           "The specified RegionId does not exist.")
    return region


def _number(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise RefusedError(400, f"InvalidParameter.{name}",
                           f"The specified parameter {name} is not valid.")
    return int(raw)


def describe_image_share_permission(cloud: FakeCloud, params: dict[str, str],
                                    account: str = ACCOUNT_ID) -> dict[str, Any]:
    """One page of the accounts a custom image of `account` is shared with."""
    region = _region(cloud, params, account)
    image_id = params.get("ImageId")
    if not image_id:
        raise RefusedError(400, "MissingParameter", "ImageId is mandatory for this action.")
    with cloud.lock:
        own = any(i["ImageId"] == image_id and i.get("ImageOwnerAlias") == "self"
                  for i in cloud.regions_of(account)[region])
        state = cloud.shares.get(image_id, {"accounts": [], "groups": []})
    if not own:
        raise RefusedError(404, "InvalidImageId.NotFound",
                           "The specified ImageId does not exist.")
    page = _number(params, "PageNumber", 1, 1, 10**6)
    size = _number(params, "PageSize", 10, 1, 100)
    accounts = state["accounts"]
    chunk = accounts[(page - 1) * size: page * size]
    return {
        "RequestId": request_id(), "RegionId": region, "ImageId": image_id,
        "TotalCount": len(accounts), "PageNumber": page, "PageSize": size,
        "Accounts": {"Account": [{"AliyunId": a, "SharedTime": t} for a, t in chunk]},
        "ShareGroups": {"ShareGroup": [{"Group": g} for g in state["groups"]]},
    }


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        text = ""
    if not text.startswith("offset:") or not text[7:].isdigit():
        raise RefusedError(400, "InvalidParameter.NextToken",
                           "The specified parameter NextToken is not valid.")
    return int(text[7:])


def _rendered(instance: dict[str, Any], region: str) -> dict[str, Any]:
    """An instance as the API describes it (a few of its many fields)."""
    return {"InstanceId": instance["InstanceId"], "ImageId": instance["ImageId"],
            "RegionId": region, "Status": instance.get("Status", "Running"),
            "InstanceName": instance.get("InstanceName", instance["InstanceId"]),
            "ZoneId": f"{region}-a", "InstanceType": "ecs.g7.large", "OSType": "linux",
            "Tags": {"Tag": []}}


def describe_instances(cloud: FakeCloud, params: dict[str, str],
                       account: str = ACCOUNT_ID) -> dict[str, Any]:
    """One page of `account`'s instances in the region."""
    region = _region(cloud, params, account)
    with cloud.lock:
        instances = list(cloud.instances.get((account, region), []))
    body: dict[str, Any] = {"RequestId": request_id()}
    if "NextToken" in params or "MaxResults" in params:
        raw = params.get("MaxResults", "10")
        if not raw.isdigit():
            raise RefusedError(400, "InvalidParameter.MaxResults",
                               "The specified parameter MaxResults is not valid.")
        size = min(100, max(10, int(raw)))
        start = _offset(params["NextToken"]) if params.get("NextToken") else 0
        end = start + size
        body["NextToken"] = _token(end) if end < len(instances) else ""
        body["TotalCount"] = len(instances)
    else:
        page = _number(params, "PageNumber", 1, 1, 10**6)
        size = _number(params, "PageSize", 10, 1, 100)
        start, end = (page - 1) * size, page * size
        body |= {"PageNumber": page, "PageSize": size, "TotalCount": len(instances),
                 "NextToken": ""}
    body["Instances"] = {"Instance": [_rendered(i, region) for i in instances[start:end]]}
    return body


ACTIONS = {"DescribeImageSharePermission": describe_image_share_permission,
           "DescribeInstances": describe_instances}
