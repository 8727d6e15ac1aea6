"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 21:29:55.155427
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Every table of the first schema, in dependency order (parents before the tables that
    reference them); each helper creates one table with its constraints and indexes."""
    _create_alert_outbox()
    _create_config_changes()
    _create_flows()
    _create_processing_runs()
    _create_refresh_cadences()
    _create_table_locks()
    _create_templates()
    _create_flow_tasks()
    _create_processing_run_history()
    _create_raw_tables()
    _create_cdc_files()
    _create_cdc_file_history()


def _create_alert_outbox() -> None:
    op.create_table(
        "alert_outbox",
        sa.Column(
            "alert_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic_arn", sa.String(length=512), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=256), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name=op.f("ck_alert_outbox_status")),
        sa.CheckConstraint("attempts >= 0 AND occurrences >= 1", name=op.f("ck_alert_outbox_counts")),
        sa.CheckConstraint("length(subject) <= 100", name=op.f("ck_alert_outbox_subject_length")),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_outbox")),
    )
    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_alert_outbox_dedupe", ["dedupe_key", "created_at"], unique=False)
        batch_op.create_index("ix_alert_outbox_status_next", ["status", "next_attempt_at"], unique=False)


def _create_config_changes() -> None:
    op.create_table(
        "config_changes",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "action IN ('add', 'change', 'remove', 'release_lock', 'retry_file', 'skip_file')",
            name=op.f("ck_config_changes_action"),
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_config_changes")),
    )
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_config_changes_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_config_changes_entity", ["entity", "entity_id"], unique=False)


def _create_flows() -> None:
    op.create_table(
        "flows",
        sa.Column("flow_id", sa.String(length=128), nullable=False),
        sa.Column("dag_id", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=True),
        sa.Column("event_triggers", sa.JSON(), nullable=False),
        sa.Column("sqs_queue_url", sa.String(length=1024), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("retry_exponential_backoff", sa.Boolean(), nullable=False),
        sa.Column("execution_timeout_minutes", sa.Integer(), nullable=False),
        sa.Column("alert_topic_arn", sa.String(length=512), nullable=True),
        sa.Column("explicit_dag_id", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("execution_timeout_minutes >= 1", name=op.f("ck_flows_timeout")),
        sa.CheckConstraint("max_active_runs >= 1", name=op.f("ck_flows_max_active_runs")),
        sa.CheckConstraint("retries >= 0", name=op.f("ck_flows_retries")),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_flows")),
        sa.UniqueConstraint("dag_id", name="uq_flows_dag_id"),
    )


def _create_processing_runs() -> None:
    op.create_table(
        "processing_runs",
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("table_id", sa.String(length=257), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=256), nullable=True),
        sa.Column("lock_token", sa.BigInteger(), nullable=True),
        sa.Column("dag_id", sa.String(length=200), nullable=True),
        sa.Column("dag_run_id", sa.String(length=250), nullable=True),
        sa.Column("task_id", sa.String(length=250), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inserted", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("commit_instant", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name=op.f("ck_processing_runs_status")),
        sa.CheckConstraint("inserted >= 0 AND updated >= 0 AND deleted >= 0", name=op.f("ck_processing_runs_counts")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_processing_runs")),
    )
    with op.batch_alter_table("processing_runs", schema=None) as batch_op:
        batch_op.create_index("ix_processing_runs_table_started", ["table_id", "started_at"], unique=False)


def _create_refresh_cadences() -> None:
    op.create_table(
        "refresh_cadences",
        sa.Column("cadence_id", sa.String(length=128), nullable=False),
        sa.Column("schedule", sa.String(length=128), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("worker_type", sa.String(length=16), nullable=False),
        sa.Column("number_of_workers", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("engine IN ('local', 'glue')", name=op.f("ck_refresh_cadences_engine")),
        sa.CheckConstraint("batch_size >= 1", name=op.f("ck_refresh_cadences_batch_size")),
        sa.CheckConstraint("number_of_workers >= 1", name=op.f("ck_refresh_cadences_workers")),
        sa.PrimaryKeyConstraint("cadence_id", name=op.f("pk_refresh_cadences")),
    )


def _create_table_locks() -> None:
    op.create_table(
        "table_locks",
        sa.Column("table_id", sa.String(length=257), nullable=False),
        sa.Column("holder", sa.String(length=256), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("token >= 0", name=op.f("ck_table_locks_token")),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_table_locks")),
    )


def _create_templates() -> None:
    op.create_table(
        "templates",
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("entry_point", sa.String(length=1024), nullable=True),
        sa.Column("params_schema", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('python', 'cdc_to_hudi', 'glue', 'lambda', 'sql')", name=op.f("ck_templates_kind")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_templates_version")),
        sa.PrimaryKeyConstraint("template_id", name=op.f("pk_templates")),
    )


def _create_flow_tasks() -> None:
    op.create_table(
        "flow_tasks",
        sa.Column("flow_id", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("upstream", sa.JSON(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("timeout_minutes", sa.Integer(), nullable=True),
        sa.Column("pool", sa.String(length=128), nullable=True),
        sa.Column("secret_id", sa.String(length=512), nullable=True),
        sa.CheckConstraint("position >= 0", name=op.f("ck_flow_tasks_position")),
        sa.CheckConstraint("retries IS NULL OR retries >= 0", name=op.f("ck_flow_tasks_retries")),
        sa.CheckConstraint("timeout_minutes IS NULL OR timeout_minutes >= 1", name=op.f("ck_flow_tasks_timeout")),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.flow_id"], name=op.f("fk_flow_tasks_flow_id_flows"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.template_id"],
            name=op.f("fk_flow_tasks_template_id_templates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("flow_id", "task_id", name=op.f("pk_flow_tasks")),
    )
    with op.batch_alter_table("flow_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_tasks_template_id"), ["template_id"], unique=False)


def _create_processing_run_history() -> None:
    op.create_table(
        "processing_run_history",
        sa.Column("history_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed')", name=op.f("ck_processing_run_history_status")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_runs.run_id"],
            name=op.f("fk_processing_run_history_run_id_processing_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_processing_run_history")),
    )
    with op.batch_alter_table("processing_run_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processing_run_history_run_id"), ["run_id"], unique=False)


def _create_raw_tables() -> None:
    op.create_table(
        "raw_tables",
        sa.Column("table_id", sa.String(length=257), nullable=False),
        sa.Column("source_schema", sa.String(length=128), nullable=False),
        sa.Column("source_table", sa.String(length=128), nullable=False),
        sa.Column("staging_prefix", sa.String(length=1024), nullable=False),
        sa.Column("target_uri", sa.String(length=1024), nullable=False),
        sa.Column("database_name", sa.String(length=128), nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("record_key_fields", sa.JSON(), nullable=False),
        sa.Column("precombine_field", sa.String(length=128), nullable=True),
        sa.Column("partition_fields", sa.JSON(), nullable=False),
        sa.Column("hive_style_partitioning", sa.Boolean(), nullable=False),
        sa.Column("table_type", sa.String(length=16), nullable=False),
        sa.Column("storage_mode", sa.String(length=16), nullable=False),
        sa.Column("table_version", sa.Integer(), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("csv_columns", sa.JSON(), nullable=True),
        sa.Column("refresh_cadence", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("file_format IN ('parquet', 'csv')", name=op.f("ck_raw_tables_file_format")),
        sa.CheckConstraint("storage_mode IN ('current', 'historical')", name=op.f("ck_raw_tables_storage_mode")),
        sa.CheckConstraint("table_id = source_schema || '.' || source_table", name=op.f("ck_raw_tables_table_id")),
        sa.CheckConstraint("table_type IN ('COPY_ON_WRITE', 'MERGE_ON_READ')", name=op.f("ck_raw_tables_table_type")),
        sa.CheckConstraint("table_version IN (6, 8)", name=op.f("ck_raw_tables_table_version")),
        sa.ForeignKeyConstraint(
            ["refresh_cadence"],
            ["refresh_cadences.cadence_id"],
            name=op.f("fk_raw_tables_refresh_cadence_refresh_cadences"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_raw_tables")),
        sa.UniqueConstraint("database_name", "table_name", name="uq_raw_tables_catalog_name"),
        sa.UniqueConstraint("source_schema", "source_table", name="uq_raw_tables_source"),
        sa.UniqueConstraint("staging_prefix", name="uq_raw_tables_staging_prefix"),
        sa.UniqueConstraint("target_uri", name="uq_raw_tables_target_uri"),
    )
    with op.batch_alter_table("raw_tables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_tables_refresh_cadence"), ["refresh_cadence"], unique=False)


def _create_cdc_files() -> None:
    op.create_table(
        "cdc_files",
        sa.Column(
            "file_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("version_key", sa.String(length=256), nullable=False),
        sa.Column("table_id", sa.String(length=257), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("landed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("commit_instant", sa.String(length=32), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'unmatched' OR table_id IS NULL", name=op.f("ck_cdc_files_unmatched_has_no_table")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'processed', 'failed', 'quarantined', 'skipped', 'unmatched')",
            name=op.f("ck_cdc_files_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_cdc_files_attempts")),
        sa.CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_cdc_files_size")),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["raw_tables.table_id"],
            name=op.f("fk_cdc_files_table_id_raw_tables"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_cdc_files")),
        sa.UniqueConstraint("uri", "version_key", name="uq_cdc_files_identity"),
    )
    with op.batch_alter_table("cdc_files", schema=None) as batch_op:
        batch_op.create_index("ix_cdc_files_table_status", ["table_id", "status"], unique=False)


def _create_cdc_file_history() -> None:
    op.create_table(
        "cdc_file_history",
        sa.Column("history_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["cdc_files.file_id"],
            name=op.f("fk_cdc_file_history_file_id_cdc_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_cdc_file_history")),
    )
    with op.batch_alter_table("cdc_file_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cdc_file_history_file_id"), ["file_id"], unique=False)


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("cdc_file_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cdc_file_history_file_id"))

    op.drop_table("cdc_file_history")
    with op.batch_alter_table("cdc_files", schema=None) as batch_op:
        batch_op.drop_index("ix_cdc_files_table_status")

    op.drop_table("cdc_files")
    with op.batch_alter_table("raw_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_tables_refresh_cadence"))

    op.drop_table("raw_tables")
    with op.batch_alter_table("processing_run_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processing_run_history_run_id"))

    op.drop_table("processing_run_history")
    with op.batch_alter_table("flow_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_tasks_template_id"))

    op.drop_table("flow_tasks")
    op.drop_table("templates")
    op.drop_table("table_locks")
    op.drop_table("refresh_cadences")
    with op.batch_alter_table("processing_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_processing_runs_table_started")

    op.drop_table("processing_runs")
    op.drop_table("flows")
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_config_changes_entity")
        batch_op.drop_index(batch_op.f("ix_config_changes_batch_id"))

    op.drop_table("config_changes")
    with op.batch_alter_table("alert_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_outbox_status_next")
        batch_op.drop_index("ix_alert_outbox_dedupe")

    op.drop_table("alert_outbox")
    # ### end Alembic commands ###
