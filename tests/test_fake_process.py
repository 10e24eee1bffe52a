"""The fake endpoint in its own process (`python -m fakeecs`, what bench/bench_collect.py
starts): it serves its synthetic cloud to the real `imgaudit collect`, then reports the calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fakeecs import KEY_ID, SECRET

TESTS = Path(__file__).resolve().parent


def test_fake_process_serves_a_collection_and_counts_its_calls(tmp_path: Path) -> None:
    fake = subprocess.Popen(
        [sys.executable, "-m", "fakeecs", "--regions", "2", "--images", "150", "--latency",
         "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(TESTS)))
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        env = dict(os.environ, HOME=str(tmp_path), ALIBABA_CLOUD_ACCESS_KEY_ID=KEY_ID,
                   ALIBABA_CLOUD_ACCESS_KEY_SECRET=SECRET, IMGAUDIT_STS_ENDPOINT=url,
                   IMGAUDIT_METADATA_URL=url)
        output = tmp_path / "inventory.json"
        done = subprocess.run([sys.executable, "-m", "auditor", "collect", "--region", "all",
                               "--endpoint", url, "-q", "-o", str(output)],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        out, _ = fake.communicate("\n", timeout=60)
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["calls"] == {"DescribeRegions": 1, "DescribeImages": 4,
                                "GetCallerIdentity": 1}
    assert summary["api_phase"] > 0
    saved = json.loads(output.read_text())
    assert [r["region"] for r in saved["regions"]] == ["cn-hangzhou", "cn-shanghai"]
    assert [len(r["images"]) for r in saved["regions"]] == [150, 150]
    assert all(r["complete"] for r in saved["regions"])
