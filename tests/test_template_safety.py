"""A rule's message cannot reach the process: the known jinja sandbox escapes, through the CLI.

Each attempt is a rule file whose `message:` tries one escape, with a secret in the
environment. It is either refused when rules load (`rules validate` and `scan` exit 2 naming
file:line:col, nothing is written) or harmless (the scan runs; the message renders as plain
data or falls back to the title with one warning). In both cases the secret, a file's content
(/etc/passwd) and any Python object appear in no output: stdout, stderr, every report file.
Every attempt is also rendered straight through the sandbox, skipping the load-time check, to
show the second wall holds by itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import EXAMPLES, REPO, invoke
from jinja2 import TemplateError as JinjaError

from auditor.engine.templates import _ENV, render_sandboxed, sandboxed

SECRET = "LTAI5t-canary-S3cr3t-9f8e7d"
PWNED = "/tmp/imgaudit-template-pwned"
LEAKS = (SECRET, "<class", "<function", "<built-in", "<bound method", "<module",
         "environ(", "ModelField", "FieldInfo", "root:x:0")

REFUSED = [
    # str.format and its relatives read attributes from a format string
    '{{ "{0.__class__}".format(image) }}',
    '{{ "{0.model_fields[ImageId].annotation}".format(image) }}',
    "{{ '{0.__init__.__globals__[os].environ}'.format(image) }}",
    '{{ "{x.__class__}".format_map({"x": image}) }}',
    "{{ image.ImageId.format(image) }}",
    "{{ '%s' | format(image) }}",
    "{{ '{0.__class__}' | format(image) }}",
    "{{ image.ImageId | attr('format') }}",
    # dunder chains
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ image.__class__.__init__.__globals__['os'].environ }}",
    "{{ image['__class__'] }}",
    "{{ image.__dict__ }}",
    "{{ params.__class__ }}",
    "{{ params.names.__class__.__base__ }}",
    "{{ rule.__init__.__globals__ }}",
    "{{ image.Tags['__class__'] }}",
    "{{ image.ImageId.__len__() }}",
    "{{ (image | dictsort)[0][1].__class__ }}",
    "{{ self._TemplateReference__context }}",
    # the image model's own attributes and methods
    "{{ image.model_fields.ImageId.annotation }}",
    "{{ image.model_fields }}",
    "{{ image.model_config }}",
    "{{ image.model_dump() }}",
    "{{ image.parse_raw(\"cos\\nsystem\\n(S'touch " + PWNED + "'\\ntR.\", proto='pickle', "
    "allow_pickle=True) }}",
    "{{ image.parse_file('/etc/passwd') }}",
    "{{ image.__pydantic_fields__ }}",
    "{{ image.__pydantic_validator__ }}",
    "{{ image.Features.__pydantic_serializer__ }}",
    "{{ image.DetectionOptions.model_fields }}",
    "{% for i in image.DetectionOptions.Items %}{{ i.model_dump_json() }}{% endfor %}",
    "{{ image.CreationTime.tzinfo }}",
    "{{ image.CreationTime.strftime('%s') }}",
    "{{ image.Tags.items() }}",
    "{{ params.names.append('x') }}",
    # jinja's globals
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler('a', 'b').next() }}",
    "{{ joiner(',') }}",
    "{{ namespace(x=1) }}",
    "{{ lipsum() }}",
    "{{ dict(a=1) }}",
    "{{ range(10) | list }}",
    "{{ self }}",
    "{{ config }}",
    "{{ environment }}",
    "{{ caller() }}",
    "{{ varargs }}",
    # attr() and attribute= filters
    "{{ image | attr('__class__') }}",
    "{{ image | attr('__cl' ~ 'ass__') }}",
    "{{ '' | attr('__class__') }}",
    "{{ image | map(attribute='__class__') | list }}",
    "{{ image.DetectionOptions.Items | map(attribute='model_fields') | list }}",
    "{{ image.DetectionOptions.Items | map(attribute=params.names[0]) | list }}",
    "{{ image.DetectionOptions.Items | map('attr', '__class__') | list }}",
    "{{ params.names | map('format', image) | list }}",
    "{{ image.DetectionOptions.Items | selectattr('__class__') | list }}",
    "{{ image.DetectionOptions.Items | rejectattr('model_fields') | list }}",
    "{{ image.DetectionOptions.Items | sort(attribute='__class__') }}",
    "{{ image.DetectionOptions.Items | join(attribute='model_config') }}",
    "{{ params.names | select('callable') | list }}",
    # range, repetition and powers
    "{{ range(10**9) | list }}",
    "{{ range(99999999999) | length }}",
    "{{ 'x' * 1000000000 }}",
    "{{ image.ImageId * 999999999 }}",
    "{{ (image.ImageId ~ image.ImageId) * 99999999 }}",
    "{{ [image] * 999999999 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 10 ** 100000 }}",
    "{{ '%999999999d' % 1 }}",
    "{{ 'a' | center(999999999) }}",
    "{{ 'a' | indent(999999999) }}",
    "{{ params.names | batch(999999999) | list }}",
    "{{ params.names | slice(999999999) | list }}",
    "{{ image.ImageId | tojson(indent=999999999) }}",
    "{{ image.ImageId | wordwrap(1) }}",
    "{{ params.names | join(*params.names) }}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    # macros, recursion, blocks and other statements
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% macro m(x) %}{{ x }}{% endmacro %}{% call m(1) %}{% endcall %}",
    "{% for x in params.names recursive %}{{ loop(params.names) }}{% endfor %}",
    "{% for a in params.names %}{% for b in params.names %}{% for c in params.names %}"
    "{{ c }}{% endfor %}{% endfor %}{% endfor %}",
    "{% for i in image.DetectionOptions.Items %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for i in image.DetectionOptions.Items %}{{ loop.__class__ }}{% endfor %}",
    "{% set x = namespace() %}",
    "{% set x = 'a' %}{{ x }}",
    "{% set s %}{{ image.ImageId }}{% endset %}{{ s }}",
    "{% with x = image %}{{ x.model_fields }}{% endwith %}",
    "{% filter upper %}{{ image.ImageId }}{% endfilter %}",
    "{% block b %}{{ self }}{% endblock %}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}{{ os.environ }}",
    "{% from 'os' import environ %}{{ environ }}",
    "{% extends '/etc/passwd' %}",
    "{% autoescape false %}{{ image.ImageId }}{% endautoescape %}",
    "{% raw %}{{ image.ImageId }}{% endraw %}{{ image.Nope }}",
]

# Accepted when rules load: plain data only, and the sandbox bounds what it does at render time.
HARMLESS = [
    "{{ '{0.__class__}' }} is only text",
    "{{ params.names.pop }}{{ params.names.copy }}",  # a list has no attributes: empty
    "{{ params.names * 999999999 }}",  # bounded: the finding falls back to the title
    "{{ params.names[0] % 1 }}",  # % formatting of text is refused at render time
    "{{ image.Description | replace('', image.ImageId) }}",
    "{{ 'a' | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', "
    "'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') | replace('a', "
    "'aaaaaaaaaa') }}",
    "{{ image.ImageId | truncate(999999999) }}",
    "{% for a in params.many %}{% for b in params.many %}{{ a }}{% endfor %}{% endfor %}",
    "{% for a in params.many %}{% for b in params.many %}{% endfor %}{% endfor %}",
    "{{ 5 | round(-999999999) }}",  # would compute 10 ** 999999999
    "{{ image.Size | round(999999999, 'ceil') }}",
    "{{ image | tojson }} {{ image | string }}",
    "{{ image.Tags | dictsort }} {{ image.Tags | items | list }}",
    "{{ params.keys }}{{ params.get }}{{ params.items }}",  # params named like methods
    "{% for i in image.DetectionOptions.Items %}{{ loop.index }}{{ loop.previtem }}{% endfor %}",
    "{{ image.ImageId | urlencode }} {{ (image.CreationTime | string)[:10] }}",
]


MANY = list(range(100))  # 100 + 100 * 100 loop items: over the budget


def _rule(template: str) -> str:
    """Every example image fails this rule, so its message renders for each of them."""
    body = "\n".join("  " + line for line in template.splitlines())
    return ("id: ORG-EVIL\ntitle: Evil\nseverity: high\nrequire: {ImageId: never-an-image}\n"
            f"params: {{names: [a, b], keys: [k], get: [g], items: [i], many: {MANY}}}\n"
            f"message: |-\n{body}\n")


@pytest.fixture()
def env() -> dict[str, str]:
    return {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET, "ALIBABA_CLOUD_ACCESS_KEY_ID": SECRET}


def _reports(tmp_path: Path) -> list[str]:
    formats = ("json", "sarif", "html", "junit", "markdown")
    return [f"--{fmt}={tmp_path / f'out.{fmt}'}" for fmt in formats]


def _written(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in tmp_path.glob("out.*")}


def _assert_no_leak(*texts: str) -> None:
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, (leak, text[:300])
    assert not Path(PWNED).exists()


def _scan(tmp_path: Path, rule: Path, env: dict[str, str]) -> Any:
    return invoke("scan", "--input", EXAMPLES / "inventory.json", "--rules", rule,
                  "--no-builtin-rules", "--format", "text", *_reports(tmp_path), env=env)


@pytest.mark.parametrize("template", REFUSED)
def test_escape_is_refused_at_load(tmp_path: Path, env: dict[str, str], template: str) -> None:
    rule = tmp_path / "evil.yaml"
    rule.write_text(_rule(template))
    for result in (invoke("rules", "validate", rule, env=env), _scan(tmp_path, rule, env)):
        assert result.exit_code == 2, (template, result.stdout, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, lines
        # file:line:col of the message: its key is line 6, its text starts on line 7
        assert re.fullmatch(rf"imgaudit: error: {re.escape(str(rule))}:(6|7|8|9):\d+: "
                            r"message template.*", lines[0]), lines[0]
        _assert_no_leak(result.stderr)
    assert _written(tmp_path) == {}  # nothing was scanned


@pytest.mark.parametrize("template", HARMLESS)
def test_harmless_template_renders_plain_data(tmp_path: Path, env: dict[str, str],
                                              template: str) -> None:
    rule = tmp_path / "evil.yaml"
    rule.write_text(_rule(template))
    assert invoke("rules", "validate", rule, env=env).exit_code == 0
    result = _scan(tmp_path, rule, env)
    assert result.exit_code == 1, result.stderr  # 41 high findings
    written = _written(tmp_path)
    assert sorted(written) == ["out.html", "out.json", "out.junit", "out.markdown", "out.sarif"]
    _assert_no_leak(result.stdout, result.stderr, *written.values())
    warnings = [line for line in result.stderr.splitlines() if "message template failed" in line]
    assert len(warnings) <= 1, warnings  # once per rule, not once per image


def test_a_failing_render_warns_once_naming_the_rule(tmp_path: Path,
                                                     env: dict[str, str]) -> None:
    rule = tmp_path / "evil.yaml"
    rule.write_text(_rule("{{ params.names * 999999999 }}"))
    result = _scan(tmp_path, rule, env)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()  # one warning for 41 failed messages
    assert line.lower().startswith("imgaudit: warning: ")
    assert line.endswith(
        "rule ORG-EVIL: the message template failed for 41 finding(s), first for image "
        "aliyun_3_arm64_20G_alibase_20261010.vhd (SecurityError: a message may not build text "
        "longer than 100000 characters); those findings carry the fallback message")
    assert result.stdout.count("Evil (message template failed: SecurityError)") >= 1


PLAIN_CONTEXT: dict[str, Any] = {
    "image": {"ImageId": "m-1", "ImageName": "n", "Description": "d", "Tags": {"k": "v"},
              "CreationTime": "2020-01-02T03:04:05Z",
              "DetectionOptions": {"Items": [{"Name": "a", "RiskLevel": "High"}]}},
    "params": {"names": ["a", "b"], "keys": ["k"], "get": ["g"], "items": ["i"], "many": MANY},
    "rule": {"id": "ORG-EVIL", "title": "Evil", "severity": "high"},
    "region": "cn-hangzhou", "account": None,
}


@pytest.mark.parametrize("template", REFUSED + HARMLESS)
def test_the_sandbox_alone_holds(template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second wall: the template compiled for the sandbox (with its loop budget) and
    rendered over plain data, without the load-time check."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    try:
        text = render_sandboxed(sandboxed(_ENV.parse(template)), PLAIN_CONTEXT)
    except (JinjaError, TypeError, ValueError, RecursionError, ZeroDivisionError):
        return  # refused (SecurityError is a jinja TemplateError) or failed harmlessly
    _assert_no_leak(text)
    assert len(text) < 10_000


def test_escapes_in_a_real_process(tmp_path: Path) -> None:
    """The real entry point with the secret in its environment: every refused attempt is
    reported at once by `rules validate`, every harmless one runs through `scan`."""
    refused, harmless = tmp_path / "refused", tmp_path / "harmless"
    refused.mkdir()
    harmless.mkdir()
    for i, template in enumerate(REFUSED):
        (refused / f"r{i:03}.yaml").write_text(_rule(template).replace("ORG-EVIL", f"R{i}"))
    for i, template in enumerate(HARMLESS):
        (harmless / f"h{i:03}.yaml").write_text(_rule(template).replace("ORG-EVIL", f"H{i}"))
    environ = {**os.environ, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}
    command = [sys.executable, "-m", "auditor"]
    done = subprocess.run([*command, "rules", "validate", refused], capture_output=True,
                          text=True, env=environ, cwd=REPO, check=False, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == len(REFUSED)
    _assert_no_leak(done.stdout, done.stderr)
    done = subprocess.run([*command, "scan", "--input", EXAMPLES / "inventory.json", "--rules",
                           harmless, "--no-builtin-rules", *_reports(tmp_path)],
                          capture_output=True, text=True, env=environ, cwd=REPO, check=False,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    _assert_no_leak(done.stdout, done.stderr, *_written(tmp_path).values())


def test_attempt_count() -> None:
    """The closing note reports this number; keep the lists free of duplicates."""
    assert len(set(REFUSED)) == len(REFUSED) and len(set(HARMLESS)) == len(HARMLESS)
    assert len(REFUSED) + len(HARMLESS) >= 100
