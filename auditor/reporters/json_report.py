"""The JSON report: the AuditResult as documented in docs/json-report.md (versioned).

Compact, one line: the report is for machines and `--baseline`; indenting 100,000 findings
made it 18% larger and 40% slower to write (bench/bench_scan.py). `jq .` pretty-prints it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter

from auditor.findings import AppliedWaiver, AuditResult, Evidence, Finding
from auditor.reporters import ReportOptions

_FINDINGS = TypeAdapter(list[Finding])
_DATETIME, _DATE = TypeAdapter(datetime), TypeAdapter(date)
_PIECE = 5000  # findings serialised at a time


def render(result: AuditResult, options: ReportOptions) -> str:
    return "".join(pieces(result, options))


def pieces(result: AuditResult, options: ReportOptions) -> Iterator[str]:
    """The report as `model_dump_json` writes it, its findings serialised a piece at a time
    and handed on to be written as they come: serialising 100,000s at once held the
    serialiser's buffer, its bytes and the text, three copies of a 100 MB report, beside the
    findings at the scan's peak of memory."""
    marker = f'"{uuid.uuid4().hex}"'  # stands for the findings list in the rest of the report
    rest = result.model_copy(update={"findings": marker[1:-1]})
    head, tail = rest.model_dump_json(by_alias=True, warnings=False).split(marker)
    yield head + "["
    findings = result.findings
    for start in range(0, len(findings), _PIECE):
        text = findings_json(findings[start:start + _PIECE])
        yield ("," if start else "") + text[1:-1]
    yield "]" + tail + "\n"


# The findings' own fields, written by orjson (~3x faster than pydantic over 100,000s of
# findings, bench/bench_scan.py): each record is its model's `__dict__` (the fields in
# declared order: pydantic's and `findings.trusted`'s), less the fields pydantic leaves out.
# Dates are written by pydantic. Anything else (a value only pydantic can write, such as an
# integer past 64 bits) makes the piece pydantic's own; tests hold the two alike.
Omit = Callable[[Any], bool]


def _plan(model: type[BaseModel]) -> tuple[tuple[str, ...], tuple[tuple[str, Omit], ...]]:
    """The fields `model_dump_json` always leaves out, and those it leaves out by value."""
    fields = model.model_fields
    for info in fields.values():
        if info.serialization_alias is not None or info.alias is not None:
            raise TypeError(f"{model.__name__}: an aliased field is pydantic's to write")
    decorators = model.__pydantic_decorators__
    if (model.model_computed_fields or decorators.field_serializers
            or decorators.model_serializers):
        raise TypeError(f"{model.__name__}: computed or serialised fields are pydantic's")
    dropped = tuple(name for name, info in fields.items() if info.exclude is True)
    omitted = tuple((name, info.exclude_if) for name, info in fields.items()
                    if info.exclude_if is not None)
    return dropped, omitted


_PLANS = {model: _plan(model) for model in (Finding, Evidence, AppliedWaiver)}


def _record(value: Any) -> Any:
    """orjson's `default`: a finding's model as its JSON mapping, a date as pydantic's text."""
    plan = _PLANS.get(type(value))
    if plan is not None:
        record: dict[str, Any] = value.__dict__
        dropped, omitted = plan
        if dropped or omitted:
            record = record.copy()
            for name in dropped:
                del record[name]
            for name, omit in omitted:
                if omit(record[name]):
                    del record[name]
        return record
    if isinstance(value, datetime):
        return _DATETIME.dump_python(value, mode="json")
    if isinstance(value, date):
        return _DATE.dump_python(value, mode="json")
    raise TypeError(f"{type(value).__name__} is pydantic's to write")


def orjson_findings(findings: list[Finding]) -> bytes:
    """`findings` written by orjson; raises TypeError (orjson.JSONEncodeError) for a value
    it cannot write as pydantic does."""
    return orjson.dumps(findings, default=_record, option=orjson.OPT_PASSTHROUGH_DATETIME)


def findings_json(findings: list[Finding]) -> str:
    """`findings` as the JSON array pydantic writes (`TypeAdapter(list[Finding])`)."""
    try:
        return orjson_findings(findings).decode()
    except TypeError:
        return _FINDINGS.dump_json(findings, by_alias=True).decode()
