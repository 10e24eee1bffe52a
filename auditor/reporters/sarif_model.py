"""The subset of SARIF 2.1.0 objects imgaudit writes, as typed records.

Field names are snake_case here and camelCase in the file (an alias generator does it);
`None` fields are left out when dumped, as SARIF prefers absent to null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SARIF_VERSION = "2.1.0"
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


class ReportingDescriptor(_Sarif):
    id: str
    name: str | None = None
    short_description: MultiformatMessage
    full_description: MultiformatMessage
    help: MultiformatMessage
    help_uri: str | None = None
    default_configuration: ReportingConfiguration
    properties: dict[str, Any] = Field(default_factory=dict)


class ToolComponent(_Sarif):
    name: str
    version: str
    semantic_version: str | None = None
    information_uri: str | None = None
    rules: list[ReportingDescriptor] = Field(default_factory=list)


class Tool(_Sarif):
    driver: ToolComponent


class ArtifactLocation(_Sarif):
    uri: str


class Region(_Sarif):
    start_line: int = 1


class PhysicalLocation(_Sarif):
    artifact_location: ArtifactLocation
    region: Region = Field(default_factory=Region)


class LogicalLocation(_Sarif):
    name: str
    fully_qualified_name: str
    kind: str = "resource"


class Location(_Sarif):
    physical_location: PhysicalLocation
    logical_locations: list[LogicalLocation] | None = None


class Suppression(_Sarif):
    kind: Literal["inSource", "external"] = "external"
    status: Literal["accepted", "underReview", "rejected"] = "accepted"
    justification: str
    properties: dict[str, Any] = Field(default_factory=dict)


class Result(_Sarif):
    rule_id: str
    rule_index: int
    level: Level
    message: Message
    locations: list[Location]
    partial_fingerprints: dict[str, str]
    baseline_state: Literal["new", "unchanged", "updated", "absent"] | None = None
    suppressions: list[Suppression] | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


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
    column_kind: Literal["unicodeCodePoints", "utf16CodeUnits"] = "unicodeCodePoints"
    properties: dict[str, Any] = Field(default_factory=dict)


class SarifLog(_Sarif):
    schema_uri: str = Field(SARIF_SCHEMA_URI, alias="$schema")
    version: Literal["2.1.0"] = SARIF_VERSION
    runs: list[Run]
