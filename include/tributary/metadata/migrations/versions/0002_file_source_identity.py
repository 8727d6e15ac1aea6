"""cdc_files: the file's path inside its table's staging folder and its exact mtime

The CDC checkpoint identifies a full-load file by (relative path, size, mtime in ns), because a
DMS reload rewrites LOAD00000001.* under the same name; the tracker keeps the same facts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cdc_files") as batch:
        batch.add_column(sa.Column("relative_path", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("mtime_ns", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("file_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("file_format", sa.String(length=16), nullable=True))
        batch.create_check_constraint("kind", "file_kind IS NULL OR file_kind IN ('load', 'cdc')")


def downgrade() -> None:
    with op.batch_alter_table("cdc_files") as batch:
        batch.drop_constraint("kind", type_="check")
        batch.drop_column("file_format")
        batch.drop_column("file_kind")
        batch.drop_column("mtime_ns")
        batch.drop_column("relative_path")
