"""Safe YAML with positions: plain values plus the line and column of every node.

Rule and config files are validated after parsing, and every problem must point at a place in
the file. So documents are composed with `yaml.SafeLoader`, turned into plain values here, and
each value and mapping key is remembered by its location path (`("require", "Tags")`).
Anchors and aliases are refused (they are how "billion laughs" files blow up memory) and so
are duplicate keys, which YAML would silently collapse.

These files are strangers' data, so reading them is bounded too: a file over `MAX_FILE_BYTES`,
anything but a regular file (a FIFO would block, `/dev/zero` never ends), raw control bytes,
nesting deeper than `MAX_DEPTH`, impossible dates, and numbers no setting needs (integers past
64 bits, NaN, infinity) are load errors with their line and column, never a traceback or a hang.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError, RuleError, SourceProblem

Loc = tuple[str | int, ...]

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64  # nested mappings and lists; a rule needs a dozen
MAX_INT = 2**63 - 1
SYNTAX = "rule.syntax"  # the code of a problem reading YAML (config.syntax in a config file)
# C0 controls and DEL, except tab, newline and carriage return
_CONTROL = frozenset(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
# ... and lone surrogates (a string's escapes can make both): searched in C, since every
# scalar of every rule and config file is checked (a loop over the characters was ~3 ms of
# reading the built-in rules)
_BAD_TEXT = re.compile(f"[{''.join(map(re.escape, sorted(_CONTROL)))}\ud800-\udfff]")


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

    def problem(self, loc: Loc, text: str, *, key: bool = False,
                code: str = "rule.invalid") -> SourceProblem:
        line, column = self.mark(loc, key=key)
        return SourceProblem(self.path, line, column, text, code)


class _Refusals:
    """Refuses anchors, aliases and deep nesting as nodes are composed, before anything is
    built (mixed into a loader before its Composer)."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # types-PyYAML leaves Parser.peek_event unannotated (it returns an Event)
        event: yaml.Event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _RefusedError(event.start_mark, "YAML anchors and aliases are not allowed")
        if self.depth >= MAX_DEPTH:
            raise _RefusedError(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)  # type: ignore[misc]
            return node
        finally:
            self.depth -= 1


class _NoAnchorLoader(_Refusals, yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting before anything is built."""


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)  # libyaml, when built in


class _FastLoader(_Refusals, yaml.composer.Composer, yaml.constructor.SafeConstructor,
                  yaml.resolver.Resolver, _CParser or object):  # type: ignore[misc]
    """The same loader over libyaml's parser (events from C, composed and built here as
    above): reading the 20 built-in rules took 0.09 s with PyYAML's pure-Python scanner, a
    fifth of a small scan. Used only where both parsers agree (see `parse_yaml`)."""

    def __init__(self, stream: str) -> None:
        _CParser.__init__(self, stream)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        yaml.composer.Composer.__init__(self)


class _RefusedError(Exception):
    def __init__(self, mark: Any, text: str) -> None:
        super().__init__(text)
        self.mark = mark
        self.text = text


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _block_start(mark: Any, lines: list[str]) -> tuple[int, int]:
    """Where the text of a `|` or `>` block scalar starts: the line after the indicator."""
    buffer = getattr(mark, "buffer", None)
    if isinstance(buffer, str):
        start = buffer.find("\n", mark.pointer) + 1
        line = buffer[start:buffer.find("\n", start) if "\n" in buffer[start:] else None]
    elif mark.line + 1 < len(lines):  # libyaml's marks carry no buffer: the text's own line
        line = lines[mark.line + 1]
    else:
        return (mark.line + 2, 1)
    return (mark.line + 2, len(line) - len(line.lstrip(" ")) + 1)


class _Builder:
    """Turns composed nodes into plain values, recording positions."""

    def __init__(self, loader: Any, doc: YamlDoc, lines: list[str]) -> None:
        self.loader = loader
        self.doc = doc
        self.lines = lines

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.doc.values[loc] = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            self.doc.values[loc] = _block_start(node.start_mark, self.lines)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            raise _RefusedError(node.start_mark, f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar's value, refused when no setting could mean it."""
        try:
            value = self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # 2025-02-30, an int of 5,000 digits
            raise _RefusedError(node.start_mark, _bad_scalar(node, exc)) from None
        problem = _value_problem(value)
        if problem:
            raise _RefusedError(node.start_mark, problem)
        return value

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _RefusedError(key_node.start_mark, "mapping keys must be plain scalars")
            key = self.scalar(key_node)
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


def _bad_scalar(node: yaml.Node, exc: Exception) -> str:
    text = str(node.value)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    if node.tag.endswith(":int"):
        return f"integer {shown} is out of range ({len(text)} characters)"
    if node.tag.endswith(":timestamp"):
        return f"impossible date {shown}: {exc}"
    return f"bad value {shown}: {exc}"


def _value_problem(value: Any) -> str | None:
    """Why a scalar is refused: numbers out of any sane range, control characters."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        return "integer out of range (at most 64 bits)"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a usable number"
    if isinstance(value, str):
        return _text_problem(value, "a string")
    return None


def _text_problem(text: str, where: str) -> str | None:
    found = _BAD_TEXT.search(text)
    return None if found is None else f"control character U+{ord(found[0]):04X} in {where}"


def _raw_control(text: str, path: str) -> SourceProblem | None:
    """The first raw control character of a file, positioned."""
    if not _CONTROL.intersection(text):
        return None
    index = next(i for i, char in enumerate(text) if char in _CONTROL)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return SourceProblem(path, line, column,
                         f"control character U+{ord(text[index]):04X} is not allowed", SYNTAX)


def _documents(loader: Any, text: str, path: str) -> list[YamlDoc]:
    docs: list[YamlDoc] = []
    lines = text.split("\n")
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            doc = YamlDoc(path=path, value=None)
            doc.value = _Builder(loader, doc, lines).build(node, ())
            docs.append(doc)
    finally:
        if hasattr(loader, "dispose"):  # the pure-Python parser's (libyaml frees its own)
            loader.dispose()
    return docs


_ODD = re.compile("[\r\x85\u2028\u2029\ufeff]")  # other line breaks, a byte order mark


def _fast(text: str, path: str) -> list[YamlDoc] | None:
    """The documents read with libyaml's parser; None when it is missing, when the text has
    what the two parsers may treat apart (a carriage return, a BOM, a character YAML does not
    allow), or when anything is wrong: the pure-Python parser then reads the text again, so
    that every problem is reported exactly as it always was."""
    if _CParser is None or _ODD.search(text) or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        return _documents(_FastLoader(text), text, path)
    except Exception:  # any problem is reported by the reference parser, below
        return None


def parse_yaml(text: str, path: str) -> list[YamlDoc]:
    """Every document of `text`; raises RuleError with the position of a syntax problem."""
    control = _raw_control(text, path)
    if control is not None:
        raise RuleError([control])
    fast = _fast(text, path)
    if fast is not None:
        return fast
    try:
        return _documents(_NoAnchorLoader(text), text, path)
    except _RefusedError as exc:
        line, column = _pos(exc.mark)
        raise RuleError([SourceProblem(path, line, column, exc.text, SYNTAX)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (C1 controls)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise RuleError([SourceProblem(path, line, column, f"character U+{exc.character:04X} "
                                       "is not allowed in YAML", SYNTAX)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _pos(mark) if mark else (1, 1)
        text_ = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise RuleError([SourceProblem(path, line, column, f"YAML syntax: {text_}",
                                       SYNTAX)]) from None
    except yaml.YAMLError as exc:
        raise RuleError([SourceProblem(path, 1, 1, f"YAML: {exc}", SYNTAX)]) from None


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is an InputError.
    Opened without blocking, so a FIFO is refused instead of waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(path, "no such file", unreadable=True) from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}", unreadable=True) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else
                    "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device or other special file")
            raise InputError(path, f"not a regular file ({kind})", unreadable=True)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(path, f"larger than {_size(limit)}; not read", unreadable=True)
    return data


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def decode_utf8(data: bytes, path: Path | str) -> str:
    """UTF-8 text; a bad byte is a RuleError at its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1:exc.start]
                     .decode("utf-8", "replace")) + 1
        raise RuleError([SourceProblem(str(path), line, column,
                                       f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                                       SYNTAX)]) from None


def read_yaml(path: Path) -> list[YamlDoc]:
    """Read and parse a YAML file; an unreadable file is an InputError naming it."""
    return parse_yaml(decode_utf8(read_bounded(path), path), str(path))


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
            problems.append(doc.problem((*base, *loc), f"unknown key {loc[-1]!r}{hint}", key=True,
                                        code="rule.unknown-key"))
        elif err["type"] == "missing":
            parent = ".".join(str(p) for p in loc[:-1])
            text = f"missing required key {loc[-1]!r}" + (f" in {parent}" if parent else "")
            problems.append(doc.problem((*base, *loc[:-1]), text, code="rule.missing-key"))
        else:
            problems.append(doc.problem((*base, *loc), f"{where}: {err['msg']}",
                                        code="rule.invalid-value"))
    return problems
