"""STS calls: who the credentials belong to, and role assumption for RamRoleArn profiles."""

from __future__ import annotations

from auditor.collector.client import ApiClient, Call
from auditor.collector.signing import Credentials
from auditor.errors import ApiError, CredentialsError

STS_VERSION = "2015-04-01"
DEFAULT_STS_ENDPOINT = "https://sts.aliyuncs.com"


def caller_account_id(client: ApiClient, sts_endpoint: str) -> str | None:
    """The account id behind the credentials (for ARNs); None when STS does not say."""
    body = client.call(Call(sts_endpoint, "GetCallerIdentity", STS_VERSION, {}), max_attempts=2)
    account = body.get("AccountId")
    if isinstance(account, int) and not isinstance(account, bool):
        account = str(account)
    if not isinstance(account, str) or not account.strip().isdigit():
        return None  # not an account id: leave the ARNs without one rather than a wrong one
    return account.strip()


def assume_role(
    client: ApiClient, sts_endpoint: str, role_arn: str, session_name: str, duration: int
) -> Credentials:
    """Temporary credentials of `role_arn`, signed with the client's own keys."""
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration),
    }
    try:
        body = client.call(Call(sts_endpoint, "AssumeRole", STS_VERSION, params))
    except ApiError as error:
        raise CredentialsError(f"cannot assume role {role_arn}: {error}") from None
    creds = body.get("Credentials")
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken")
    bad = [name for name in fields if not isinstance(creds, dict)
           or not isinstance(creds.get(name), str) or not creds[name]]
    if bad:
        raise CredentialsError(
            f"cannot assume role {role_arn}: the STS answer has no usable "
            f"{', '.join(bad)} (RequestId {str(body.get('RequestId'))[:80]})")
    assert isinstance(creds, dict)
    return Credentials(
        access_key_id=creds["AccessKeyId"],
        access_key_secret=creds["AccessKeySecret"],
        security_token=creds["SecurityToken"],
        source=f"RamRoleArn {role_arn}",
    )
