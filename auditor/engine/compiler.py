"""Compile a condition tree once into plain closures, and explain a failure as evidence.

The fast path (`pred`) is a chain of closures over precompiled getters and tests: no dict is
built and no tree is walked per image. `explain` walks the tree only for images that produced
a finding, to say which field had which value and what was expected of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from auditor.engine.conditions import AllOf, Cond, Not, Param, Quant, Test
from auditor.engine.operators import OPERATORS
from auditor.findings import Evidence, trusted

Pred = Callable[[Any], bool]


_PLAIN = frozenset((str, int, float, bool))


def jsonable(value: Any) -> Any:
    """A field value as JSON-serialisable evidence."""
    if value is None or type(value) in _PLAIN:  # the common case, answered first
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _evidence(path: str, actual: Any, expected: str) -> Evidence:
    return trusted(Evidence, {"path": path, "actual": jsonable(actual), "expected": expected})


@dataclass
class Compiled:
    """A compiled condition: `pred(obj)` and the tree it came from, for explanations."""

    cond: Cond
    pred: Pred
    children: tuple[Compiled, ...] = ()
    operand: Any = None  # a test's effective operand (a param's value resolved)
    texts: dict[bool, str] = field(default_factory=dict)  # expected text, cached per `want`
    read: Callable[[Any], Any] | None = None  # a test's or quantifier's field getter
    raw: bool = False  # compiled over canonical images' mappings (`FieldRef.read`)
    # a test's evidence records by (prefix, want, value type, value), for single values: the
    # findings that show the same value share one (immutable) record
    shown: dict[tuple[Any, ...], Evidence] = field(default_factory=dict)

    def explain(self, obj: Any, prefix: str = "", want: bool = True) -> list[Evidence]:
        """Evidence of why `pred(obj)` is not `want` (normally: why a require failed)."""
        cond = self.cond
        if isinstance(cond, Test):
            return [_explain_test(cond, self, obj, prefix, want)]
        if isinstance(cond, Not):
            return self.children[0].explain(obj, prefix, not want)
        if isinstance(cond, Quant):
            return _explain_quant(cond, self, obj, prefix, want)
        conj = isinstance(cond, AllOf) == want  # children to blame are the ones != want
        blame = [c for c in self.children if c.pred(obj) != want] if conj else self.children
        return [e for c in blame for e in c.explain(obj, prefix, want)]

    def describe(self) -> str:
        return describe(self.cond, self)


_NEGATED = {"eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in"}


def _expected(op: str, operand: Any, want: bool) -> str:
    """What the test expected, or its negation (under `not`/`none`), as short text."""
    if want:
        return OPERATORS[op].expected(operand)
    if op in _NEGATED:
        return OPERATORS[_NEGATED[op]].expected(operand)
    if op == "exists":
        return OPERATORS[op].expected(not operand)
    return f"not {OPERATORS[op].expected(operand)}"


# Values that equal only themselves, shown as they are (not floats: -0.0 == 0.0; not dates:
# equal instants in other zones): a record is shared by findings showing the same value.
_SINGLE = frozenset((str, int, bool, type(None)))
_MAX_SHOWN = 4096  # records remembered per test (most findings show a few distinct values)


def _explain_test(cond: Test, compiled: Compiled, obj: Any, prefix: str, want: bool) -> Evidence:
    value = (compiled.read or cond.field.get)(obj)
    if type(value) in _SINGLE:
        key = (prefix, want, type(value), value)
        known = compiled.shown.get(key)
        if known is None:
            known = _explained(cond, compiled, value, prefix, want)
            if len(compiled.shown) < _MAX_SHOWN:
                compiled.shown[key] = known
        return known
    return _explained(cond, compiled, value, prefix, want)


def _explained(cond: Test, compiled: Compiled, value: Any, prefix: str, want: bool) -> Evidence:
    expected = compiled.texts.get(want)
    if expected is None:
        expected = compiled.texts[want] = _expected(cond.op, compiled.operand, want)
    if cond.op == "has_keys" and want and isinstance(value, dict):
        missing = [key for key in compiled.operand if key not in value]
        expected += f" (missing {', '.join(missing)})"
    shown = cond.field.modelled(value) if compiled.raw else value
    return _evidence(prefix + cond.field.path, shown, expected)


# (quantifier, want) -> which items to blame and what we want of them; None = the whole list
_BLAME = {("some", False): True, ("every", True): False, ("none", True): True}


def _explain_quant(
    cond: Quant, compiled: Compiled, obj: Any, prefix: str, want: bool
) -> list[Evidence]:
    path, inner = prefix + cond.field.path, compiled.children[0]
    items = (compiled.read or cond.field.get)(obj) or []
    matching = _BLAME.get((cond.kind, want))
    if matching is None:
        label = "not every item" if cond.kind == "every" else "some item"
        shown = cond.field.modelled(items) if compiled.raw else items
        return [_evidence(path, shown, f"{label}: {inner.describe()}")]
    found = [(i, x) for i, x in enumerate(items) if inner.pred(x) == matching]
    return [e for i, x in found for e in inner.explain(x, f"{path}[{i}].", want=not matching)]


def describe(cond: Cond, compiled: Compiled | None = None) -> str:
    """A short text of a condition, for evidence: `RiskLevel == High`."""
    children = compiled.children if compiled else ()
    if isinstance(cond, Test):
        operand = compiled.operand if compiled else cond.operand
        return f"{cond.field.path} {OPERATORS[cond.op].expected(operand)}"
    if isinstance(cond, Not):
        return f"not ({describe(cond.item, children[0] if children else None)})"
    if isinstance(cond, Quant):
        inner = describe(cond.cond, children[0] if children else None)
        return f"{cond.field.path} {cond.kind} ({inner})"
    joiner = " and " if isinstance(cond, AllOf) else " or "
    parts = [describe(c, children[i] if children else None) for i, c in enumerate(cond.items)]
    return joiner.join(parts)


def compile_cond(cond: Cond, params: dict[str, Any], today: date, *,
                 raw: bool = False) -> Compiled:
    """Compile `cond` with the rule's effective params and the evaluation date; with `raw`,
    over canonical images' mappings (`auditor.canonical`, `FieldRef.read`)."""
    if isinstance(cond, Test):
        return _compile_test(cond, params, today, raw)
    if isinstance(cond, Not):
        inner = compile_cond(cond.item, params, today, raw=raw)
        p = inner.pred
        return Compiled(cond, lambda o: not p(o), (inner,), raw=raw)
    if isinstance(cond, Quant):
        inner = compile_cond(cond.cond, params, today, raw=raw)
        get = cond.field.reader() if raw else cond.field.get
        return Compiled(cond, _quantify(cond.kind, get, inner.pred), (inner,), read=get, raw=raw)
    children = tuple(compile_cond(c, params, today, raw=raw) for c in cond.items)
    preds = tuple(c.pred for c in children)
    return Compiled(cond, _combine(isinstance(cond, AllOf), preds), children, raw=raw)


def _compile_test(cond: Test, params: dict[str, Any], today: date, raw: bool) -> Compiled:
    operand = params[cond.operand.name] if isinstance(cond.operand, Param) else cond.operand
    test = OPERATORS[cond.op].build(operand, cond.field, today)
    get = cond.field.reader() if raw else cond.field.get
    return Compiled(cond, lambda o: test(get(o)), operand=operand, read=get, raw=raw)


def _quantify(kind: str, get: Callable[[Any], Any], pred: Pred) -> Pred:
    if kind == "some":
        return lambda o: any(map(pred, get(o) or ()))
    if kind == "every":
        return lambda o: all(map(pred, get(o) or ()))
    return lambda o: not any(map(pred, get(o) or ()))


def _combine(conjunction: bool, preds: tuple[Pred, ...]) -> Pred:
    """Nested two-way closures: cheaper per call than a generator over the list. Split in
    halves, so a list of 10,000 conditions nests 14 calls deep, not 10,000."""
    if len(preds) == 1:
        return preds[0]
    half = len(preds) // 2
    a, b = _combine(conjunction, preds[:half]), _combine(conjunction, preds[half:])
    return (lambda o: a(o) and b(o)) if conjunction else (lambda o: a(o) or b(o))
