"""Frozen pydantic models, one per config row type.

Single-row rules live here (field types, identifier patterns, cron syntax, cross-field rules
inside one row). Rules that need other rows (unknown template, undeclared cadence, task
cycles, params against the template schema) live in :mod:`tributary.config.validation`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from croniter import CroniterBadDateError, croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tributary.config.columns import reserved_column
from tributary.config.entry_points import entry_point_refusal
from tributary.config.identifiers import (
    CATALOG_NAME_RE,
    DagId,
    EntryPoint,
    Location,
    Name,
    PoolName,
    SecretId,
    TopicArn,
)
from tributary.config.table_options import RawTableOptions
from tributary.modes import StorageMode, TableType

VERIFIED_ROW = "tributary_verified_row"
"""Validation context key: the row is byte-for-byte one that was fully validated before (a config
snapshot row whose digest matches), so the slow semantic checks (cron parsing, JSON Schema
meta-validation) are skipped; types and constraints are still checked."""


def _verified(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(VERIFIED_ROW))


_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_SPANS = (60, 24, 31, 12, 7)
SCHEDULE_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}
)


def check_schedule(value: str) -> str:
    """A cron expression (5 fields) or one of Airflow's presets."""
    if value in SCHEDULE_PRESETS:
        return value
    if value.startswith("@"):
        raise ValueError(f"{value!r} is not a schedule preset; use one of {', '.join(sorted(SCHEDULE_PRESETS))}")
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression (5 fields, e.g. '*/10 * * * *')")
    for name, span, field in zip(_CRON_FIELDS, _CRON_SPANS, value.split(), strict=True):
        for part in field.split(","):
            step = part.partition("/")[2]
            if step.isdigit() and int(step) >= span:
                raise ValueError(
                    f"{value!r}: step /{step} in the {name} field is not below its {span} values, so it fires "
                    f"only at the first one; write that value instead (e.g. '0' for the {name})"
                )
    try:
        croniter(value, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"{value!r} never fires (no such date, e.g. 30 February); fix the day or month") from None
    return value


class TemplateKind(StrEnum):
    PYTHON = "python"
    CDC_TO_HUDI = "cdc_to_hudi"
    GLUE = "glue"
    LAMBDA = "lambda"
    SQL = "sql"


class Engine(StrEnum):
    LOCAL = "local"
    GLUE = "glue"


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


class CatalogKind(StrEnum):
    """Where a raw table is registered after each commit: the Glue Data Catalog, or nowhere."""

    GLUE = "glue"
    NONE = "none"


class Template(BaseModel):
    """A reusable job: what runs (kind, entry point) and which params it takes (JSON Schema)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    template_id: Name
    kind: TemplateKind
    description: str = ""
    entry_point: str | None = Field(
        default=None,
        description="python: module:callable; glue: script URI; lambda: function name; sql: connection id",
    )
    params_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    version: int = Field(default=1, ge=1)

    @field_validator("params_schema")
    @classmethod
    def _schema_is_json_schema(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if _verified(info):
            return value
        import jsonschema

        from tributary.config.schema_safety import check_params_schema

        check_params_schema(value)
        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        if value.get("type", "object") != "object":
            raise ValueError("the parameter schema must describe an object (type: object)")
        return value

    @model_validator(mode="after")
    def _entry_point_fits_kind(self) -> Template:
        ep = self.entry_point
        if self.kind is TemplateKind.PYTHON:
            if not ep:
                raise ValueError("entry_point: a python template needs entry_point <module>:<callable>")
            EntryPointCheck.model_validate({"value": ep})
            refusal = entry_point_refusal(ep)
            if refusal:
                raise ValueError(f"entry_point: {refusal}")
        elif self.kind is TemplateKind.GLUE:
            if not ep:
                raise ValueError("entry_point: a glue template needs the script location (s3://...)")
            LocationCheck.model_validate({"value": ep})
        elif self.kind in (TemplateKind.LAMBDA, TemplateKind.SQL) and ep:
            NameLikeCheck.model_validate({"value": ep})
        return self

    def key(self) -> str:
        return self.template_id


class EntryPointCheck(BaseModel):
    value: EntryPoint


class LocationCheck(BaseModel):
    value: Location


class NameLikeCheck(BaseModel):
    value: PoolName


DEFAULT_GLUE_VERSION = "5.0"
#: the first Glue version whose Hudi (1.0.2) reads and writes table version 8
GLUE_FOR_TABLE_VERSION_8 = (5, 1)


def glue_version_tuple(value: str) -> tuple[int, ...]:
    """``"5.1"`` → ``(5, 1)``, for comparing Glue versions."""
    return tuple(int(part) for part in value.split("."))


class RefreshCadence(BaseModel):
    """How often a group of tables refreshes, in batches of ``batch_size``, on which engine."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    cadence_id: Name
    schedule: str
    batch_size: int = Field(ge=1, le=10_000)
    engine: Engine = Engine.LOCAL
    worker_type: Literal["G.025X", "G.1X", "G.2X", "G.4X", "G.8X"] = "G.1X"
    number_of_workers: int = Field(default=2, ge=1, le=1000)
    glue_version: str = Field(default=DEFAULT_GLUE_VERSION, pattern=r"^[0-9]{1,2}\.[0-9]{1,2}$")
    """The AWS Glue version the glue engine's jobs run on; it fixes the Hudi version that writes
    the cadence's tables (5.0: Hudi 0.15.0, table version 6; 5.1: Hudi 1.0.2, table version 8)."""
    description: str = ""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str, info: ValidationInfo) -> str:
        return value if _verified(info) else check_schedule(value)

    @field_validator("glue_version")
    @classmethod
    def _glue_has_hudi_6(cls, value: str) -> str:
        if glue_version_tuple(value) < glue_version_tuple(DEFAULT_GLUE_VERSION):
            raise ValueError(
                f"Glue {value} ships a Hudi older than 0.14 (table version 5), which cannot write the table "
                f"versions Tributary writes (6 and 8); use {DEFAULT_GLUE_VERSION} or later"
            )
        return value

    def reads_table_version(self, table_version: int) -> bool:
        """Whether this cadence's Glue version ships a Hudi that writes ``table_version``."""
        return table_version < 8 or glue_version_tuple(self.glue_version) >= GLUE_FOR_TABLE_VERSION_8

    def key(self) -> str:
        return self.cadence_id


class RawTable(BaseModel):
    """One raw Hudi table fed by the CDC files under ``staging_prefix``."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    source_schema: Name
    source_table: Name
    staging_prefix: Location
    target_uri: Location
    database_name: Name
    table_name: Name
    record_key_fields: tuple[Name, ...] = Field(min_length=1)
    precombine_field: Name | None = None
    partition_fields: tuple[Name, ...] = ()
    hive_style_partitioning: bool = True
    table_type: TableType = TableType.COPY_ON_WRITE
    storage_mode: StorageMode = StorageMode.CURRENT
    table_version: Literal[6, 8] = 6
    file_format: FileFormat = FileFormat.PARQUET
    csv_columns: tuple[Name, ...] | None = None
    refresh_cadence: Name
    catalog: CatalogKind = CatalogKind.GLUE
    active: bool = True
    description: str = ""
    options: RawTableOptions = Field(default_factory=RawTableOptions)
    """Typed per-table options (:mod:`tributary.config.table_options`), checked at config load."""

    @property
    def table_id(self) -> str:
        return f"{self.source_schema}.{self.source_table}"

    def key(self) -> str:
        return self.table_id

    @model_validator(mode="after")
    def _catalog_names(self) -> RawTable:
        """Glue and Athena keep database and table names in lowercase letters, digits and '_';
        a name Glue would rewrite (or Athena could not query) is refused here, not at sync."""
        if self.catalog is CatalogKind.NONE:
            return self
        for name, value in (("database_name", self.database_name), ("table_name", self.table_name)):
            if not CATALOG_NAME_RE.fullmatch(value):
                raise ValueError(
                    f"{name}: {value!r} is not a valid Glue/Athena name: use lowercase letters, digits and '_', "
                    f"starting with a letter (e.g. {value.lower().lstrip('_0123456789') or 'raw_sales'!r}), "
                    "or set catalog: none to register the table nowhere"
                )
        return self

    @model_validator(mode="after")
    def _fields_consistent(self) -> RawTable:
        for name, values in (
            ("record_key_fields", self.record_key_fields),
            ("partition_fields", self.partition_fields),
            ("precombine_field", (self.precombine_field,) if self.precombine_field else ()),
            ("csv_columns", self.csv_columns or ()),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: lists a column twice")
            for column in values:
                reason = reserved_column(column)
                if reason:
                    raise ValueError(f"{name}: {column!r} {reason}")
        if self.precombine_field and self.precombine_field in self.record_key_fields:
            raise ValueError("precombine_field: must not be one of the record key fields")
        if self.csv_columns is not None:
            missing = [f for f in (*self.record_key_fields, *self.partition_fields) if f not in self.csv_columns]
            if self.precombine_field and self.precombine_field not in self.csv_columns:
                missing.append(self.precombine_field)
            if missing:
                raise ValueError(f"csv_columns: does not list {', '.join(missing)}")
        if self.file_format is FileFormat.CSV and self.csv_columns is None and self.options.csv_header is not True:
            raise ValueError(
                "csv_columns: a CSV table needs its column names (DMS writes no header) "
                "unless options.csv_header is true"
            )
        return self

    @property
    def catalog_sync(self) -> bool:
        """Whether runs register the table in the data catalog (``catalog`` and ``options.hive_sync``)."""
        return self.catalog is not CatalogKind.NONE and self.options.hive_sync


class EventTrigger(BaseModel):
    """An object-created pattern that starts a flow: bucket, key prefix and suffix."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_.=/-]*$")
    suffix: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]*$")

    @field_validator("prefix")
    @classmethod
    def _no_dot_segments(cls, value: str) -> str:
        if any(p in ("..", ".") for p in value.split("/")):
            raise ValueError(f"{value!r} contains a '.' or '..' segment")
        return value


class FlowTask(BaseModel):
    """One task of a flow: which template runs, with which params, after which tasks."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    task_id: Name
    template_id: Name
    params: dict[str, Any] = Field(default_factory=dict)
    upstream: tuple[Name, ...] = ()
    retries: int | None = Field(default=None, ge=0, le=20)
    timeout_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    pool: PoolName | None = None
    secret_id: SecretId | None = None

    @field_validator("upstream")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an upstream task twice")
        return value


class Flow(BaseModel):
    """One flow becomes one Airflow DAG."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    flow_id: Name
    dag_id: DagId | None = None
    description: str = ""
    owner: str = Field(default="data-engineering", pattern=r"^[A-Za-z0-9_.@ -]{1,100}$")
    tags: tuple[str, ...] = Field(default=(), max_length=20)
    schedule: str | None = None
    event_triggers: tuple[EventTrigger, ...] = ()
    sqs_queue_url: str | None = Field(
        default=None, pattern=r"^https?://[A-Za-z0-9.:-]+/[0-9]+/[A-Za-z0-9_-]+(\.fifo)?$"
    )
    manual: bool = False
    enabled: bool = True
    max_active_runs: int = Field(default=1, ge=1, le=64)
    retries: int = Field(default=2, ge=0, le=20)
    retry_exponential_backoff: bool = True
    execution_timeout_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    alert_topic_arn: TopicArn | None = None
    tasks: tuple[FlowTask, ...] = Field(min_length=1)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value if value is None or _verified(info) else check_schedule(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag or len(tag) > 100 or any(c in tag for c in "\"'`;\\\n\t"):
                raise ValueError(f"tag {tag!r}: 1-100 characters, no quotes, backslashes or control characters")
        return value

    @model_validator(mode="after")
    def _has_trigger(self) -> Flow:
        if self.schedule is None and not self.event_triggers and not self.sqs_queue_url and not self.manual:
            raise ValueError(
                "schedule: the flow has no schedule, no event trigger and is not manual; "
                "set schedule, event_triggers, sqs_queue_url or manual: true"
            )
        return self

    @property
    def effective_dag_id(self) -> str:
        return self.dag_id or f"tributary__{self.flow_id}"

    def key(self) -> str:
        return self.flow_id


SECTIONS: dict[str, type[BaseModel]] = {
    "templates": Template,
    "refresh_cadences": RefreshCadence,
    "raw_tables": RawTable,
    "flows": Flow,
}
"""YAML sections in dependency order (a later section refers to earlier ones)."""
ID_FIELDS: dict[str, str] = {
    "templates": "template_id",
    "refresh_cadences": "cadence_id",
    "raw_tables": "table_id",
    "flows": "flow_id",
}
