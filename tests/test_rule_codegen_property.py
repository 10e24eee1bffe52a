"""The generated filters (codegen.py) answer what the closures (compiler.py, the reference
semantics) answer, for generated condition trees and images with missing and odd values;
a traceback through a filter names the rule and shows the generated line; and `imgaudit
rules explain ID` prints the normalised tree and the generated code, through the CLI."""

from __future__ import annotations

import copy
import json
import textwrap
import traceback
from datetime import date
from pathlib import Path
from typing import Any

from cli_helpers import invoke
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from auditor import typed
from auditor.canonical import canonical
from auditor.engine import load_rules
from auditor.engine.codegen import compile_filter, compile_split, compile_split_all
from auditor.engine.compiler import compile_cond
from auditor.engine.conditions import Parser
from auditor.engine.evaluate import evaluate_batches
from auditor.engine.rule import build_rule
from auditor.engine.ruleset import RuleSet
from auditor.models import Image
from auditor.yamlio import YamlDoc

TODAY = date(2026, 11, 27)
EXAMPLES = 600

ODD_TEXT = st.one_of(st.none(), st.sampled_from(["", " ", "web-1", "Web-1", "db-2", "ü-é", "web-"]),
                     st.text(max_size=4))
STRINGS = ["web-1", "Web-1", "db-2", "ü-é", " "]
REGEXES = ["^web", "1$", "(?i)WEB", "b", r"^\w+-\d$", "é"]
GLOBS = ["web-*", "*1", "?b-?", "[dw]*", "*", "[!w]*"]


def _string_leaf(path: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.one_of(
        st.sampled_from(STRINGS).map(lambda v: v),  # shorthand equality
        st.sampled_from(STRINGS).map(lambda v: {"eq": v}),
        st.sampled_from(STRINGS).map(lambda v: {"ne": v}),
        st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3).map(lambda v: {"in": v}),
        st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3).map(lambda v: {"not_in": v}),
        st.booleans().map(lambda v: {"exists": v}),
        st.sampled_from(REGEXES).map(lambda v: {"regex": v}),
        st.sampled_from(GLOBS).map(lambda v: {"glob": v}),
        st.sampled_from(["eb", "1", "-"]).map(lambda v: {"contains": v}),
    )
    return ops.map(lambda operand: {path: operand})


def _leaf_of(paths: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(*(strategy.map(lambda operand, p=path: {p: operand})
                       for path, strategy in paths.items()))


BOOL_OPS = st.one_of(st.booleans(), st.booleans().map(lambda v: {"ne": v}),
                     st.booleans().map(lambda v: {"exists": v}))
INTS = st.sampled_from([0, 20, 40, -1, 2**62])
INT_OPS = st.one_of(INTS, *(INTS.map(lambda v, op=op: {op: v})
                            for op in ("eq", "ne", "gt", "gte", "lt", "lte")),
                    st.lists(INTS, min_size=1, max_size=3).map(lambda v: {"in": v}))
DATES = st.sampled_from(["2026-01-01", "2020-02-29", "2026-11-27T00:00:00Z", "0001-01-01"])
DAYS = st.sampled_from([0, 1, 30, 365, 36600, 0.5])
TIME_OPS = st.one_of(*(DATES.map(lambda v, op=op: {op: v}) for op in ("gt", "gte", "lt", "lte")),
                     DAYS.map(lambda v: {"older_than_days": v}),
                     DAYS.map(lambda v: {"newer_than_days": v}),
                     st.booleans().map(lambda v: {"exists": v}))
KEYS = st.lists(st.sampled_from(["owner", "env", "a.b"]), max_size=3).map(lambda v: {"has_keys": v})

DISK_LEAF = st.one_of(_leaf_of({"Encrypted": BOOL_OPS}), _string_leaf("Type"),
                      _string_leaf("Size"))
ITEM_LEAF = st.one_of(_string_leaf("RiskLevel"), _string_leaf("Name"))


def _tree(leaf: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def extend(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        items = st.lists(inner, min_size=1, max_size=3)
        return st.one_of(items.map(lambda v: {"all": v}), items.map(lambda v: {"any": v}),
                         inner.map(lambda v: {"not": v}),
                         st.tuples(inner, inner).map(lambda v: {**v[0], **v[1]}))
    return st.recursive(leaf, extend, max_leaves=6)


def _quantified(path: str, leaf: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    kinds = st.sampled_from(["some", "every", "none"])
    return st.tuples(kinds, _tree(leaf)).map(lambda v: {path: {v[0]: v[1]}})


IMAGE_LEAF = st.one_of(
    _string_leaf("ImageName"), _string_leaf("Status"), _string_leaf("Tags.owner"),
    _string_leaf("Tags.a.b"), _string_leaf("Features.NvmeSupport"),
    _leaf_of({"IsPublic": BOOL_OPS, "Size": INT_OPS, "CreationTime": TIME_OPS, "Tags": KEYS}),
    _quantified("DiskDeviceMappings", DISK_LEAF),
    _quantified("DetectionOptions.Items", ITEM_LEAF),
    st.booleans().map(lambda v: {"Features": {"exists": v}}),
    st.booleans().map(lambda v: {"DetectionOptions.Items": {"exists": v}}),
)
CONDITIONS = _tree(IMAGE_LEAF)

TIMES = st.one_of(st.none(), st.just(""), st.sampled_from([
    "2026-11-27T00:00:00Z", "2026-11-26T23:59:59Z", "2026-10-28T00:00:00Z", "2020-02-29T12:00Z",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]))
DISKS = st.lists(st.fixed_dictionaries({}, optional={
    "Encrypted": st.one_of(st.none(), st.booleans()), "Type": ODD_TEXT, "Size": ODD_TEXT}),
    max_size=3)
ITEMS = st.lists(st.fixed_dictionaries({}, optional={"RiskLevel": ODD_TEXT, "Name": ODD_TEXT}),
                 max_size=3)
IMAGES = st.fixed_dictionaries({"ImageId": st.just("m-prop")}, optional={
    "ImageName": ODD_TEXT, "Status": ODD_TEXT,
    "IsPublic": st.one_of(st.none(), st.booleans(), st.sampled_from(["true", "false"])),
    "Size": st.one_of(st.none(), st.integers(-2, 2**63 - 1), st.sampled_from(["40", "0"])),
    "CreationTime": TIMES,
    "Tags": st.dictionaries(st.sampled_from(["owner", "env", "a.b", "x"]),
                            st.sampled_from(["", " ", "web-1", "ü-é"]), max_size=3),
    "Features": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "NvmeSupport": ODD_TEXT})),
    "DiskDeviceMappings": DISKS,
    "DetectionOptions": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "Status": ODD_TEXT, "Items": ITEMS})),
})


def _parse(cond: dict[str, Any]) -> Any:
    parser = Parser(YamlDoc("prop.yaml", cond), set())
    tree = parser.cond(cond, (), Image)
    assume(not parser.problems)  # e.g. `{exists: ...}` merged beside another operator is fine;
    return tree                  # an empty-string literal or a kind mismatch is not generated


def _image(data: dict[str, Any]) -> Image:
    try:
        return Image.model_validate(data)
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONDITIONS, st.one_of(st.none(), CONDITIONS), st.lists(IMAGES, min_size=1, max_size=4))
def test_generated_filters_answer_what_the_closures_answer(
        require: dict[str, Any], when: dict[str, Any] | None, images: list[dict[str, Any]]) -> None:
    require_tree = _parse(require)
    when_tree = _parse(when) if when is not None else None
    batch = [_image(data) for data in images]
    closures_require = compile_cond(require_tree, {}, TODAY)
    closures_when = compile_cond(when_tree, {}, TODAY) if when_tree is not None else None
    expected = [image for image in batch
                if (closures_when is None or closures_when.pred(image))
                and not closures_require.pred(image)]
    generated = compile_filter(when_tree, require_tree, {}, TODAY, "PROP")
    assert generated(batch) == expected
    for image in expected:  # every failure can be explained as evidence
        assert closures_require.explain(image)
    raws = [copy.deepcopy(data) for data in images]
    if all(canonical(raw) for raw in raws):  # a scan reads these as they are: the same answers
        _, failing = compile_split(when_tree, require_tree, {}, TODAY, "PROP", raw=True)(raws)
        picked = [n for n, raw in enumerate(raws) if any(raw is f for f in failing)]
        assert picked == [n for n, image in enumerate(batch) if any(image is e for e in expected)]
    decoded = [typed.image(json.dumps(data).encode()) for data in images]
    if all(item is not None for item in decoded):  # a scan judges these as they are
        (_, failing), = compile_split_all([("PROP", when_tree, require_tree, {})], TODAY,
                                          raw=False)(decoded)
        picked = [n for n, item in enumerate(decoded) if any(item is f for f in failing)]
        assert picked == [n for n, image in enumerate(batch) if any(image is e for e in expected)]


@settings(max_examples=EXAMPLES // 2, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(CONDITIONS, st.one_of(st.none(), CONDITIONS)), min_size=1,
                max_size=4), st.lists(IMAGES, min_size=1, max_size=4))
def test_one_pass_over_every_rule_answers_what_each_rule_s_own_split_answers(
        rules: list[tuple[dict[str, Any], dict[str, Any] | None]],
        images: list[dict[str, Any]]) -> None:
    """A scan judges canonical mappings with every rule in one pass (each field read once):
    each rule's count and failing mappings are those of its own generated split."""
    trees = [(f"R{n}", _parse(when) if when is not None else None, _parse(require), {})
             for n, (require, when) in enumerate(rules)]
    raws = [copy.deepcopy(data) for data in images]
    assume(all(canonical(raw) for raw in raws))

    def picked(split: tuple[int, list[Any]]) -> tuple[int, list[int]]:
        return split[0], [n for hit in split[1] for n, raw in enumerate(raws) if hit is raw]

    expected = [picked(compile_split(when, require, params, TODAY, rule_id, raw=True)(raws))
                for rule_id, when, require, params in trees]
    assert [picked(split) for split in compile_split_all(trees, TODAY)(raws)] == expected
    # images read by attribute, Images or decoded (`auditor.typed`): the same answers
    batch = [_image(data) for data in images]
    decoded = [typed.image(json.dumps(data).encode()) for data in images]
    for readable in (batch, decoded if all(i is not None for i in decoded) else batch):
        splits = compile_split_all(trees, TODAY, raw=False)(readable)
        assert [(count, [n for hit in hits for n, item in enumerate(readable) if hit is item])
                for count, hits in splits] == expected


SHOWN = ["Features", "DetectionOptions", "DetectionOptions.Items", "DiskDeviceMappings", "Tags",
         "CreationTime", "Size"]
MESSAGE = " ".join(f"{{{{ image.{name} }}}}" for name in SHOWN if "." not in name)


@settings(max_examples=EXAMPLES // 4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.tuples(CONDITIONS, st.one_of(st.none(), CONDITIONS), st.booleans()),
                min_size=1, max_size=3), st.lists(IMAGES, min_size=1, max_size=5))
def test_a_scan_finds_the_same_whether_images_are_validated_mappings_or_decoded(
        rules: list[tuple[dict[str, Any], dict[str, Any] | None, bool]],
        images: list[dict[str, Any]]) -> None:
    """The whole evaluation (findings, messages, evidence, counts) of generated rules is the
    same over Images, over the canonical mappings a scan reads as they are, and over the
    decoded images (`auditor.typed`) a scan judges as they are."""
    specs = [{"id": f"PROP-{n}", "title": "t", "severity": "high", "require": require,
              "message": MESSAGE, **({"when": when} if when is not None else {}),
              **({"evidence": SHOWN} if shown else {})}
             for n, (require, when, shown) in enumerate(rules)]
    built = [build_rule(YamlDoc("prop.yaml", spec), spec, ()) for spec in specs]
    assume(not any(problems for _, problems in built))  # trees the loader refuses: not tried
    ruleset = RuleSet([rule for rule, _ in built if rule is not None])
    data = [{**image, "ImageId": f"m-{n}"} for n, image in enumerate(images)]
    validated = [_image(copy.deepcopy(image)) for image in data]

    def evaluated(batch: list[Any]) -> tuple[Any, ...]:
        done = evaluate_batches([("cn-a", "123", batch)], ruleset, today=TODAY)
        return [f.model_dump(mode="json") for f in done.findings], done.counts, done.warnings

    expected = evaluated(validated)
    raws = [copy.deepcopy(image) for image in data]
    if all(canonical(raw) for raw in raws):
        assert evaluated(raws) == expected
    decoded = [typed.image(json.dumps(image).encode()) for image in data]
    if all(item is not None for item in decoded):
        assert evaluated(decoded) == expected


def test_one_pass_over_no_rule_answers_nothing() -> None:
    assert compile_split_all([], TODAY)([{"ImageId": "m-1"}]) == []


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(st.sampled_from(["some", "every", "none"]), _tree(DISK_LEAF), DISKS)
def test_quantifiers_over_odd_lists_agree(kind: str, inner: dict[str, Any],
                                          disks: list[dict[str, Any]]) -> None:
    tree = _parse({"DiskDeviceMappings": {kind: inner}})
    image = _image({"ImageId": "m-q", "DiskDeviceMappings": disks})
    assert compile_filter(None, tree, {}, TODAY, "Q")([image]) == (
        [] if compile_cond(tree, {}, TODAY).pred(image) else [image])


RULE = textwrap.dedent("""\
    id: ORG-TRACE
    title: Trace me
    severity: low
    params: {names: [web-1, web-2]}
    when: {ImageOwnerAlias: self}
    require:
      all:
        - ImageName: {in: {param: names}}
        - DiskDeviceMappings: {every: {Encrypted: true}}
    """)


def test_a_traceback_through_a_filter_names_the_rule_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.yaml"
    path.write_text(RULE)
    rule = load_rules([path], builtin=False).get("ORG-TRACE")
    failing = rule.failing(TODAY)

    class NotAnImage:  # no attributes: the generated code raises AttributeError
        pass

    try:
        failing([NotAnImage()])
    except AttributeError as exc:
        text = "".join(traceback.format_exception(exc))
    else:
        raise AssertionError("expected an AttributeError")
    assert 'File "<rule ORG-TRACE>", line 4, in failing' in text
    assert "return [o for o in images if " in text  # the generated line itself is shown


def test_explain_prints_the_normalised_tree_and_the_generated_code(tmp_path: Path) -> None:
    path = tmp_path / "trace.yaml"
    path.write_text(RULE)
    config = tmp_path / "imgaudit.yaml"
    config.write_text("params:\n  ORG-TRACE: {names: [api]}\n")
    result = invoke("rules", "explain", "ORG-TRACE", "--rules", path, "--config", config)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == textwrap.dedent(f"""\
        ORG-TRACE  [low]  Trace me
        defined at {path}:1:1

        when:
          ImageOwnerAlias eq self
        require:
          all
            ImageName in {{param: names}} = [api]
            DiskDeviceMappings every
              Encrypted eq true

        generated filter (<rule ORG-TRACE>): an image fails when `when` holds and `require` does not
           1  def _q1(o):
           2      return (_c1 == o.Encrypted)
           3  def failing(images):
           4      return [o for o in images if (_c2 == (None if (_w2 := o.ImageOwnerAlias) == '' else _w2)) and not (((None if (_w1 := o.ImageName) == '' else _w1) in _s0) and (all(map(_q1, o.DiskDeviceMappings or ()))))]

        where
          _s0 = [api]
          _c1 = true
          _c2 = self
        """)


def test_explain_of_a_built_in_rule_and_of_an_unknown_id() -> None:
    result = invoke("rules", "explain", "IMG-HIGH-RISK")
    assert result.exit_code == 0 and "  DetectionOptions.Items none\n    RiskLevel eq High\n" in result.stdout
    assert "def _q1(o):" in result.stdout
    unknown = invoke("rules", "explain", "IMG-HIGH-RISKK")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert unknown.stderr == ("imgaudit: error: no rule with id 'IMG-HIGH-RISKK' "
                              "(did you mean 'IMG-HIGH-RISK'?)\n")
