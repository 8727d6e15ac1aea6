"""cdc_files.content_hash (a file is its content), table_reloads, the reload_table audit action

Revision ID: 0003_content_identity
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_content_identity"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_ACTIONS = "action IN ('add', 'change', 'remove', 'release_lock', 'retry_file', 'skip_file')"
_NEW_ACTIONS = "action IN ('add', 'change', 'remove', 'release_lock', 'retry_file', 'skip_file', 'reload_table')"


def upgrade() -> None:
    with op.batch_alter_table("cdc_files") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=80), nullable=True))
    with op.batch_alter_table("config_changes") as batch:
        batch.drop_constraint("action", type_="check")
        batch.create_check_constraint("action", _NEW_ACTIONS)
    op.create_table(
        "table_reloads",
        sa.Column("table_id", sa.String(length=257), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["raw_tables.table_id"],
            name=op.f("fk_table_reloads_table_id_raw_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_table_reloads")),
    )


def downgrade() -> None:
    op.drop_table("table_reloads")
    with op.batch_alter_table("config_changes") as batch:
        batch.drop_constraint("action", type_="check")
        batch.create_check_constraint("action", _OLD_ACTIONS)
    with op.batch_alter_table("cdc_files") as batch:
        batch.drop_column("content_hash")
