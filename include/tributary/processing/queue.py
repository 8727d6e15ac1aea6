"""A table's file queue in the tracker: is there work, what blocks it, what a run takes, and
reconciling files a commit applied while the tracker still shows them as not processed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from tributary.cdc.apply import CommitLog, applied_by
from tributary.cdc.checkpoint import Checkpoint
from tributary.files.registry import as_cdc_file, set_status
from tributary.locks.lease import LeaseKeeper
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, FileStatus, TableReloadRow

log = logging.getLogger(__name__)

#: files a run may still have to apply or reconcile
OPEN_STATUSES = (FileStatus.PENDING, FileStatus.FAILED, FileStatus.PROCESSING, FileStatus.QUARANTINED)
#: files a run applies (a quarantined file blocks its table instead)
TO_APPLY = (FileStatus.PENDING, FileStatus.FAILED)
#: every current file version a reload (rebuild) applies again
TO_REBUILD = (FileStatus.PENDING, FileStatus.FAILED, FileStatus.PROCESSED, FileStatus.QUARANTINED)


@dataclass(frozen=True)
class Selection:
    rebuild: bool
    """An operator asked for a reload: every current file version, quarantined or not."""
    blocked: str | None
    """A quarantined file that blocks the table (never with ``rebuild``)."""
    rows: list[CdcFileRow]
    """The files to apply, in DMS order."""


def has_work(table_id: str) -> bool:
    """A cheap read before taking the lease: are there files to apply or to reconcile, or a
    reload to do? (A file registered right after this read is picked up by the next run.)"""
    with session_scope() as s:
        if s.get(TableReloadRow, table_id) is not None:
            return True
        found = s.scalar(
            select(CdcFileRow.file_id)
            .where(CdcFileRow.table_id == table_id, CdcFileRow.status.in_(OPEN_STATUSES))
            .limit(1)
        )
        return found is not None


def select_files(table_id: str, max_files: int, *, reloads: bool = True) -> Selection:
    """The files a run takes: pending files in DMS order (at most ``max_files``), or for a
    requested reload (when the engine does ``reloads``) every current file version."""
    with session_scope() as s:
        rebuild = reloads and s.get(TableReloadRow, table_id) is not None
        blocked = s.scalar(
            select(CdcFileRow.uri)
            .where(CdcFileRow.table_id == table_id, CdcFileRow.status == FileStatus.QUARANTINED)
            .limit(1)
        )
        rows = list(
            s.scalars(
                select(CdcFileRow)
                .where(CdcFileRow.table_id == table_id, CdcFileRow.status.in_(TO_REBUILD if rebuild else TO_APPLY))
                .order_by(CdcFileRow.order_key, CdcFileRow.file_id)
                .limit(None if rebuild else max_files)
            )
        )
    if rebuild:  # the newest row of each file
        rows = list({r.relative_path: r for r in rows}.values())
    # DMS order, as the engine's sort_files (the same key, a stable sort)
    rows.sort(key=lambda r: as_cdc_file(r).order_key)
    return Selection(rebuild, None if rebuild else blocked, rows)


def reconcile(table_id: str, keeper: LeaseKeeper, timeline: CommitLog | None, checkpoint: Checkpoint) -> int:
    """Mark files the table's commits applied but the DB still shows as not processed (a crash
    between the Hudi commit and the DB update); fenced by ``keeper``. Returns how many."""
    if timeline is None or checkpoint.empty:
        return 0
    with session_scope() as s:
        rows = list(
            s.scalars(select(CdcFileRow).where(CdcFileRow.table_id == table_id, CdcFileRow.status.in_(OPEN_STATUSES)))
        )
        done = [r for r in rows if checkpoint.is_applied(as_cdc_file(r))]
        if not done:
            return 0
        by_path = applied_by(timeline)
        keeper.check(s)
        now = datetime.now(UTC)
        for row in done:
            known = checkpoint.ledger.get(row.relative_path or "")
            row.content_hash = known.digest if known is not None and known.digest else row.content_hash
            row.commit_instant = by_path.get(row.relative_path or "")
            row.processed_at = now
            set_status(s, row, FileStatus.PROCESSED, "reconciled from the Hudi commit checkpoint")
        log.warning("%s: reconciled %d file(s) from the commit checkpoint", table_id, len(done))
        return len(done)
