"""refresh_cadences: the Glue version a glue cadence's jobs run on (default 5.0)

The Glue version fixes the Hudi version that writes the cadence's tables (5.0: Hudi 0.15.0,
table version 6; 5.1: Hudi 1.0.2, table version 8), so config validation needs it.

Revision ID: 0004_cadence_glue_version
Revises: 0003_content_identity
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_cadence_glue_version"
down_revision = "0003_content_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_cadences") as batch:
        batch.add_column(sa.Column("glue_version", sa.String(length=8), nullable=False, server_default="5.0"))


def downgrade() -> None:
    with op.batch_alter_table("refresh_cadences") as batch:
        batch.drop_column("glue_version")
