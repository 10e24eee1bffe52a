"""Checks every generated SARIF file must pass: the OASIS schema and GitHub's extra rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


def schema_errors(log: Any) -> list[str]:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = Draft4Validator(schema, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(log)]


def schema_digest() -> str:
    return hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()


def github_problems(log: dict[str, Any]) -> list[str]:
    """GitHub code scanning's server-side rules (DESIGN §6) that the schema does not check."""
    problems: list[str] = []
    for run in log["runs"]:
        if not run.get("automationDetails", {}).get("id"):
            problems.append("run without automationDetails.id")
        problems += _rule_problems(run["tool"]["driver"].get("rules", []))
        problems += [f"result {i}: {p}" for i, result in enumerate(run["results"])
                     for p in _result_problems(result)]
        if len(run["results"]) > 25_000:
            problems.append("more than 25,000 results in a run")
    return problems


def _rule_problems(rules: list[dict[str, Any]]) -> list[str]:
    problems = []
    for rule in rules:
        for key in ("shortDescription", "fullDescription"):
            if not rule.get(key, {}).get("text"):
                problems.append(f"rule {rule['id']}: no {key}")
        if not rule.get("help", {}).get("text") or not rule["help"].get("markdown"):
            problems.append(f"rule {rule['id']}: help text or markdown missing")
        props = rule.get("properties", {})
        if "security" not in props.get("tags", []):
            problems.append(f"rule {rule['id']}: no security tag")
        score = props.get("security-severity")
        scored = isinstance(score, str) and 0.1 <= float(score) <= 10.0
        if props.get("imgaudit-severity") != "info" and not scored:
            problems.append(f"rule {rule['id']}: security-severity {score!r}")
    return problems


def _result_problems(result: dict[str, Any]) -> list[str]:
    locations = result.get("locations", [])
    physical = [loc["physicalLocation"] for loc in locations if "physicalLocation" in loc]
    if len(locations) != 1 or len(physical) != 1:
        return ["not exactly one physical location"]
    uri = physical[0].get("artifactLocation", {}).get("uri", "")
    problems = []
    if not uri or uri.startswith(("/", "acs:")) or ":" in uri.split("/")[0]:
        problems.append(f"uri {uri!r} is not relative and scheme-less")
    if physical[0].get("region", {}).get("startLine") != 1:
        problems.append("region.startLine missing")
    if not result.get("partialFingerprints", {}).get("primaryLocationLineHash"):
        problems.append("no partialFingerprints.primaryLocationLineHash")
    if not result.get("message", {}).get("text"):
        problems.append("no message text")
    return problems
