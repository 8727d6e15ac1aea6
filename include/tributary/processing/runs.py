"""The second half of a table run: record what the engine applied, or the failure.

:func:`record` marks the claimed files in ONE transaction that first proves the lease still
holds (the fencing token; on PostgreSQL the lock row stays locked until it commits), and
completes the run with its history line. :func:`fail` records a failed run, counts the attempt
against the file at fault (quarantined after the configured attempts) and queues the alert, in
one transaction too. Both engines record through here.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tributary.cdc.files import FileKind
from tributary.errors import CdcFileError, CommitConflictError, LeaseLostError, MetadataError, TributaryError
from tributary.faults import crash_point
from tributary.files.registry import set_status
from tributary.locks.lease import Lease
from tributary.metadata.db import session_scope
from tributary.metadata.models import (
    CdcFileRow,
    FileStatus,
    ProcessingRunHistoryRow,
    ProcessingRunRow,
    RunStatus,
    TableReloadRow,
)
from tributary.processing.context import RunContext, queue_table_alert
from tributary.processing.engine import Applied, FileMark
from tributary.processing.outcome import OutcomeStatus, TableOutcome

if TYPE_CHECKING:
    from tributary.processing.claim import Claim

log = logging.getLogger(__name__)


def start_run(table_id: str, lease: Lease, ctx: RunContext, uris: list[str]) -> int:
    """Open the ``processing_runs`` row (running) with its first history line; its id."""
    with session_scope() as s:
        run = ProcessingRunRow(
            table_id=table_id,
            status=RunStatus.RUNNING,
            holder=lease.holder,
            lock_token=lease.token,
            dag_id=ctx.dag_id,
            dag_run_id=ctx.dag_run_id,
            task_id=ctx.task_id,
            files=uris,
        )
        s.add(run)
        s.flush()
        s.add(ProcessingRunHistoryRow(run_id=run.run_id, status=RunStatus.RUNNING, detail=f"{len(uris)} files"))
        return run.run_id


def record(held: Claim[Any], applied: Applied, rows: Sequence[CdcFileRow] | None = None) -> TableOutcome:
    """Mark the claimed ``rows`` (default: all) as ``applied`` says and complete the run; a file
    the engine did not apply fails the run (:func:`fail`). Raises LeaseLostError (nothing
    recorded) when the lease no longer holds."""
    rows = list(held.rows if rows is None else rows)
    with session_scope() as s:
        held.keeper.check(s)  # fence: on PostgreSQL the lock row stays locked until this commits
        crash_point("while_marking")
        unapplied = mark_files(s, held, rows, applied)
        if not unapplied:
            if held.rebuild:
                s.execute(delete(TableReloadRow).where(TableReloadRow.table_id == held.table_id))
            complete_run(s, held.run_id, len(rows), applied)
    if unapplied:
        remaining = [r for r in rows if r.file_id in unapplied]
        error = applied.unapplied_error or TributaryError("the engine applied none of these files")
        return fail(held, error, remaining)
    return TableOutcome(
        held.table_id,
        OutcomeStatus.COMPLETED,
        applied.inserted,
        applied.updated,
        applied.deleted,
        [r.uri for r in rows],
        applied.instant,
        run_id=held.run_id,
        reconciled=held.reconciled,
    )


def mark_files(s: Session, held: Claim[Any], rows: Sequence[CdcFileRow], applied: Applied) -> set[int]:
    """Record one engine result in ``s``: processed files with their commit, refused files count
    an attempt (CDC files are quarantined at once: their content conflicts for good; a full-load
    file may still join a reload generation). Returns the ids of files the engine did not apply."""
    now = datetime.now(UTC)
    unapplied: set[int] = set()
    for row in s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_([r.file_id for r in rows]))):
        path = row.relative_path or ""
        mark = applied.processed.get(path)
        if path in applied.refused:
            _refuse(s, row, applied.refused[path], held.max_attempts)
        elif mark is not None:
            _processed(s, row, mark, now)
        else:
            unapplied.add(row.file_id)
    return unapplied


def _refuse(s: Session, row: CdcFileRow, message: str, max_attempts: int) -> None:
    row.attempts += 1
    row.reason = message
    final = row.file_kind == FileKind.CDC.value or row.attempts >= max_attempts
    set_status(s, row, FileStatus.QUARANTINED if final else FileStatus.FAILED, message[:1000])


def _processed(s: Session, row: CdcFileRow, mark: FileMark, now: datetime) -> None:
    row.content_hash = mark.digest or row.content_hash
    row.commit_instant = mark.instant or row.commit_instant
    row.processed_at = now
    row.reason = mark.reason
    set_status(s, row, FileStatus.PROCESSED, mark.detail)


def complete_run(s: Session, run_id: int, n_files: int, applied: Applied) -> None:
    run = s.get(ProcessingRunRow, run_id)
    assert run is not None
    run.status, run.finished_at = RunStatus.COMPLETED, datetime.now(UTC)
    run.inserted, run.updated, run.deleted = applied.inserted, applied.updated, applied.deleted
    run.commit_instant = applied.instant
    detail = f"{n_files} files, instant {applied.instant}{applied.note}"
    s.add(ProcessingRunHistoryRow(run_id=run_id, status=RunStatus.COMPLETED, detail=detail))


def names_no_file(exc: BaseException) -> bool:
    """An engine error not about one input file nor about the run's own footing (the lease, a
    concurrent commit, the metadata DB): the writer refused the data."""
    return not isinstance(exc, CdcFileError | LeaseLostError | CommitConflictError | MetadataError)


def fail(
    held: Claim[Any],
    exc: BaseException,
    rows: Sequence[CdcFileRow] | None = None,
    *,
    culprit: str | None = None,
) -> TableOutcome:
    """Record the failure, count the attempt against the bad file (named by the error, or the
    ``culprit`` found by applying files one by one, or the only file; quarantined after the
    configured attempts) and queue the alert — all in one transaction."""
    rows = list(held.rows if rows is None else rows)
    expected = isinstance(exc, TributaryError)
    message = str(exc) if expected else f"{type(exc).__name__}: {exc}"
    if not expected:
        log.error("%s: processing failed", held.table_id, exc_info=exc)
    bad_uri = _bad_uri(rows, exc, culprit)
    with session_scope() as s:
        _fail_run(s, held.run_id, message, "".join(traceback.format_exception(exc)))
        quarantined = _count_attempt(s, held, bad_uri, message) if bad_uri is not None else False
        queue_table_alert(s, held.ctx, held.table_id, message, [r.uri for r in rows])
    if bad_uri is not None and bad_uri not in message:
        message = f"{bad_uri}: {message}"
    suffix = f" (file quarantined after {held.max_attempts} attempts)" if quarantined else ""
    return TableOutcome(
        held.table_id, OutcomeStatus.FAILED, files=[r.uri for r in rows], error=message + suffix, run_id=held.run_id
    )


def _bad_uri(rows: Sequence[CdcFileRow], exc: BaseException, culprit: str | None) -> str | None:
    bad_uri = culprit if culprit is not None else (rows[0].uri if len(rows) == 1 and names_no_file(exc) else None)
    if isinstance(exc, CdcFileError):
        for row in rows:
            if exc.path in (row.relative_path, row.uri) or row.uri.endswith("/" + exc.path):
                bad_uri = row.uri
    return bad_uri


def _fail_run(s: Session, run_id: int, message: str, tb: str) -> None:
    run = s.get(ProcessingRunRow, run_id)
    assert run is not None
    run.status, run.finished_at, run.error, run.traceback = RunStatus.FAILED, datetime.now(UTC), message, tb
    s.add(ProcessingRunHistoryRow(run_id=run_id, status=RunStatus.FAILED, detail=message[:2000]))


def _count_attempt(s: Session, held: Claim[Any], bad_uri: str, message: str) -> bool:
    """One more attempt against the file; True when that quarantined it."""
    row = s.scalar(
        select(CdcFileRow).where(
            CdcFileRow.table_id == held.table_id,
            CdcFileRow.uri == bad_uri,
            CdcFileRow.status.in_((FileStatus.PENDING, FileStatus.FAILED)),
        )
    )
    if row is None:
        return False
    row.attempts += 1
    row.reason = message
    quarantined = row.attempts >= held.max_attempts
    status = FileStatus.QUARANTINED if quarantined else FileStatus.FAILED
    set_status(s, row, status, f"attempt {row.attempts}/{held.max_attempts}: {message[:1000]}")
    return quarantined
