"""The JSON Schema of the rule format, for editors (`imgaudit rules schema`).

The rule's keys come from the pydantic model; each operator's operand from its declaration in
auditor/engine/operators.py; conditions are described here by hand, since their keys are field
paths: `all`/`any`/`not`, or a field with a literal or operator mapping.
"""

from __future__ import annotations

from typing import Any

from auditor.engine.fields import LIST, field_paths
from auditor.engine.operators import OPERATORS, QUANTIFIERS, SCALAR
from auditor.engine.rule import RuleSpec
from auditor.models import Image

_LITERAL = SCALAR.json_schema()  # `Field: value` is short for `Field: {eq: value}`
_PARAM = {
    "type": "object", "properties": {"param": {"type": "string"}},
    "required": ["param"], "additionalProperties": False,
}


def _field_properties(value: dict[str, Any]) -> dict[str, Any]:
    """One property per field path of the image (editors complete them), with its kind; a
    list's item fields are named in its description (they are read inside some/every/none)."""
    paths = field_paths(Image)
    properties = {}
    for path, kind in paths.items():
        if "[]" in path or path.endswith(".<key>"):
            continue
        described = f"{kind} field of the image"
        if kind == LIST:
            items = [p.removeprefix(f"{path}[].") for p in paths
                     if p.startswith(f"{path}[].") and "[]" not in p[len(path) + 3:]]
            described = f"list: read with some/every/none; item fields {', '.join(items)}"
        properties[path] = {**value, "description": described}
    return properties


def _condition_defs() -> dict[str, Any]:
    ref = {"$ref": "#/$defs/condition"}
    value = {"anyOf": [_LITERAL, _PARAM, {"$ref": "#/$defs/operators"}]}
    operators: dict[str, Any] = {
        name: {"anyOf": [op.operand.json_schema(), _PARAM]}
        for name, op in OPERATORS.items()
    }
    operators.update({name: ref for name in QUANTIFIERS})
    return {
        "condition": {
            "type": "object",
            "minProperties": 1,
            "description": "all/any/not, or field paths with a literal or an operator mapping",
            "properties": {"all": {"type": "array", "items": ref, "minItems": 1},
                           "any": {"type": "array", "items": ref, "minItems": 1},
                           "not": ref, **_field_properties(value)},
            "patternProperties": {r"^Tags\..+": {**value, "description": "a tag's value"}},
            "additionalProperties": value,
        },
        "operators": {"type": "object", "minProperties": 1, "properties": operators,
                      "additionalProperties": False},
    }


def rule_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of one rule document, or of a file with `rules: [...]`."""
    rule = RuleSpec.model_json_schema(by_alias=True)
    defs = {**rule.pop("$defs", {}), **_condition_defs()}
    for key in ("when", "require"):
        rule["properties"][key] = {"$ref": "#/$defs/condition",
                                   "description": rule["properties"][key].get("description", "")}
    defs["rule"] = rule
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "imgaudit rule file",
        "anyOf": [
            {"$ref": "#/$defs/rule"},
            {"type": "object", "properties": {"rules": {"type": "array",
                                                        "items": {"$ref": "#/$defs/rule"}}},
             "required": ["rules"], "additionalProperties": False},
        ],
        "$defs": defs,
    }
