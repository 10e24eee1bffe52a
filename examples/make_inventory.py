"""Writes examples/inventory.json: a small, hand-shaped inventory that shows every rule firing.

Deterministic (ids come from a hash of the image name), so the file only changes when this
script does. Run from the repository root: `python examples/make_inventory.py`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ACCOUNT = "1234567890123456"
PREFIX = {"cn-hangzhou": "bp1", "cn-shanghai": "uf6", "ap-southeast-1": "t4n"}
OUT = Path(__file__).with_name("inventory.json")

# OSType, Platform, OSNameEn, OSName (as the API's Chinese display name)
SYSTEMS = {
    "alinux3": ("linux", "Aliyun", "Alibaba Cloud Linux  3.2104 LTS 64 bit"),
    "ubuntu22": ("linux", "Ubuntu", "Ubuntu  22.04 64 bit"),
    "ubuntu18": ("linux", "Ubuntu", "Ubuntu  18.04 64 bit"),
    "centos7": ("linux", "CentOS", "CentOS  7.9 64 bit"),
    "debian12": ("linux", "Debian", "Debian  12.5 64 bit"),
    "win2022": ("windows", "Windows Server 2022",
                "Windows Server  2022 Data Center Edition 64bit English Edition"),
    "win2012": ("windows", "Windows Server 2012",
                "Windows Server  2012 R2 Data Center Edition 64bit English Edition"),
}


def _id(kind: str, region: str, name: str) -> str:
    digest = int(hashlib.sha256(f"{kind}/{region}/{name}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(17):
        digest, r = divmod(digest, 36)
        chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
    return f"{kind}-{PREFIX[region]}{''.join(chars)}"


def _disks(region: str, name: str, size: int, encrypted: bool | None, data: int = 0) -> list:
    disks = [{"Type": "system", "Device": "/dev/xvda", "Size": str(size), "Format": "",
              "SnapshotId": _id("s", region, name), "Progress": "100%"}]
    if data:
        disks.append({"Type": "data", "Device": "/dev/xvdb", "Size": str(data), "Format": "",
                      "SnapshotId": _id("s", region, name + "/data"), "Progress": "100%"})
    if encrypted is not None:
        for disk in disks:
            disk["Encrypted"] = encrypted
    return disks


def _detection(*risks: tuple[str, str, str, str], status: str = "Finished") -> dict:
    items = [{"Name": "Nvme", "Value": "Supported"}, {"Name": "CloudInit", "Value": "Installed"}]
    keys = ("Name", "Value", "RiskLevel", "RiskCode")
    items += [dict(zip(keys, risk, strict=True)) for risk in risks]
    return {"Status": status, "Items": items}


def own(region: str, name: str, os: str = "alinux3", **over: Any) -> dict[str, Any]:
    """A compliant custom image of ours; `over` puts the violations in."""
    os_type, platform, name_en = SYSTEMS[os]
    size = 40 if os_type == "linux" else 60
    image = {
        "ImageId": _id("m", region, name), "ImageName": name,
        "ImageFamily": name.rsplit("-", 3)[0], "ImageVersion": "1",
        "ImageOwnerAlias": "self", "ImageOwnerId": int(ACCOUNT),
        "Description": f"{name} built by the image pipeline",
        "Status": "Available", "Progress": "100%", "CreationTime": "2026-09-14T03:12:40Z",
        "Size": size, "Usage": "instance", "OSType": os_type,
        "OSName": name_en.replace("64 bit", "64位"), "OSNameEn": name_en, "Platform": platform,
        "Architecture": "x86_64", "BootMode": "UEFI-Preferred", "IsPublic": False,
        "IsCopied": False, "IsSelfShared": "false", "IsSubscribed": False,
        "IsSupportIoOptimized": True, "IsSupportCloudinit": os_type == "linux",
        "LoginAsNonRootSupported": os_type == "linux", "ProductCode": "", "SupplierName": "",
        "ResourceGroupId": "rg-acfmzw2jz2z3xli", "LicenseType": "Auto",
        "Tags": {"owner": "platform-team", "env": "prod", "cost-center": "cc-1042"},
        "DiskDeviceMappings": _disks(region, name, size, over.pop("encrypted", True),
                                     over.pop("data", 0)),
        "DetectionOptions": _detection(), "Features": {"NvmeSupport": "supported",
                                                       "ImdsSupport": "v2"},
    }
    image.update(over)
    image["InstanceIds"] = _instances(region, name, image["Usage"])
    return {k: v for k, v in image.items() if v is not None}  # None: the API left it out


def _instances(region: str, name: str, usage: str) -> list[str]:
    """What `--instances` records: the ids of the instances that run the image."""
    if usage != "instance":
        return []
    return sorted(_id("i", region, f"{name}/{n}") for n in range(1 + len(name) % 3))


PARTNER = "1122334455667788"  # outside the organisation, allowlisted in examples/imgaudit.yaml
FORMER = "3344556677889900"   # outside the organisation, not allowlisted: IMG-SHARED-OUTSIDE
SISTER = "2233445566778899"   # another account of the organisation


def shared_with(*accounts: tuple[str, bool], everyone: bool = False) -> dict[str, Any]:
    """What `--sharing` records (DescribeImageSharePermission): (account, in organisation)."""
    return {"Accounts": [{"AliyunId": a, "SharedTime": "2026-10-20T06:00:00Z",
                          "InOrganization": inside} for a, inside in accounts],
            "ShareGroups": [{"Group": "all"}] if everyone else []}


def public(region: str, image_id: str, os: str, owner: str = "system", **over: Any) -> dict:
    """An image we did not build: Alibaba Cloud's, a Marketplace vendor's, another account's."""
    os_type, platform, name_en = SYSTEMS[os]
    image = {
        "ImageId": image_id, "ImageName": image_id, "ImageFamily": "", "ImageVersion": "",
        "ImageOwnerAlias": owner, "Description": "", "Status": "Available",
        "Progress": "100%", "CreationTime": "2026-10-15T08:00:00Z", "Size": 40,
        "Usage": "instance", "OSType": os_type, "OSName": name_en.replace("64 bit", "64位"),
        "OSNameEn": name_en, "Platform": platform, "Architecture": "x86_64",
        "BootMode": "UEFI-Preferred", "IsPublic": True, "IsCopied": False, "IsSelfShared": "false",
        "IsSubscribed": False, "IsSupportIoOptimized": True,
        "IsSupportCloudinit": os_type == "linux", "LoginAsNonRootSupported": os_type == "linux",
        "ProductCode": "", "SupplierName": "", "LicenseType": "Auto", "Tags": {},
        "DiskDeviceMappings": [{"Type": "system", "Device": "/dev/xvda", "Size": 40,
                                "Format": "", "SnapshotId": "", "Progress": "100%"}],
        "Features": {"NvmeSupport": "supported", "ImdsSupport": "v2"},
    }
    image.update(over)
    image["InstanceIds"] = _instances(region, image_id, image["Usage"])
    return image


HIGH_VIRTIO = ("Virtio", "NotInstalled", "High", "Virtio.NotInstalled")
HIGH_FSTAB = ("Fstab", "Invalid", "High", "Fstab.InvalidEntry")
MED_DHCP = ("Dhcp", "Disabled", "Medium", "DHCP.NotEnabled")
MED_SELINUX = ("SELinux", "Enforcing", "Medium", "SELinux.Enabled")
BIOS_NO_NVME = {"BootMode": "BIOS", "Features": {"NvmeSupport": "unsupported", "ImdsSupport": "v1"}}


def _imported(region: str, name: str, bucket: str, fmt: str) -> list[dict[str, Any]]:
    disk = _disks(region, name, 40, True)[0]
    disk.update({"Format": fmt, "ImportOSSBucket": bucket, "ImportOSSObject": f"{name}.{fmt}"})
    return [disk]


def hangzhou(r: str = "cn-hangzhou") -> list[dict[str, Any]]:
    return [
        own(r, "web-alinux3-2026-10-08", CreationTime="2026-10-08T02:41:09Z"),
        own(r, "api-alinux3-2026-11-02", Architecture="arm64", data=100,
            CreationTime="2026-11-02T07:15:33Z"),
        own(r, "worker-ubuntu22-2026-08-21", "ubuntu22", CreationTime="2026-08-21T11:02:57Z"),
        own(r, "iis-win2022-2026-09-30", "win2022", BootMode="UEFI",
            Tags={"owner": "dotnet-team", "env": "prod"}),
        own(r, "jenkins-agent-ubuntu22-2026-03-11", "ubuntu22", IsPublic=True,
            SharePermission=shared_with(everyone=True),
            CreationTime="2026-03-11T09:20:00Z", Tags={"owner": "ci-team", "env": "shared"}),
        own(r, "partner-demo-alinux3-2026-07-19", IsSelfShared="true",
            SharePermission=shared_with((SISTER, True), (PARTNER, False)),
            Tags={"owner": "sales-eng", "env": "demo"}),
        own(r, "legacy-erp-centos7-2023-05-09", "centos7", CreationTime="2023-05-09T16:45:12Z",
            LoginAsNonRootSupported=False, ImageVersion="14", **BIOS_NO_NVME),
        own(r, "imported-debian12-2026-10-27", "debian12", Usage="none",
            IsSupportCloudinit=False, DetectionOptions=_detection(HIGH_VIRTIO, MED_DHCP),
            DiskDeviceMappings=_imported(r, "imported-debian12-2026-10-27", "img-import-hz",
                                         "qcow2"),
            Description="Debian 12 imported from the on-premises VMware farm"),
        own(r, "web-alinux3-2024-01-15", Status="Deprecated", CreationTime="2024-01-15T05:30:00Z"),
        own(r, "batch-alinux3-2026-11-20", Status="CreateFailed", Progress="0%", Usage="none",
            CreationTime="2026-11-20T22:10:41Z", DetectionOptions=None),
        own(r, "db-alinux3-2026-10-30", data=500, encrypted=False,
            Tags={"owner": "dba-team", "env": "prod", "data-class": "confidential"}),
        own(r, "sandbox-ubuntu22-2026-02-01", "ubuntu22", Usage="none",
            CreationTime="2026-02-01T13:00:00Z", Tags={"owner": "growth-team"}),
        own(r, "cache-alinux3-2026-11-26", Status="Creating", Progress="62%", Usage="none",
            CreationTime="2026-11-26T23:58:02Z", DetectionOptions={"Status": "Processing"}),
        public(r, "aliyun_3_x64_20G_alibase_20261010.vhd", "alinux3",
               CreationTime="2026-10-10T00:00:00Z"),
        public(r, "win2022_21H2_x64_dtc_en-us_40G_alibase_20261015.vhd", "win2022"),
        public(r, "centos_7_9_x64_20G_alibase_20240628.vhd", "centos7", Status="Deprecated",
               CreationTime="2024-06-28T00:00:00Z", BootMode="BIOS"),
        public(r, _id("m", r, "lnmp-market"), "alinux3", "marketplace",
               ImageName="LNMP PHP 8.2 on Alibaba Cloud Linux 3", ProductCode="cmjj065432",
               IsSubscribed=True, ImageOwnerId=1298765432109876, Usage="instance"),
        public(r, _id("m", r, "wordpress-community"), "ubuntu22", "others",
               ImageName="wordpress-6-lnmp-community", ImageOwnerId=1567890123456789,
               SupplierName="OpenSourceMirror", Description="WordPress 6, nginx, PHP, MySQL",
               CreationTime="2025-12-03T10:00:00Z"),
    ]


def shanghai(r: str = "cn-shanghai") -> list[dict[str, Any]]:
    return [
        own(r, "web-alinux3-2026-10-08", IsCopied=True, CreationTime="2026-10-09T01:02:03Z"),
        own(r, "api-ubuntu22-2026-09-01", "ubuntu22", CreationTime="2026-09-01T04:44:44Z"),
        own(r, "gateway-alinux3-2026-05-18", Tags={}, CreationTime="2026-05-18T08:08:08Z"),
        own(r, "ml-train-ubuntu22-2026-08-09", "ubuntu22", data=200, **BIOS_NO_NVME),
        own(r, "analytics-win2012-2022-11-03", "win2012", CreationTime="2022-11-03T06:00:00Z",
            Usage="none", Tags={"env": "prod"}, BootMode="BIOS"),
        own(r, "etl-alinux3-2026-06-14", DetectionOptions=_detection(MED_SELINUX),
            CreationTime="2026-06-14T19:20:21Z", Tags={"owner": "data-team", "env": "prod"}),
        own(r, "pos-terminal-debian12-2025-12-02", "debian12", Architecture="i386",
            OSNameEn="Debian  12.5 32 bit", OSName="Debian  12.5 32位", BootMode="BIOS",
            CreationTime="2025-12-02T10:10:10Z", Tags={"owner": "retail-team", "env": "prod"}),
        own(r, "shared-qa-ubuntu22-2026-10-12", "ubuntu22", IsSelfShared="true",
            SharePermission=shared_with((SISTER, True), (FORMER, False)),
            Tags={"owner": "qa-team", "env": "test"}),
        own(r, "web-ubuntu18-2025-04-22", "ubuntu18", IsSupportCloudinit=False,
            LoginAsNonRootSupported=False, CreationTime="2025-04-22T03:33:33Z"),
        own(r, "report-alinux3-2026-11-25", Status="Waiting", Progress="0%", Usage="none",
            CreationTime="2026-11-25T12:00:00Z", DetectionOptions=None),
        public(r, "ubuntu_22_04_x64_20G_alibase_20261015.vhd", "ubuntu22"),
        public(r, _id("m", r, "security-baseline"), "alinux3", "others", IsPublic=False,
               ImageName="security-baseline-alinux3-2026-10", ImageOwnerId=1987654321098765,
               Description="Hardened base image shared by the security account"),
        public(r, _id("m", r, "sqlserver-market"), "win2022", "marketplace",
               ImageName="SQL Server 2019 Standard on Windows Server 2022",
               ProductCode="cmjj071234", IsSubscribed=True, ImageOwnerId=1398765432109876,
               Size=60, LicenseType="BYOL"),
    ]


def singapore(r: str = "ap-southeast-1") -> list[dict[str, Any]]:
    return [
        own(r, "web-alinux3-2026-10-08", IsCopied=True, CreationTime="2026-10-09T01:30:00Z"),
        own(r, "api-debian12-2026-10-19", "debian12", CreationTime="2026-10-19T09:09:09Z"),
        own(r, "payments-alinux3-2026-07-07", Architecture="arm64", data=200,
            Tags={"owner": "payments-team", "env": "prod", "pci": "in-scope"}),
        own(r, "legacy-app-alinux3-2025-01-10", Status="UnAvailable", Usage="none",
            CreationTime="2025-01-10T02:00:00Z"),
        own(r, "vendor-appliance-centos7-2026-04-04", "centos7", IsPublic=True,
            SharePermission=shared_with(everyone=True),
            IsSupportCloudinit=False, DetectionOptions=_detection(HIGH_FSTAB),
            DiskDeviceMappings=_imported(r, "vendor-appliance-centos7-2026-04-04",
                                         "img-import-sg", "vhd"),
            CreationTime="2026-04-04T04:04:04Z", **BIOS_NO_NVME),
        own(r, "search-ubuntu22-2026-09-09", "ubuntu22",
            Tags={"owner": "search-team", "Env": "prod"}),
        own(r, "ad-win2022-2026-08-30", "win2022", encrypted=False,
            Tags={"owner": "it-team", "env": "prod"}),
        own(r, "ci-runner-alinux3-2026-11-18", Usage="none", CreationTime="2026-11-18T18:18:18Z",
            Tags={"owner": "ci-team", "env": "shared"}),
        public(r, "aliyun_3_arm64_20G_alibase_20261010.vhd", "alinux3", Architecture="arm64",
               BootMode="UEFI"),
        public(r, _id("m", r, "lamp-community"), "centos7", "others",
               ImageName="centos7-lamp-community", ImageOwnerId=1678901234567890, Usage="none",
               SupplierName="lamp-stack-builds", CreationTime="2023-08-08T08:00:00Z"),
    ]


def _region(region: str, images: list[dict[str, Any]]) -> dict[str, Any]:
    request_id = hashlib.md5(region.encode()).hexdigest().upper()
    request_id = "-".join((request_id[:8], request_id[8:12], request_id[12:16],
                           request_id[16:20], request_id[20:]))
    return {"region": region, "complete": True, "total_count": len(images), "images": images,
            "request_ids": [request_id], "errors": []}


def build() -> dict[str, Any]:
    return {
        "format": "imgaudit-inventory", "format_version": 1, "tool_version": "0.1.0",
        "collected_at": "2026-11-27T08:00:00Z", "source": "api", "account_id": ACCOUNT,
        "scope": {"owners": ["self", "shared", "community", "system", "marketplace"],
                  "statuses": ["Creating", "Waiting", "Available", "UnAvailable",
                               "CreateFailed", "Deprecated"], "filters": {}},
        "regions": [_region("cn-hangzhou", hangzhou()), _region("cn-shanghai", shanghai()),
                    _region("ap-southeast-1", singapore())],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
