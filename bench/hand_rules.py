"""The four mission rules written by hand in plain Python, for bench/bench_scan.py.

`hand_failing` only decides which images fail; `hand_findings` also builds the Finding objects
the engine builds for them (same message text, evidence, fingerprint and ARN, same order), with
the same `findings.trusted` constructor, so a comparison measures the engine's own overhead.
"""

from __future__ import annotations

from typing import Any

from auditor.findings import Evidence, Finding, Severity, fingerprint, image_arn, trusted
from auditor.models import Image, Inventory

REQUIRED = ("owner", "env")
_REQUIRED_TEXT = "has keys [owner, env]"
_TITLES = {
    "IMG-PUBLIC-SELF": "Custom images are not published as community images",
    "IMG-NVME": "Images support the NVMe protocol",
    "IMG-HIGH-RISK": "Image check found no high-risk items",
    "IMG-REQUIRED-TAGS": "Custom images carry the required tags",
}
_SEVERITIES = {"IMG-PUBLIC-SELF": Severity.HIGH, "IMG-HIGH-RISK": Severity.HIGH,
               "IMG-NVME": Severity.LOW, "IMG-REQUIRED-TAGS": Severity.LOW}


def _public(image: Image) -> bool:
    return image.ImageOwnerAlias == "self" and image.IsPublic is True


def _nvme(image: Image) -> bool:
    nvme = image.Features.NvmeSupport if image.Features is not None else None
    return nvme is not None and nvme != "supported"


def _high(image: Image) -> bool:
    detection = image.DetectionOptions
    return detection is not None and any(i.RiskLevel == "High" for i in detection.Items)


def _tags(image: Image) -> bool:
    return image.ImageOwnerAlias == "self" and not all(k in image.Tags for k in REQUIRED)


CHECKS = {"IMG-PUBLIC-SELF": _public, "IMG-NVME": _nvme, "IMG-HIGH-RISK": _high,
          "IMG-REQUIRED-TAGS": _tags}


def hand_failing(images: list[Image]) -> list[list[Image]]:
    """The failing images of each rule, one inline comprehension per rule (no calls)."""
    return [
        [i for i in images if i.ImageOwnerAlias == "self" and i.IsPublic is True],
        [i for i in images if i.Features is not None and i.Features.NvmeSupport is not None
         and i.Features.NvmeSupport != "supported"],
        [i for i in images if i.DetectionOptions is not None
         and any(x.RiskLevel == "High" for x in i.DetectionOptions.Items)],
        [i for i in images if i.ImageOwnerAlias == "self"
         and not ("owner" in i.Tags and "env" in i.Tags)],
    ]


def _evidence(path: str, actual: Any, expected: str) -> Evidence:
    return trusted(Evidence, {"path": path, "actual": actual, "expected": expected})


def _details(rule_id: str, image: Image, region: str) -> tuple[str, list[Evidence]]:
    """The message and evidence of one failing image."""
    head = f"{image.ImageId} ({image.ImageName or ''})"
    if rule_id == "IMG-PUBLIC-SELF":
        return (f"{head} in {region} is published as a community image",
                [_evidence("IsPublic", image.IsPublic, "!= true")])
    if rule_id == "IMG-NVME":
        nvme = image.Features.NvmeSupport if image.Features else None
        return (f"{head} does not support NVMe (NvmeSupport: {nvme})",
                [_evidence("Features.NvmeSupport", nvme, "== supported")])
    if rule_id == "IMG-HIGH-RISK":
        items = image.DetectionOptions.Items if image.DetectionOptions else []
        high = [(i, x) for i, x in enumerate(items) if x.RiskLevel == "High"]
        names = ", ".join(f"{x.Name or ''} ({x.RiskCode or ''})" for _, x in high)
        return (f"{head} has high-risk image check items: {names}",
                [_evidence(f"DetectionOptions.Items[{i}].RiskLevel", "High", "!= High")
                 for i, _ in high])
    missing = [k for k in REQUIRED if k not in image.Tags]
    return (f"{head} lacks required tag(s): {', '.join(missing)}",
            [_evidence("Tags", dict(image.Tags), f"{_REQUIRED_TEXT} (missing "
                       f"{', '.join(missing)})")])


def hand_findings(inventory: Inventory, account: str | None) -> list[Finding]:
    """The engine's findings of the four rules, built by hand, in the engine's order."""
    order = sorted(CHECKS, key=lambda r: (-_SEVERITIES[r].rank, r))
    findings = []
    regions = sorted((r.region, r.images) for r in inventory.regions)
    for rule_id in order:
        check, severity, title = CHECKS[rule_id], _SEVERITIES[rule_id], _TITLES[rule_id]
        for region, images in regions:
            for image in sorted((i for i in images if check(i)), key=lambda i: i.ImageId):
                message, evidence = _details(rule_id, image, region)
                image_id = image.ImageId
                findings.append(trusted(Finding, {
                    "rule_id": rule_id, "severity": severity, "title": title,
                    "message": message, "image_id": image_id, "image_name": image.ImageName,
                    "region": region, "account_id": account,
                    "owner_alias": image.ImageOwnerAlias, "evidence": evidence,
                    "fingerprint": fingerprint(rule_id, region, image_id, account),
                    "resource": image_arn(region, account, image_id), "waiver": None,
                    "baseline_state": None, "first_seen": None, "first_seen_run": None,
                    "age_days": None,
                    "title_en": None, "message_en": None,
                }))
    return findings
