"""SQLAlchemy 2 models of the metadata database.

Keys, foreign keys, unique and check constraints are declared here so that they live in the
database (through the Alembic migrations), not only in Python: a row written with plain SQL
meets the same constraints. Config rows also pass the pydantic models when read back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CATALOG_KINDS = ("glue", "none")
CATALOG_SYNC_STATUSES = ("synced", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _in(column: str, values: list[str] | tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# --- configuration ---------------------------------------------------------------------------


class TemplateRow(Base):
    __tablename__ = "templates"
    __table_args__ = (
        CheckConstraint(_in("kind", ("python", "cdc_to_hudi", "glue", "lambda", "sql")), name="kind"),
        CheckConstraint("version >= 1", name="version"),
    )

    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    entry_point: Mapped[str | None] = mapped_column(String(1024))
    params_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RefreshCadenceRow(Base):
    __tablename__ = "refresh_cadences"
    __table_args__ = (
        CheckConstraint("batch_size >= 1", name="batch_size"),
        CheckConstraint(_in("engine", ("local", "glue")), name="engine"),
        CheckConstraint("number_of_workers >= 1", name="workers"),
    )

    cadence_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(128))
    batch_size: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(16), default="local")
    worker_type: Mapped[str] = mapped_column(String(16), default="G.1X")
    number_of_workers: Mapped[int] = mapped_column(Integer, default=2)
    glue_version: Mapped[str] = mapped_column(String(8), default="5.0", server_default="5.0")
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RawTableRow(Base):
    __tablename__ = "raw_tables"
    __table_args__ = (
        UniqueConstraint("source_schema", "source_table", name="uq_raw_tables_source"),
        UniqueConstraint("staging_prefix", name="uq_raw_tables_staging_prefix"),
        UniqueConstraint("target_uri", name="uq_raw_tables_target_uri"),
        UniqueConstraint("database_name", "table_name", name="uq_raw_tables_catalog_name"),
        CheckConstraint(_in("table_type", ("COPY_ON_WRITE", "MERGE_ON_READ")), name="table_type"),
        CheckConstraint(_in("storage_mode", ("current", "historical")), name="storage_mode"),
        CheckConstraint("table_version IN (6, 8)", name="table_version"),
        CheckConstraint(_in("file_format", ("parquet", "csv")), name="file_format"),
        CheckConstraint(_in("catalog", CATALOG_KINDS), name="catalog"),
        CheckConstraint("table_id = source_schema || '.' || source_table", name="table_id"),
    )

    table_id: Mapped[str] = mapped_column(String(257), primary_key=True)
    source_schema: Mapped[str] = mapped_column(String(128))
    source_table: Mapped[str] = mapped_column(String(128))
    staging_prefix: Mapped[str] = mapped_column(String(1024))
    target_uri: Mapped[str] = mapped_column(String(1024))
    database_name: Mapped[str] = mapped_column(String(128))
    table_name: Mapped[str] = mapped_column(String(128))
    record_key_fields: Mapped[list[Any]] = mapped_column(JSON)
    precombine_field: Mapped[str | None] = mapped_column(String(128))
    partition_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hive_style_partitioning: Mapped[bool] = mapped_column(Boolean, default=True)
    table_type: Mapped[str] = mapped_column(String(16), default="COPY_ON_WRITE")
    storage_mode: Mapped[str] = mapped_column(String(16), default="current")
    table_version: Mapped[int] = mapped_column(Integer, default=6)
    file_format: Mapped[str] = mapped_column(String(16), default="parquet")
    csv_columns: Mapped[list[Any] | None] = mapped_column(JSON)
    refresh_cadence: Mapped[str] = mapped_column(
        ForeignKey("refresh_cadences.cadence_id", ondelete="RESTRICT"), index=True
    )
    catalog: Mapped[str] = mapped_column(String(16), default="glue", server_default="glue")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class FlowRow(Base):
    __tablename__ = "flows"
    __table_args__ = (
        UniqueConstraint("dag_id", name="uq_flows_dag_id"),
        CheckConstraint("max_active_runs >= 1", name="max_active_runs"),
        CheckConstraint("retries >= 0", name="retries"),
        CheckConstraint("execution_timeout_minutes >= 1", name="timeout"),
    )

    flow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    schedule: Mapped[str | None] = mapped_column(String(128))
    event_triggers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sqs_queue_url: Mapped[str | None] = mapped_column(String(1024))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_active_runs: Mapped[int] = mapped_column(Integer, default=1)
    retries: Mapped[int] = mapped_column(Integer, default=2)
    retry_exponential_backoff: Mapped[bool] = mapped_column(Boolean, default=True)
    execution_timeout_minutes: Mapped[int] = mapped_column(Integer, default=60)
    alert_topic_arn: Mapped[str | None] = mapped_column(String(512))
    explicit_dag_id: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class FlowTaskRow(Base):
    __tablename__ = "flow_tasks"
    __table_args__ = (
        CheckConstraint("retries IS NULL OR retries >= 0", name="retries"),
        CheckConstraint("timeout_minutes IS NULL OR timeout_minutes >= 1", name="timeout"),
        CheckConstraint("position >= 0", name="position"),
    )

    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.flow_id", ondelete="CASCADE"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.template_id", ondelete="RESTRICT"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    upstream: Mapped[list[Any]] = mapped_column(JSON, default=list)
    retries: Mapped[int | None] = mapped_column(Integer)
    timeout_minutes: Mapped[int | None] = mapped_column(Integer)
    pool: Mapped[str | None] = mapped_column(String(128))
    secret_id: Mapped[str | None] = mapped_column(String(512))


CHANGE_ACTIONS = ("add", "change", "remove", "release_lock", "retry_file", "skip_file", "reload_table")


class ConfigChangeRow(Base):
    """Audit trail: who changed which config row when, with the values before and after."""

    __tablename__ = "config_changes"
    __table_args__ = (
        CheckConstraint(
            _in("action", CHANGE_ACTIONS),
            name="action",
        ),
        Index("ix_config_changes_entity", "entity", "entity_id"),
    )

    change_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(64), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(256))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- run-time state ----------------------------------------------------------------------------


class FileStatus(StrEnum):
    """A tracked CDC file's state (``cdc_files.status``; the DB stores the values)."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    SKIPPED = "skipped"
    UNMATCHED = "unmatched"


class RunStatus(StrEnum):
    """A processing run's state (``processing_runs.status`` and its history)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


FILE_STATUSES = tuple(s.value for s in FileStatus)
RUN_STATUSES = tuple(s.value for s in RunStatus)


class AlertStatus(StrEnum):
    """An outbox alert's delivery state (``alert_outbox.status``)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


ALERT_STATUSES = tuple(s.value for s in AlertStatus)
APPLIED = "status = 'completed' AND commit_instant IS NOT NULL"
"""A run that applied changes: the ops views' freshness reads these through a partial index."""


class CdcFileRow(Base):
    """The file tracker: every CDC file that landed, once, with where it stands."""

    __tablename__ = "cdc_files"
    __table_args__ = (
        UniqueConstraint("uri", "version_key", name="uq_cdc_files_identity"),
        CheckConstraint(_in("status", FILE_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size"),
        CheckConstraint("status <> 'unmatched' OR table_id IS NULL", name="unmatched_has_no_table"),
        CheckConstraint("file_kind IS NULL OR file_kind IN ('load', 'cdc')", name="kind"),
        Index("ix_cdc_files_table_status", "table_id", "status"),
        Index("ix_cdc_files_status_table", "status", "table_id"),
    )

    file_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    uri: Mapped[str] = mapped_column(String(2048))
    version_key: Mapped[str] = mapped_column(String(256), default="")
    """"" for a location's first version, the content digest for later ones (re-uploads)."""
    table_id: Mapped[str | None] = mapped_column(ForeignKey("raw_tables.table_id", ondelete="RESTRICT"))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    landed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    order_key: Mapped[str] = mapped_column(String(512), default="")
    relative_path: Mapped[str | None] = mapped_column(String(2048))
    """Path inside the table's staging folder: what the Hudi commit checkpoint names."""
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    file_kind: Mapped[str | None] = mapped_column(String(8))
    file_format: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=FileStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    commit_instant: Mapped[str | None] = mapped_column(String(32))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str | None] = mapped_column(String(80))
    """``sha256:<hex>`` of the content, once read (applied) or compared (a re-upload)."""


class TableReloadRow(Base):
    """An operator's pending request to rebuild a table from its staged files (audited in
    ``config_changes``); removed by the run that commits the reload."""

    __tablename__ = "table_reloads"

    table_id: Mapped[str] = mapped_column(ForeignKey("raw_tables.table_id", ondelete="CASCADE"), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CdcFileHistoryRow(Base):
    __tablename__ = "cdc_file_history"

    history_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("cdc_files.file_id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class TableLockRow(Base):
    """One lease per table; ``token`` increases with every acquisition (the fencing token)."""

    __tablename__ = "table_locks"
    __table_args__ = (CheckConstraint("token >= 0", name="token"),)

    table_id: Mapped[str] = mapped_column(String(257), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(256))
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProcessingRunRow(Base):
    __tablename__ = "processing_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint("inserted >= 0 AND updated >= 0 AND deleted >= 0", name="counts"),
        Index("ix_processing_runs_table_started", "table_id", "started_at"),
        Index("ix_processing_runs_table_run", "table_id", "run_id"),
        Index(
            "ix_processing_runs_applied",
            "table_id",
            "finished_at",
            "commit_instant",
            sqlite_where=text(APPLIED),
            postgresql_where=text(APPLIED),
        ),
        Index("ix_processing_runs_dag_started", "dag_id", "started_at"),
        Index("ix_processing_runs_dag_run", "dag_id", "dag_run_id"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    table_id: Mapped[str] = mapped_column(String(257))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    holder: Mapped[str | None] = mapped_column(String(256))
    lock_token: Mapped[int | None] = mapped_column(BigInteger)
    dag_id: Mapped[str | None] = mapped_column(String(200))
    dag_run_id: Mapped[str | None] = mapped_column(String(250))
    task_id: Mapped[str | None] = mapped_column(String(250))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inserted: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    commit_instant: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)


class ProcessingRunHistoryRow(Base):
    __tablename__ = "processing_run_history"
    __table_args__ = (CheckConstraint(_in("status", RUN_STATUSES), name="status"),)

    history_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("processing_runs.run_id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class AlertOutboxRow(Base):
    """Alerts written with the failure they report, delivered later by a drain (never lost)."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        CheckConstraint("length(subject) <= 100", name="subject_length"),
        CheckConstraint("attempts >= 0 AND occurrences >= 1", name="counts"),
        Index("ix_alert_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_alert_outbox_dedupe", "dedupe_key", "created_at"),
    )

    alert_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    topic_arn: Mapped[str | None] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(String(100))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(256))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class CatalogSyncRow(Base):
    """Per table: the last Hudi commit registered in the data catalog, and the last attempt.

    ``synced_instant`` moves only after the catalog holds that commit's columns and partitions,
    so a sync that crashed or failed half-way is finished by the next run."""

    __tablename__ = "catalog_sync"
    __table_args__ = (CheckConstraint(_in("status", CATALOG_SYNC_STATUSES), name="status"),)

    table_id: Mapped[str] = mapped_column(String(257), primary_key=True)
    database_name: Mapped[str] = mapped_column(String(128))
    table_name: Mapped[str] = mapped_column(String(128))
    synced_instant: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    columns: Mapped[int] = mapped_column(Integer, default=0)
    partitions: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
