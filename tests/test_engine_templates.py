"""Message templates: checked at load, rendered over plain data; the quick path renders like
the sandbox."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from auditor.engine.templates import TemplateError, compile_message, plain
from auditor.models import Image

IMAGE = Image.model_validate({
    "ImageId": "m-1", "ImageName": None, "Tags": {"owner": "a", "team.name": "t", "keys": "k"},
    "CreationTime": datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "Size": 40,
    "DetectionOptions": {"Items": [{"Name": "Nvme", "RiskLevel": "High", "RiskCode": "c1"},
                                   {"Name": "Cloudinit", "RiskLevel": "Low"}]},
    "DiskDeviceMappings": [{"Device": "/dev/xvda", "Size": 40, "Encrypted": False}],
})
PARAMS = ("days", "names")
VARIABLES: dict[str, Any] = {"params": {"days": 30, "names": ["a", "b"]},
                             "rule": {"id": "IMG-X", "title": "T", "severity": "low"},
                             "region": "cn-hangzhou", "account": "1234"}


def render(source: str, params: tuple[str, ...] = PARAMS, *, quick: bool = True,
           variables: dict[str, Any] | None = None) -> str:
    return compile_message(source, params, quick=quick)(IMAGE, variables or VARIABLES)


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ image.ImageId }} in {{ region }} of {{ account }}", "m-1 in cn-hangzhou of 1234"),
    ("name={{ image.ImageName }}.", "name=."),  # None renders empty
    ("{{ image.Features.NvmeSupport }}|{{ image.Features }}|", "||"),  # missing on the way
    ("{{ image.Tags.owner }} {{ image.Tags['team.name'] }} {{ image.Tags.nope }}", "a t"),
    ("{{ image.Tags.keys }}", "k"),  # a tag named like a mapping method is the tag
    ("{{ params.days }} {{ params['names'] }} {{ rule.id }}", "30 ['a', 'b'] IMG-X"),
    # the image is its JSON: a date is the API's text, an object a mapping
    ("{{ image.CreationTime }} {{ image.Size }}", "2020-01-02T03:04:05Z 40"),
    ("{{ image.DiskDeviceMappings[0] }}", "{'Type': None, 'Device': '/dev/xvda', 'Size': '40', "
     "'SnapshotId': None, 'Format': None, 'ImportOSSBucket': None, 'ImportOSSObject': None, "
     "'Progress': None, 'RemainTime': None, 'Encrypted': False}"),
    ("{{ image.DetectionOptions.Items[0].Name }}", "Nvme"),
    ("{{ params.names | join(', ') }}", "a, b"),
    ("{% for i in image.DetectionOptions.Items %}{{ i.RiskLevel }}{% endfor %}", "HighLow"),
    ("{{ image.DetectionOptions.Items | selectattr('RiskLevel', 'eq', 'High') "
     "| map(attribute='Name') | join }}", "Nvme"),
    ("{% for k, v in image.Tags | dictsort %}{{ k }}={{ v }};{% endfor %}",
     "keys=k;owner=a;team.name=t;"),
    ("{% if image.Size > 10 and params.days * 2 == 60 %}big{% else %}small{% endif %}", "big"),
    ("{{ params.names | reject('in', image.Tags) | join(', ') | upper }}", "A, B"),
    ("{{ image.ImageName | default('unnamed', true) }} {{ image.Size | filesizeformat }}",
     "unnamed 40 Bytes"),
    ("{{ (image.CreationTime | string)[:10] }}", "2020-01-02"),
    ("  padded \n", "padded"),
])
@pytest.mark.parametrize("quick", [True, False])
def test_render(source: str, expected: str, quick: bool) -> None:
    assert render(source, quick=quick) == expected


@pytest.mark.parametrize("name", ["keys", "items", "values", "get", "pop", "update", "copy",
                                  "clear", "setdefault", "fromkeys", "popitem"])
@pytest.mark.parametrize("quick", [True, False])
def test_params_named_like_mapping_methods_are_the_params(name: str, quick: bool) -> None:
    variables = {**VARIABLES, "params": {name: ["cost-centre", "owner"]}}
    for source in (f"{{{{ params.{name} | join(', ') }}}}", f"{{{{ params['{name}'] }}}}",
                   f"{{{{ params.{name} }}}}"):
        text = render(source, (name,), quick=quick, variables=variables)
        assert text in ("cost-centre, owner", "['cost-centre', 'owner']"), (source, text)


def test_the_template_sees_the_image_as_its_json() -> None:
    """Plain data only: the whole image renders as the JSON the inventory holds."""
    assert json.loads(render("{{ image | tojson }}")) == IMAGE.model_dump(mode="json")
    assert render("{{ image.DetectionOptions | string }}").startswith("{'Status': None, 'Items'")


@pytest.mark.parametrize("source", [
    "{{ image.ImageId }} ({{ image.ImageName }}) x {{ image.Tags.owner }}",
    "{{ params.days }}/{{ params['names'] }}/{{ image.Features }}/{{ image.DetectionOptions }}",
    "{{ params.names }}{{ image.Tags['keys'] }}{{ image.DiskDeviceMappings }}",
    "{{ region }}{{ rule.severity }}{{ image.CreationTime }}{{ account }}",
    "{{ (image.CreationTime | string)[:10] }}|{{ (image.ImageName | string)[1:3] }}|",
    "{{ image.Tags.nope | string }}|{{ (image.Size | string)[::-1] }}|{{ image.ImageId[2:] }}",
    "{{ image.DiskDeviceMappings[0].Encrypted }} {{ image.DiskDeviceMappings[5].Size }}",
    "{{ image.DetectionOptions.Items[-1].Name }}{{ params.names[1] }}{{ params.names[9] }}",
    "{{ image }}",
    "{{ image.Tags }}{{ image.Tags.owner }}{{ image.Tags.owner[0] }}{{ image.Features.NvmeSupport }}",
])
def test_quick_path_renders_exactly_like_the_sandbox(source: str) -> None:
    assert render(source) == render(source, quick=False)


def test_quick_path_slicing_fails_like_the_sandbox() -> None:
    """jinja slices with plain Python: slicing None raises (the engine then falls back)."""
    for quick in (True, False):
        with pytest.raises(TypeError):
            render("{{ image.ImageName[:3] }}", quick=quick)
        assert render("{{ (image.Tags.nope | string)[:2] }}|", quick=quick) == "|"


@pytest.mark.parametrize(("source", "problem"), [
    ("{{ ''.__class__.__mro__ }}", "message template may not read private attribute '__mro__'"),
    ("{{ image['__dict__'] }}", "message template may not read private attribute '__dict__'"),
    ("{{ imge.ImageId }}",
     "message template reads unknown variable 'imge' (did you mean 'image'?); "
     "available: image, params, rule, region, account"),
    ("{{ image.ImageIdd }}",
     "message template: image has no field 'ImageIdd' (did you mean 'ImageId'?)"),
    ("{{ image.Features.NvmeSuport }}",
     "message template: image.Features has no field 'NvmeSuport' (did you mean 'NvmeSupport'?)"),
    ("{% for i in image.DetectionOptions.Items %}{{ i.RiskLevl }}{% endfor %}",
     "message template: image.DetectionOptions.Items[] has no field 'RiskLevl' "
     "(did you mean 'RiskLevel'?)"),
    ("{{ params.nope }}", "message template: unknown param 'nope'; the rule declares: days, names"),
    ("{{ params.day }}", "message template: unknown param 'day' (did you mean 'days'?); the rule "
     "declares: days, names"),
    ("{{ rule.titel }}", "message template: rule has no field 'titel' (did you mean 'title'?)"),
    ("{{ image.DiskDeviceMappings.Size }}", "message template: image.DiskDeviceMappings is a "
     "list: loop over it (`{% for x in image.DiskDeviceMappings %}`) or take one item ([0])"),
    ("{{ image.ImageId.upper }}", "message template: image.ImageId is a single value, it has no "
     "'upper' (use filters, e.g. `| upper`)"),
    ("{{ image.ImageId.upper() }}", "message template: calling a function or method (`x.y()`) "
     "is not allowed; a message reads values and uses filters (`| upper`), tests and operators"),
    ("{{ image.Tags | lenght }}", "message template: unknown filter 'lenght' (did you mean "
     "'length'?); a message may use: abs, capitalize, count, d, default, dictsort, "
     "filesizeformat, first, float, int, items, join, last, length, list, lower, map, max, "
     "min, reject, rejectattr, replace, reverse, round, select, selectattr, sort, string, "
     "striptags, sum, title, tojson, trim, truncate, unique, upper, urlencode, wordcount"),
    ("{% if image.Size is odder %}{% endif %}", "message template: unknown test 'odder' (did "
     "you mean 'odd'?); a message may use: defined, undefined, none, boolean, false, true, "
     "integer, float, number, string, mapping, sequence, iterable, lower, upper, odd, even, "
     "divisibleby, eq, equalto, ==, ne, !=, lt, lessthan, <, le, <=, gt, greaterthan, >, ge, "
     ">=, in, sameas"),
    ("{{ loop.index }}", "message template reads unknown variable 'loop'; available: image, "
     "params, rule, region, account"),
    ("{% for i in image.DetectionOptions.Items %}{{ loop.cycle }}{% endfor %}",
     "message template: loop has no attribute 'cycle'; it has depth, depth0, first, index, "
     "index0, last, length, nextitem, previtem, revindex, revindex0"),
    ("{% set x = 1 %}", "message template: {% set %} is not allowed; a message is text, "
     "{{ ... }}, {% if %} and {% for %}"),
    ("{{ image.ImageId", "message template: unexpected end of template, expected 'end of print "
     "statement'."),
    ("x" * 10_001, "message template is longer than 10000 characters"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "message template: nested too deeply"),
    ("{% if image.Size %}" * 100 + "x" + "{% endif %}" * 100,
     "message template: nested too deeply"),
    # found by jinja's compiler (each part the sandbox renders is compiled at load)
    ("{{ image.ImageId }} {% for loop in image.Tags %}{{ loop }}{% endfor %}",
     "message template: Can't assign to special loop variable in for-loop target"),
    ("{% if image.Tags %}{% for k, loop in image.Tags | dictsort %}{% endfor %}{% endif %}",
     "message template: Can't assign to special loop variable in for-loop target"),
])
def test_rejected_at_load(source: str, problem: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_message(source, PARAMS)
    assert str(info.value) == problem


def test_the_line_of_a_problem_inside_the_template() -> None:
    with pytest.raises(TemplateError) as info:
        compile_message("line one\n{% if image.Size %}\n{{ image.Sise }}\n{% endif %}")
    assert info.value.line == 3


def test_plain_turns_yaml_values_into_data() -> None:
    from datetime import date
    assert plain({"d": date(2025, 1, 2), "t": (1, "a"), 3: None}) == {
        "d": "2025-01-02", "t": [1, "a"], "3": None}


@pytest.mark.parametrize(("size", "fails"), [(30, False), (32, True)])
def test_loops_of_one_message_are_bounded(size: int, fails: bool) -> None:
    """1,000 loop items per message, all loops together: 30 + 30 * 30 pass, 32 + 32 * 32 not."""
    from jinja2.sandbox import SecurityError

    variables = {**VARIABLES, "params": {"names": list(range(size))}}
    source = "{% for a in params.names %}{% for b in params.names %}.{% endfor %}{% endfor %}"
    if fails:
        with pytest.raises(SecurityError, match="may not loop more than 1000 times"):
            render(source, variables=variables)
    else:
        assert render(source, variables=variables) == "." * size * size
