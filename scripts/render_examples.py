"""Regenerate the example reports in reports/ from a synthetic month of daily scans.

    python3 scripts/render_examples.py                  # 30 days, into reports/
    python3 scripts/render_examples.py --days 3 --out DIR   # the month's last 3 days, elsewhere

The month ends with the bundled example inventory (examples/inventory.json, collected
2026-11-27 08:00 UTC); each earlier day's inventory is derived from it by a small timeline
(TIMELINE below): an image exists from its CreationTime on, a few images live only part of the
month, a few were otherwise before (most were fixed), and one day a region is throttled (an
incomplete run). The scans read examples/imgaudit.yaml plus two waivers that expire, one during
the month and one a week after it (EXTRA_WAIVERS).

Each day runs the real CLI (`python -m auditor scan`) in a scratch folder, with `--history` and
the day's time in IMGAUDIT_NOW (08:00 UTC), as the periodic recipe would have run it; the last
day's reports, in every format, go to the output folder with `imgaudit history trend` of the
month (history-trend.txt). Byte for byte reproducible: same code, same files.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "examples"))
import make_inventory as inv  # noqa: E402  (examples/ is not a package)

LAST_DAY = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)  # examples/inventory.json's time
REPORTS = {"--html": "example.html", "--sarif": "example.sarif", "--markdown": "example.md",
           "--json": "example.json", "--junit": "example.junit.xml"}
TEXT = "example.txt"    # the text report, as standard output shows it
TREND = "history-trend.txt"

Image = dict[str, Any]


def _day(text: str) -> datetime:
    return datetime.fromisoformat(f"{text}T08:00:00+00:00")


# Images that lived part of the month only: (region, first day, first day gone, image).
EPHEMERAL: list[tuple[str, str, str, Callable[[], Image]]] = [
    ("cn-hangzhou", "2026-10-01", "2026-11-09", lambda: inv.own(
        "cn-hangzhou", "web-alinux3-2026-06-02", encrypted=False,
        CreationTime="2026-06-02T02:10:00Z")),
    ("cn-shanghai", "2026-11-04", "2026-11-06", lambda: inv.own(
        "cn-shanghai", "tmp-debug-ubuntu22-2026-11-04", "ubuntu22", IsPublic=True, Tags={},
        CreationTime="2026-11-04T09:30:00Z")),
    ("cn-shanghai", "2026-10-01", "2026-11-13", lambda: inv.own(
        "cn-shanghai", "crm-win2012-2021-09-15", "win2012", Usage="none", BootMode="BIOS",
        CreationTime="2021-09-15T06:00:00Z", Tags={"owner": "sales-it", "env": "prod"})),
    ("ap-southeast-1", "2026-10-01", "2026-11-20", lambda: inv.own(
        "ap-southeast-1", "payments-alinux3-2026-03-02", data=200,
        CreationTime="2026-03-02T07:00:00Z", **inv.BIOS_NO_NVME,
        Tags={"owner": "payments-team", "env": "prod", "pci": "in-scope"})),
    ("cn-hangzhou", "2026-11-24", "2026-11-27", lambda: inv.own(
        "cn-hangzhou", "export-centos7-2026-11-24", "centos7", IsPublic=True,
        CreationTime="2026-11-24T05:00:00Z", Tags={"owner": "partner-team", "env": "test"})),
]

# Images of the last day that were otherwise before a day: (region, name, changed on, as they
# were before). Most were fixed; the QA image was shared on the last day (new then).
CHANGED: list[tuple[str, str, str, Image]] = [
    ("ap-southeast-1", "search-ubuntu22-2026-09-09", "2026-11-02",
     {"Features": {"NvmeSupport": "unsupported", "ImdsSupport": "v2"}}),
    ("cn-hangzhou", "web-alinux3-2026-10-08", "2026-11-05", {"IsPublic": True}),
    ("cn-shanghai", "api-ubuntu22-2026-09-01", "2026-11-18", {"Tags": {"env": "prod"}}),
    ("cn-shanghai", "shared-qa-ubuntu22-2026-10-12", "2026-11-27", {"IsSelfShared": "false"}),
]

# A day when a region answered only in part (an incomplete run: exit 3, nothing fixed there).
THROTTLED = ("2026-11-16", "ap-southeast-1",
             "Throttling.User: Request was denied due to user flow control. "
             "(RequestId 6E1D5A5B-9A83-4D5B-A0C6-0F1B9C2D3E4F)")

EXTRA_WAIVERS = """
  # Two more, for the example month (scripts/render_examples.py): one lapsed, one expiring soon.
  - rule: IMG-UNENCRYPTED-DISK
    images: [{db}]   # db-alinux3-2026-10-30 in cn-hangzhou
    reason: Re-encrypting the data snapshot needs a maintenance window, change CHG-4471
    owner: dba-team@example.com
    expires: 2026-11-15
  - rule: IMG-UNENCRYPTED-DISK
    images: [{ad}]   # ad-win2022-2026-08-30 in ap-southeast-1
    reason: The domain controller image is rebuilt encrypted with the Windows 2025 migration
    owner: it-team@example.com
    expires: 2026-12-04
"""


def inventory_on(when: datetime) -> dict[str, Any]:
    """The account as a scan at `when` would have seen it."""
    final = inv.build()
    doc = copy.deepcopy(final)
    doc["collected_at"] = f"{when:%Y-%m-%dT%H:%M:%SZ}"
    by_region = {r["region"]: r for r in doc["regions"]}
    for region in doc["regions"]:
        region["images"] = [i for i in region["images"] if _created(i) <= when]
    for region_id, name, changed_on, before in CHANGED:
        if when < _day(changed_on):
            for image in by_region[region_id]["images"]:
                if image["ImageName"] == name:
                    image.update(copy.deepcopy(before))
    for region_id, start, gone, make in EPHEMERAL:
        if _day(start) <= when < _day(gone):
            by_region[region_id]["images"].append(make())
    day, region_id, error = THROTTLED
    if when == _day(day):
        region = by_region[region_id]
        region.update(complete=False, errors=[error], images=region["images"][:4])
    for region in doc["regions"]:
        if region["complete"]:
            region["total_count"] = len(region["images"])
    return doc


def _created(image: Image) -> datetime:
    return datetime.fromisoformat(image["CreationTime"].replace("Z", "+00:00"))


def month_config() -> str:
    """examples/imgaudit.yaml, with the month's two extra waivers at the end of `waivers:`."""
    text = (REPO / "examples/imgaudit.yaml").read_text(encoding="utf-8")
    head, tail = text.split("  # Besides `images`", 1)
    waivers = EXTRA_WAIVERS.format(db=inv._id("m", "cn-hangzhou", "db-alinux3-2026-10-30"),
                                   ad=inv._id("m", "ap-southeast-1", "ad-win2022-2026-08-30"))
    return head + waivers.lstrip("\n") + "  # Besides `images`" + tail


def scan(work: Path, when: datetime, *outputs: str) -> subprocess.CompletedProcess[str]:
    """One day's `imgaudit scan`, in `work`, with the day's clock; its own environment only
    (no IMGAUDIT_* or colour variable of the caller, an English locale)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMGAUDIT_", "LC_")) and k not in ("LANG", "LANGUAGE", "NO_COLOR",
                                                                  "FORCE_COLOR")}
    env.update(IMGAUDIT_NOW=f"{when:%Y-%m-%dT%H:%M:%SZ}", LANG="C.UTF-8", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "auditor", "scan", "--input", "inventory.json",
               "--config", "imgaudit.yaml", "--history", "history.sqlite", *outputs]
    return subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          check=False)


def render(out: Path, days: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imgaudit-month-") as scratch:
        work = Path(scratch)
        (work / "imgaudit.yaml").write_text(month_config(), encoding="utf-8")
        first = LAST_DAY - timedelta(days=days - 1)
        for n in range(days):
            when = first + timedelta(days=n)
            inventory = json.dumps(inventory_on(when), indent=2, ensure_ascii=False) + "\n"
            (work / "inventory.json").write_text(inventory, encoding="utf-8")
            last = n == days - 1
            files = [a for o, p in REPORTS.items() for a in (o, p)] if last else []
            done = scan(work, when, "--quiet", *files)
            print(f"{when:%Y-%m-%d}: exit {done.returncode}", file=sys.stderr)
            if done.returncode not in (0, 1, 3):  # 1: the example breaks policy; 3: throttled
                print(done.stderr, end="", file=sys.stderr)
                return done.returncode
        (out / TEXT).write_text(done.stdout, encoding="utf-8")
        for path in REPORTS.values():
            shutil.copyfile(work / path, out / path)
        _pretty_json(out / REPORTS["--json"])
        trend = subprocess.run([sys.executable, "-m", "auditor", "history", "trend",
                                "--history", "history.sqlite"], cwd=work, capture_output=True,
                               text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        (out / TREND).write_text(trend.stdout, encoding="utf-8")
    for name in [*REPORTS.values(), TEXT, TREND]:
        print(f"wrote {out / name} ({(out / name).stat().st_size:,} bytes)")
    return 0


def _pretty_json(path: Path) -> None:
    """The JSON report is one compact line; the example is indented so a visitor can read it."""
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2, ensure_ascii=False) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="scans, one a day (default 30)")
    parser.add_argument("--out", type=Path, default=REPO / "reports", help="output folder")
    args = parser.parse_args()
    if not 1 <= args.days <= 60:
        parser.error("--days: from 1 to 60")
    return render(args.out, args.days)


if __name__ == "__main__":
    raise SystemExit(main())
