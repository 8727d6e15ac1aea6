"""Bring one table's Glue Data Catalog entry in step with its Hudi table.

The steps follow Hudi's ``HiveSyncTool``: database and table created when missing, the columns
updated when the schema evolved (never dropped), the partitions written since the last synced
commit added in batches, and only then the synced commit recorded — in the table's
``last_commit_time_sync`` parameter (Hudi's own marker, so Hudi's sync on the Spark engine carries
on from it) and in the metadata DB. A sync that fails or crashes part-way leaves the recorded
commit where it was; the next run repeats the steps, each of which is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from tributary.catalog import definition as ddl
from tributary.catalog.glue import GlueCatalog
from tributary.catalog.source import HudiSource
from tributary.catalog.state import SyncRecord, SyncStatus, get_record, record_failed, record_synced
from tributary.config.locations import resolve_location
from tributary.config.models import RawTable
from tributary.errors import CatalogError, TributaryError
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow

log = logging.getLogger(__name__)


class SyncAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NO_COMMITS = "no_commits"
    OPTED_OUT = "opted_out"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncResult:
    table_id: str
    action: SyncAction
    instant: str | None = None
    partitions_added: int = 0
    columns: int = 0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.action is SyncAction.FAILED


def catalog_location(uri: str) -> str:
    """The table location as catalogs write it: ``s3://`` stays, a local path becomes ``file://``."""
    return uri if uri.startswith("s3://") else "file://" + uri


def _up_to_date(record: SyncRecord | None, table: RawTable, instant: str) -> bool:
    return (
        record is not None
        and record.status == SyncStatus.SYNCED
        and record.synced_instant == instant
        and (record.database_name, record.table_name) == (table.database_name, table.table_name)
    )


def sync_table(table: RawTable, *, catalog: GlueCatalog | None = None, force: bool = False) -> SyncResult:
    """Sync one table; a failure is recorded (and returned), never raised, so the caller decides."""
    if not table.catalog_sync:  # catalog: none, or options.hive_sync: false
        return SyncResult(table.table_id, SyncAction.OPTED_OUT)
    try:
        return _sync(table, catalog, force)
    except TributaryError as exc:
        message = f"catalog sync of {table.database_name}.{table.table_name} failed: {exc}"
    except Exception as exc:  # an unexpected failure must not take the processed files with it
        log.exception("%s: catalog sync failed", table.table_id)
        message = f"catalog sync of {table.database_name}.{table.table_name} failed: {type(exc).__name__}: {exc}"
    try:
        record_failed(table.table_id, table.database_name, table.table_name, message)
    except Exception as exc:
        log.error("%s: could not record the failed catalog sync: %s", table.table_id, exc)
    return SyncResult(table.table_id, SyncAction.FAILED, error=message)


def _sync(table: RawTable, catalog: GlueCatalog | None, force: bool) -> SyncResult:
    record = get_record(table.table_id)
    source = HudiSource(resolve_location(table.target_uri))
    state = source.state()
    if state.latest_instant is None or state.schema is None:
        return SyncResult(table.table_id, SyncAction.NO_COMMITS)
    instant = state.latest_instant
    if not force and _up_to_date(record, table, instant):
        return SyncResult(table.table_id, SyncAction.UNCHANGED, instant, columns=record.columns if record else 0)
    glue = catalog or GlueCatalog(table.database_name, table.table_name)
    glue.ensure_database()
    location = catalog_location(state.uri)
    fields = list(table.partition_fields)
    current = glue.get_table()
    created = current is None
    if current is None:
        _create(glue, table, location, state.schema)
        current = _must_get(glue)
    else:
        update = ddl.updated_table_input(current, state.schema, fields, None)
        if update is not None:
            glue.update_table(update)
            current = _must_get(glue)
    same_names = record is not None and (record.database_name, record.table_name) == (
        table.database_name,
        table.table_name,
    )
    since = None if created or not same_names or force else record.synced_instant if record else None
    added, total = _sync_partitions(glue, source, fields, location, current, since)
    if total is None:
        total = (record.partitions if record else 0) + added
    final = ddl.updated_table_input(current, state.schema, fields, instant)
    if final is not None:
        glue.update_table(final)
    columns = len(current["StorageDescriptor"].get("Columns", []))
    record_synced(table.table_id, table.database_name, table.table_name, instant, columns, total)
    action = SyncAction.CREATED if created else SyncAction.UPDATED
    log.info("%s: catalog %s at %s (%d partition(s) added)", table.table_id, action.value, instant, added)
    return SyncResult(table.table_id, action, instant, added, columns)


def _create(glue: GlueCatalog, table: RawTable, location: str, schema: Any) -> None:
    table_input = ddl.table_input(table.table_name, location, schema, list(table.partition_fields), None)
    try:
        glue.create_table(table_input)
    except CatalogError as exc:
        if "AlreadyExistsException" not in str(exc):  # created meanwhile by another run
            raise


def _must_get(glue: GlueCatalog) -> dict[str, Any]:
    current = glue.get_table()
    if current is None:
        raise CatalogError(f"Glue table {glue.name} vanished during the sync; the next run creates it again")
    return current


def _sync_partitions(
    glue: GlueCatalog, source: HudiSource, fields: list[str], location: str, current: dict[str, Any], since: str | None
) -> tuple[int, int | None]:
    """Add the partitions the catalog lacks: those written since ``since`` (every partition when
    None). Returns (added, total when every partition was compared, else None)."""
    if not fields:
        return 0, 0
    paths = source.partitions_since(since) if since else None
    full = paths is None
    if paths is None:
        paths = source.all_partitions()
        existing = glue.all_partition_values()
    else:
        existing = glue.existing_partition_values([ddl.partition_values(p, fields) for p in paths])
    wanted = {tuple(ddl.partition_values(p, fields)): p for p in paths if p}
    missing = [(values, path) for values, path in wanted.items() if values not in existing]
    sd = current["StorageDescriptor"]
    glue.add_partitions([ddl.partition_input(sd, f"{location}/{path}", values) for values, path in missing])
    return len(missing), (len(existing | set(wanted)) if full else None)


def latest_applied_instant(table_id: str) -> str | None:
    """The newest commit the metadata DB knows for the table (files are marked with it, also when
    reconciled after a crash): a DB-only read, so an idle run stays cheap."""
    with session_scope() as s:
        value = s.scalar(select(func.max(CdcFileRow.commit_instant)).where(CdcFileRow.table_id == table_id))
        return None if value is None else str(value)


def needs_sync(table: RawTable) -> bool:
    """Whether the table's catalog entry may be behind: a failed or missing sync, or a commit
    newer than the one recorded."""
    if not table.catalog_sync:
        return False
    latest = latest_applied_instant(table.table_id)
    if latest is None:
        return False
    record = get_record(table.table_id)
    return record is None or not _up_to_date(record, table, max(latest, record.synced_instant or ""))
