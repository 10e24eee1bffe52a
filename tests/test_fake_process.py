"""The fake endpoint in its own process (`python -m fakeecs`, what bench/bench_collect.py
starts): it serves its synthetic cloud to the real `imgaudit collect`, then reports the calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakeecs import cli_env

TESTS = Path(__file__).resolve().parent


def _served(tmp_path: Path, fake_args: list[str], collect_args: list[str],
            **env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`python -m fakeecs FAKE_ARGS --latency 0` serving `imgaudit collect COLLECT_ARGS
    --region all`, which must succeed: the fake's summary of the calls, and the inventory."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "fakeecs", *fake_args, "--latency", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(TESTS)))
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        output = tmp_path / "inventory.json"
        done = subprocess.run([sys.executable, "-m", "auditor", "collect", *collect_args,
                               "--region", "all", "--endpoint", url, "-q", "-o", str(output)],
                              env=cli_env(url, tmp_path, **{k: v.replace("{url}", url)
                                                            for k, v in env.items()}),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        out, _ = fake.communicate("\n", timeout=60)
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()
    return json.loads(out.strip().splitlines()[-1]), json.loads(output.read_text())


def test_fake_process_serves_a_collection_and_counts_its_calls(tmp_path: Path) -> None:
    summary, saved = _served(tmp_path, ["--regions", "2", "--images", "150"], [])
    assert summary["calls"] == {"DescribeRegions": 1, "DescribeImages": 4,
                                "GetCallerIdentity": 1}
    assert summary["api_phase"] > 0
    assert [r["region"] for r in saved["regions"]] == ["cn-hangzhou", "cn-shanghai"]
    assert [len(r["images"]) for r in saved["regions"]] == [150, 150]
    assert all(r["complete"] for r in saved["regions"])


def test_fake_process_serves_an_organisation(tmp_path: Path) -> None:
    """`--accounts 3` (bench/bench_org.py): a Resource Directory whose members have images."""
    summary, saved = _served(tmp_path, ["--accounts", "3", "--regions", "1", "--images", "120"],
                             ["--resource-directory"],
                             IMGAUDIT_RESOURCEMANAGER_ENDPOINT="{url}",
                             ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    assert summary["calls"] == {"DescribeRegions": 1, "DescribeImages": 6,
                                "GetCallerIdentity": 1, "ListAccounts": 1, "AssumeRole": 2}
    assert sorted((r["account_id"], len(r["images"])) for r in saved["regions"]) == [
        ("1000000000000001", 120), ("1000000000000002", 120), ("1234567890123456", 120)]


def test_fake_process_serves_shares_and_instances(tmp_path: Path) -> None:
    """`--shared` and `--instances` (bench/bench_org.py): the listing's sharing flags agree with
    DescribeImageSharePermission, instances run the accounts' images and a system image that
    the listing of self images lacks (looked up by id), and the summary counts the lookups
    apart."""
    summary, saved = _served(tmp_path, ["--accounts", "2", "--regions", "2", "--images", "120",
                                        "--shared", "13", "--instances", "250"],
                             ["--resource-directory", "--sharing", "--instances"],
                             IMGAUDIT_RESOURCEMANAGER_ENDPOINT="{url}",
                             ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    # per account: 2 regions x 2 pages; 13 shares; 125 instances per region: 2 pages each;
    # one lookup per region (the system image)
    assert summary["calls"] == {"DescribeRegions": 1, "GetCallerIdentity": 1,
                                "ListAccounts": 1, "AssumeRole": 1, "DescribeImages": 8,
                                "DescribeImages by ImageId": 4,
                                "DescribeImageSharePermission": 26, "DescribeInstances": 8}
    assert summary["in_flight"] >= 1
    assert all(r["complete"] for r in saved["regions"])
    for region in saved["regions"]:
        images = {i["ImageId"]: i for i in region["images"]}
        shared = [i for i in images.values() if i.get("SharePermission") is not None]
        assert all(i["IsSelfShared"] or i["IsPublic"] for i in shared)
        published = [i for i in shared if i["IsPublic"]]
        assert all(i["SharePermission"]["ShareGroups"] == [{"Group": "all"}] for i in published)
        assert all(len(i["SharePermission"]["Accounts"]) == 1 for i in shared
                   if not i["IsPublic"])
        system = images["aliyun_3_x64_20G_alibase_20250101.vhd"]
        assert system["ImageOwnerAlias"] == "system"
        assert len(system["InstanceIds"]) == 12  # every tenth of 125
        assert sum(len(i.get("InstanceIds") or ()) for i in images.values()) == 125
    shared_ids = [i["ImageId"] for r in saved["regions"] for i in r["images"]
                  if i.get("SharePermission") is not None]
    assert len(shared_ids) == 26  # 13 in each of the two accounts
    outside = {a["AliyunId"]: a["InOrganization"] for r in saved["regions"]
               for i in r["images"] for a in (i.get("SharePermission") or {}).get("Accounts", [])}
    assert outside["1000000000000001"] is True
    assert any(flag is False for flag in outside.values())
