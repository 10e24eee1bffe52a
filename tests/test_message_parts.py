"""Messages with loops or filters are rendered a part at a time (templates/parts.py): the
sandbox renders only the parts that need it, and for a canonical image's mapping remembers a
part's text by the values it reads. The text is always what the whole template renders in the
sandbox (the reference, `quick=False`), and so are its failures."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from auditor.canonical import canonical
from auditor.engine.templates import MAX_ITERATIONS, compile_message
from auditor.models import SAVED_SHAPE, Image

PARAMS = ("names", "keys")
VARIABLES: dict[str, Any] = {"params": {"names": ["a", "b"], "keys": ["owner", "env"]},
                             "rule": {"id": "R-1", "title": "T", "severity": "low"},
                             "region": "cn-a", "account": "1"}
SOURCES = [
    "{{ image.ImageId }}: {% for i in image.DetectionOptions.Items if i.RiskLevel == 'High' %}"
    "{{ i.Name }} ({{ i.RiskCode }}){% if not loop.last %}, {% endif %}{% endfor %}.",
    "{{ image.ImageId }} lacks {{ params.keys | reject('in', image.Tags) | join(', ') }}",
    "{% if image.IsPublic %}public {{ region }}{% else %}private{% endif %} {{ image.ImageName }}",
    "{{ image.DiskDeviceMappings | map(attribute='Size') | join('+') }} {{ image.Tags | length }}",
    "{{ image.CreationTime | default('never') }} / {{ image.SharePermission | tojson }}",
    "  {% for d in image.DiskDeviceMappings %}[{{ d.Size is none }} {{ d }}]{% endfor %}  ",
    "{{ image.Features | tojson }} {{ rule.id | lower }} {{ account | default('?') }}",
]


def _raw(**values: Any) -> dict[str, Any]:
    raw = {"ImageId": "m-1", "ImageName": "web", "IsPublic": True,
           "CreationTime": "2024-01-02T03:04:05Z", "Tags": {"owner": "a"},
           "DiskDeviceMappings": [{"Size": 40, "Encrypted": False}, {"Type": "data"}],
           "DetectionOptions": {"Items": [{"Name": "n", "RiskLevel": "High", "RiskCode": "c"}]},
           "Features": {"NvmeSupport": "supported", "Later": [1, None]},
           "SharePermission": {"Accounts": [{"AliyunId": "2",
                                             "SharedTime": "2026-06-01T00:00:00Z"}]},
           **values}
    assert canonical(raw)
    return raw


IMAGES = [_raw(), _raw(ImageId="m-2"), _raw(Tags={}), _raw(IsPublic=False, Tags={"env": "p"}),
          _raw(CreationTime="2024-01-02T03:04:05+08:00"),
          _raw(CreationTime="2024-01-01T19:04:05Z"),  # the same instant, another zone
          _raw(DetectionOptions={"Items": []}), _raw(Features=None)]


def _reference(source: str, raw: dict[str, Any]) -> str:
    image = Image.model_validate(copy.deepcopy(raw), context=SAVED_SHAPE)
    return compile_message(source, PARAMS, quick=False)(image, VARIABLES)


@pytest.mark.parametrize("source", SOURCES)
def test_parts_render_what_the_whole_template_renders(source: str) -> None:
    render = compile_message(source, PARAMS)
    expected = [_reference(source, raw) for raw in IMAGES]
    for _ in range(3):  # then again, from what each part remembered
        assert [render(raw, VARIABLES) for raw in IMAGES] == expected
        image = Image.model_validate(copy.deepcopy(IMAGES[0]), context=SAVED_SHAPE)
        assert render(image, VARIABLES) == expected[0]


def test_remembered_parts_still_count_their_loops() -> None:
    """Two loops of 600 items each: 1,200 iterations, past the budget of one message, whether
    the second loop's text was remembered or not."""
    source = ("{% for d in image.DiskDeviceMappings %}.{% endfor %}"
              "{% for t in image.InstanceIds %}.{% endfor %}")
    assert 600 < MAX_ITERATIONS < 1200
    short = _raw(DiskDeviceMappings=[{}] * 10, InstanceIds=["i"] * 600)
    long = _raw(DiskDeviceMappings=[{}] * 600, InstanceIds=["i"] * 600)
    render = compile_message(source, PARAMS)
    for _ in range(2):
        assert render(short, VARIABLES) == "." * 610 == _reference(source, short)
        with pytest.raises(SecurityError, match="loop more than"):
            render(long, VARIABLES)
        with pytest.raises(SecurityError, match="loop more than"):
            _reference(source, long)


def test_a_part_that_fails_fails_as_the_whole_template_does() -> None:
    source = "{{ image.ImageId }} {{ image.Tags | sum }}"  # summing text fails
    for render in (compile_message(source, PARAMS),
                   compile_message(source, PARAMS, quick=False)):
        with pytest.raises(TypeError):
            render(_raw(), VARIABLES)


def test_parts_whose_values_never_repeat_render_right_throughout() -> None:
    source = "{{ image.ImageId }} {{ image.DiskDeviceMappings | map(attribute='SnapshotId') | join }}"
    render = compile_message(source, PARAMS)
    raws = [_raw(DiskDeviceMappings=[{"SnapshotId": f"s-{n}"}]) for n in range(700)]
    assert [render(raw, VARIABLES) for raw in raws] == [f"m-1 s-{n}" for n in range(700)]


def test_values_json_cannot_write_are_rendered_not_remembered() -> None:
    """An integer past 64 bits has no JSON for orjson: the part is rendered each time."""
    source = "{{ image.ImageId }} {{ image.ImageOwnerId | string | length }}"
    render = compile_message(source, PARAMS)
    raw = _raw(ImageOwnerId=2**70)
    expected = _reference(source, raw)
    assert [render(raw, VARIABLES) for _ in range(3)] == [expected] * 3 == ["m-1 22"] * 3
