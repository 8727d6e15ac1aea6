"""indexes for the ops views: backlog by status, newest run and newest commit per table, a
cadence's newest DAG run

The ops API filters, sorts and pages 3,000+ tables in SQL; each table's newest run and newest
commit are one index probe (the partial index holds only runs that applied changes).

Revision ID: 0005_ops_indexes
Revises: 0004_cadence_glue_version
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ops_indexes"
down_revision = "0004_cadence_glue_version"
branch_labels = None
depends_on = None

APPLIED = "status = 'completed' AND commit_instant IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_cdc_files_status_table", "cdc_files", ["status", "table_id"])
    op.create_index("ix_processing_runs_table_run", "processing_runs", ["table_id", "run_id"])
    op.create_index(
        "ix_processing_runs_applied",
        "processing_runs",
        ["table_id", "finished_at", "commit_instant"],
        sqlite_where=sa.text(APPLIED),
        postgresql_where=sa.text(APPLIED),
    )
    op.create_index("ix_processing_runs_dag_started", "processing_runs", ["dag_id", "started_at"])
    op.create_index("ix_processing_runs_dag_run", "processing_runs", ["dag_id", "dag_run_id"])


def downgrade() -> None:
    op.drop_index("ix_processing_runs_dag_run", table_name="processing_runs")
    op.drop_index("ix_processing_runs_dag_started", table_name="processing_runs")
    op.drop_index("ix_processing_runs_applied", table_name="processing_runs")
    op.drop_index("ix_processing_runs_table_run", table_name="processing_runs")
    op.drop_index("ix_cdc_files_status_table", table_name="cdc_files")
