from __future__ import annotations

import json
from datetime import date

import pytest
from report_samples import ACCOUNT, RULES, finding, sample_result
from sarif_checks import SCHEMA_SHA256, github_problems, schema_digest, schema_errors

from auditor.findings import AppliedWaiver, AuditResult, BaselineSummary, FixedFinding
from auditor.reporters import ReportOptions
from auditor.reporters.sarif import MAX_RESULTS, render


def sarif(result: AuditResult, **options: bool) -> dict:
    return json.loads(render(result, ReportOptions(**options)))


def assert_valid(log: dict) -> None:
    assert schema_errors(log) == []
    assert github_problems(log) == []


def test_schema_copy_is_the_recorded_one():
    assert schema_digest() == SCHEMA_SHA256


@pytest.mark.parametrize("account", [ACCOUNT, None])
@pytest.mark.parametrize("complete", [True, False])
def test_every_variant_is_valid_for_oasis_and_github(account, complete):
    assert_valid(sarif(sample_result(account=account, complete=complete)))


def test_the_checks_catch_a_broken_log():
    log = sarif(sample_result())
    result = log["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "acs:ecs:x"
    del result["partialFingerprints"]
    del log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]
    assert len(github_problems(log)) == 3
    log["runs"][0]["results"][2]["level"] = "fatal"
    assert schema_errors(log)


def test_locations_uri_and_arn():
    run = sarif(sample_result())["runs"][0]
    location = run["results"][0]["locations"][0]
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == f"alibabacloud/ecs/{ACCOUNT}/cn-hangzhou/images/m-public1"
    assert location["physicalLocation"]["region"] == {"startLine": 1}
    assert location["logicalLocations"] == [{
        "name": "m-public1", "kind": "resource",
        "fullyQualifiedName": f"acs:ecs:cn-hangzhou:{ACCOUNT}:image/m-public1"}]


def test_unknown_account_has_no_logical_location():
    run = sarif(sample_result(account=None))["runs"][0]
    location = run["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"].startswith(
        "alibabacloud/ecs/unknown-account/cn-hangzhou/images/")
    assert "logicalLocations" not in location
    assert run["automationDetails"]["id"] == "imgaudit/unknown-account/cn-hangzhou+cn-shanghai/"


def test_hostile_image_ids_stay_one_relative_path():
    result = sample_result()
    result.findings[0] = finding(RULES[0], "https://evil/../x y", account=None)
    log = sarif(result)
    assert_valid(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"].endswith("/images/https%3A%2F%2Fevil%2F..%2Fx%20y")


def test_rules_and_levels():
    run = sarif(sample_result())["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["IMG001"]["properties"]["security-severity"] == "9.5"
    assert rules["IMG002"]["properties"]["security-severity"] == "8.0"
    assert rules["IMG003"]["properties"]["security-severity"] == "5.5"
    assert rules["IMG004"]["properties"]["security-severity"] == "2.0"
    assert "security-severity" not in rules["IMG005"]["properties"]
    assert rules["IMG001"]["helpUri"] == "https://example.com/r1"
    assert "Cancel the public share." in rules["IMG001"]["help"]["markdown"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"IMG001": "error", "IMG002": "error", "IMG003": "warning",
                      "IMG004": "note", "IMG005": "note"}
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_fingerprints_automation_and_invocation():
    result = sample_result(complete=False)
    run = sarif(result)["runs"][0]
    assert [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]] == [
        f.fingerprint for f in sorted(result.findings, key=lambda f: -f.severity.rank)]
    assert run["automationDetails"]["id"] == f"imgaudit/{ACCOUNT}/cn-hangzhou+cn-shanghai/"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["commandLine"] == "imgaudit scan --region cn-hangzhou,cn-shanghai"
    assert invocation["startTimeUtc"] == "2026-11-27T08:00:00Z"
    assert invocation["endTimeUtc"] == "2026-11-27T08:01:30Z"
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "cn-shanghai" in note["message"]["text"]


def test_waived_findings_are_suppressed_or_left_out():
    run = sarif(sample_result())["runs"][0]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert len(suppressed) == 1
    [suppression] = suppressed[0]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == (
        "golden image, shared on purpose (owner: platform-team; expires 2027-06-30)")
    expired = [r for r in run["results"] if "waiverExpired" in r["properties"]]
    assert len(expired) == 1 and "suppressions" not in expired[0]
    assert "expired on 2026-01-31" in expired[0]["message"]["text"]
    without = sarif(sample_result(), include_suppressed=False)["runs"][0]
    assert len(without["results"]) == len(run["results"]) - 1
    assert all("suppressions" not in r for r in without["results"])


def test_baseline_state_on_every_result():
    result = sample_result()
    for i, f in enumerate(result.findings):
        f.baseline_state = "new" if i % 2 else "unchanged"
    gone = FixedFinding(fingerprint="f" * 32, rule_id="IMG001", severity=RULES[0].severity,
                        title="t", image_id="m-gone", region="cn-hangzhou")
    result.baseline = BaselineSummary(path="prev.json", new=3, unchanged=4, fixed=[gone])
    log = sarif(result)
    assert_valid(log)
    run = log["runs"][0]
    assert {r["baselineState"] for r in run["results"]} == {"new", "unchanged"}
    assert run["properties"]["baseline"] == {"path": "prev.json", "new": 3, "unchanged": 4,
                                             "fixed": 1}
    assert all("baselineState" not in r for r in sarif(sample_result())["runs"][0]["results"])


def test_above_github_limit_keeps_the_most_severe_and_warns():
    low, critical = RULES[3], RULES[0]
    result = sample_result()
    result.findings = [finding(low, f"m-low{i}") for i in range(MAX_RESULTS)]
    result.findings.append(finding(critical, "m-critical"))
    result.findings.append(finding(critical, "m-waived", waiver=AppliedWaiver(
        reason="r", owner="o", expires=date(2030, 1, 1), expired=False)))
    log = sarif(result)
    run = log["runs"][0]
    assert len(run["results"]) == MAX_RESULTS
    assert [r["ruleId"] for r in run["results"][:2]] == ["IMG001", "IMG001"]
    assert run["properties"]["omittedResults"] == 2
    warning = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert warning["level"] == "warning" and "25000" in warning["message"]["text"]
    assert github_problems(log) == []
