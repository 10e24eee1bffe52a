"""The operator registry: one canonical name per operator, checked at load, built once.

Each operator says which field kinds it applies to, checks its operand (returning a problem
text, or None), describes what it expected (for evidence), and builds a plain test function of
the field's value. A missing value is None; what each operator answers for it is in the
`MISSING` column of docs/rule-language.md and is tested.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any

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


def _list_problem(value: Any, kind: str) -> str | None:
    if not isinstance(value, list) or not value:
        return "expects a non-empty list of values"
    for item in value:
        problem = literal_problem(item, kind)
        if problem:
            return f"list item {problem}"
    return None


def _regex_problem(value: Any, kind: str) -> str | None:
    if not isinstance(value, str):
        return "expects a regular expression string"
    return check_regex(value)


def _glob_problem(value: Any, kind: str) -> str | None:
    return _str_problem(value, kind) or check_glob(value)


MAX_DAYS = 36_600  # a hundred years and some: no image is older, and dates stay computable


def _days_problem(value: Any, kind: str) -> str | None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 <= value <= MAX_DAYS):
        return f"expects a number of days from 0 to {MAX_DAYS}, not {show(value)!r}"
    return None


def _keys_problem(value: Any, kind: str) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "expects a list of key names"
    return None


def _str_problem(value: Any, kind: str) -> str | None:
    if value == "":
        return "expects a non-empty string (an empty value reads as missing)"
    return None if isinstance(value, str) else "expects a string"


def _bool_problem(value: Any, kind: str) -> str | None:
    return None if isinstance(value, bool) else "expects true or false"


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
    check: Callable[[Any, str], str | None]
    expected: Callable[[Any], str]
    build: Callable[[Any, FieldRef, date], Test]


def _op(name: str, kinds: tuple[str, ...], check: Any, expected: Any, build: Any) -> Operator:
    return Operator(name, kinds, check, expected, build)


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    _op("eq", SCALARS, literal_problem, lambda x: f"== {show(x)}",
        lambda x, f, t: partial(operator.eq, x)),
    _op("ne", SCALARS, literal_problem, lambda x: f"!= {show(x)}",
        lambda x, f, t: partial(operator.ne, x)),
    _op("in", SCALARS, _list_problem, lambda x: f"in {show(x)}",
        lambda x, f, t: frozenset(x).__contains__),
    _op("not_in", SCALARS, _list_problem, lambda x: f"not in {show(x)}",
        lambda x, f, t: (lambda s: lambda v: v not in s)(frozenset(x))),
    _op("exists", (*SCALARS, DATETIME, DICT, LIST, MODEL), _bool_problem,
        lambda x: "exists" if x else "is absent",
        lambda x, f, t: (lambda v: v is not None) if x else (lambda v: v is None)),
    _op("regex", (STR, ANY), _regex_problem, lambda x: f"matches regex {x}",
        lambda x, f, t: _is_str(regex_matcher(x))),
    _op("glob", (STR, ANY), _glob_problem, lambda x: f"matches glob {x}",
        lambda x, f, t: _is_str(glob_matcher([x]))),
    _op("contains", (STR, ANY), _str_problem, lambda x: f"contains {x}",
        lambda x, f, t: _is_str(lambda v: x in v)),
    _op("gt", ORDERED, _ordered_problem, lambda x: f"> {show(x)}",
        lambda x, f, t: _compare(operator.gt, x, f, t)),
    _op("gte", ORDERED, _ordered_problem, lambda x: f">= {show(x)}",
        lambda x, f, t: _compare(operator.ge, x, f, t)),
    _op("lt", ORDERED, _ordered_problem, lambda x: f"< {show(x)}",
        lambda x, f, t: _compare(operator.lt, x, f, t)),
    _op("lte", ORDERED, _ordered_problem, lambda x: f"<= {show(x)}",
        lambda x, f, t: _compare(operator.le, x, f, t)),
    _op("older_than_days", (DATETIME,), _days_problem, lambda x: f"older than {show(x)} days",
        lambda x, f, t: _age(True, x, t)),
    _op("newer_than_days", (DATETIME,), _days_problem, lambda x: f"newer than {show(x)} days",
        lambda x, f, t: _age(False, x, t)),
    _op("has_keys", (DICT,), _keys_problem, lambda x: f"has keys {show(x)}",
        lambda x, f, t: _has_keys(x)),
)}

QUANTIFIERS = ("some", "every", "none")
