"""The signer agrees byte for byte with the official SDK's own signing functions."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
from alibabacloud_openapi_util.client import Client as SdkUtil
from alibabacloud_tea_openapi.utils import Utils as TeaUtils

from auditor.collector import signing
from auditor.collector.signing import Credentials

KEY = Credentials("LTAI5tFixedKeyId", "fixed/Secret+Value=", None, "test")
STS_KEY = Credentials("STS.NFixedKeyId", "sts-secret", "CAIS token/with+odd=chars", "test")
DATE = "2026-11-27T18:00:00Z"
NONCE = "3156853299f313e23d1673dc12e1703d"

PARAM_SETS = [
    {"RegionId": "cn-hangzhou", "ImageOwnerAlias": "self", "PageSize": "100"},
    {"RegionId": "cn-hangzhou", "ImageName": "my image with spaces", "Tag.1.Key": "a*b~c"},
    {"RegionId": "eu-central-1", "Tag.1.Key": "所有者", "Tag.1.Value": "é/ü&=+%"},
    {"Status": "Creating,Waiting,Available", "Filter.1.Value": "2024-01-01T00:00Z"},
    {},
]

SDK_UTILS = [SdkUtil, TeaUtils]


@pytest.mark.parametrize("sdk", SDK_UTILS)
@pytest.mark.parametrize("params", PARAM_SETS)
@pytest.mark.parametrize("creds", [KEY, STS_KEY])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v3_authorization_matches_sdk(sdk, params, creds, method) -> None:
    headers = signing.v3_headers(
        method=method,
        host="ecs.cn-hangzhou.aliyuncs.com",
        action="DescribeImages",
        version="2014-05-26",
        params=params,
        credentials=creds,
        date=DATE,
        nonce=NONCE,
    )
    signed = {k: v for k, v in headers.items() if k != "Authorization"}
    request = SimpleNamespace(method=method, pathname="/", headers=signed, query=dict(params))
    payload = hashlib.sha256(b"").hexdigest()
    expected = sdk.get_authorization(
        request, "ACS3-HMAC-SHA256", payload, creds.access_key_id, creds.access_key_secret
    )
    assert headers["Authorization"] == expected


def test_v3_headers_carry_the_documented_names() -> None:
    headers = signing.v3_headers(
        method="POST", host="h", action="DescribeImages", version="2014-05-26",
        params={}, credentials=STS_KEY, date=DATE, nonce=NONCE,
    )
    assert headers["x-acs-action"] == "DescribeImages"
    assert headers["x-acs-version"] == "2014-05-26"
    assert headers["x-acs-date"] == DATE
    assert headers["x-acs-signature-nonce"] == NONCE
    assert headers["x-acs-content-sha256"] == signing.EMPTY_SHA256
    assert headers["x-acs-security-token"] == STS_KEY.security_token
    auth = headers["Authorization"]
    assert auth.startswith("ACS3-HMAC-SHA256 Credential=STS.NFixedKeyId,SignedHeaders=host;")
    assert "x-acs-security-token" in auth


def test_v3_without_token_has_no_token_header() -> None:
    headers = signing.v3_headers(
        method="POST", host="h", action="A", version="V",
        params={}, credentials=KEY, date=DATE, nonce=NONCE,
    )
    assert "x-acs-security-token" not in headers


@pytest.mark.parametrize("sdk", SDK_UTILS)
@pytest.mark.parametrize("params", PARAM_SETS)
@pytest.mark.parametrize("creds", [KEY, STS_KEY])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v1_signature_matches_sdk(sdk, params, creds, method) -> None:
    signed = signing.v1_params(
        method=method,
        action="DescribeImages",
        version="2014-05-26",
        params=params,
        credentials=creds,
        timestamp=DATE,
        nonce=NONCE,
    )
    unsigned = {k: v for k, v in signed.items() if k != "Signature"}
    assert signed["Signature"] == sdk.get_rpcsignature(unsigned, method, creds.access_key_secret)
    assert signed["Format"] == "JSON"
    assert signed["SignatureMethod"] == "HMAC-SHA1"
    assert signed["SignatureVersion"] == "1.0"
    assert signed["Timestamp"] == DATE
    assert signed["SignatureNonce"] == NONCE
    assert ("SecurityToken" in signed) == bool(creds.security_token)


def test_percent_encoding_is_rfc3986() -> None:
    assert signing.percent_encode("a b*c~d/e") == "a%20b%2Ac~d%2Fe"
    assert signing.percent_encode("é") == "%C3%A9"


def test_credentials_repr_hides_secret_and_token() -> None:
    text = repr(STS_KEY) + str(STS_KEY)
    assert STS_KEY.access_key_secret not in text
    assert "CAIS" not in text


def test_nonces_differ() -> None:
    assert signing.new_nonce() != signing.new_nonce()
