"""The actions the fake answers: DescribeImages (with its filters; each account its own
images), DescribeRegions, DescribeImageSharePermission and DescribeInstances (enrich.py), STS GetCallerIdentity / AssumeRole (ExternalId, Policy, expiring
keys) / AssumeRoleWithOIDC, and ResourceManager ListAccounts (paged).
Each returns the JSON body or raises RefusedError."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

from . import enrich
from .auth import RefusedError
from .cloud import ACCOUNT_ID, FakeCloud, Key

ECS_VERSION = "2014-05-26"
# What selects a listing (everything but the page and the signature parameters).
LISTING_PARAMS = frozenset({"ImageOwnerAlias", "IsPublic", "Status", "OSType", "Architecture", "Usage",
                            "ImageFamily", "ImageId", "ShowExpired"} | {f"Tag.{n}.{p}" for n in range(1, 21)
                                              for p in ("Key", "Value")}
                           | {f"Filter.{n}.{p}" for n in (1, 2) for p in ("Key", "Value")})
STS_VERSION = "2015-04-01"
RESOURCEMANAGER_VERSION = "2020-03-31"
TAG_CAP = 1000  # "Up to 1,000 resources that match the specified tags can be returned"
FILTER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
CHOICES = {"OSType": ("windows", "linux", "InvalidOSType"),
           "Architecture": ("i386", "x86_64", "arm64", "InvalidArchitecture"),
           "Usage": ("instance", "none", "InvalidUsage")}


def _load_synth() -> Any:
    """bench/synth.py renders the API's response shape; loaded by path (bench is no package)."""
    if "synth" in sys.modules:
        return sys.modules["synth"]
    path = Path(__file__).resolve().parents[2] / "bench" / "synth.py"
    spec = importlib.util.spec_from_file_location("synth", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["synth"] = module
    spec.loader.exec_module(module)
    return module


synth = _load_synth()


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def _tag_filters(params: dict[str, str]) -> list[tuple[str, str | None]]:
    tags = []
    for n in range(1, 21):
        key = params.get(f"Tag.{n}.Key")
        value = params.get(f"Tag.{n}.Value")
        if key is None and value is not None:
            raise RefusedError(400, "InvalidTag.Mismatch",
                          "The specified Tag.n.Key and Tag.n.Value are not match.")
        if key is not None:
            tags.append((key, value))
    return tags


def _time_filters(params: dict[str, str]) -> list[tuple[str, str]]:
    filters = []
    for n in range(1, 3):
        key, value = params.get(f"Filter.{n}.Key"), params.get(f"Filter.{n}.Value")
        if key is None:
            continue
        if key not in ("CreationStartTime", "CreationEndTime"):
            raise RefusedError(404, "InvalidFilterKey.NotFound", "The specified Filter Key is not found.")
        if not value or not FILTER_TIME.match(value):
            raise RefusedError(404, "InvalidFilterValue", "The specified Filter Value is not valid.")
        filters.append((key, value[:16]))
    return filters


def _is_public(params: dict[str, str]) -> bool | None:
    """IsPublic as sent (None when not sent); `true` needs ImageOwnerAlias=others."""
    raw = params.get("IsPublic")
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise RefusedError(400, "InvalidParamter", "Invalid Parameter.")
    public = raw.lower() == "true"
    if public and params.get("ImageOwnerAlias") != "others":
        raise RefusedError(400, "InvalidImageOwnerAlias.ValueNotSupported",
                           "The specified ImageOwnerAlias value is not supported.")
    return public


def _community(image: dict[str, Any]) -> bool:
    """Published by another account to everyone (a shared image is not public)."""
    return image.get("ImageOwnerAlias") == "others" and bool(image.get("IsPublic"))


def _keep(image: dict[str, Any], params: dict[str, str], tags: list, times: list) -> bool:
    owner = params.get("ImageOwnerAlias")
    public = _is_public(params)
    if owner and image.get("ImageOwnerAlias") != owner:
        return False
    if not owner and image.get("ImageOwnerAlias") == "marketplace":
        return False
    # others: shared images, or with IsPublic=true community images only; no alias lists
    # both unless IsPublic=false excludes the community ones.
    if (owner == "others" and bool(public) != _community(image)) or (
            not owner and public is False and _community(image)):
        return False
    if image.get("Status") not in params.get("Status", "Available").split(","):
        return False
    if params.get("ImageId") and image["ImageId"] not in params["ImageId"].split(","):
        return False
    for name in ("OSType", "Architecture", "Usage", "ImageFamily"):
        if params.get(name) and image.get(name) != params[name]:
            return False
    image_tags = image.get("Tags") or {}
    if any(k not in image_tags or (v is not None and image_tags[k] != v) for k, v in tags):
        return False
    created = str(image.get("CreationTime", ""))[:16]
    for key, value in times:
        if (key == "CreationStartTime" and created < value) or (
                key == "CreationEndTime" and created > value):
            return False
    return True


def _page_numbers(params: dict[str, str]) -> tuple[int, int]:
    try:
        page, size = int(params.get("PageNumber", "1")), int(params.get("PageSize", "10"))
    except ValueError:
        raise RefusedError(400, "InvalidParameter", "Invalid Parameter.") from None
    if page < 1 or not 1 <= size <= 100:
        raise RefusedError(400, "InvalidParameter", "Invalid Parameter.")
    return page, size


def describe_images(cloud: FakeCloud, params: dict[str, str],
                    account: str = ACCOUNT_ID) -> dict[str, Any] | bytes:
    """One page of `account`'s images; a JSON document, or its encoded bytes when served from
    the page cache."""
    region = params.get("RegionId")
    if not region:
        raise RefusedError(400, "MissingParameter", "RegionId is mandatory for this action.")
    member = (cloud.members or {}).get(account)
    if member is not None and member.images_denied:
        raise RefusedError(403, "Forbidden.RAM",
                           "User not authorized to operate on the specified resource, or "
                           "this API doesn't support RAM.")
    regions = cloud.regions_of(account)
    if region not in regions:
        raise RefusedError(404, "InvalidRegionId.NotFound",
                           "The specified RegionId does not exist.")
    owner = params.get("ImageOwnerAlias")
    if owner and owner not in ("self", "others", "system", "marketplace"):
        raise RefusedError(400, "InvalidImageOwnerAlias.ValueNotSupported",
                           "The specified ImageOwnerAlias value is not supported.")
    for name, (*allowed, code) in CHOICES.items():
        if params.get(name) and params[name] not in allowed:
            raise RefusedError(404, code, f"The specified {name} is not valid.")
    tags, times = _tag_filters(params), _time_filters(params)
    _is_public(params)
    if params.get("ShowExpired", "false").lower() not in ("true", "false"):
        raise RefusedError(400, "InvalidParameter", "Invalid Parameter.")
    page, size = _page_numbers(params)
    if cloud.cache_pages:
        return _cached_page(cloud, params, regions, region, page, size, tags, times, account)
    images = _listing(cloud, params, regions[region], tags, times)
    body = synth.raw_page(images, len(images), page, size, region)
    body["RequestId"] = request_id()
    return body


def _listing(cloud: FakeCloud, params: dict[str, str], listed: list[dict[str, Any]],
             tags: list, times: list) -> list[dict[str, Any]]:
    with cloud.lock:
        images = [i for i in listed if _keep(i, params, tags, times)]
    images.sort(key=lambda i: (str(i.get("CreationTime", "")), i["ImageId"]), reverse=True)
    return images[:TAG_CAP] if tags else images


def _cached_page(cloud: FakeCloud, params: dict[str, str], regions: dict[str, Any],
                 region: str, page: int, size: int, tags: list, times: list,
                 account: str) -> bytes:
    """For the benchmark: the fake's own CPU must not be what is measured. Listings and the
    encoded `Images` of each page are kept per (account, region, filters)."""
    listing_key = (account, region, tuple(sorted((k, v) for k, v in params.items()
                                                 if k in LISTING_PARAMS)))
    with cloud.lock:
        cached = cloud.page_cache.get(listing_key)
        if cached is None:
            cached = cloud.page_cache[listing_key] = (_listing(cloud, params, regions[region],
                                                               tags, times), {})
        images, pages = cached
        if (page, size) not in pages:
            raw = synth.raw_page(images, len(images), page, size, region)["Images"]
            pages[(page, size)] = json.dumps(raw, ensure_ascii=False).encode("utf-8")
        encoded = pages[(page, size)]
    head = {"PageSize": size, "PageNumber": page, "RequestId": request_id(),
            "TotalCount": len(images), "RegionId": region}
    return json.dumps(head).encode("utf-8")[:-1] + b', "Images": ' + encoded + b"}"


def describe_regions(cloud: FakeCloud, params: dict[str, str],
                     account: str = ACCOUNT_ID) -> dict[str, Any]:
    regions = [{"RegionId": r, "LocalName": r, "Status": "available",
                "RegionEndpoint": f"ecs.{r}.aliyuncs.com"}
               for r in sorted(cloud.regions_of(account))]
    return {"RequestId": request_id(), "Regions": {"Region": regions}}


def get_caller_identity(cloud: FakeCloud, key: Key) -> dict[str, Any]:
    return {"RequestId": request_id(), "AccountId": key.account_id,
            "UserId": key.account_id, "IdentityType": "Account",
            "Arn": f"acs:ram::{key.account_id}:root", "PrincipalId": key.account_id}


def _role_params(cloud: FakeCloud, params: dict[str, str]) -> str:
    """The checks AssumeRole and AssumeRoleWithOIDC share; the role's account."""
    arn = params.get("RoleArn", "")
    if not arn:
        raise RefusedError(400, "MissingRoleArn", "RoleArn is mandatory for this action.")
    if arn not in cloud.roles:
        raise RefusedError(404, "EntityNotExist.Role", f"The role not exists: {arn}.")
    if not params.get("RoleSessionName"):
        raise RefusedError(400, "MissingRoleSessionName", "RoleSessionName is mandatory.")
    duration = params.get("DurationSeconds", "3600")
    if not duration.isdigit() or not 900 <= int(duration) <= 43200:
        raise RefusedError(400, "InvalidParameter.DurationSeconds",
                           "The parameter DurationSeconds is wrongly formed.")
    if "Policy" in params:
        try:
            policy = json.loads(params["Policy"])
        except ValueError:
            policy = None
        if not isinstance(policy, dict) or "Statement" not in policy:
            raise RefusedError(400, "InvalidParameter.PolicyGrammar",
                               "The parameter Policy has not passed grammar check.")
    return cloud.roles[arn]


def _issued(cloud: FakeCloud, account: str, params: dict[str, str]) -> dict[str, Any]:
    issued = cloud.issue_sts_key(account)
    return {
        "RequestId": request_id(),
        "AssumedRoleUser": {"Arn": f"{params['RoleArn']}/{params['RoleSessionName']}",
                            "AssumedRoleId": "300000000000:imgaudit"},
        "Credentials": {"AccessKeyId": issued.key_id, "AccessKeySecret": issued.secret,
                        "SecurityToken": issued.token, "Expiration": issued.expiration()},
    }


def assume_role(cloud: FakeCloud, key: Key, params: dict[str, str]) -> dict[str, Any]:
    account = _role_params(cloud, params)
    member = (cloud.members or {}).get(account)
    if member is not None and member.assume_denied:
        raise RefusedError(403, "NoPermission",
                           "You are not authorized to do this action. You should be "
                           "authorized by RAM.")
    wanted = cloud.external_ids.get(params["RoleArn"])
    if wanted is not None and params.get("ExternalId") != wanted:
        raise RefusedError(403, "NoPermission",
                           "You are not authorized to do this action: the ExternalId does "
                           "not match the role's trust policy.")
    return _issued(cloud, account, params)


def assume_role_with_oidc(cloud: FakeCloud, params: dict[str, str]) -> dict[str, Any]:
    """Anonymous: the OIDC token, checked against its provider, is the proof."""
    for name in ("OIDCProviderArn", "OIDCToken"):
        if not params.get(name):
            raise RefusedError(400, f"Missing{name}", f"{name} is mandatory for this action.")
    account = _role_params(cloud, params)
    provider = params["OIDCProviderArn"]
    if provider not in cloud.oidc_providers:
        raise RefusedError(404, "EntityNotExist.OIDCProvider",
                           f"The OIDC provider does not exist: {provider}.")
    if params["OIDCToken"] != cloud.oidc_providers[provider]:
        raise RefusedError(400, "AuthenticationFail.OIDCToken.Invalid",
                           "The OIDC token is invalid or has expired.")
    return _issued(cloud, account, params)


def _positive(params: dict[str, str], name: str, default: int, most: int | None) -> int:
    raw = params.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1 or (most is not None and int(raw) > most):
        raise RefusedError(400, f"InvalidParameter.{name}",
                           f"The specified parameter {name} is not valid.")
    return int(raw)


def list_accounts(cloud: FakeCloud, key: Key, params: dict[str, str]) -> dict[str, Any]:
    """ResourceManager ListAccounts: the directory's members, the management account first."""
    if cloud.members is None or key.account_id != ACCOUNT_ID:
        raise RefusedError(404, "EntityNotExists.ResourceDirectory",
                           "The resource directory for the account is not enabled.")
    page = _positive(params, "PageNumber", 1, None)
    size = _positive(params, "PageSize", 10, 100)
    with cloud.lock:
        members = list(cloud.members.values())
    listed = [_member(ACCOUNT_ID, "management", "CreateSuccess", "created"), *(
        _member(m.account_id, m.display_name, m.status, m.join_method) for m in members)]
    return {"RequestId": request_id(), "TotalCount": len(listed), "PageNumber": page,
            "PageSize": size,
            "Accounts": {"Account": listed[(page - 1) * size:page * size]}}


def _member(account_id: str, name: str, status: str, join: str) -> dict[str, Any]:
    return {"AccountId": account_id, "DisplayName": name, "Status": status,
            "Type": "ResourceAccount" if join == "created" else "CloudAccount",
            "JoinMethod": join, "FolderId": "fd-Fake0001", "ResourceDirectoryId": "rd-Fake01",
            "ResourceDirectoryPath": f"rd-Fake01/r-Root01/fd-Fake0001/{account_id}",
            "JoinTime": "2025-01-18T08:01:50.522Z", "ModifyTime": "2025-01-18T08:04:37.668Z"}


def answer(cloud: FakeCloud, action: str, version: str, key: Key,
           params: dict[str, str]) -> dict[str, Any] | bytes:
    """Dispatch by action; the version must be the action's product version."""
    ecs = {"DescribeImages": describe_images, "DescribeRegions": describe_regions,
           **enrich.ACTIONS}
    if action in ecs:
        if version != ECS_VERSION:
            raise RefusedError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        return ecs[action](cloud, params, key.account_id)
    if action == "ListAccounts":
        if version != RESOURCEMANAGER_VERSION:
            raise RefusedError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        return list_accounts(cloud, key, params)
    if action in ("GetCallerIdentity", "AssumeRole"):
        if version != STS_VERSION:
            raise RefusedError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action == "GetCallerIdentity":
            return get_caller_identity(cloud, key)
        return assume_role(cloud, key, params)
    raise RefusedError(404, "InvalidAction.NotFound", f"Specified api {action} is not found.")
