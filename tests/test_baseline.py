from __future__ import annotations

import json

import pytest
from report_samples import RULES, finding, sample_result

from auditor.baseline import apply_baseline, load_baseline
from auditor.errors import EXIT_USAGE, InputError
from auditor.reporters import ReportOptions, render


def write_report(tmp_path, result, name="previous.json"):
    path = tmp_path / name
    path.write_text(render("json", result, ReportOptions()), encoding="utf-8")
    return path


def test_new_unchanged_and_fixed_by_fingerprint(tmp_path):
    previous = sample_result()
    previous.findings.append(finding(RULES[1], "m-gone"))
    path = write_report(tmp_path, previous)
    current = sample_result()
    current.findings = [*current.findings[1:], finding(RULES[2], "m-fresh")]

    result = apply_baseline(current, load_baseline(path), "previous.json")

    states = {f.image_id + f.rule_id: f.baseline_state for f in result.findings}
    assert states["m-freshIMG003"] == "new"
    assert list(states.values()).count("new") == 1
    assert result.baseline is not None
    assert (result.baseline.path, result.baseline.new, result.baseline.unchanged) == (
        "previous.json", 1, 6)
    assert sorted((f.image_id, f.rule_id) for f in result.baseline.fixed) == [
        ("m-gone", "IMG002"), ("m-public1", "IMG001")]
    assert all(f.baseline_state is None for f in current.findings)  # the input is not changed


def test_gate_fails_only_on_new_findings(tmp_path):
    path = write_report(tmp_path, sample_result())
    same = apply_baseline(sample_result(), load_baseline(path), str(path))
    assert same.gate_failures == [] and same.exit_code == 0
    current = sample_result()
    current.findings.append(finding(RULES[3], "m-new"))
    worse = apply_baseline(current, load_baseline(path), str(path))
    assert [f.image_id for f in worse.gate_failures] == ["m-new"]


def test_a_finding_whose_waiver_was_removed_is_new(tmp_path):
    path = write_report(tmp_path, sample_result())
    current = sample_result()
    current.findings[1] = current.findings[1].model_copy(update={"waiver": None})  # m-golden
    result = apply_baseline(current, load_baseline(path), str(path))
    assert [(f.image_id, f.baseline_state) for f in result.gate_failures] == [("m-golden", "new")]
    assert result.exit_code == 1


@pytest.mark.parametrize(("content", "problem"), [
    ("not json {", "not JSON (line 1"),
    ('{"version": "2.1.0", "runs": []}', "not an imgaudit JSON report (schema None"),
    ("[1, 2]", "not an imgaudit JSON report"),
    ('{"schema": "imgaudit-report", "schema_version": 99}', "schema version 99 is not supported"),
    ('{"schema": "imgaudit-report", "schema_version": 1, "scan": {}}', "not a valid imgaudit"),
])
def test_files_that_are_not_our_report(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_baseline(path)
    assert problem in str(err.value) and str(path) in str(err.value)
    assert err.value.exit_code == EXIT_USAGE


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="baseline file not found"):
        load_baseline(tmp_path / "nope.json")


def test_incomplete_previous_scan_is_refused(tmp_path):
    path = write_report(tmp_path, sample_result(complete=False))
    with pytest.raises(InputError, match=r"incomplete \(regions: cn-shanghai\)"):
        load_baseline(path)


@pytest.mark.parametrize(("change", "problem"), [
    ({"regions": ["cn-hangzhou"]}, "regions cn-hangzhou,cn-shanghai vs cn-hangzhou"),
    ({"owners": ["self"]}, "owners self,system vs self"),
    ({"account_id": "999"}, "account 1234567890123456 vs 999"),
])
def test_other_scope_is_refused(tmp_path, change, problem):
    baseline = load_baseline(write_report(tmp_path, sample_result()))
    current = sample_result()
    current.scan = current.scan.model_copy(update=change)
    with pytest.raises(InputError, match="different scope") as err:
        apply_baseline(current, baseline, "previous.json")
    assert problem in str(err.value)


def test_region_order_does_not_matter(tmp_path):
    baseline = load_baseline(write_report(tmp_path, sample_result()))
    current = sample_result()
    current.scan.regions.reverse()
    assert apply_baseline(current, baseline, "p").baseline is not None


def test_a_report_with_a_baseline_can_be_the_next_baseline(tmp_path):
    first = write_report(tmp_path, sample_result())
    second = apply_baseline(sample_result(), load_baseline(first), str(first))
    data = json.loads(render("json", second, ReportOptions()))
    assert data["baseline"]["unchanged"] == 7
    path = write_report(tmp_path, second, "second.json")
    third = apply_baseline(sample_result(), load_baseline(path), str(path))
    assert third.baseline is not None and third.baseline.new == 0
