"""Rule and config files are read with libyaml's parser where it agrees with PyYAML's own
(auditor/yamlio.py `_fast`): the same values and the same line:column of every key and value;
anything odd is read by the pure-Python parser, which reports every problem as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import yamlio

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted([*ROOT.glob("rules/*.yaml"), *ROOT.glob("examples/**/*.yaml"),
                 *ROOT.glob("examples/**/*.yml")])
SNIPPETS = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: e}\n",
    "message: >-\n  {{ image.ImageId }} 中文\n  next line\nremediation: |\n    deeper\n",
    "- id: X\n  when: {Tags.owner: {exists: true}}\n---\nsecond: doc\n",
    "title: 镜像 ✓\nlist:\n- |\n  block in a list\n- >\n    folded\nn: 2025-01-31\nf: 1.5\nb: yes\n",
    "empty:\nnull_value: null\nquoted: 'it''s'\nlong: \"a\\tb\\u00e9\"\n",
]


def _pure(text: str) -> list[yamlio.YamlDoc]:
    return yamlio._documents(yamlio._NoAnchorLoader(text), text, "t.yaml")


@pytest.mark.parametrize("text", [*(p.read_text(encoding="utf-8") for p in CORPUS), *SNIPPETS])
def test_both_parsers_read_the_same_values_at_the_same_places(text: str) -> None:
    fast = yamlio._fast(text, "t.yaml")
    assert fast is not None, "libyaml's parser should read this text"
    pure = _pure(text)
    assert [(d.value, d.values, d.keys) for d in fast] == [
        (d.value, d.values, d.keys) for d in pure]


def test_the_corpus_is_not_empty() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",            # anchors are refused: the reference parser says where
    "a: 1\na: 2\n",                # a duplicate key
    "a: [1\n",                     # a syntax error
    "a: 1\r\nb: 2\r\n",            # carriage returns: read by the reference parser
    "\ufeffa: 1\n",                # a byte order mark
    "a: \x9f\n",                   # a character YAML does not allow
    "a: 1\x85b: 2\n", "a: 1\u2028b: 2\n",  # line breaks other than \n
    "a: 2025-02-30\n",             # an impossible date
])
def test_anything_odd_is_left_to_the_reference_parser(text: str) -> None:
    assert yamlio._fast(text, "t.yaml") is None
