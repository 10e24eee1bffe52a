"""Strangers' text made safe to show: control characters escaped, visibly.

Image names, tags, regions, account ids, server messages and rule texts come from other
people. Printed raw, an ESC or OSC sequence can retitle a terminal window or clear the screen,
a CR or LF can forge a line ("PASSED"), a bidi override can reverse what a reader sees, and
most C0 characters make an XML report invalid. `visible` shows each such character as its
escape (`\\x1b`, `\\n`, `\\u202e`), so the report says exactly what the value was, on one line.
Machine formats (JSON, SARIF) keep the raw values: their encoders escape what they must, and
a baseline compares the true ids.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; line and paragraph separators; the bidi controls (embeddings,
# overrides, isolates, marks); invisible zero-width characters; lone surrogates.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff"
    "\ud800-\udfff]"
)
_UNSAFE_BUT_NEWLINE = re.compile(UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape(match: re.Match[str]) -> str:
    """The visible escape of one matched character."""
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, newlines: bool = False) -> str:
    """`text` with every unsafe character escaped; with `newlines`, LF is kept (a
    multi-line text such as a rule's remediation)."""
    pattern = _UNSAFE_BUT_NEWLINE if newlines else UNSAFE
    if pattern.search(text) is None:  # the common case
        return text
    return pattern.sub(escape, text)
