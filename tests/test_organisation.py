"""Organisation scans through the CLI against the fake: `--accounts FILE`, `--resource-directory`
(ResourceManager ListAccounts, paged), a role assumed in each member account, accounts x
regions under one concurrency bound, one account's failure marking only that account."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import CliResult
from fakeecs import ACCOUNT_ID, KEY_ID, SECRET, FakeEndpoint, Fault, Member, image

from auditor.collector.client import ApiClient, new_session
from auditor.collector.organisation import members
from auditor.collector.signing import Credentials
from auditor.models import Inventory

pytest_plugins = ["fakeecs.fixtures"]

Run = Callable[..., CliResult]
PROD, DEV, DENIED = "1111111111111111", "2222222222222222", "3333333333333333"
RULE = """\
id: TEST-NOT-PUBLIC
title: Custom images are not public
severity: high
require:
  IsPublic: false
message: "{{ image.ImageId }} is public"
"""


@pytest.fixture
def env(fake: FakeEndpoint, clean_env: Path) -> dict[str, str]:
    """Keys in the environment; STS and ResourceManager at the fake (one URL serves all)."""
    return {"HOME": str(clean_env), "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET, "IMGAUDIT_STS_ENDPOINT": fake.url,
            "IMGAUDIT_RESOURCEMANAGER_ENDPOINT": fake.url,
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}


@pytest.fixture
def rule(tmp_path: Path) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(RULE)
    return path


def _member(fake: FakeEndpoint, account: str, name: str, **fields: object) -> Member:
    member = fake.cloud.add_member(Member(account, name, **fields))  # type: ignore[arg-type]
    member.regions["cn-hangzhou"].append(image(f"m-{name}-pub", IsPublic=True))
    member.regions["cn-shanghai"].append(image(f"m-{name}-ok"))
    return member


def _scan(run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path,
          *args: str) -> tuple[CliResult, dict]:
    result = run_cli("scan", "--endpoint", fake.url, "--no-builtin-rules", "--rules", rule,
                     "--format", "json", *args, env=env)
    return result, json.loads(result.stdout)


def _accounts_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(text)
    return path


def test_accounts_file_scans_each_account_through_its_role(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path, tmp_path: Path
) -> None:
    _member(fake, PROD, "prod")
    _member(fake, DEV, "dev")
    fake.cloud.roles[f"acs:ram::{DEV}:role/imgaudit-reader"] = DEV
    fake.cloud.external_ids[f"acs:ram::{DEV}:role/imgaudit-reader"] = "7f3c0e"
    fake.cloud.add_images("cn-hangzhou", [image("m-caller-pub", IsPublic=True)])
    accounts = _accounts_file(tmp_path, f"""\
accounts:
  - id: "{PROD}"
    name: prod
  - id: {DEV}
    name: dev
    role_arn: acs:ram::{DEV}:role/imgaudit-reader
    external_id: 7f3c0e
    regions: [cn-hangzhou, cn-shanghai]
""")
    result, report = _scan(run_cli, fake, env, rule, "--accounts", accounts,
                           "--region", "cn-hangzhou")
    assert result.exit_code == 1, result.stderr
    found = {(f["account_id"], f["region"], f["image_id"]) for f in report["findings"]}
    assert found == {(ACCOUNT_ID, "cn-hangzhou", "m-caller-pub"),
                     (PROD, "cn-hangzhou", "m-prod-pub"), (DEV, "cn-hangzhou", "m-dev-pub")}
    assert report["scan"]["accounts"] == sorted([ACCOUNT_ID, PROD, DEV])
    assert report["scan"]["account_names"] == {PROD: "prod", DEV: "dev"}
    scanned = {(r["account_id"], r["region"]) for r in report["regions"]}
    assert scanned == {(ACCOUNT_ID, "cn-hangzhou"), (PROD, "cn-hangzhou"),
                       (DEV, "cn-hangzhou"), (DEV, "cn-shanghai")}
    roles = sorted((c.params["RoleArn"], c.params.get("ExternalId"))
                   for c in fake.cloud.calls_of("AssumeRole"))
    assert roles == [(f"acs:ram::{PROD}:role/ResourceDirectoryAccountAccessRole", None),
                     (f"acs:ram::{DEV}:role/imgaudit-reader", "7f3c0e")]  # once per account
    signers = {fake.cloud.keys[c.key_id or ""].account_id
               for c in fake.cloud.calls_of("DescribeImages")}
    assert signers == {ACCOUNT_ID, PROD, DEV}
    assert not fake.cloud.calls_of("ListAccounts")


def test_collect_takes_the_accounts_file_too(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    _member(fake, PROD, "prod")
    accounts = _accounts_file(tmp_path, f'accounts:\n  - {{id: "{PROD}", name: prod}}\n')
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--accounts", accounts, "--no-caller-account",
                     "--region", "cn-hangzhou", "--region", "cn-shanghai",
                     "--endpoint", fake.url, "-o", out, env=env)
    assert result.exit_code == 0, result.stderr
    inventory = Inventory.model_validate_json(out.read_text())
    assert {(r.account_id, r.region, len(r.images)) for r in inventory.regions} == {
        (PROD, "cn-hangzhou", 1), (PROD, "cn-shanghai", 1)}
    assert inventory.account_names == {PROD: "prod"} and inventory.accounts == [PROD]


def test_an_account_of_the_file_may_take_every_region(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    """`regions: [all]` in the file: every region DescribeRegions lists, for that account."""
    _member(fake, PROD, "prod")
    accounts = _accounts_file(tmp_path, f'accounts:\n  - {{id: "{PROD}", regions: [all]}}\n')
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--accounts", accounts, "--region", "cn-hangzhou",
                     "--endpoint", fake.url, "-o", out, env=env)
    assert result.exit_code == 0, result.stderr
    inventory = Inventory.model_validate_json(out.read_text())
    assert sorted((r.account_id, r.region) for r in inventory.regions) == sorted([
        (ACCOUNT_ID, "cn-hangzhou"), (PROD, "cn-hangzhou"), (PROD, "cn-shanghai"),
        (PROD, "eu-central-1")])


@pytest.mark.parametrize(("text", "message"), [
    ("accounts:\n  - id: '1111111111111111'\n    rolearn: x\n", ":3:5: unknown key 'rolearn' "
     "(did you mean 'role_arn'?)"),
    ("accounts:\n  - id: '12345'\n", ":2:9: accounts.0.id: Value error, '12345' is not an "
     "account id (16 digits)"),
    ("accounts:\n  - id: '1111111111111111'\n    role_arn: arn:aws:iam::1:role/x\n",
     ":3:15: accounts.0.role_arn: Value error, 'arn:aws:iam::1:role/x' is not a RAM role ARN"),
    ("accounts:\n  - id: '1111111111111111'\n  - id: '1111111111111111'\n",
     ":3:9: account 1111111111111111 is listed twice (first at line 2)"),
    ("accounts:\n  - id: '1111111111111111'\n    role_arn: acs:ram::2222222222222222:role/r\n",
     ":3:15: role_arn is a role of account 2222222222222222, not of 1111111111111111"),
    ("accounts: []\n", ":1:11: accounts: List should have at least 1 item"),
    ("- id: '1111111111111111'\n", ":1:1: an accounts file is a mapping"),
    ("accounts:\n  - id: &a '1111111111111111'\n", ":2:9: YAML anchors and aliases"),
    # each region id checked as --region checks it, at its own line
    ("accounts:\n  - id: '1111111111111111'\n    regions:\n      - cn-hangzhou\n"
     "      - CN_Beijing\n", ":5:9: accounts.0.regions.1: Value error, malformed region id "
     "'CN_Beijing' (expected e.g. cn-hangzhou, or all)"),
    ("accounts:\n  - id: '1111111111111111'\n    regions: [cnhangzhou]\n",
     ":3:15: accounts.0.regions.0: Value error, malformed region id 'cnhangzhou'"),
    ("accounts:\n  - id: '1111111111111111'\n    regions: []\n",
     ":3:14: accounts.0.regions: List should have at least 1 item"),
])
def test_bad_accounts_files_are_positioned_errors(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path, tmp_path: Path,
    text: str, message: str
) -> None:
    accounts = _accounts_file(tmp_path, text)
    result = run_cli("scan", "--accounts", accounts, "--region", "cn-hangzhou",
                     "--endpoint", fake.url, "--rules", rule, env=env)
    assert result.exit_code == 2
    assert f"{accounts}{message}" in result.stderr
    assert "Traceback" not in result.stderr and not fake.cloud.calls


def test_resource_directory_scans_every_active_member(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path
) -> None:
    _member(fake, PROD, "prod")
    _member(fake, DEV, "dev", status="InviteSuccess", join_method="invited")
    _member(fake, DENIED, "gone", status="CreateFailed")
    fake.cloud.add_images("cn-hangzhou", [image("m-caller-pub", IsPublic=True)])
    fake.cloud.faults.append(Fault("throttle", action="ListAccounts"))
    result, report = _scan(run_cli, fake, env, rule, "--resource-directory",
                           "--region", "cn-hangzhou")
    assert result.exit_code == 1, result.stderr
    assert {f["account_id"] for f in report["findings"]} == {ACCOUNT_ID, PROD, DEV}
    assert report["scan"]["account_names"] == {ACCOUNT_ID: "management", PROD: "prod",
                                               DEV: "dev"}
    # the management account (the caller) is read with its own keys: no role assumed in it
    assert sorted(c.params["RoleArn"] for c in fake.cloud.calls_of("AssumeRole")) == [
        f"acs:ram::{PROD}:role/ResourceDirectoryAccountAccessRole",
        f"acs:ram::{DEV}:role/ResourceDirectoryAccountAccessRole"]
    listing = fake.cloud.calls_of("ListAccounts")
    assert [c.status for c in listing] == [400, 200]  # throttled once, then answered
    assert listing[-1].params["PageSize"] == "100" and listing[-1].key_id == KEY_ID
    assert f"account {DENIED}: member status 'CreateFailed' (not active): skipped" in (
        result.stderr)
    assert any(DENIED in n["message"] for n in report["data_quality"])


def test_role_name_and_no_caller_account(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path
) -> None:
    fake.cloud.add_member(Member(PROD, "prod"), role_name="AuditRole")
    fake.cloud.add_images("cn-hangzhou", [image("m-caller-pub", IsPublic=True)])
    result, report = _scan(run_cli, fake, env, rule, "--resource-directory", "--role-name",
                           "AuditRole", "--no-caller-account", "--region", "cn-hangzhou")
    assert result.exit_code == 0, result.stderr
    assert report["scan"]["accounts"] == [PROD] and report["findings"] == []
    assert [c.params["RoleArn"] for c in fake.cloud.calls_of("AssumeRole")] == [
        f"acs:ram::{PROD}:role/AuditRole"]
    bad = _scan(run_cli, fake, env, rule, "--resource-directory", "--role-name", "a b",
                "--region", "cn-hangzhou")[0]
    assert bad.exit_code == 2 and "--role-name: role name 'a b'" in bad.stderr


def test_one_accounts_failure_leaves_the_others_complete(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path
) -> None:
    _member(fake, PROD, "prod")
    _member(fake, DEV, "dev", images_denied=True)
    _member(fake, DENIED, "locked", assume_denied=True)
    result, report = _scan(run_cli, fake, env, rule, "--resource-directory",
                           "--region", "cn-hangzhou", "--region", "cn-shanghai")
    assert result.exit_code == 3, result.stderr
    assert {f["account_id"] for f in report["findings"]} == {PROD}
    assert report["scan"]["complete"] is False
    incomplete = {(r["account_id"], r["region"]): r["errors"] for r in report["regions"]
                  if not r["complete"]}
    assert set(incomplete) == {(DEV, "cn-hangzhou"), (DEV, "cn-shanghai"),
                               (DENIED, "cn-hangzhou"), (DENIED, "cn-shanghai")}
    assert "Forbidden.RAM" in incomplete[(DEV, "cn-hangzhou")][0]
    reason = incomplete[(DENIED, "cn-shanghai")][0]
    assert reason.startswith(f"account locked ({DENIED}) not scanned: cannot assume role "
                             f"acs:ram::{DENIED}:role/ResourceDirectoryAccountAccessRole")
    assert "NoPermission" in reason
    assert len(fake.cloud.calls_of("AssumeRole")) == 3  # the refused role asked once


def test_accounts_and_regions_share_one_concurrency_bound(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path
) -> None:
    for n in range(6):
        _member(fake, f"{n + 4}" * 16, f"m{n}")
    fake.cloud.latency = 0.03
    result, report = _scan(run_cli, fake, env, rule, "--resource-directory", "--concurrency",
                           "1", "--region", "cn-hangzhou", "--region", "cn-shanghai")
    assert result.exit_code == 1, result.stderr
    assert len(report["regions"]) == 14
    calls = fake.cloud.calls_of("DescribeImages")
    assert len(calls) == 14
    overlapping = max(sum(1 for o in calls if o.started < c.started < (o.finished or 0))
                      for c in calls)
    assert overlapping == 0  # --concurrency 1: one region of one account at a time


def test_resource_directory_needs_one(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path
) -> None:
    result = run_cli("scan", "--resource-directory", "--region", "cn-hangzhou", "--endpoint",
                     fake.url, "--rules", rule, env=env)
    assert result.exit_code == 3
    assert "ListAccounts" in result.stderr and "EntityNotExists.ResourceDirectory" in (
        result.stderr)


def test_organisation_options_need_a_live_scan(
    run_cli: Run, env: dict[str, str], rule: Path, tmp_path: Path
) -> None:
    inventory = tmp_path / "inv.json"
    inventory.write_text('{"RegionId": "cn-a", "Images": {"Image": []}}')
    result = run_cli("scan", "--input", inventory, "--resource-directory", env=env)
    assert result.exit_code == 2 and "--resource-directory collects live" in result.stderr


def test_list_accounts_pages_through_the_directory(fake: FakeEndpoint) -> None:
    for n in range(150):
        fake.cloud.add_member(Member(f"{9000000000000000 + n}", f"m{n}"))
    fake.cloud.faults.append(Fault("error", action="ListAccounts", page=2, code="Throttling",
                                   status=400))
    with new_session(2) as session:
        client = ApiClient(session, Credentials(KEY_ID, SECRET))
        listed = members(client, fake.url)
    assert [a.id for a in listed.accounts] == [ACCOUNT_ID] + [
        f"{9000000000000000 + n}" for n in range(150)]
    pages = [c.params["PageNumber"] for c in fake.cloud.calls_of("ListAccounts")]
    assert pages == ["1", "2", "2"]  # page 2 throttled once, retried


def test_list_accounts_answer_that_is_not_a_listing(fake: FakeEndpoint) -> None:
    fake.cloud.add_member(Member(PROD, "prod"))
    fake.cloud.faults.append(Fault("body", action="ListAccounts", status=200,
                                   body=b'{"RequestId": "X", "Accounts": 3}', times=None))
    from auditor.errors import ApiError

    with new_session(2) as session, pytest.raises(ApiError, match=r"no Accounts\.Account"):
        members(ApiClient(session, Credentials(KEY_ID, SECRET)), fake.url)


def test_every_report_names_each_account_and_what_is_missing(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path, tmp_path: Path
) -> None:
    _member(fake, PROD, "prod")
    _member(fake, DENIED, "locked", assume_denied=True)
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "html", "junit", "markdown")}
    files = [a for fmt, path in out.items() for a in (f"--{fmt}", path)]
    result = run_cli("scan", "--endpoint", fake.url, "--no-builtin-rules", "--rules", rule,
                     "--resource-directory", "--region", "cn-hangzhou", *files, env=env)
    assert result.exit_code == 3, result.stderr
    prod, locked = f"prod ({PROD})", f"locked ({DENIED})"
    text = result.stdout
    assert f"INCOMPLETE {locked}/cn-hangzhou: account {locked} not scanned" in text
    assert f"    {prod}/cn-hangzhou  m-prod-pub is public" in text
    assert f"  {prod}: 1 region(s), 1 images, 1 open findings, complete" in text
    assert f"  {locked}: 1 region(s), 0 images, 0 open findings, INCOMPLETE" in text
    markdown = out["markdown"].read_text()
    md_prod, md_locked = f"prod \\({PROD}\\)", f"locked \\({DENIED}\\)"  # escaped
    assert f"**Incomplete scan**: {md_locked}/cn-hangzhou could not" in markdown
    assert f"| {md_prod} | 1 | 1 | 1 | yes |" in markdown
    assert f"| {md_locked} | 1 | 0 | 0 | cn-hangzhou: account {md_locked} not scanned" in (
        markdown)
    junit = out["junit"].read_text()
    assert f'message="region {locked}/cn-hangzhou incomplete: account {locked}' in junit
    assert f"{prod}/cn-hangzhou m-prod-pub" in junit
    sarif = json.loads(out["sarif"].read_text())
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"].startswith(
        f"imgaudit/{'+'.join(sorted([ACCOUNT_ID, PROD, DENIED]))}/cn-hangzhou/")
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any(n.startswith(f"Region {locked}/cn-hangzhou was not fully scanned: account")
               for n in notes)
    assert run["properties"]["incompleteRegions"] == [f"{locked}/cn-hangzhou"]
    html = out["html"].read_text()
    assert 'id="by-account"' in html and f'data-filter-account="{DENIED}"' in html
    assert '<select id="f-account">' in html
    assert f"<b>{locked}/cn-hangzhou</b>: account {locked} not scanned" in html
    blob = json.loads(html.split('<script type="application/json" id="data">')[1]
                      .split("</script>")[0])
    assert blob["accounts"][PROD] == prod
    images = {blob["strings"][im[0]]: blob["strings"][im[5]] for im in blob["images"]}
    assert images == {"m-prod-pub": PROD}  # each image row names its account
    again = run_cli("scan", "--endpoint", fake.url, "--rules", rule, "--resource-directory",
                    "--region", "cn-hangzhou", "--baseline", out["json"], env=env)
    assert again.exit_code == 2
    assert f"incomplete (regions: {locked}/cn-hangzhou)" in again.stderr


def test_a_baseline_of_another_account_set_is_refused(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path, tmp_path: Path
) -> None:
    _member(fake, PROD, "prod")
    baseline = tmp_path / "base.json"
    first = run_cli("scan", "--endpoint", fake.url, "--no-builtin-rules", "--rules", rule,
                    "--resource-directory", "--region", "cn-hangzhou", "--json", baseline,
                    env=env)
    assert first.exit_code == 1, first.stderr
    alone = run_cli("scan", "--endpoint", fake.url, "--no-builtin-rules", "--rules", rule,
                    "--region", "cn-hangzhou", "--baseline", baseline, env=env)
    assert alone.exit_code == 2
    assert f"different scope (account {PROD},{ACCOUNT_ID} vs {ACCOUNT_ID})" in alone.stderr
    same = run_cli("scan", "--endpoint", fake.url, "--no-builtin-rules", "--rules", rule,
                   "--resource-directory", "--region", "cn-hangzhou", "--baseline", baseline,
                   "--format", "json", env=env)
    assert same.exit_code == 0, same.stderr  # nothing new against the same account set
    assert json.loads(same.stdout)["baseline"]["unchanged"] == 1


@pytest.mark.parametrize("fault", [
    Fault("unavailable", action="ListAccounts", page=2, times=None),
    Fault("error", action="ListAccounts", page=2, times=None, code="InternalError",
          status=500, message="The request processing has failed due to some unknown error."),
    Fault("cut", action="ListAccounts", page=2, times=None),
    Fault("body", action="ListAccounts", page=2, times=None,  # fewer than its TotalCount says
          body=json.dumps({"RequestId": "R-2", "TotalCount": 150, "PageNumber": 2,
                           "PageSize": 100, "Accounts": {"Account": []}}).encode()),
], ids=["unavailable", "error", "cut", "short"])
def test_a_member_listing_that_fails_part_way_scans_nothing(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], rule: Path, tmp_path: Path,
    fault: Fault
) -> None:
    """ListAccounts page 2 of 2 fails (after its retries) or contradicts its TotalCount: one
    line naming the page, exit 3 (api.failed: the API failed for the whole run), no report and
    no inventory: a partial list of the members is never scanned as the organisation."""
    for n in range(1, 150):
        fake.cloud.add_member(Member(f"{1000000000000000 + n}", f"member-{n}"))
    fake.cloud.faults.append(fault)
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--resource-directory", "--region", "cn-hangzhou",
                     "--endpoint", fake.url, "-o", out, env=env)
    assert result.exit_code == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith("imgaudit: error: ListAccounts failed: ")
    assert "(page 2, after 100 accounts: no account is scanned from a partial list" in line
    assert not out.exists()
    assert not fake.cloud.calls_of("DescribeImages") and not fake.cloud.calls_of("AssumeRole")
    result, report = _scan(run_cli, fake, env, rule, "--resource-directory", "--region",
                           "cn-hangzhou", "--html", tmp_path / "org.html")
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert report["error"]["code"] == "api.failed" and "page 2" in report["error"]["message"]
    assert not (tmp_path / "org.html").exists()


def test_a_full_member_page_without_total_count_is_followed(
    run_cli: Run, fake: FakeEndpoint, env: dict[str, str], tmp_path: Path
) -> None:
    """Page 1 answers no TotalCount: a full page says more may follow, so page 2 is read."""
    for n in range(1, 150):
        fake.cloud.add_member(Member(f"{1000000000000000 + n}", f"member-{n}"))
    fake.cloud.faults.append(Fault("total", action="ListAccounts", page=1, total=""))
    out = tmp_path / "inventory.json"
    result = run_cli("collect", "--resource-directory", "--region", "cn-hangzhou",
                     "--endpoint", fake.url, "--concurrency", "8", "-o", out, env=env)
    assert result.exit_code == 0, result.stderr
    assert [c.params["PageNumber"] for c in fake.cloud.calls_of("ListAccounts")] == ["1", "2"]
    assert len(Inventory.model_validate_json(out.read_text()).accounts) == 150
