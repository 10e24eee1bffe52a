"""The subset of SARIF 2.1.0 objects imgaudit writes, as typed records.

Field names are snake_case here and camelCase in the file (an alias generator does it);
`None` fields are left out when dumped, as SARIF prefers absent to null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from typing_extensions import NotRequired, TypedDict

SARIF_VERSION: Literal["2.1.0"] = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

Level = Literal["error", "warning", "note", "none"]


class _Sarif(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Message(_Sarif):
    text: str
    markdown: str | None = None


class MultiformatMessage(_Sarif):
    text: str
    markdown: str | None = None


class ReportingConfiguration(_Sarif):
    level: Level


class ToolComponentReference(_Sarif):
    name: str
    index: int | None = None


class ReportingDescriptorReference(_Sarif):
    id: str
    index: int | None = None
    tool_component: ToolComponentReference


class ReportingDescriptorRelationship(_Sarif):
    """A rule's link to a taxon (a control of a framework): SARIF §3.53."""

    target: ReportingDescriptorReference
    kinds: list[str] = Field(default_factory=lambda: ["relevant"])


class Taxon(_Sarif):
    """One control of a framework, in a run's `taxonomies` (SARIF §3.19.3)."""

    id: str
    name: str | None = None
    short_description: MultiformatMessage | None = None


class ReportingDescriptor(_Sarif):
    id: str
    name: str | None = None
    short_description: MultiformatMessage
    full_description: MultiformatMessage
    help: MultiformatMessage
    help_uri: str | None = None
    default_configuration: ReportingConfiguration
    relationships: list[ReportingDescriptorRelationship] | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class ToolComponent(_Sarif):
    name: str
    version: str
    full_name: str | None = None
    semantic_version: str | None = None
    information_uri: str | None = None
    rules: list[ReportingDescriptor] | None = None
    taxa: list[Taxon] | None = None
    supported_taxonomies: list[ToolComponentReference] | None = None


class Tool(_Sarif):
    driver: ToolComponent


# A run may carry 25,000 results: they are TypedDicts with SARIF's own key names, which
# pydantic checks in one pass when the Run is built (four times faster than a model each).


class ArtifactLocation(TypedDict):
    uri: str


class Region(TypedDict):
    startLine: int


class PhysicalLocation(TypedDict):
    artifactLocation: ArtifactLocation
    region: Region


class LogicalLocation(TypedDict):
    name: str
    fullyQualifiedName: str
    kind: str


class Location(TypedDict):
    physicalLocation: PhysicalLocation
    logicalLocations: NotRequired[list[LogicalLocation]]


class Suppression(TypedDict):
    kind: Literal["inSource", "external"]
    status: Literal["accepted", "underReview", "rejected"]
    justification: str
    properties: dict[str, Any]


class ResultMessage(TypedDict):
    text: str


class Result(TypedDict):
    ruleId: str
    ruleIndex: int
    level: Level
    message: ResultMessage
    locations: list[Location]
    partialFingerprints: dict[str, str]
    baselineState: NotRequired[Literal["new", "unchanged", "updated", "absent"]]
    suppressions: NotRequired[list[Suppression]]
    properties: dict[str, Any]


class Notification(_Sarif):
    level: Level
    message: Message
    descriptor: dict[str, str] | None = None


class Invocation(_Sarif):
    execution_successful: bool
    command_line: str | None = None
    arguments: list[str] | None = None
    start_time_utc: str
    end_time_utc: str
    tool_execution_notifications: list[Notification] = Field(default_factory=list)


class RunAutomationDetails(_Sarif):
    id: str
    description: Message | None = None


class Run(_Sarif):
    tool: Tool
    automation_details: RunAutomationDetails
    invocations: list[Invocation]
    results: list[Result]
    taxonomies: list[ToolComponent] | None = None  # the frameworks the rules map to
    column_kind: Literal["unicodeCodePoints", "utf16CodeUnits"] = "unicodeCodePoints"
    language: str | None = Field(None, description="RFC 5646 tag of the message strings "
                                 "(absent: en-US)")
    properties: dict[str, Any] = Field(default_factory=dict)


class SarifLog(_Sarif):
    schema_uri: str = Field(SARIF_SCHEMA_URI, alias="$schema")
    version: Literal["2.1.0"] = SARIF_VERSION
    runs: list[Run]
