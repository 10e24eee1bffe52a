"""Regular expressions and globs, matched by RE2 so that no pattern can hang a scan.

Python's `re` (and `fnmatch`, which translates to `re`) backtracks: `^(a+)+$` against fifty
`a`s and a `!` takes longer than anyone waits. RE2 (the `google-re2` package) matches in time
linear in the text, whatever the pattern; in exchange it has no backreferences and no
lookaround, and a rule using them is refused when it loads. Globs are translated here to RE2
with fnmatch's semantics (tested against `fnmatch.fnmatchcase`). Image fields repeat across an
inventory (OS names, owners), so each matcher remembers its answers for recent strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

import re2

Match = Callable[[str], bool]

MAX_PATTERN_LENGTH = 10_000
_CACHE = 4096
RE2_HINT = ("patterns run under RE2, which matches in linear time but has no backreferences, "
            "lookahead or lookbehind")


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would otherwise print its own copy of the error
    options.never_capture = True
    return options


def _compile(pattern: str, shown: str, what: str) -> re2._Regexp:
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"bad {what} {shown!r}: longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except (re2.error, UnicodeEncodeError) as exc:
        reason = exc.args[0] if exc.args else "invalid"
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        hint = f" ({RE2_HINT})" if what == "regular expression" and _python_accepts(pattern) else ""
        raise PatternError(f"bad {what} {shown!r}: {reason}{hint}") from None


def _python_accepts(pattern: str) -> bool:
    """Whether Python's `re` would take it: then it is syntax RE2 lacks, and we say so."""
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _remembered(test: Callable[[str], object]) -> Match:
    return lru_cache(maxsize=_CACHE)(lambda text: test(text) is not None)


def regex_matcher(pattern: str) -> Match:
    """`text -> bool`: does `pattern` occur in the text (a search, like `re.search`)."""
    return _remembered(_compile(pattern, pattern, "regular expression").search)


def glob_matcher(patterns: Iterable[str]) -> Match:
    """`text -> bool`: does the whole text match one of the shell patterns (case-sensitive)."""
    patterns = list(patterns)
    body = "|".join(f"(?:{glob_to_re2(p)})" for p in patterns)
    shown = patterns[0] if len(patterns) == 1 else ", ".join(patterns)
    return _remembered(_compile(f"(?s){body}", shown, "glob").fullmatch)


def check_glob(pattern: str) -> str | None:
    """Why `pattern` cannot be used as a glob, or None."""
    try:
        glob_matcher([pattern])
    except PatternError as exc:
        return str(exc)
    return None


def check_regex(pattern: str) -> str | None:
    """Why `pattern` cannot be used as a regular expression, or None."""
    try:
        regex_matcher(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def _literal(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}"


def _bracket(body: str) -> str:
    """The inside of a `[...]` glob class as an RE2 class (`!` negates; `a-z` ranges)."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    items: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            if body[i] <= body[i + 2]:  # fnmatch drops reversed ranges
                items.append(f"{_literal(body[i])}-{_literal(body[i + 2])}")
            i += 3
        else:
            items.append(_literal(body[i]))
            i += 1
    if not items:
        return "." if negate else "[^\\x{0}-\\x{10ffff}]"  # `[!z-a]`: any char; `[z-a]`: none
    return "[" + ("^" if negate else "") + "".join(items) + "]"


def glob_to_re2(pattern: str) -> str:
    """fnmatch's translation (`*`, `?`, `[seq]`, `[!seq]`), written for RE2, unanchored."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if not out or out[-1] != ".*":  # `**` is `*`
                out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            j = i + (i < n and pattern[i] == "!")
            j += j < n and pattern[j] == "]"
            end = pattern.find("]", j)
            if end < 0:
                out.append(_literal("["))
            else:
                out.append(_bracket(pattern[i:end]))
                i = end + 1
        else:
            out.append(_literal(char))
    return "".join(out)
