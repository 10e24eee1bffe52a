"""Generate one Python function per rule that picks the failing images out of a list.

The closures of compiler.py cost a Python call per test, per combinator and per image; over
100,000 images x 18 rules that was most of the evaluation time. Here a rule's `when` and
`require` become one list comprehension whose condition is a plain expression
(`o.ImageOwnerAlias == 'self' and ...`): no call per image for equality, membership and
existence tests, the other operators call the same test functions the closures use.

Only fixed syntax, generated names and the names of resolved field paths (pydantic field
names: attribute names checked to be identifiers, or string literals written by `repr` in raw
mode, which reads canonical images' parsed mappings: `auditor.canonical`) appear in the
source; every literal, parameter value, tag key and test function is passed in the
namespace, never written into the code. The answers are the ones of `Compiled.pred` (tested),
including a missing value on the way (or an empty string) reading as None.

A scan's rules judge canonical mappings together (`generate_all`): one loop over the images,
each field of the image read once per image for all the rules, then each rule's expressions.
"""

from __future__ import annotations

import keyword
import linecache
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from auditor.engine.conditions import AllOf, Cond, Not, Param, Quant, Test
from auditor.engine.fields import BLANKABLE, FieldRef
from auditor.engine.operators import OPERATORS, show

Filter = Callable[[Sequence[Any]], list[Any]]
Split = Callable[[Sequence[Any]], tuple[int, list[Any]]]  # -> (images `when` selects, failing)
_QUANT = {"some": "any", "every": "all", "none": "not any"}


def _safe_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


class _Source:
    """Writes expressions; values they need go into `ns` under generated names."""

    def __init__(self, params: dict[str, Any], today: date, raw: bool = False) -> None:
        self.params, self.today, self.raw = params, today, raw
        self.ns: dict[str, Any] = {}
        self.notes: dict[str, str] = {}  # generated name -> what it is, for `rules explain`
        self.defs: list[str] = []  # functions of quantifiers, written before `failing`
        self.walruses = 0
        # with `hoist` (`generate_all`): the image's own fields read once each, before every
        # rule's test: field name -> (local name, expression), for the variable `i`
        self.hoisted: dict[str, tuple[str, str]] | None = None

    def bind(self, prefix: str, value: Any, note: str) -> str:
        name = f"_{prefix}{len(self.ns)}"
        self.ns[name] = value
        self.notes[name] = note
        return name

    def temp(self) -> str:
        self.walruses += 1
        return f"_w{self.walruses}"

    def cond(self, cond: Cond, var: str) -> str:
        if isinstance(cond, Test):
            return self.test(cond, var)
        if isinstance(cond, Not):
            return f"(not {self.cond(cond.item, var)})"
        if isinstance(cond, Quant):
            inner = self.function(cond.cond)
            return f"({_QUANT[cond.kind]}(map({inner}, {self.get(cond.field, var)} or ())))"
        joiner = " and " if isinstance(cond, AllOf) else " or "
        return "(" + joiner.join(self.cond(c, var) for c in cond.items) + ")"

    def function(self, cond: Cond) -> str:
        """The name of a generated one-argument function of `cond` (a quantifier's items)."""
        body = self.cond(cond, "o")
        name = f"_q{len(self.defs) + 1}"
        self.defs.append(f"def {name}(o):\n    return {body}\n")
        return name

    def test(self, cond: Test, var: str) -> str:
        operand = cond.operand
        if isinstance(operand, Param):
            operand = self.params[operand.name]
        op = cond.op
        # `""` reads as a missing value; a comparison with values that are neither "" nor
        # None (the loader refuses those literals) answers alike for both: in raw mode (a
        # scan's hot path), no conversion
        values = [operand] if op in ("eq", "ne") else operand if op in ("in", "not_in") else []
        plain = self.raw and bool(values) and all(
            v is not None and not (type(v) is str and v == "") for v in values)
        value = self.get(cond.field, var, blank=not plain)
        if op in ("eq", "ne"):  # operator.eq(operand, value): the operand on the left
            constant = self.bind("c", operand, show(operand))
            return f"({constant} {'==' if op == 'eq' else '!='} {value})"
        if op in ("in", "not_in"):
            members = self.bind("s", frozenset(operand), show(operand))
            return f"({value} {'in' if op == 'in' else 'not in'} {members})"
        if op == "exists":
            return f"({value} {'is not' if operand else 'is'} None)"
        test = OPERATORS[op].build(operand, cond.field, self.today)
        note = f"a test: {OPERATORS[op].expected(operand)}"
        return f"{self.bind('t', test, note)}({value})"

    def get(self, field: FieldRef, var: str, *, blank: bool = True) -> str:
        """The value of a field path, None when anything on the way is None (and, with
        `blank`, an empty string read as None)."""
        if self.raw:
            return self.read(field, var, blank)
        names = field.names
        if not names or not all(map(_safe_name, names)) or (field.key and len(names) > 1):
            return f"{self.bind('g', field.get, f'reads {field.path}')}({var})"
        expr = f"{var}.{names[0]}"
        if var == "i" and self.hoisted is not None:
            expr = self.hoist(names[0], expr)
        for name in names[1:]:
            temp = self.temp()
            expr = f"(None if ({temp} := {expr}) is None else {temp}.{name})"
        if field.key is not None:
            temp, key = self.temp(), self.bind("k", field.key, repr(field.key))
            expr = f"(None if ({temp} := {expr}) is None else {temp}.get({key}))"
        return self.blank(field, expr) if blank else expr

    def blank(self, field: FieldRef, expr: str) -> str:
        if field.kind in BLANKABLE:  # an empty string is a missing value
            temp = self.temp()
            expr = f"(None if ({temp} := {expr}) == '' else {temp})"
        return expr

    def read(self, field: FieldRef, var: str, blank: bool = True) -> str:
        """`get` on a canonical image's mapping (`FieldRef.read`): `.get(name)`, a missing key
        reading as the model's default, a None on the way as None (not as an empty mapping,
        whose keys would read as their defaults: `DetectionOptions.Items` would then exist
        as `[]` where the image has no DetectionOptions). Names are string literals."""
        if not field.names:
            return f"{self.bind('g', field.read, f'reads {field.path}')}({var})"
        expr = var
        for n, (name, default) in enumerate(zip(field.names, field.defaults, strict=True)):
            fallback = "" if default is None else ", " + self.bind("d", default, repr(default))
            if n:  # a nested object of a canonical mapping is a mapping or None
                temp = self.temp()
                expr = f"(None if ({temp} := {expr}) is None else {temp}.get({name!r}{fallback}))"
            else:
                expr += f".get({name!r}{fallback})"
                if var == "i" and self.hoisted is not None:
                    expr = self.hoist(name, expr)
        if field.key is not None:
            temp, key = self.temp(), self.bind("k", field.key, repr(field.key))
            return f"(None if ({temp} := {expr}) is None else ({temp}.get({key}) or None))"
        return self.blank(field, expr) if blank else expr

    def hoist(self, name: str, expr: str) -> str:
        """The local that holds the image's field `name` (read by `expr`), read once."""
        hoisted = self.hoisted
        assert hoisted is not None
        if name not in hoisted:
            hoisted[name] = (f"_v{len(hoisted) + 1}", expr)
        return hoisted[name][0]



@dataclass(frozen=True)
class Generated:
    """A rule's generated filter: its source, the file name it is compiled under, and the
    values its generated names stand for (with a note on each, for `rules explain`)."""

    filename: str
    source: str
    namespace: dict[str, Any]
    notes: dict[str, str]


def generate(when: Cond | None, require: Cond, params: dict[str, Any], today: date,
             rule_id: str = "?", *, counted: bool = False, raw: bool = False) -> Generated:
    """The source of `failing(images)`: the images `when` applies to that fail `require`.

    `counted`: `split(images)` instead, which also counts the images `when` selects (the
    rule's posture: evaluated, passed, failed) at the cost of one intermediate list.
    `raw`: over canonical images' mappings (`auditor.canonical`) instead of `Image`s."""
    source = _Source(params, today, raw)
    fails = f"not {source.cond(require, 'o')}"
    applies = source.cond(when, "o") if when is not None else None
    if counted and applies is None:
        body = f"def split(images):\n    return len(images), [o for o in images if {fails}]\n"
    elif counted:
        body = (f"def split(images):\n    selected = [o for o in images if {applies}]\n"
                f"    return len(selected), [o for o in selected if {fails}]\n")
    else:
        test = fails if applies is None else f"{applies} and {fails}"
        body = f"def failing(images):\n    return [o for o in images if {test}]\n"
    code = "".join(source.defs) + body
    return Generated(f"<rule {rule_id}{' raw' if raw else ''}>", code, source.ns, source.notes)


# A rule as the one pass over every rule sees it: id, `when`, `require`, effective params
RuleConds = tuple[str, Cond | None, Cond, dict[str, Any]]


def generate_all(rules: Sequence[RuleConds], today: date, *, raw: bool = True) -> Generated:
    """The source of `split_all(images)`: for each rule, what its `split` answers
    (`counted=True`: how many images its `when` selects, and the failing ones in order), in
    one pass over the images: canonical images' mappings (`raw`), or images read by
    attribute (Images, decoded images: `auditor.typed`). Each field of the image that some
    rule reads is read once per image (into a local), whatever the number of rules that
    read it; each rule's tests are its own generated expressions (the same short-circuits,
    the same test functions)."""
    source = _Source({}, today, raw=raw)
    source.hoisted = {}
    tests, results, start = [], [], []
    for n, (_, when, require, params) in enumerate(rules):
        source.params = params
        fails = f"not {source.cond(require, 'i')}"
        start.append(f"    hits{n} = []\n")
        if when is None:
            tests.append(f"        if {fails}:\n            hits{n}.append(i)\n")
            results.append(f"(len(images), hits{n})")
            continue
        start.append(f"    selected{n} = 0\n")
        tests.append(f"        if {source.cond(when, 'i')}:\n            selected{n} += 1\n"
                     f"            if {fails}:\n                hits{n}.append(i)\n")
        results.append(f"(selected{n}, hits{n})")
    reads = "".join(f"        {local} = {expr}\n" for local, expr in source.hoisted.values())
    tests = tests or ["        pass\n"]
    body = (f"def split_all(images):\n{''.join(start)}    for i in images:\n{reads}"
            f"{''.join(tests)}    return [{', '.join(results)}]\n")
    ids = ", ".join(rule_id for rule_id, *_ in rules)
    return Generated(f"<rules {ids}{' raw' if raw else ''}>", "".join(source.defs) + body,
                     source.ns, source.notes)


def compile_split_all(rules: Sequence[RuleConds], today: date, *, raw: bool = True,
                      ) -> Callable[[Sequence[Any]], list[tuple[int, list[Any]]]]:
    """`images -> [each rule's split of them]` (see `generate_all`): over canonical images'
    mappings (`raw`), or images read by attribute."""
    return _compiled(generate_all(rules, today, raw=raw), "split_all")


def _compiled(generated: Generated, name: str) -> Callable[..., Any]:
    lines = generated.source.splitlines(keepends=True)
    linecache.cache[generated.filename] = (len(generated.source), None, lines, generated.filename)
    namespace = dict(generated.namespace)
    exec(compile(generated.source, generated.filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def compile_filter(when: Cond | None, require: Cond, params: dict[str, Any], today: date,
                   rule_id: str = "?") -> Filter:
    """`images -> [the images `when` applies to that do not satisfy `require`]`, in order."""
    return _compiled(generate(when, require, params, today, rule_id), "failing")


def compile_split(when: Cond | None, require: Cond, params: dict[str, Any], today: date,
                  rule_id: str = "?", *, raw: bool = False) -> Split:
    """`images -> (how many images `when` selects, the failing ones in order)`; with `raw`,
    over canonical images' mappings."""
    return _compiled(generate(when, require, params, today, rule_id, counted=True, raw=raw),
                     "split")
