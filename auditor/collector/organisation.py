"""Organisation scans: Resource Directory members, and one signed client per account.

`members` pages through ResourceManager ListAccounts (API 2020-03-31, as the official SDK
`alibabacloud-resourcemanager20200331` calls it: RPC, PageNumber / PageSize up to 100; the
answer's `Accounts.Account[]` with AccountId, DisplayName, Status). Members whose Status is not
one of an account that has joined (`ACTIVE`) are skipped, and said so. A page that fails,
or holds fewer accounts than its own TotalCount says it should, fails the listing: the scan
never goes on with a part of the organisation taken for the whole.

`AccountClients` hands out the client of each account: the caller's own for its account,
else one signed with the keys of the account's role (STS AssumeRole with the caller's keys,
renewed before they expire). A role is assumed once, by the first region job of its account
that needs it; a role that cannot be assumed is remembered as the account's error, so every
region of that account is marked incomplete with the reason and the other accounts go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from auditor.collector.accounts import ACCOUNT_ID, Account, role_arn
from auditor.collector.client import ApiClient, Call
from auditor.collector.credentials import assumed_role
from auditor.collector.sts import RoleSpec
from auditor.errors import ApiError, CredentialsError

log = logging.getLogger("imgaudit.collector")

RESOURCEMANAGER_VERSION = "2020-03-31"
DEFAULT_RESOURCEMANAGER_ENDPOINT = "https://resourcemanager.aliyuncs.com"
PAGE_SIZE = 100  # the API's largest page
MAX_PAGES = 100  # 10,000 members: more than a Resource Directory holds
# The member statuses of ListAccounts (API documentation): created or joined by invitation,
# and the states of an upgrade of a resource account to a cloud account, which leave the
# member in the directory whatever their outcome.
ACTIVE = frozenset({"CreateSuccess", "InviteSuccess", "PromoteSuccess", "PromoteVerifying",
                    "PromoteFailed", "PromoteExpired", "PromoteCancelled"})


@dataclass
class Members:
    """The members ListAccounts lists, and the ones skipped with why."""

    accounts: list[Account] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def members(client: ApiClient, endpoint: str) -> Members:
    """Every active member of the caller's Resource Directory, in the API's order. ApiError
    when a page fails or contradicts its own TotalCount: an organisation is never scanned
    from a partial list of its members."""
    found = Members()
    seen: set[str] = set()
    listed = 0  # entries read, skipped ones included
    for page in range(1, MAX_PAGES + 1):
        body = _page(client, endpoint, page, listed)
        entries = _entries(body)
        total = _int(body.get("TotalCount"))
        expected = None if total is None else min(PAGE_SIZE, max(0, total - listed))
        if expected is not None and len(entries) < expected:
            raise _partial(page, listed, ApiError(
                code="InvalidResponse", action="ListAccounts",
                message=f"page {page} lists {len(entries)} accounts, its TotalCount "
                        f"{total} says {expected}"))
        listed += len(entries)
        for entry in entries:
            _add(found, seen, entry)
        if len(entries) < PAGE_SIZE or (total is not None and listed >= total):
            return found
    found.skipped.append(f"ListAccounts: more than {MAX_PAGES} pages; the rest not read")
    return found


def _page(client: ApiClient, endpoint: str, page: int, listed: int) -> dict[str, Any]:
    try:
        return client.call(Call(endpoint, "ListAccounts", RESOURCEMANAGER_VERSION,
                                {"PageNumber": str(page), "PageSize": str(PAGE_SIZE)}))
    except ApiError as error:
        raise _partial(page, listed, error) from None


def _partial(page: int, listed: int, error: ApiError) -> ApiError:
    """The error, saying that the members past page 1 were not all listed."""
    if page == 1:
        return error
    return ApiError(code=error.code, action="ListAccounts", request_id=error.request_id,
                    http_status=error.http_status,
                    message=f"{error.api_message} (page {page}, after {listed} accounts: "
                            "no account is scanned from a partial list of the members)")


def _entries(body: dict[str, Any]) -> list[Any]:
    accounts = body.get("Accounts")
    listed = accounts.get("Account") if isinstance(accounts, dict) else None
    if not isinstance(listed, list):
        raise ApiError(code="MalformedResponse", message="ListAccounts: no Accounts.Account "
                       "list in the answer", action="ListAccounts")
    return listed


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _add(found: Members, seen: set[str], entry: Any) -> None:
    if not isinstance(entry, dict):
        found.skipped.append(f"ListAccounts: an entry that is no account: {str(entry)[:80]!r}")
        return
    raw = entry.get("AccountId")
    account_id = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not ACCOUNT_ID.fullmatch(account_id):
        found.skipped.append(f"ListAccounts: member with AccountId {str(raw)[:40]!r} "
                             "(not an account id) skipped")
        return
    status = entry.get("Status")
    name = entry.get("DisplayName") if isinstance(entry.get("DisplayName"), str) else None
    if status not in ACTIVE:
        found.skipped.append(f"account {account_id}: member status {str(status)[:40]!r} "
                             "(not active): skipped")
        return
    if account_id not in seen:  # a member moved between pages is listed once
        seen.add(account_id)
        found.accounts.append(Account(id=account_id, name=(name or "").strip()[:256] or None))


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: ApiClient | None = None
    error: str | None = None


class AccountClients:
    """The signed client of each account (see the module docstring); safe across threads."""

    def __init__(self, session: requests.Session, caller: ApiClient, caller_id: str | None,
                 sts_endpoint: str, role_name: str) -> None:
        self.session = session
        self.caller = caller
        self.caller_id = caller_id
        self.sts_endpoint = sts_endpoint
        self.role_name = role_name
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._clients: list[ApiClient] = []

    def role_of(self, account: Account) -> str | None:
        """The role assumed in `account`; None when the caller's own keys read it."""
        if account.role_arn is None and account.id == self.caller_id:
            return None
        return account.role_arn or role_arn(account.id, self.role_name)

    def client(self, account: Account) -> ApiClient:
        """The account's client; CredentialsError (the same one each time) when its role
        cannot be assumed."""
        arn = self.role_of(account)
        if arn is None:
            return self.caller
        with self._lock:
            slot = self._slots.setdefault(account.id, _Slot())
        with slot.lock:
            if slot.client is None and slot.error is None:
                slot.client, slot.error = self._assume(account, arn)
        if slot.client is None:
            raise CredentialsError(slot.error or "")
        return slot.client

    def _assume(self, account: Account, arn: str) -> tuple[ApiClient | None, str | None]:
        role = RoleSpec(arn=arn, session_name="imgaudit", external_id=account.external_id)
        try:
            keys = assumed_role(self.session, self.caller.provider, self.sts_endpoint, role,
                                self.caller.timeout)
        except (CredentialsError, ApiError) as error:
            log.warning("account %s: %s", account.label, error)
            return None, f"account {account.label} not scanned: {error}"
        client = ApiClient(self.session, keys, signature=self.caller.signature,
                           timeout=self.caller.timeout, retry=self.caller.retry)
        with self._lock:
            self._clients.append(client)
        return client, None

    def cancel(self) -> None:
        """Ctrl-C: every client stops (see ApiClient.cancel)."""
        self.caller.cancel()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.cancel()


def with_caller(accounts: Sequence[Account], caller_id: str | None,
                include: bool) -> list[Account]:
    """The accounts, the caller's own first when it is included and not listed already."""
    listed = list(accounts)
    if include and caller_id and all(a.id != caller_id for a in listed):
        listed.insert(0, Account(id=caller_id))
    return listed
