"""The operator registry: one canonical name per operator, checked at load, built once.

Each operator says which field kinds it applies to, declares its operand (a type: its JSON
Schema is what `imgaudit rules schema` shows, and the rule loader validates every operand
with it), checks what the type cannot say (the field's kind, a pattern's syntax), describes
what it expected (for evidence), and builds a plain test function of the field's value. A
missing value is None; what each operator answers for it is in the `MISSING` column of
docs/rule-language.md and is tested.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, partial
from typing import Annotated, Any

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from auditor.engine.fields import ANY, BOOL, DATETIME, DICT, FLOAT, INT, LIST, MODEL, STR, FieldRef
from auditor.engine.patterns import check_glob, check_regex, glob_matcher, regex_matcher

Test = Callable[[Any], bool]
SCALARS = (STR, INT, FLOAT, BOOL, ANY)
ORDERED = (INT, FLOAT, DATETIME, ANY)


def show(value: Any) -> str:
    """A literal as a rule author would write it: `false`, `supported`, `[owner, env]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def literal_problem(value: Any, kind: str) -> str | None:
    """Why `value` cannot be compared with a field of `kind`, or None."""
    if value is None:
        return "null is not a value to compare with; use {exists: false}"
    if value == "":
        return "an empty string reads as a missing value; use {exists: false}"
    if kind == BOOL and not isinstance(value, bool):
        return f"expects true or false, not {show(value)!r}"
    if kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expects an integer, not {show(value)!r}"
    if kind == FLOAT and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expects a number, not {show(value)!r}"
    if kind == STR and not isinstance(value, str):
        return f"expects a string, not {show(value)!r} (quote it)"
    if kind == ANY and not isinstance(value, (str, int, float, bool)):
        return f"expects a single value, not {show(value)!r}"
    if kind not in SCALARS:
        return f"a {kind} field cannot be compared with a value"
    return None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), timezone.utc)
    return _utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def _ordered_problem(value: Any, kind: str) -> str | None:
    if kind == DATETIME:
        try:
            _as_datetime(value)
        except (TypeError, ValueError):
            return f"expects a date such as 2025-01-31, not {show(value)!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expects a number, not {show(value)!r}"
    return None


def _items_problem(value: Any, kind: str) -> str | None:
    """A list item that cannot be compared with a field of `kind`."""
    for item in value if isinstance(value, list) else []:
        problem = literal_problem(item, kind)
        if problem:
            return f"list item {problem}"
    return None


def _regex_problem(value: Any, kind: str) -> str | None:
    return check_regex(value) if isinstance(value, str) else None


def _empty_problem(value: Any, kind: str) -> str | None:
    if value == "":
        return "expects a non-empty string (an empty value reads as missing)"
    return None


def _glob_problem(value: Any, kind: str) -> str | None:
    if isinstance(value, str):
        return _empty_problem(value, kind) or check_glob(value)
    return None


MAX_DAYS = 36_600  # a hundred years and some: no image is older, and dates stay computable


@dataclass(frozen=True)
class Operand:
    """What an operator takes: a type (its JSON Schema is the rule schema's; the loader
    validates with it, strictly: `"5"` is no number) and what a problem says it expects
    (`{value}`: the value as written)."""

    type: Any
    expects: str

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type)

    def fits(self, value: Any) -> bool:
        try:
            self._adapter.validate_python(value, strict=True)
        except ValidationError:
            return False
        return True

    def json_schema(self) -> dict[str, Any]:
        return self._adapter.json_schema()

    def refusal(self, value: Any) -> str:
        return "expects " + self.expects.format(value=repr(show(value)))


SCALAR = Operand(StrictStr | StrictInt | StrictFloat | StrictBool, "a single value")
VALUES = Operand(Annotated[list[StrictStr | StrictInt | StrictFloat | StrictBool],
                           Field(min_length=1)], "a non-empty list of values")
BOOLEAN = Operand(StrictBool, "true or false")
TEXT = Operand(Annotated[StrictStr, Field(min_length=1)], "a string")
REGEX = Operand(Annotated[StrictStr, Field(json_schema_extra={"format": "regex"})],
                "a regular expression string")
BOUND = Operand(StrictInt | StrictFloat | StrictStr | datetime | date,
                "a number, or a date such as 2025-01-31")
DAYS = Operand(Annotated[StrictFloat, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)],
               f"a number of days from 0 to {MAX_DAYS}, not {{value}}")
KEYS = Operand(list[StrictStr], "a list of key names")


def _is_str(test: Callable[[str], Any]) -> Test:
    return lambda v: isinstance(v, str) and bool(test(v))


def _compare(op: Callable[[Any, Any], bool], operand: Any, field: FieldRef, today: date) -> Test:
    if field.kind == DATETIME:
        bound = _as_datetime(operand)
        return lambda v: v is not None and op(_utc(v), bound)
    return lambda v: v is not None and not isinstance(v, str) and op(v, operand)


def _age(older: bool, days: float, today: date) -> Test:
    # Age is counted in whole calendar days (UTC): older_than_days 30 on 2025-03-31 means
    # created on 2025-02-28 or before; newer_than_days 30 means created after 2025-03-01.
    # An evaluation date near year 1 or 9999 (a rule's `tests.today`) clamps the cutoff.
    if older:
        cutoff = _cutoff(today, days, datetime.min)
        return lambda v: v is not None and _utc(v) < cutoff
    cutoff = _cutoff(today, days - 1, datetime.max)
    return lambda v: v is not None and _utc(v) >= cutoff


def _cutoff(today: date, days: float, clamp: datetime) -> datetime:
    try:
        return datetime.combine(today - timedelta(days=days), time(), timezone.utc)
    except OverflowError:
        return clamp.replace(tzinfo=timezone.utc)


def _has_keys(keys: list[str]) -> Test:
    wanted = frozenset(keys)
    return lambda v: v is not None and wanted.issubset(v)


@dataclass(frozen=True)
class Operator:
    name: str
    kinds: tuple[str, ...]
    operand: Operand
    check: Callable[[Any, str], str | None] | None  # what the operand type cannot say
    expected: Callable[[Any], str]
    build: Callable[[Any, FieldRef, date], Test]

    def problem(self, value: Any, kind: str) -> str | None:
        """Why `value` is no operand of this operator on a field of `kind`, or None. The
        check speaks in the field's terms when it can; else the operand's type has its say."""
        explained = self.check(value, kind) if self.check else None
        if explained or self.operand.fits(value):
            return explained
        return self.operand.refusal(value)


def _op(name: str, kinds: tuple[str, ...], operand: Operand, check: Any, expected: Any,
        build: Any) -> Operator:
    return Operator(name, kinds, operand, check, expected, build)


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    _op("eq", SCALARS, SCALAR, literal_problem, lambda x: f"== {show(x)}",
        lambda x, f, t: partial(operator.eq, x)),
    _op("ne", SCALARS, SCALAR, literal_problem, lambda x: f"!= {show(x)}",
        lambda x, f, t: partial(operator.ne, x)),
    _op("in", SCALARS, VALUES, _items_problem, lambda x: f"in {show(x)}",
        lambda x, f, t: frozenset(x).__contains__),
    _op("not_in", SCALARS, VALUES, _items_problem, lambda x: f"not in {show(x)}",
        lambda x, f, t: (lambda s: lambda v: v not in s)(frozenset(x))),
    _op("exists", (*SCALARS, DATETIME, DICT, LIST, MODEL), BOOLEAN, None,
        lambda x: "exists" if x else "is absent",
        lambda x, f, t: (lambda v: v is not None) if x else (lambda v: v is None)),
    _op("regex", (STR, ANY), REGEX, _regex_problem, lambda x: f"matches regex {x}",
        lambda x, f, t: _is_str(regex_matcher(x))),
    _op("glob", (STR, ANY), TEXT, _glob_problem, lambda x: f"matches glob {x}",
        lambda x, f, t: _is_str(glob_matcher([x]))),
    _op("contains", (STR, ANY), TEXT, _empty_problem, lambda x: f"contains {x}",
        lambda x, f, t: _is_str(lambda v: x in v)),
    _op("gt", ORDERED, BOUND, _ordered_problem, lambda x: f"> {show(x)}",
        lambda x, f, t: _compare(operator.gt, x, f, t)),
    _op("gte", ORDERED, BOUND, _ordered_problem, lambda x: f">= {show(x)}",
        lambda x, f, t: _compare(operator.ge, x, f, t)),
    _op("lt", ORDERED, BOUND, _ordered_problem, lambda x: f"< {show(x)}",
        lambda x, f, t: _compare(operator.lt, x, f, t)),
    _op("lte", ORDERED, BOUND, _ordered_problem, lambda x: f"<= {show(x)}",
        lambda x, f, t: _compare(operator.le, x, f, t)),
    _op("older_than_days", (DATETIME,), DAYS, None, lambda x: f"older than {show(x)} days",
        lambda x, f, t: _age(True, x, t)),
    _op("newer_than_days", (DATETIME,), DAYS, None, lambda x: f"newer than {show(x)} days",
        lambda x, f, t: _age(False, x, t)),
    _op("has_keys", (DICT,), KEYS, None, lambda x: f"has keys {show(x)}",
        lambda x, f, t: _has_keys(x)),
)}

QUANTIFIERS = ("some", "every", "none")
