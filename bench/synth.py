"""Synthetic image inventories: many varied, realistic DescribeImages images, fast and seeded.

`generate(n)` returns a saved-inventory document (the collapsed form of auditor/models.py) for
benchmarks and tests, `write_lines(n, path)` writes the same inventory as JSON Lines without
holding it; `raw_page(...)` renders images back into the API's own response shape
(wrapper levels, string booleans and sizes) for a fake ECS endpoint. Standard library only, so
any test or server can import it.

    python bench/synth.py 100000 -o /tmp/inventory.json [--regions 3] [--seed 0] [--lines]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any

# (region id, the prefix its resource ids carry)
REGIONS = (
    ("cn-hangzhou", "bp1"), ("cn-shanghai", "uf6"), ("ap-southeast-1", "t4n"),
    ("cn-beijing", "2ze"), ("cn-shenzhen", "wz9"), ("eu-central-1", "gw8"),
    ("us-west-1", "rj9"), ("cn-zhangjiakou", "8vb"), ("ap-northeast-1", "6we"),
)
# (OSType, Platform, OSNameEn, short name, arm64 available)
SYSTEMS = (
    ("linux", "Aliyun", "Alibaba Cloud Linux  3.2104 LTS 64 bit", "alinux3", True),
    ("linux", "Ubuntu", "Ubuntu  22.04 64 bit", "ubuntu2204", True),
    ("linux", "Ubuntu", "Ubuntu  24.04 64 bit", "ubuntu2404", True),
    ("linux", "CentOS", "CentOS  7.9 64 bit", "centos79", False),
    ("linux", "Debian", "Debian  12.5 64 bit", "debian12", True),
    ("linux", "Rocky Linux", "Rocky Linux  9.3 64 bit", "rocky93", False),
    ("linux", "Anolis", "Anolis OS  8.8 RHCK 64 bit", "anolis88", False),
    ("linux", "Ubuntu", "Ubuntu  18.04 64 bit", "ubuntu1804", False),
    ("windows", "Windows Server 2022",
     "Windows Server  2022 Data Center Edition 64bit English Edition", "win2022", False),
    ("windows", "Windows Server 2019",
     "Windows Server  2019 Data Center Edition 64bit English Edition", "win2019", False),
    ("windows", "Windows Server 2012",
     "Windows Server  2012 R2 Data Center Edition 64bit English Edition", "win2012r2", False),
)
# how often each system occurs, in SYSTEMS order (end-of-life ones are rarer)
_SYSTEM_WEIGHTS = (10, 6, 4, 2, 4, 2, 2, 1, 4, 2, 1)
_WEIGHTED_SYSTEMS = tuple(
    s for s, w in zip(SYSTEMS, _SYSTEM_WEIGHTS, strict=True) for _ in range(w))
OWNERS = ("self",) * 14 + ("system",) * 3 + ("others",) * 2 + ("marketplace",)
STATUSES = ("Available",) * 40 + ("Deprecated",) * 4 + ("CreateFailed", "UnAvailable",
                                                       "Creating", "Waiting")
_MARKET = "marketplace"
_SHARED_STATUSES = ("Available",) * 9 + ("Deprecated",)
_ARCH_TOKEN = {"x86_64": "x64", "arm64": "arm64", "i386": "32"}
APPS = ("web", "api", "worker", "batch", "gateway", "db", "cache", "ci-runner", "etl", "ml")
TEAMS = ("platform", "payments", "data", "growth", "search", "infra", "security")
ENVS = ("prod", "staging", "dev", "test")
RISKS = (
    ("Nvme", "Unsupported", "High", "NVMe.NotInstalled"),
    ("Virtio", "NotInstalled", "High", "Virtio.NotInstalled"),
    ("Fstab", "Invalid", "High", "Fstab.InvalidEntry"),
    ("Dhcp", "Disabled", "Medium", "DHCP.NotEnabled"),
    ("CloudInit", "NotInstalled", "Medium", "CloudInit.NotInstalled"),
    ("SELinux", "Enforcing", "Medium", "SELinux.Enabled"),
)
_RISK_KEYS = ("Name", "Value", "RiskLevel", "RiskCode")
_EPOCH_2019 = 1546300800  # 2019-01-01T00:00:00Z
_EPOCH_2026 = 1767225600  # 2026-01-01T00:00:00Z
_END = 1795132800  # 2026-11-20T00:00:00Z
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_SPACE = 36**17
_ID_STEP = 0x9E3779B97F4A7C15  # odd and not a multiple of 3: a bijection modulo 36**17
_TRIPLES = [a + b + c for a in _ID_ALPHABET for b in _ID_ALPHABET for c in _ID_ALPHABET]


def _resource_id(prefix: str, kind: str, index: int, seed: int) -> str:
    """Unique per index, random-looking like `m-bp1g7004ksh0oeuc1234`."""
    n = (index * _ID_STEP + seed * 7919) % _ID_SPACE
    parts = []
    for _ in range(6):  # 6 x 3 base-36 digits, the first one cut to 17 digits in all
        n, r = divmod(n, 46656)
        parts.append(_TRIPLES[r])
    return f"{kind}-{prefix}{''.join(parts)[1:]}"


def _pick(rng: random.Random, seq: tuple) -> Any:
    """`rng.choice` without its bookkeeping: the generator calls this a million times."""
    return seq[int(rng.random() * len(seq))]


def _stamp(rng: random.Random) -> str:
    """Mostly this year's images, a tail back to 2019 (as in an account that rebuilds)."""
    start = _EPOCH_2026 if rng.random() < 0.8 else _EPOCH_2019
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + rng.random() * (_END - start)))


def _tags(rng: random.Random, owner: str, app: str) -> dict[str, str]:
    if owner != "self":
        return {}
    tags = {"owner": _pick(rng, TEAMS), "env": _pick(rng, ENVS), "app": app}
    if rng.random() < 0.12:  # ~12% of own images miss a required key
        del tags[_pick(rng, ("owner", "env"))]
    if rng.random() < 0.3:
        tags["cost-center"] = f"cc-{1000 + int(rng.random() * 9000)}"
    return tags


def _disks(rng: random.Random, prefix: str, index: int, seed: int, size: int) -> list[dict]:
    encrypted = rng.random() > 0.12
    disks = [{"Type": "system", "Device": "/dev/xvda", "Size": size, "Format": "",
              "SnapshotId": _resource_id(prefix, "s", index, seed + 1), "Encrypted": encrypted}]
    if rng.random() < 0.25:
        disks.append({"Type": "data", "Device": "/dev/xvdb", "Size": _pick(rng, (100, 200, 500)),
                      "Format": "", "SnapshotId": _resource_id(prefix, "s", index, seed + 2),
                      "Encrypted": encrypted or rng.random() < 0.5})
    return disks


def _detection(rng: random.Random) -> dict[str, Any]:
    status = "Processing" if rng.random() < 0.05 else "Finished"
    items = [{"Name": "Nvme", "Value": "Supported"}, {"Name": "CloudInit", "Value": "Installed"}]
    roll = rng.random()
    if roll < 0.08:  # ~8% with a high-risk item
        items.append(dict(zip(_RISK_KEYS, _pick(rng, RISKS[:3]), strict=True)))
    elif roll < 0.18:
        items.append(dict(zip(_RISK_KEYS, _pick(rng, RISKS[3:]), strict=True)))
    return {"Status": status, "Items": items}


def _identity(rng: random.Random, index: int, prefix: str, seed: int) -> dict[str, Any]:
    """Who owns the image, what it is called, which system it carries."""
    os_type, platform, name_en, short, arm = _pick(rng, _WEIGHTED_SYSTEMS)
    owner = _pick(rng, OWNERS)
    arch = "arm64" if arm and rng.random() < 0.25 else "x86_64"
    if os_type == "linux" and rng.random() < 0.015:
        arch = "i386"
    app, created, own = _pick(rng, APPS), _stamp(rng), owner == "self"
    day = created[:10].replace("-", "")
    image_id = (f"{short}_{_ARCH_TOKEN[arch]}_40G_alibase_{day}v{index}.vhd"
                if owner == "system" else _resource_id(prefix, "m", index, seed))
    other_owner = 1000000000000000 + int(rng.random() * 10**15)
    return {
        "ImageId": image_id,
        "ImageName": f"{app}-{short}-{created[:10]}" if own else f"{short}-{arch}-{index}",
        "ImageFamily": f"{app}-{short}" if own else "",
        "ImageVersion": str(1 + int(rng.random() * 39)) if own else "",
        "ImageOwnerAlias": owner,
        "ImageOwnerId": 1234567890123456 if own else other_owner,
        "Description": f"{app} image built by the {short} pipeline" if own else "",
        "CreationTime": created,
        "OSType": os_type,
        "OSName": name_en.replace("64 bit", "64位"),
        "OSNameEn": name_en,
        "Platform": platform,
        "Architecture": arch,
        "Tags": _tags(rng, owner, app),
    }


def _image(rng: random.Random, index: int, prefix: str, seed: int) -> dict[str, Any]:
    image = _identity(rng, index, prefix, seed)
    owner, linux = image["ImageOwnerAlias"], image["OSType"] == "linux"
    own, size = owner == "self", 40 if linux else _pick(rng, (40, 60))
    image.update({
        "Status": _pick(rng, STATUSES if own else _SHARED_STATUSES),
        "Progress": "100%",
        "Size": size,
        "Usage": "instance" if rng.random() < 0.75 else "none",
        "BootMode": "BIOS" if rng.random() < 0.12 else _pick(rng, ("UEFI", "UEFI-Preferred")),
        "IsPublic": (rng.random() < 0.08) if own else owner != "others" or rng.random() < 0.5,
        "IsCopied": rng.random() < 0.1,
        "IsSelfShared": own and rng.random() < 0.1,
        "IsSubscribed": owner == _MARKET,
        "IsSupportIoOptimized": True,
        "IsSupportCloudinit": linux and rng.random() > 0.07,
        "LoginAsNonRootSupported": linux and rng.random() > 0.15,
        "ProductCode": f"cmjj0{10000 + int(rng.random() * 90000)}" if owner == _MARKET else "",
        "SupplierName": "",
        "ResourceGroupId": f"rg-acfm{10**9 + int(rng.random() * 9 * 10**9)}" if own else "",
        "LicenseType": "Auto",
        "DiskDeviceMappings": _disks(rng, prefix, index, seed, size),
        "DetectionOptions": _detection(rng) if own else {"Items": []},
        "Features": {"NvmeSupport": "unsupported" if rng.random() < 0.15 else "supported",
                     "ImdsSupport": _pick(rng, ("v1", "v2"))},
    })
    if own and (image["IsSelfShared"] or image["IsPublic"]):
        image["SharePermission"] = _shares(index, image["IsSelfShared"], image["IsPublic"])
    return image


def _shares(index: int, shared: bool, public: bool) -> dict[str, Any]:
    """What `--sharing` records for a shared or published image (no random draw: the other
    images stay as they were): accounts of the organisation, and every third one outside."""
    accounts = [{"AliyunId": "1234567890123457", "SharedTime": "2026-06-01T00:00:00Z",
                 "InOrganization": True}] if shared else []
    if shared and index % 3 == 0:
        accounts.append({"AliyunId": f"{5 * 10**15 + index}", "InOrganization": False,
                         "SharedTime": "2026-07-01T00:00:00Z"})
    return {"Accounts": accounts, "ShareGroups": [{"Group": "all"}] if public else []}


def _request_ids(rng: random.Random, count: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper() for _ in range(count)]


def generate(n_images: int, *, regions: int = 3, seed: int = 0) -> dict[str, Any]:
    """An inventory document of `n_images` varied images spread over `regions` regions."""
    if not 1 <= regions <= len(REGIONS):
        raise ValueError(f"regions must be between 1 and {len(REGIONS)}")
    rng = random.Random(seed)
    region_docs = []
    for r, (region, prefix) in enumerate(REGIONS[:regions]):
        start, stop = n_images * r // regions, n_images * (r + 1) // regions
        images = [_image(rng, i, prefix, seed) for i in range(start, stop)]
        region_docs.append({
            "region": region, "complete": True, "total_count": len(images), "images": images,
            "request_ids": _request_ids(rng, max(1, -(-len(images) // 100))), "errors": [],
        })
    return {
        "format": "imgaudit-inventory", "format_version": 1, "tool_version": "0.1.0",
        "collected_at": "2026-11-27T08:00:00Z", "source": "api",
        "account_id": "1234567890123456",
        "scope": {"owners": ["self", "others", "system", "marketplace"],
                  "statuses": ["Creating", "Waiting", "Available", "UnAvailable",
                               "CreateFailed", "Deprecated"], "filters": {}},
        "regions": region_docs,
    }


def write_lines(n_images: int, path: str, *, regions: int = 3, seed: int = 0) -> None:
    """The inventory of `generate(n_images)`, as JSON Lines (a header line, then one image per
    line), written a region at a time: a million images never held at once."""
    if not 1 <= regions <= len(REGIONS):
        raise ValueError(f"regions must be between 1 and {len(REGIONS)}")
    rng = random.Random(seed)
    doc = generate(0, regions=regions, seed=seed)
    region_docs = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as body:
        for r, (region, prefix) in enumerate(REGIONS[:regions]):
            start, stop = n_images * r // regions, n_images * (r + 1) // regions
            where = json.dumps({"region": region})[:-1] + ',"image":'
            for i in range(start, stop):
                image = json.dumps(_image(rng, i, prefix, seed), separators=(",", ":"))
                body.write(f"{where}{image}}}\n")
            region_docs.append({
                "region": region, "complete": True, "total_count": stop - start,
                "request_ids": _request_ids(rng, max(1, -(-(stop - start) // 100))),
                "errors": []})
        doc.update(layout="jsonl", regions=region_docs)
        body.seek(0)
        with open(path, "w", encoding="utf-8") as out:
            out.write(json.dumps(doc, separators=(",", ":")) + "\n")
            shutil.copyfileobj(body, out, 1 << 20)


def _raw_image(image: dict[str, Any]) -> dict[str, Any]:
    """One collapsed image in the API's shape: wrapper levels, `"true"` and `"60"` strings."""
    raw = dict(image)
    for enrichment in ("SharePermission", "InstanceIds", "NotCollected"):  # other calls' data
        raw.pop(enrichment, None)
    if "Tags" in raw:
        raw["Tags"] = {"Tag": [{"TagValue": v, "TagKey": k} for k, v in raw["Tags"].items()]}
    if "DiskDeviceMappings" in raw:
        disks = [dict(d, Size=str(d["Size"])) if d.get("Size") is not None else dict(d)
                 for d in raw["DiskDeviceMappings"]]
        raw["DiskDeviceMappings"] = {"DiskDeviceMapping": disks}
    if raw.get("DetectionOptions") is not None:
        options = dict(raw["DetectionOptions"])
        options["Items"] = {"Item": list(options.get("Items") or [])}
        raw["DetectionOptions"] = options
    if isinstance(raw.get("IsSelfShared"), bool):
        raw["IsSelfShared"] = "true" if raw["IsSelfShared"] else "false"
    return raw


def raw_page(images: list[dict[str, Any]], total: int, page: int, size: int,
             region: str) -> dict[str, Any]:
    """Page `page` (from 1) of `size` cut from a region's full listing `images`, as the body
    DescribeImages returns; `total` is the TotalCount to report (may disagree on purpose)."""
    chunk = images[(page - 1) * size: page * size]
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{region}/{page}/{size}/{total}")).upper()
    return {
        "PageSize": size, "PageNumber": page, "RequestId": request_id, "TotalCount": total,
        "RegionId": region, "Images": {"Image": [_raw_image(i) for i in chunk]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic imgaudit inventory.")
    parser.add_argument("n_images", type=int)
    parser.add_argument("-o", "--output", required=True, help="file to write ('-' = stdout)")
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lines", action="store_true", help="JSON Lines (a file, not '-')")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.lines:
        write_lines(args.n_images, args.output, regions=args.regions, seed=args.seed)
        print(f"{args.n_images} images in {args.regions} regions -> {args.output} (JSON Lines, "
              f"{time.perf_counter() - started:.2f} s)", file=sys.stderr)
        return 0
    document = generate(args.n_images, regions=args.regions, seed=args.seed)
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"))
    if args.output == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    elapsed = time.perf_counter() - started
    print(f"{args.n_images} images in {args.regions} regions -> {args.output} "
          f"({len(text) / 1e6:.1f} MB, {elapsed:.2f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
