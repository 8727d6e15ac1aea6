"""raw_tables.catalog and catalog_sync: Glue Data Catalog registration per raw table

``raw_tables.catalog`` says where a table is registered after each commit (``glue`` by default,
``none`` to opt out); ``catalog_sync`` records the last commit the catalog holds per table, so a
sync that failed or crashed is finished by the next run.

Revision ID: 0006_catalog_sync
Revises: 0005_ops_indexes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_catalog_sync"
down_revision = "0005_ops_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_tables") as batch:
        batch.add_column(sa.Column("catalog", sa.String(length=16), server_default="glue", nullable=False))
        batch.create_check_constraint("catalog", "catalog IN ('glue', 'none')")
    op.create_table(
        "catalog_sync",
        sa.Column("table_id", sa.String(length=257), nullable=False),
        sa.Column("database_name", sa.String(length=128), nullable=False),
        sa.Column("table_name", sa.String(length=128), nullable=False),
        sa.Column("synced_instant", sa.String(length=32), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('synced', 'failed')", name=op.f("ck_catalog_sync_status")),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_catalog_sync")),
    )


def downgrade() -> None:
    op.drop_table("catalog_sync")
    with op.batch_alter_table("raw_tables") as batch:
        batch.drop_constraint("catalog", type_="check")
        batch.drop_column("catalog")
