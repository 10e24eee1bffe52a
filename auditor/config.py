"""The configuration file (`imgaudit.yaml` or `--config`): a typed model and its loader.

Precedence is command line > environment (`IMGAUDIT_*`) > this file > defaults. The CLI gets
it for free from click: scan options read `IMGAUDIT_<OPTION>` and take this file's values as
their `default_map`. Engine settings (rules, params, waivers) live only here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from auditor.errors import RuleError, SourceProblem
from auditor.findings import FailOn, Severity
from auditor.formats import FORMATS
from auditor.frameworks import FRAMEWORKS
from auditor.lang import Lang
from auditor.yamlio import YamlDoc, did_you_mean, read_yaml, validation_problems

DEFAULT_CONFIG_NAME = "imgaudit.yaml"
DEFAULT_WAIVER_WARNING_DAYS = 14  # waivers in use that expire this soon are warned about
# The scan options this file may set a default for, named as the options' parameters (a key
# that named no parameter would be accepted and silently ignored: tests/test_config_keys.py).
SCAN_OPTION_KEYS = ("fail_on", "format", "region", "owner", "status", "endpoint", "profile",
                    "concurrency", "signature", "min_severity", "history", "lang",
                    "waiver_expiry_warning_days", "group_by_tag", "accounts", "role_name")
# A key whose option's parameter is named otherwise (`--accounts FILE` is `accounts_file`).
OPTION_OF_KEY = {"accounts": "accounts_file"}


Pattern = Annotated[str, Field(min_length=1)]


def _known_framework(name: str) -> str:
    if name not in FRAMEWORKS:
        raise PydanticCustomError(
            "unknown_framework", "unknown framework {name}{hint}; known: {known}",
            {"name": repr(name), "hint": did_you_mean(name, FRAMEWORKS),
             "known": ", ".join(FRAMEWORKS)})
    return name


FrameworkId = Annotated[str, AfterValidator(_known_framework)]  # declared in auditor/frameworks.py
# The keys of a waiver that select images; a waiver gives at least one.
SELECTOR_KEYS = ("images", "image_names", "image_families", "tags", "accounts")


class Waiver(BaseModel):
    """An accepted exception: all of reason, owner and expiry are required.

    It selects findings of `rule` by image id, image name, image family, tags and account:
    every selector given must match (AND), and within one list any item may (OR); `tags`
    needs every key it lists. Ids, names, families, accounts and tag values are globs."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(min_length=1)
    images: list[Pattern] = Field(default_factory=list, description="image ids or globs")
    image_names: list[Pattern] = Field(default_factory=list, description="image name globs")
    image_families: list[Pattern] = Field(default_factory=list,
                                          description="image family globs")
    tags: dict[Pattern, str] = Field(default_factory=dict, description="tag key -> value glob")
    accounts: list[Pattern] = Field(default_factory=list, description="account ids or globs")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date

    @field_validator("images", "image_names", "image_families", "accounts", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        value = [value] if isinstance(value, (str, int)) else value
        if isinstance(value, list):  # account ids are numbers in YAML unless quoted
            value = [_number_as_text(item) for item in value]
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _number_as_text(item) for key, item in value.items()}
        return value

    @field_validator("images", "image_names", "image_families", "accounts", "tags")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if not value:
            raise PydanticCustomError("empty_selector", "an empty selector selects nothing: "
                                      "list at least one value, or remove the key")
        return value

    @model_validator(mode="after")
    def _selects_something(self) -> Waiver:
        if not self.selectors():
            raise PydanticCustomError(
                "no_selector", "a waiver must select images: give at least one of "
                + ", ".join(SELECTOR_KEYS))
        return self

    def selectors(self) -> dict[str, Any]:
        """The selectors this waiver gives, by key."""
        return {key: getattr(self, key) for key in SELECTOR_KEYS if getattr(self, key)}


def _number_as_text(value: Any) -> Any:
    """`123456` as "123456" (not `true`: a boolean is no id and no tag value)."""
    return str(value) if type(value) is int else value


class Config(BaseModel):
    """Everything the config file may say. Unknown keys are errors (a typo is not a no-op)."""

    model_config = ConfigDict(extra="forbid")

    # engine settings
    rules: list[str] = Field(default_factory=list, description="extra rule files or folders")
    builtin_rules: bool = True
    select: list[str] = Field(default_factory=list,
                              description="rule ids or globs to run (default all): --rule")
    disable: list[str] = Field(default_factory=list,
                               description="rule ids or globs to skip: --skip-rule")
    min_severity: Severity | None = Field(None, description="rules below it are not run")
    frameworks: list[FrameworkId] = Field(
        default_factory=list,
        description="run only the rules mapped to these frameworks: --framework")
    severity: dict[str, Severity] = Field(default_factory=dict, description="rule id -> severity")
    params: dict[str, dict[str, Any]] = Field(default_factory=dict, description="rule id -> params")
    waivers: list[Waiver] = Field(default_factory=list)
    # defaults of scan options (the command line and IMGAUDIT_* win over these)
    fail_on: FailOn | None = None
    format: str | None = Field(default=None, description="what goes to stdout (a FORMATS name)")
    region: list[str] | None = None
    owner: str | None = None
    status: str | None = None
    endpoint: str | None = None
    profile: str | None = None
    concurrency: int | None = None
    signature: Literal["v3", "v1"] | None = None
    history: str | None = Field(default=None, description="history file, relative to this file")
    lang: Lang | None = Field(default=None, description="language of rule texts and reports")
    waiver_expiry_warning_days: int | None = Field(
        default=None, ge=0, le=36500,
        description="warn about waivers in use that expire within this many days (0: never)")
    group_by_tag: str | None = Field(
        default=None, min_length=1,
        description="text, Markdown and HTML reports: findings by this image tag's value")
    accounts: str | None = Field(
        default=None, min_length=1,
        description="accounts file of an organisation scan (--accounts), relative to this file")
    role_name: str | None = Field(
        default=None, min_length=1,
        description="role assumed in each member account that names no role_arn (--role-name)")

    base_dir: Path = Field(default=Path("."), exclude=True)
    _doc: YamlDoc | None = PrivateAttr(default=None)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            names = [repr(name) for name in FORMATS]
            raise PydanticCustomError("literal_error", "Input should be {expected}",
                                      {"expected": f"{', '.join(names[:-1])} or {names[-1]}"})
        return value

    def problem(self, loc: tuple[str | int, ...], text: str, *, key: bool = False,
                code: str = "config.invalid") -> SourceProblem:
        """A problem at `loc` of the config file (line 1 when it was not read from a file)."""
        if self._doc is None:
            return SourceProblem("config", 1, 1, f"{'.'.join(map(str, loc))}: {text}", code)
        return self._doc.problem(loc, text, key=key, code=code)

    def rule_paths(self) -> list[Path]:
        """Rule paths from the file, relative to the file's own folder."""
        return [self.base_dir / path for path in self.rules]

    def option_defaults(self) -> dict[str, Any]:
        """The scan-option defaults this file sets, keyed like click's parameter names."""
        defaults = {OPTION_OF_KEY.get(k, k): getattr(self, k) for k in SCAN_OPTION_KEYS
                    if getattr(self, k) is not None}
        if self.history:  # a path, like `rules:`, is relative to the config file
            defaults["history"] = self.base_dir / self.history
        if self.accounts:
            defaults["accounts_file"] = self.base_dir / self.accounts
        selection = {"rule": self.select, "skip_rule": self.disable,  # option <- key
                     "frameworks": self.frameworks}
        return defaults | {option: value for option, value in selection.items() if value}


def load_config(path: Path) -> Config:
    """Read a config file; every problem is a RuleError entry with file:line:col."""
    try:
        return _load_config(path)
    except RuleError as exc:  # the YAML reader's codes say `rule.`: this is a config file
        raise RuleError([problem.of_config() for problem in exc.problems]) from None


def _load_config(path: Path) -> Config:
    docs = read_yaml(path)
    if len(docs) > 1:
        raise RuleError([docs[1].problem((), "a config file holds one YAML document")])
    doc = docs[0] if docs else YamlDoc(path=str(path), value={})
    value = {} if doc.value is None else doc.value
    if not isinstance(value, dict):
        raise RuleError([doc.problem((), "the config file must be a mapping of settings")])
    try:
        config = Config.model_validate(value)
    except ValidationError as exc:
        problems = validation_problems(exc, doc, (), Config)
        raise RuleError(sorted(problems, key=lambda p: (p.line, p.column))) from None
    config.base_dir = path.parent
    config._doc = doc
    return config
