"""The JSON report's findings are written by orjson from the models' own fields: byte for byte
what pydantic writes (`TypeAdapter(list[Finding])`), whatever the values, and pydantic's own
text for what orjson cannot write."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from auditor.findings import AppliedWaiver, Evidence, Finding, Severity, fingerprint, trusted
from auditor.reporters.json_report import findings_json, orjson_findings

PYDANTIC = TypeAdapter(list[Finding])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                      st.floats(allow_nan=True, allow_infinity=True), st.text())
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)), max_leaves=12)
zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=8)),
                         timezone(timedelta(hours=-5, minutes=-30)), None])
moments = st.builds(lambda when, zone: when.replace(tzinfo=zone),
                    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)),
                    zones)
evidence = st.builds(Evidence, path=st.text(), actual=json_value, expected=st.text())
waivers = st.builds(AppliedWaiver, reason=st.text(), owner=st.text(), expires=st.dates(),
                    expired=st.booleans())


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    rule_id, region, image_id = draw(st.text()), draw(st.text()), draw(st.text())
    account = draw(st.none() | st.text(min_size=1))
    english = draw(st.booleans())
    values: dict[str, Any] = {
        "rule_id": rule_id, "severity": draw(st.sampled_from(list(Severity))),
        "title": draw(st.text()), "message": draw(st.text()), "image_id": image_id,
        "image_name": draw(st.none() | st.text()), "region": region, "account_id": account,
        "owner_alias": draw(st.none() | st.text()),
        "evidence": draw(st.lists(evidence, max_size=3)),
        "fingerprint": fingerprint(rule_id, region, image_id, account),
        "resource": draw(st.none() | st.text()), "waiver": draw(st.none() | waivers),
        "baseline_state": draw(st.sampled_from([None, "new", "unchanged"])),
        "first_seen": draw(st.none() | moments),
        "first_seen_run": draw(st.none() | st.integers(1, 10**6)),
        "age_days": draw(st.none() | st.integers(0, 10**5)),
        "title_en": draw(st.text()) if english else None,
        "message_en": draw(st.text()) if english else None,
        "tags": draw(st.dictionaries(st.text(), st.text(), max_size=3)),
    }
    if draw(st.booleans()):  # as the engine builds it
        return trusted(Finding, values)
    return Finding(**values)  # validated, as a baseline or a test builds it


@settings(max_examples=150, deadline=None)
@given(st.lists(findings(), max_size=5))
def test_the_findings_are_the_text_pydantic_writes(found: list[Finding]) -> None:
    expected = PYDANTIC.dump_json(found, by_alias=True)
    assert orjson_findings(found) == expected  # JSON values within 64 bits: orjson's
    assert findings_json(found) == expected.decode()


def _finding(actual: Any) -> Finding:
    return Finding(rule_id="R", severity=Severity.LOW, title="t", message="m", image_id="m-1",
                   region="cn-hangzhou", evidence=[Evidence(path="p", actual=actual,
                                                            expected="e")],
                   fingerprint="f", first_seen=datetime(2026, 1, 2, 3, 4, 5, 60, timezone.utc),
                   waiver=AppliedWaiver(reason="r", owner="o", expires=date(2027, 1, 1),
                                        expired=False))


def test_what_orjson_cannot_write_is_pydantic_s_text() -> None:
    """An integer past 64 bits, a mapping keyed by numbers, a tuple: pydantic's text."""
    for actual in (2**70, {1: "one"}, {"deep": [2**64]}, b"bytes"):
        found = [_finding("plain"), _finding(actual)]
        with pytest.raises(TypeError):
            orjson_findings(found)
        assert findings_json(found) == PYDANTIC.dump_json(found, by_alias=True).decode()


def test_tags_and_english_texts_are_left_out_as_pydantic_leaves_them() -> None:
    finding = _finding(1).model_copy(update={"tags": {"env": "prod"}, "title_en": "T"})
    (written,) = TypeAdapter(list[dict[str, Any]]).validate_json(findings_json([finding]))
    assert "tags" not in written and "message_en" not in written
    assert written["title_en"] == "T" and written["first_seen"] == "2026-01-02T03:04:05.000060Z"
    assert written["waiver"]["expires"] == "2027-01-01"
