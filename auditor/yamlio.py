"""Safe YAML with positions: plain values plus the line and column of every node.

Rule and config files are validated after parsing, and every problem must point at a place in
the file. So documents are composed with `yaml.SafeLoader`, turned into plain values here, and
each value and mapping key is remembered by its location path (`("require", "Tags")`).
Anchors and aliases are refused (they are how "billion laughs" files blow up memory) and so
are duplicate keys, which YAML would silently collapse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError, RuleError, SourceProblem

Loc = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """One YAML document: its value and where each part of it was written."""

    path: str
    value: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def mark(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """The nearest known (line, column) for `loc`: the key itself, else its value,
        else the closest enclosing node."""
        loc = tuple(loc)
        while True:
            if key and loc in self.keys:
                return self.keys[loc]
            if loc in self.values:
                return self.values[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]
            key = True

    def problem(self, loc: Loc, text: str, *, key: bool = False) -> SourceProblem:
        line, column = self.mark(loc, key=key)
        return SourceProblem(self.path, line, column, text)


class _NoAnchorLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases before anything is built."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _RefusedError(event.start_mark, "YAML anchors and aliases are not allowed")
        return super().compose_node(parent, index)


class _RefusedError(Exception):
    def __init__(self, mark: Any, text: str) -> None:
        super().__init__(text)
        self.mark = mark
        self.text = text


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _block_start(mark: Any) -> tuple[int, int]:
    """Where the text of a `|` or `>` block scalar starts: the line after the indicator."""
    buffer = getattr(mark, "buffer", None)
    if not isinstance(buffer, str):
        return (mark.line + 2, 1)
    start = buffer.find("\n", mark.pointer) + 1
    line = buffer[start:buffer.find("\n", start) if "\n" in buffer[start:] else None]
    return (mark.line + 2, len(line) - len(line.lstrip(" ")) + 1)


class _Builder:
    """Turns composed nodes into plain values, recording positions."""

    def __init__(self, loader: yaml.SafeLoader, doc: YamlDoc) -> None:
        self.loader = loader
        self.doc = doc

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.values[loc] = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self.doc.values[loc] = _block_start(node.start_mark)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            raise _RefusedError(node.start_mark, f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _RefusedError(key_node.start_mark, "mapping keys must be plain scalars")
            key = self.loader.construct_object(key_node)
            if isinstance(key, (list, dict)):
                raise _RefusedError(key_node.start_mark, "mapping keys must be plain scalars")
            key_loc: Loc = (*loc, key)
            if key in result:
                first = self.doc.keys[key_loc]
                raise _RefusedError(
                    key_node.start_mark,
                    f"duplicate key {key!r} (first at line {first[0]}, column {first[1]})",
                )
            self.doc.keys[key_loc] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, key_loc)
        return result


def parse_yaml(text: str, path: str) -> list[YamlDoc]:
    """Every document of `text`; raises RuleError with the position of a syntax problem."""
    loader = _NoAnchorLoader(text)
    docs: list[YamlDoc] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            doc = YamlDoc(path=path, value=None)
            doc.value = _Builder(loader, doc).build(node, ())
            docs.append(doc)
    except _RefusedError as exc:
        line, column = _pos(exc.mark)
        raise RuleError([SourceProblem(path, line, column, exc.text)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _pos(mark) if mark else (1, 1)
        text_ = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise RuleError([SourceProblem(path, line, column, f"YAML syntax: {text_}")]) from None
    except yaml.YAMLError as exc:
        raise RuleError([SourceProblem(path, 1, 1, f"YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return docs


def read_yaml(path: Path) -> list[YamlDoc]:
    """Read and parse a YAML file; an unreadable file is an InputError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    return parse_yaml(text, str(path))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'X'?)` for a close match, else an empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_names(model: Any, loc: Sequence[str | int]) -> list[str]:
    """The field names of the pydantic model found by walking `loc` from `model`."""
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = getattr(model, "model_fields", {}).get(part)
        model = _inner_model(info.annotation) if info else None
    return list(getattr(model, "model_fields", {})) if model else []


def _inner_model(annotation: Any) -> Any:
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
        stack.extend(getattr(item, "__args__", ()))
    return None


def validation_problems(
    error: ValidationError, doc: YamlDoc, base: Loc = (), model: Any = None, label: str = ""
) -> list[SourceProblem]:
    """pydantic errors as positioned problems; unknown keys get a did-you-mean.
    `label` prefixes the dotted location in messages (e.g. `tests.pass.0`)."""
    problems = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        where = ".".join(filter(None, (label, ".".join(str(p) for p in loc)))) or "document"
        if err["type"] == "extra_forbidden":
            names = _field_names(model, loc[:-1]) if model else []
            hint = did_you_mean(str(loc[-1]), names)
            problems.append(doc.problem((*base, *loc), f"unknown key {loc[-1]!r}{hint}", key=True))
        elif err["type"] == "missing":
            parent = ".".join(str(p) for p in loc[:-1])
            text = f"missing required key {loc[-1]!r}" + (f" in {parent}" if parent else "")
            problems.append(doc.problem((*base, *loc[:-1]), text))
        else:
            problems.append(doc.problem((*base, *loc), f"{where}: {err['msg']}"))
    return problems
