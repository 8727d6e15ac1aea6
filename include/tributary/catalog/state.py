"""The last commit each table's catalog entry holds, in the metadata DB (``catalog_sync``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tributary.metadata.db import session_scope
from tributary.metadata.models import CatalogSyncRow


class SyncStatus:
    SYNCED = "synced"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncRecord:
    table_id: str
    database_name: str
    table_name: str
    synced_instant: str | None
    synced_at: datetime | None
    columns: int
    partitions: int
    status: str
    attempted_at: datetime | None
    error: str | None


def _record(row: CatalogSyncRow) -> SyncRecord:
    return SyncRecord(
        row.table_id,
        row.database_name,
        row.table_name,
        row.synced_instant,
        row.synced_at,
        row.columns,
        row.partitions,
        row.status,
        row.attempted_at,
        row.error,
    )


def get_record(table_id: str) -> SyncRecord | None:
    with session_scope() as s:
        row = s.get(CatalogSyncRow, table_id)
        return None if row is None else _record(row)


def records_in(session: Session) -> dict[str, SyncRecord]:
    """Every table's record, read in the caller's session (SQLite allows one writer at a time)."""
    return {row.table_id: _record(row) for row in session.scalars(select(CatalogSyncRow))}


def all_records() -> dict[str, SyncRecord]:
    with session_scope() as s:
        return records_in(s)


def _row(s: Session, table_id: str, database: str, table: str) -> CatalogSyncRow:
    row = s.get(CatalogSyncRow, table_id)
    if row is None:
        row = CatalogSyncRow(table_id=table_id, columns=0, partitions=0, status=SyncStatus.FAILED)
        s.add(row)
    row.database_name, row.table_name = database, table
    return row


def record_synced(table_id: str, database: str, table: str, instant: str, columns: int, partitions: int) -> None:
    """The catalog holds ``instant``: columns and ``partitions`` (its count) are in step up to it."""
    now = datetime.now(UTC)
    with session_scope() as s:
        row = _row(s, table_id, database, table)
        if row.synced_instant and row.synced_instant > instant and row.status == SyncStatus.SYNCED:
            return  # a concurrent run recorded a newer commit already
        row.synced_instant, row.synced_at, row.attempted_at = instant, now, now
        row.columns, row.partitions = columns, partitions
        row.status, row.error = SyncStatus.SYNCED, None


def record_failed(table_id: str, database: str, table: str, error: str) -> None:
    """A sync attempt failed; ``synced_instant`` stays where it was, so the next run retries."""
    with session_scope() as s:
        row = _row(s, table_id, database, table)
        row.attempted_at, row.status, row.error = datetime.now(UTC), SyncStatus.FAILED, error[:4000]
