from __future__ import annotations

from junitparser import Error, Failure, JUnitXml
from report_samples import RULES, finding, sample_result

from auditor.findings import BaselineSummary
from auditor.reporters import ReportOptions, render


def parse(tmp_path, result) -> JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_text(render("junit", result, ReportOptions()), encoding="utf-8")
    return JUnitXml.fromfile(str(path))


def cases(xml: JUnitXml) -> dict:
    return {case.name: case for suite in xml for case in suite}


def test_one_case_per_rule_failures_follow_the_gate(tmp_path):
    result = sample_result()
    result.fail_on = "medium"
    by_name = cases(parse(tmp_path, result))
    rule_cases = {name.split(":")[0]: case for name, case in by_name.items()
                  if name.startswith("IMG")}
    assert sorted(rule_cases) == [r.id for r in RULES]
    failing = {rid for rid, case in rule_cases.items()
               if any(isinstance(r, Failure) for r in case.result)}
    assert failing == {"IMG001", "IMG002", "IMG003"}  # low and info are below --fail-on medium
    [failure] = rule_cases["IMG002"].result
    assert failure.message == "IMG002 (high) fails on 2 images: Image is not encrypted"
    assert "m-public1" in failure.text and "m-old2" in failure.text
    assert "below the --fail-on threshold" in rule_cases["IMG004"].system_out


def test_waived_findings_are_in_system_out_not_failures(tmp_path):
    case = cases(parse(tmp_path, sample_result()))["IMG001: Image is shared publicly"]
    [failure] = case.result
    assert "m-golden" not in failure.text
    assert "waived: cn-hangzhou m-golden" in case.system_out
    assert "platform-team" in case.system_out and "2027-06-30" in case.system_out


def test_incomplete_region_is_an_error_and_totals_add_up(tmp_path):
    xml = parse(tmp_path, sample_result(complete=False))
    errors = [r for suite in xml for case in suite for r in case.result if isinstance(r, Error)]
    assert len(errors) == 1 and "cn-shanghai" in errors[0].message
    written = (xml.tests, xml.failures, xml.errors)
    xml.update_statistics()
    assert written == (xml.tests, xml.failures, xml.errors) == (7, 4, 1)  # info is below "low"


def test_control_characters_and_markup_survive_as_text(tmp_path):
    result = sample_result()
    result.findings = [finding(RULES[0], "m-1", message="bad\x00\x1b]8;;x\x07 <b>&amp;</b>")]
    [failure] = cases(parse(tmp_path, result))["IMG001: Image is shared publicly"].result
    assert "<b>&amp;</b>" in failure.text and "\x00" not in failure.text


def test_baseline_unchanged_findings_do_not_fail(tmp_path):
    result = sample_result()
    for f in result.findings:
        f.baseline_state = "unchanged"
    result.findings[2].baseline_state = "new"  # IMG002 on m-public1
    result.baseline = BaselineSummary(path="prev.json", new=1, unchanged=6)
    by_name = cases(parse(tmp_path, result))
    failing = [name for name, case in by_name.items()
               if any(isinstance(r, Failure) for r in case.result)]
    assert failing == ["IMG002: Image is not encrypted"]
    assert "unchanged since the baseline" in by_name["IMG002: Image is not encrypted"].system_out
