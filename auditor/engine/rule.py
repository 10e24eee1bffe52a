"""The rule model: the YAML keys (pydantic, unknown keys forbidden) and the checked rule.

`build_rule` turns one YAML mapping into a `Rule` or a list of positioned problems; nothing
is compiled for evaluation here (that needs the evaluation date, see `Rule.compiled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from auditor.engine.codegen import Filter, Split, compile_filter, compile_split
from auditor.engine.compiler import Compiled, compile_cond
from auditor.engine.conditions import Cond, Parser, field_roots
from auditor.engine.fields import FieldPathError, FieldRef, resolve
from auditor.engine.templates import Renderer, TemplateError, compile_message
from auditor.errors import SourceProblem
from auditor.findings import RuleInfo, Severity
from auditor.frameworks import FRAMEWORKS
from auditor.lang import DEFAULT_LANG, TRANSLATIONS
from auditor.models import ENRICHMENTS, Image
from auditor.yamlio import Loc, YamlDoc, did_you_mean, validation_problems

RULE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*$"


class RuleExamples(BaseModel):
    """`tests:` images that must pass and images that must fail (partial image mappings)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    today: date | None = Field(None, description="evaluation date for age operators")
    pass_: list[dict[str, Any]] = Field(default_factory=list, alias="pass")
    fail: list[dict[str, Any]] = Field(default_factory=list)


class RuleText(BaseModel):
    """A rule's text in one other language (`i18n: {zh-CN: {...}}`); a key left out falls
    back to the English one."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1)
    description: str | None = None
    remediation: str | None = None
    message: str | None = Field(None, description="jinja2 template, checked like `message`")


LOCALISED = ("title", "description", "remediation", "message")  # the keys RuleText translates


def _control_text(value: Any) -> Any:
    """A control id is a string: YAML reads an unquoted 4.10 as the number 4.1."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"write control ids in quotes ('{value}'): YAML reads an unquoted "
                         "4.10 as the number 4.1")
    return value


ControlId = Annotated[str, BeforeValidator(_control_text)]


class RuleSpec(BaseModel):
    """One rule as written in YAML (DESIGN §5)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=RULE_ID_PATTERN, description="stable, unique rule id")
    title: str = Field(min_length=1)
    severity: Severity
    description: str = ""
    remediation: str = ""
    references: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    frameworks: dict[str, Annotated[list[ControlId], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="controls this rule evidences, by framework id: "
                    f"{', '.join(FRAMEWORKS)} (see docs/frameworks.md)",
        json_schema_extra={"propertyNames": {"enum": list(FRAMEWORKS)}})
    when: dict[str, Any] | None = Field(None, description="applicability filter (a condition)")
    require: dict[str, Any] = Field(description="what a compliant image satisfies (a condition)")
    message: str | None = Field(
        None, description="jinja2 template: image, params, rule, region, account")
    params: dict[str, Any] = Field(default_factory=dict, description="name -> default value")
    evidence: list[str] = Field(
        default_factory=list, description="field paths every finding shows besides the failed "
        "conditions (e.g. InstanceIds: the instances that run the image)")
    i18n: dict[str, RuleText] = Field(
        default_factory=dict, description=f"translations by language: {', '.join(TRANSLATIONS)}")
    tests: RuleExamples | None = None


@dataclass
class Rule:
    """A validated rule, ready to compile for an evaluation date."""

    spec: RuleSpec
    doc: YamlDoc
    base: Loc
    when: Cond | None
    require: Cond
    render: Renderer | None
    severity: Severity
    params: dict[str, Any]
    examples: dict[str, list[Image]] = field(default_factory=dict)
    renders: dict[str, Renderer] = field(default_factory=dict)  # language -> translated message
    context: tuple[FieldRef, ...] = ()  # the `evidence:` fields
    _cache: dict[tuple[date, bool], tuple[Compiled | None, Compiled]] = field(
        default_factory=dict)
    _filters: dict[date, Filter] = field(default_factory=dict)
    _splits: dict[tuple[date, bool], Split] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def where(self) -> str:
        line, column = self.doc.mark(self.base)
        return f"{self.doc.path}:{line}:{column}"

    def text(self, key: str, lang: str = DEFAULT_LANG) -> str:
        """`title`, `description` or `remediation` in `lang`, else in English."""
        english: str = getattr(self.spec, key)
        translation = self.spec.i18n.get(lang)
        return getattr(translation, key) or english if translation else english

    def renderer(self, lang: str = DEFAULT_LANG) -> Renderer | None:
        """The message template in `lang`, else the English one (None: the title)."""
        return self.renders.get(lang, self.render)

    def info(self, lang: str = DEFAULT_LANG) -> RuleInfo:
        """The rule's metadata in `lang`; in another language, with the English alongside."""
        data = self.spec.model_dump(include=set(RuleInfo.model_fields))
        data["severity"] = self.severity
        if lang != DEFAULT_LANG:
            for key in ("title", "description", "remediation"):
                data[f"{key}_en"], data[key] = data[key], self.text(key, lang)
        return RuleInfo(**data)

    @property
    def needs(self) -> frozenset[str]:
        """The enrichments (models.ENRICHMENTS) the rule's conditions read: an image whose
        enrichment could not be collected is not evaluated by this rule."""
        roots = field_roots(self.when) | field_roots(self.require)
        return frozenset(roots & set(ENRICHMENTS))

    @property
    def uses(self) -> frozenset[str]:
        """The enrichments the rule reads or shows (`evidence:`): a scan collects them."""
        shown = {ref.path.split(".")[0] for ref in self.context}
        return self.needs | (shown & set(ENRICHMENTS))

    def compiled(self, today: date, *, raw: bool = False) -> tuple[Compiled | None, Compiled]:
        """(when, require) compiled for `today`, once per date; with `raw`, over canonical
        images' mappings (`auditor.canonical`)."""
        key = (today, raw)
        if key not in self._cache:
            when = (compile_cond(self.when, self.params, today, raw=raw) if self.when
                    else None)
            self._cache[key] = (when, compile_cond(self.require, self.params, today, raw=raw))
        return self._cache[key]

    def failing(self, today: date) -> Filter:
        """`images -> failing images`, generated once per date (see codegen.py)."""
        if today not in self._filters:
            self._filters[today] = compile_filter(self.when, self.require, self.params, today,
                                                   self.id)
        return self._filters[today]

    def split(self, today: date, *, raw: bool = False) -> Split:
        """`images -> (images `when` selects, failing images)`: what evaluate counts; with
        `raw`, over canonical images' mappings (`auditor.canonical`)."""
        key = (today, raw)
        if key not in self._splits:
            self._splits[key] = compile_split(self.when, self.require, self.params, today,
                                              self.id, raw=raw)
        return self._splits[key]


def _template(source: str | None, spec: RuleSpec, doc: YamlDoc,
              loc: Loc) -> tuple[Renderer | None, list[SourceProblem]]:
    if source is None:
        return None, []
    try:
        return compile_message(source, spec.params), []
    except TemplateError as exc:
        line, column = doc.mark(loc)
        return None, [SourceProblem(doc.path, line + exc.line - 1, column, str(exc))]


def _translations(spec: RuleSpec, doc: YamlDoc,
                  base: Loc) -> tuple[dict[str, Renderer], list[SourceProblem]]:
    """Each `i18n` language must be one imgaudit speaks; each translated message template
    passes the same load-time check as the English one."""
    renders: dict[str, Renderer] = {}
    problems: list[SourceProblem] = []
    for lang, text in spec.i18n.items():
        loc = (*base, "i18n", lang)
        if lang not in TRANSLATIONS:
            hint = did_you_mean(lang, TRANSLATIONS)
            problems.append(doc.problem(loc, f"i18n: unknown language {lang!r}{hint}; "
                                        f"translations are for: {', '.join(TRANSLATIONS)} "
                                        "(English is the rule's own text)", key=True))
            continue
        render, found = _template(text.message, spec, doc, (*loc, "message"))
        problems += found
        if render is not None:
            renders[lang] = render
    return renders, problems


def _frameworks(value: dict[str, Any], doc: YamlDoc, base: Loc) -> list[SourceProblem]:
    """Each framework must be declared (auditor/frameworks.py), each control id must be one of
    its controls, and no control is named twice. Read from the rule's raw mapping, so that
    these problems are reported with pydantic's (a number for a control id, an empty list)."""
    mapping = value.get("frameworks")
    problems: list[SourceProblem] = []
    for framework_id, controls in (mapping.items() if isinstance(mapping, dict) else ()):
        if not isinstance(framework_id, str) or not isinstance(controls, list):
            continue  # pydantic said so
        loc = (*base, "frameworks", framework_id)
        framework = FRAMEWORKS.get(framework_id)
        if framework is None:
            hint = did_you_mean(framework_id, FRAMEWORKS)
            problems.append(doc.problem(
                loc, f"frameworks: unknown framework {framework_id!r}{hint}; known: "
                f"{', '.join(FRAMEWORKS)}", key=True, code="rule.unknown-framework"))
            continue
        seen: set[str] = set()
        for i, control in enumerate(controls):
            if not isinstance(control, str):
                continue
            problem = framework.control_problem(control)
            if problem is None and control in seen:
                problem = f"control {control!r} of {framework_id} is listed twice"
            elif problem is not None and framework.complete:
                problem += did_you_mean(control, framework.controls)
            if problem is not None:
                problems.append(doc.problem((*loc, i), f"frameworks: {problem}",
                                            code="rule.invalid-control"))
            seen.add(control)
    return problems


def _examples(spec: RuleSpec, doc: YamlDoc,
              base: Loc) -> tuple[dict[str, list[Image]], list[SourceProblem]]:
    cases: dict[str, list[Image]] = {"pass": [], "fail": []}
    problems: list[SourceProblem] = []
    if spec.tests is None:
        return cases, problems
    for kind, images in (("pass", spec.tests.pass_), ("fail", spec.tests.fail)):
        for i, data in enumerate(images):
            loc = (*base, "tests", kind, i)
            data = {"ImageId": f"m-{spec.id.lower()}-{kind}-{i + 1}", **data}
            try:
                cases[kind].append(Image.model_validate(data))
            except ValidationError as exc:
                problems += validation_problems(exc, doc, loc, label=f"tests.{kind}.{i}")
    return cases, problems


def _context(spec: RuleSpec, doc: YamlDoc,
             base: Loc) -> tuple[tuple[FieldRef, ...], list[SourceProblem]]:
    """The `evidence:` paths, resolved like condition fields (with a did-you-mean)."""
    refs: list[FieldRef] = []
    problems: list[SourceProblem] = []
    for i, path in enumerate(spec.evidence):
        try:
            refs.append(resolve(path, Image))
        except FieldPathError as exc:
            problems.append(doc.problem((*base, "evidence", i), str(exc),
                                        code="rule.unknown-field"))
    return tuple(refs), problems


def _valid_part(value: dict[str, Any], bad: set[Any]) -> RuleSpec:
    """A spec of the keys that validated, so that their own checks (conditions, message,
    examples) still run and `validate` reports every problem at once. A key that depends on
    an invalid one is skipped: conditions when `params` is invalid (every param would look
    undeclared), the message when `params` is."""
    good = {k: v for k, v in value.items() if k in RuleSpec.model_fields and k not in bad}
    if "params" in bad:
        good = {k: v for k, v in good.items() if k not in ("when", "require", "message", "i18n")}
    examples = good.pop("tests", None)
    translations = good.pop("i18n", {})
    spec = RuleSpec.model_construct(**{"id": "?", "title": "?", "severity": Severity.INFO,
                                       "require": None, **good})
    if examples is not None:
        spec.tests = RuleExamples.model_validate(examples)  # validated already: it is good
    spec.i18n = {lang: RuleText.model_validate(text) for lang, text in translations.items()}
    return spec


def build_rule(doc: YamlDoc, value: Any, base: Loc) -> tuple[Rule | None, list[SourceProblem]]:
    """Validate one rule mapping; every problem is positioned in `doc`."""
    if not isinstance(value, dict):
        return None, [doc.problem(base, "a rule is a mapping of keys (id, title, severity, ...)")]
    try:
        spec = RuleSpec.model_validate(value)
        problems = []
    except ValidationError as exc:  # report it, and still check the keys that are valid
        problems = validation_problems(exc, doc, base, RuleSpec)
        spec = _valid_part(value, {err["loc"][0] for err in exc.errors() if err["loc"]})
    parser = Parser(doc, set(spec.params))
    when = parser.cond(spec.when, (*base, "when"), Image) if spec.when is not None else None
    require = (parser.cond(spec.require, (*base, "require"), Image)
               if spec.require is not None else None)
    render, template_problems = _template(spec.message, spec, doc, (*base, "message"))
    renders, translation_problems = _translations(spec, doc, base)
    examples, example_problems = _examples(spec, doc, base)
    context, context_problems = _context(spec, doc, base)
    problems += (parser.problems + template_problems + translation_problems + example_problems
                 + _frameworks(value, doc, base) + context_problems)
    if problems or require is None:
        return None, problems
    rule = Rule(spec, doc, base, when, require, render, spec.severity, dict(spec.params), examples,
                renders, context)
    return rule, []
