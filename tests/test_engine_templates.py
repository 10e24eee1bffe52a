"""Message templates: sandboxed, checked at load, and the quick path renders like jinja."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from auditor.engine.templates import TemplateError, compile_message
from auditor.models import Image

IMAGE = Image.model_validate({
    "ImageId": "m-1", "ImageName": None, "Tags": {"owner": "a", "team.name": "t"},
    "CreationTime": datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "Size": 40,
    "DetectionOptions": {"Items": [{"Name": "Nvme", "RiskLevel": "High"}]},
})
CONTEXT: dict[str, Any] = {"image": IMAGE, "params": {"days": 30, "names": ["a", "b"]},
                           "rule": {"id": "IMG-X", "title": "T", "severity": "low"},
                           "region": "cn-hangzhou"}


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ image.ImageId }} in {{ region }}", "m-1 in cn-hangzhou"),
    ("name={{ image.ImageName }}.", "name=."),  # None renders empty
    ("{{ image.Features.NvmeSupport }}|{{ image.Nope.Deeper }}|", "||"),  # missing: empty
    ("{{ image.Tags.owner }} {{ image.Tags['team.name'] }} {{ image.Tags.nope }}", "a t"),
    ("{{ params.days }} {{ params['names'] }} {{ rule.id }}", "30 ['a', 'b'] IMG-X"),
    ("{{ image.CreationTime }} {{ image.Size }}", "2020-01-02 03:04:05+00:00 40"),
    ("{{ image.DetectionOptions.Items[0].Name }}", "Nvme"),  # not a quick-path template
    ("{{ params.names | join(', ') }}", "a, b"),
    ("{% for i in image.DetectionOptions.Items %}{{ i.RiskLevel }}{% endfor %}", "High"),
    ("  padded \n", "padded"),
    ("{{ range(3) | list }} {{ namespace is defined }}", "[0, 1, 2] True"),  # jinja globals
])
def test_render(source: str, expected: str) -> None:
    assert compile_message(source)(CONTEXT) == expected


@pytest.mark.parametrize("source", [
    "{{ image.ImageId }} ({{ image.ImageName }}) x {{ image.Tags.owner }}",
    "{{ params.days }}/{{ params['names'] }}/{{ image.Nope }}/{{ image.Features }}",
    "{{ params.keys }}",  # jinja reads attributes first: the dict's method
    "{{ region }}{{ rule.severity }}{{ image.CreationTime }}",
    "{{ (image.CreationTime | string)[:10] }}|{{ (image.ImageName | string)[1:3] }}|",
    "{{ image.Nope | string }}|{{ (image.Size | string)[::-1] }}|{{ image.ImageId[2:] }}",
])
def test_quick_path_renders_exactly_like_jinja(source: str) -> None:
    env = ImmutableSandboxedEnvironment(finalize=lambda v: "" if v is None else v)
    assert compile_message(source)(CONTEXT) == env.from_string(source).render(CONTEXT).strip()


def test_quick_path_slicing_fails_like_jinja() -> None:
    """jinja slices with plain Python: slicing None raises (the engine then falls back)."""
    env = ImmutableSandboxedEnvironment()
    with pytest.raises(TypeError):
        env.from_string("{{ image.Features[:3] }}").render(CONTEXT)
    with pytest.raises(TypeError):
        compile_message("{{ image.Features[:3] }}")(CONTEXT)
    assert compile_message("{{ (image.Nope.X | string)[:2] }}|")(CONTEXT) == "|"


@pytest.mark.parametrize(("source", "problem"), [
    ("{{ ''.__class__.__mro__ }}", "message template may not read private attribute '__mro__'"),
    ("{{ image.__class__ }}", "message template may not read private attribute '__class__'"),
    ("{{ image['__dict__'] }}", "message template may not read private attribute '__dict__'"),
    ("{{ cycler.__init__.__globals__ }}",
     "message template may not read private attribute '__globals__'"),
    ("{{ imge.ImageId }}",
     "message template reads unknown variable 'imge' (did you mean 'image'?); "
     "available: image, params, rule, region"),
    ("{{ image.ImageId", "message template: unexpected end of template, expected 'end of print "
     "statement'."),
])
def test_rejected_at_load(source: str, problem: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_message(source)
    assert str(info.value) == problem


@pytest.mark.parametrize("source", [
    "{{ image.ImageId.__class__ | string }}",
    "{{ image.model_dump.__func__ }}",
    "{{ (image | attr('__class__')).__mro__ }}",
    "{{ image.model_dump | attr('__class__') }}",
    "{% set x = params.names.append('z') %}{{ params.names }}",
    "{{ image.ImageName.format.__globals__ }}",
])
def test_sandbox_refuses_at_render(source: str) -> None:
    try:
        render = compile_message(source)
    except TemplateError:
        return  # refused at load: fine
    try:
        text = render(CONTEXT)
    except Exception as exc:  # refused at render: fine
        assert type(exc).__name__ in ("SecurityError", "UndefinedError")
    else:  # or rendered as an undefined (empty) value
        assert "class" not in text and "<" not in text, text
    assert CONTEXT["params"]["names"] == ["a", "b"]  # nothing was modified
