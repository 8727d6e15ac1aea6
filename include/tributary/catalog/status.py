"""Per table: which commit its catalog entry holds against the latest one (metadata DB only, so
the CLI, the ops page and the demo report can show it without calling AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tributary.catalog.state import SyncStatus, records_in
from tributary.config.models import Engine
from tributary.config.validation import ConfigSet
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow


class CatalogState(StrEnum):
    IN_STEP = "in step"
    BEHIND = "behind"
    FAILED = "failed"
    NOT_YET = "no commit yet"
    OPTED_OUT = "not registered (catalog: none)"
    HUDI_SYNC = "Hudi's hive sync (engine glue)"


@dataclass(frozen=True)
class CatalogStatus:
    table_id: str
    catalog_name: str
    state: CatalogState
    latest_instant: str | None
    synced_instant: str | None
    partitions: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.state not in (CatalogState.BEHIND, CatalogState.FAILED)


def _latest_instants(session: Session, table_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(CdcFileRow.table_id, func.max(CdcFileRow.commit_instant))
        .where(CdcFileRow.table_id.in_(table_ids))
        .group_by(CdcFileRow.table_id)
    ).all()
    return {table_id: str(instant) for table_id, instant in rows if table_id is not None and instant is not None}


def catalog_statuses(
    config: ConfigSet, table_ids: list[str] | None = None, session: Session | None = None
) -> list[CatalogStatus]:
    """Statuses of ``table_ids`` (every configured table when None), read in ``session`` when
    given (a caller inside a session must pass it: SQLite holds one writer at a time)."""
    if session is None:
        with session_scope() as s:
            return catalog_statuses(config, table_ids, s)
    ids = sorted(table_ids if table_ids is not None else config.tables)
    latest = _latest_instants(session, ids)
    records = records_in(session)
    out = []
    for table_id in ids:
        table = config.tables[table_id]
        record = records.get(table_id)
        engine = config.cadences[table.refresh_cadence].engine if table.refresh_cadence in config.cadences else None
        newest = latest.get(table_id)
        synced = record.synced_instant if record else None
        if not table.catalog_sync:  # catalog: none, or options.hive_sync: false
            state = CatalogState.OPTED_OUT
        elif engine is Engine.GLUE:
            state = CatalogState.HUDI_SYNC
        elif record is not None and record.status == SyncStatus.FAILED:
            state = CatalogState.FAILED
        elif newest is None and synced is None:
            state = CatalogState.NOT_YET
        elif synced is not None and (newest is None or synced >= newest):
            state = CatalogState.IN_STEP
        else:
            state = CatalogState.BEHIND
        out.append(
            CatalogStatus(
                table_id,
                f"{table.database_name}.{table.table_name}",
                state,
                newest,
                synced,
                record.partitions if record else 0,
                record.error if record else None,
            )
        )
    return out
