"""Conditions as a small typed tree, parsed from YAML values with every problem positioned.

    all: [...] | any: [...] | not: cond           composition
    Field.Path: literal                           equality
    Field.Path: {op: operand, ...}                every operator must hold
    ListField: {some|every|none: cond}            quantifiers read the list's items
    operand: literal | {param: name}              a rule parameter
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from auditor.engine.fields import LIST, FieldPathError, FieldRef, resolve
from auditor.engine.operators import OPERATORS, QUANTIFIERS, show
from auditor.errors import SourceProblem
from auditor.yamlio import Loc, YamlDoc, did_you_mean

MAX_DEPTH = 32  # conditions inside conditions (all/any/not/quantifiers); rules need a handful


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class Test:
    field: FieldRef
    op: str
    operand: Any  # a literal, or Param
    loc: Loc


@dataclass(frozen=True)
class Quant:
    field: FieldRef
    kind: str  # some | every | none
    cond: Cond
    loc: Loc


@dataclass(frozen=True)
class AllOf:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


Cond = Test | Quant | AllOf | AnyOf | Not


class Parser:
    """Parses one rule's conditions; collects problems instead of stopping at the first."""

    def __init__(self, doc: YamlDoc, params: set[str]) -> None:
        self.doc = doc
        self.params = params
        self.problems: list[SourceProblem] = []
        self.depth = 0

    def fail(self, loc: Loc, text: str, *, key: bool = False, code: str = "rule.invalid") -> None:
        self.problems.append(self.doc.problem(loc, text, key=key, code=code))

    def cond(self, value: Any, loc: Loc, model: type[BaseModel]) -> Cond | None:
        if not isinstance(value, dict) or not value:
            self.fail(loc, "a condition is a non-empty mapping (field: value, all, any or not)")
            return None
        if self.depth >= MAX_DEPTH:
            self.fail(loc, f"conditions nested more than {MAX_DEPTH} levels deep")
            return None
        self.depth += 1
        try:
            return _all([self._entry(str(k), v, (*loc, k), model) for k, v in value.items()])
        finally:
            self.depth -= 1

    def _entry(self, key: str, value: Any, loc: Loc, model: type[BaseModel]) -> Cond | None:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.fail(loc, f"{key!r} takes a non-empty list of conditions")
                return None
            items = [self.cond(v, (*loc, i), model) for i, v in enumerate(value)]
            if any(i is None for i in items):
                return None
            return AllOf(tuple(items)) if key == "all" else AnyOf(tuple(items))  # type: ignore[arg-type]
        if key == "not":
            inner = self.cond(value, loc, model)
            return None if inner is None else Not(inner)
        try:
            field = resolve(key, model)
        except FieldPathError as exc:
            self.fail(loc, str(exc), key=True, code="rule.unknown-field")
            return None
        return self._field(field, value, loc)

    def _field(self, field: FieldRef, value: Any, loc: Loc) -> Cond | None:
        if isinstance(value, dict) and set(value) != {"param"}:
            if not value:
                self.fail(loc, f"{field.path}: empty operator mapping")
                return None
            return _all([self._op(field, str(k), v, (*loc, k)) for k, v in value.items()])
        return self._test(field, "eq", value, loc)

    def _op(self, field: FieldRef, name: str, operand: Any, loc: Loc) -> Cond | None:
        if name in QUANTIFIERS:
            if field.kind != LIST or field.element is None:
                self.fail(loc, f"{name!r} applies to list fields; {field.path} is a {field.kind}",
                          key=True)
                return None
            inner = self.cond(operand, loc, field.element)
            return None if inner is None else Quant(field, name, inner, loc)
        if name not in OPERATORS:
            self.fail(loc, f"unknown operator {name!r}{_operator_hint(field, name)}", key=True)
            return None
        return self._test(field, name, operand, loc)

    def _test(self, field: FieldRef, name: str, operand: Any, loc: Loc) -> Test | None:
        op = OPERATORS[name]
        if field.kind not in op.kinds:
            self.fail(loc, f"{name!r} does not apply to {field.path} (a {field.kind} field)",
                      key=name != "eq")
            return None
        if isinstance(operand, dict):
            ref = operand.get("param")
            if not isinstance(ref, str) or set(operand) != {"param"}:
                self.fail(loc, f"{field.path}: {name} expects a value or {{param: name}}")
                return None
            if ref not in self.params:
                hint = did_you_mean(ref, self.params)
                self.fail((*loc, "param"), f"undeclared param {ref!r}{hint}")
                return None
            return Test(field, name, Param(ref), loc)
        problem = op.problem(operand, field.kind)
        if problem:
            self.fail(loc, f"{field.path}: {name} {problem}")
            return None
        return Test(field, name, operand, loc)


# Names users reach for that are spelled differently here (one canonical name per operator).
OPERATOR_HINTS = {
    "equals": "eq", "equal": "eq", "==": "eq", "is": "eq", "not_equals": "ne", "neq": "ne",
    "!=": "ne", "notin": "not_in", "nin": "not_in", ">": "gt", ">=": "gte", "<": "lt",
    "<=": "lte", "matches": "regex", "match": "regex", "startswith": "glob", "endswith": "glob",
    "like": "glob", "includes": "contains", "present": "exists", "absent": "exists",
    "missing": "exists", "has_key": "has_keys", "has_tags": "has_keys", "any": "some",
    "all": "every", "older_than": "older_than_days", "newer_than": "newer_than_days",
}


def _operator_hint(field: FieldRef, name: str) -> str:
    if field.element is not None and field.kind != LIST and name in field.element.model_fields:
        return f" (to test a sub-field, write {field.path}.{name}: ...)"
    if name in OPERATOR_HINTS:
        return f" (did you mean {OPERATOR_HINTS[name]!r}?)"
    hint = did_you_mean(name, [*OPERATORS, *QUANTIFIERS])
    if hint:
        return hint
    names = ", ".join(OPERATORS) if field.kind != LIST else "exists, " + ", ".join(QUANTIFIERS)
    return f"; valid here: {names}"


def _all(items: list[Cond | None]) -> Cond | None:
    if any(i is None for i in items):
        return None
    return items[0] if len(items) == 1 else AllOf(tuple(items))  # type: ignore[arg-type]


def tree_lines(cond: Cond, params: dict[str, Any], indent: str = "") -> list[str]:
    """The normalised tree, one test per line (`imgaudit rules explain`): shorthands written
    out (`Field: value` is `Field eq value`), a mapping of several entries as `all`, a
    one-item `all`/`any` as its item, params with their effective values."""
    if isinstance(cond, Test):
        operand = cond.operand
        if isinstance(operand, Param):
            text = f"{{param: {operand.name}}} = {show(params[operand.name])}"
        else:
            text = show(operand)
        return [f"{indent}{cond.field.path} {cond.op} {text}"]
    if isinstance(cond, Not):
        return [f"{indent}not", *tree_lines(cond.item, params, indent + "  ")]
    if isinstance(cond, Quant):
        return [f"{indent}{cond.field.path} {cond.kind}",
                *tree_lines(cond.cond, params, indent + "  ")]
    label = "all" if isinstance(cond, AllOf) else "any"
    return [f"{indent}{label}", *(line for item in cond.items
                                  for line in tree_lines(item, params, indent + "  "))]


def param_uses(cond: Cond | None) -> Iterator[Test]:
    """Every test whose operand is a param (to check the param's effective value)."""
    if isinstance(cond, Test):
        if isinstance(cond.operand, Param):
            yield cond
    elif isinstance(cond, Quant):
        yield from param_uses(cond.cond)
    elif isinstance(cond, (AllOf, AnyOf)):
        for item in cond.items:
            yield from param_uses(item)
    elif isinstance(cond, Not):
        yield from param_uses(cond.item)



def field_roots(cond: Cond | None) -> set[str]:
    """The image's top-level fields a condition reads (`Features` for `Features.NvmeSupport`);
    a quantifier's inner conditions read the list's items, not the image."""
    if isinstance(cond, Test | Quant):
        return {cond.field.path.split(".")[0]}
    if isinstance(cond, AllOf | AnyOf):
        return {root for item in cond.items for root in field_roots(item)}
    if isinstance(cond, Not):
        return field_roots(cond.item)
    return set()
