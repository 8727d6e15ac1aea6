"""Process one table: lease → reconcile → pending files in DMS order → engine → mark → release.

Exactly once holds because the Hudi commit carries the checkpoint of the files it applied (see
:mod:`tributary.cdc.checkpoint`): a run that crashed after the commit but before the DB update is
reconciled by the next run from that checkpoint, and the engine never re-applies a file the
checkpoint names. Leases keep two workers off one table; the fencing check runs inside the
commit (before its completed instant appears) and inside the transaction that marks files.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tributary.catalog.after_run import sync_catalog_after_run
from tributary.cdc.apply import ApplyResult, apply_files, read_checkpoint
from tributary.cdc.checkpoint import applied_files
from tributary.cdc.files import FileKind
from tributary.config.locations import resolve_location
from tributary.config.models import RawTable
from tributary.config.table_options import cdc_options
from tributary.errors import CdcFileError, CommitConflictError, LeaseLostError, MetadataError, TributaryError
from tributary.faults import crash_point
from tributary.files.registry import as_cdc_file, set_status
from tributary.locks.lease import DEFAULT_TTL, Lease, LeaseKeeper, acquire, release
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ProcessingRunHistoryRow, ProcessingRunRow, TableReloadRow
from tributary.processing.context import RunContext, queue_table_alert
from tributary.settings import get_settings

if TYPE_CHECKING:
    from tributary.hudi import HudiTable

log = logging.getLogger(__name__)

#: files a run takes at most; the rest wait for the next run (bounded memory per commit)
DEFAULT_MAX_FILES = 500


@dataclass
class TableOutcome:
    table_id: str
    status: str  # completed | idle | busy | blocked | failed
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    files: list[str] = field(default_factory=list)
    instant: str | None = None
    error: str | None = None
    run_id: int | None = None
    reconciled: int = 0
    seconds: float = 0.0
    engine_seconds: float = 0.0
    """Time inside the CDC engine (read files, write the Hudi commit); the rest is lease, tracker,
    history and reconcile work against the metadata DB."""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _now() -> datetime:
    return datetime.now(UTC)


class TableProcessor:
    """Runs the steps for one table; each DB step is its own short transaction."""

    def __init__(
        self,
        table: RawTable,
        holder: str,
        ctx: RunContext | None = None,
        *,
        max_files: int = DEFAULT_MAX_FILES,
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self.table = table
        self.table_id = table.table_id
        self.holder = holder
        self.ctx = ctx or RunContext()
        self.max_files = max_files
        self.ttl = ttl
        self.target = resolve_location(table.target_uri)
        self.options = cdc_options(table)
        self.max_attempts = get_settings().max_file_attempts
        self.engine_seconds = 0.0

    # -- steps ---------------------------------------------------------------------------------

    def run(self) -> TableOutcome:
        start = time.perf_counter()
        outcome = self._run()
        # register the commit in the data catalog (or finish an earlier, failed registration)
        outcome = sync_catalog_after_run(self.table, outcome, self.ctx)
        outcome.seconds = time.perf_counter() - start
        outcome.engine_seconds = self.engine_seconds
        return outcome

    def _run(self) -> TableOutcome:
        if not self._has_work():
            return TableOutcome(self.table_id, "idle")
        lease = acquire(self.table_id, self.holder, self.ttl)
        if lease is None:
            return TableOutcome(self.table_id, "busy", error="another worker holds the table's lease")
        crash_point("after_lease")
        keeper = LeaseKeeper(lease, self.ttl)
        try:
            with keeper:
                return self._run_leased(keeper)
        finally:
            try:
                release(keeper.lease)
            except Exception as exc:  # the lease expires by itself; never mask the outcome
                log.warning("releasing the lease on %s failed: %s", self.table_id, exc)

    def _has_work(self) -> bool:
        """A cheap read before taking the lease: are there files to apply or to reconcile, or a
        reload to do? (A file registered right after this read is picked up by the next run.)"""
        with session_scope() as s:
            if s.get(TableReloadRow, self.table_id) is not None:
                return True
            return (
                s.scalar(
                    select(CdcFileRow.file_id)
                    .where(
                        CdcFileRow.table_id == self.table_id,
                        CdcFileRow.status.in_(("pending", "failed", "processing", "quarantined")),
                    )
                    .limit(1)
                )
                is not None
            )

    def _run_leased(self, keeper: LeaseKeeper) -> TableOutcome:
        reconciled = self._reconcile(keeper)
        rebuild, blocked, rows = self._select()
        if blocked is not None:
            return TableOutcome(
                self.table_id,
                "blocked",
                reconciled=reconciled,
                error=f"quarantined file {blocked} blocks this table; run `tributary files retry` "
                "or `tributary files skip`",
            )
        if not rows:
            return TableOutcome(self.table_id, "idle", reconciled=reconciled)
        run_id = self._start_run(keeper.lease, rows)
        crash_point("after_run_started")
        files = [as_cdc_file(r) for r in rows]

        def fence() -> None:
            keeper.check()
            crash_point("before_commit_complete")

        engine_start = time.perf_counter()
        try:
            result = apply_files(self.target, files, self.options, rebuild=rebuild, before_complete=fence)
        except Exception as exc:
            if _names_no_file(exc) and len(rows) > 1 and not rebuild:
                return self._isolate(keeper, run_id, rows, fence, reconciled, exc)
            return self._fail(keeper, run_id, rows, exc)
        finally:
            self.engine_seconds += time.perf_counter() - engine_start
        crash_point("after_hudi_commit")
        with session_scope() as s:
            keeper.check(s)  # fence: on PostgreSQL the lock row stays locked until this commits
            crash_point("while_marking")
            self._mark(s, rows, result)
            if rebuild:
                s.execute(delete(TableReloadRow).where(TableReloadRow.table_id == self.table_id))
            self._complete(s, run_id, len(rows), result.inserted, result.updated, result.deleted, result.instant)
        crash_point("after_marking")
        return TableOutcome(
            self.table_id,
            "completed",
            result.inserted,
            result.updated,
            result.deleted,
            [r.uri for r in rows],
            result.instant,
            run_id=run_id,
            reconciled=reconciled,
        )

    def _select(self) -> tuple[bool, str | None, list[CdcFileRow]]:
        """(rebuild requested, a quarantined file blocking the table, the files to apply): pending
        files in DMS order, or for a reload every current file version (quarantine or not)."""
        with session_scope() as s:
            rebuild = s.get(TableReloadRow, self.table_id) is not None
            blocked = s.scalar(
                select(CdcFileRow.uri)
                .where(CdcFileRow.table_id == self.table_id, CdcFileRow.status == "quarantined")
                .limit(1)
            )
            statuses = ("pending", "failed", "processed", "quarantined") if rebuild else ("pending", "failed")
            rows = list(
                s.scalars(
                    select(CdcFileRow)
                    .where(CdcFileRow.table_id == self.table_id, CdcFileRow.status.in_(statuses))
                    .order_by(CdcFileRow.order_key, CdcFileRow.file_id)
                    .limit(None if rebuild else self.max_files)
                )
            )
        if rebuild:  # the newest row of each file
            return True, None, list({r.relative_path: r for r in rows}.values())
        return False, blocked, rows

    def _mark(self, s: Session, rows: list[CdcFileRow], result: ApplyResult) -> None:
        """Record what one commit did: applied and already-applied files are processed; files
        refused as re-uploads count an attempt (CDC files are quarantined at once: their content
        conflicts for good; a full-load file may still join a reload generation)."""
        applied = set(result.files)
        refused = {r.path: r.message for r in result.refused}
        now = _now()
        for row in s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_([r.file_id for r in rows]))):
            path = row.relative_path or ""
            if path in refused:
                row.attempts += 1
                row.reason = refused[path]
                final = row.file_kind == FileKind.CDC.value or row.attempts >= self.max_attempts
                set_status(s, row, "quarantined" if final else "failed", refused[path][:1000])
                continue
            row.content_hash = result.digests.get(path, row.content_hash)
            row.commit_instant = result.instant if path in applied else row.commit_instant
            row.processed_at = now
            row.reason = None if path in applied else "already applied by an earlier commit"
            detail = f"commit {result.instant}" if path in applied else "found applied in the table's checkpoint"
            set_status(s, row, "processed", detail)

    @staticmethod
    def _complete(
        s: Session, run_id: int, n_files: int, inserted: int, updated: int, deleted: int, instant: str | None
    ) -> None:
        run = s.get(ProcessingRunRow, run_id)
        assert run is not None
        run.status, run.finished_at = "completed", _now()
        run.inserted, run.updated, run.deleted = inserted, updated, deleted
        run.commit_instant = instant
        s.add(ProcessingRunHistoryRow(run_id=run_id, status="completed", detail=f"{n_files} files, instant {instant}"))

    def _isolate(
        self,
        keeper: LeaseKeeper,
        run_id: int,
        rows: list[CdcFileRow],
        fence: Callable[[], None],
        reconciled: int,
        first: BaseException,
    ) -> TableOutcome:
        """The batch failed with an error that names no file (the writer's): apply the files one
        by one, in DMS order, so that the attempt counts against the file that fails alone."""
        log.warning(
            "%s: %s; applying its %d files one by one to find the one at fault", self.table_id, first, len(rows)
        )
        totals = [0, 0, 0]
        instant = None
        for row in rows:
            try:
                result = apply_files(self.target, [as_cdc_file(row)], self.options, before_complete=fence)
            except Exception as exc:
                return self._fail(keeper, run_id, rows, exc, culprit=row.uri)
            with session_scope() as s:
                keeper.check(s)
                self._mark(s, [row], result)
            totals = [totals[0] + result.inserted, totals[1] + result.updated, totals[2] + result.deleted]
            instant = result.instant or instant
        with session_scope() as s:
            self._complete(s, run_id, len(rows), *totals, instant)
        return TableOutcome(
            self.table_id, "completed", *totals, [r.uri for r in rows], instant, run_id=run_id, reconciled=reconciled
        )

    def _open_table(self) -> HudiTable | None:
        """The table whose commits carry the checkpoint (None before its first commit). The
        distributed engine reads a Spark-written table's timeline instead."""
        from tributary.hudi import HudiTable

        if not HudiTable.exists(self.target):
            return None
        return HudiTable.open(self.target)

    def _reconcile(self, keeper: LeaseKeeper) -> int:
        """Mark files the table's commits applied but the DB still shows as pending (a crash
        between the Hudi commit and the DB update)."""
        table = self._open_table()
        if table is None:
            return 0
        checkpoint = read_checkpoint(table)  # searches back when another writer committed last
        if checkpoint.empty:
            return 0
        with session_scope() as s:
            rows = list(
                s.scalars(
                    select(CdcFileRow).where(
                        CdcFileRow.table_id == self.table_id,
                        CdcFileRow.status.in_(("pending", "processing", "failed", "quarantined")),
                    )
                )
            )
            done = [r for r in rows if checkpoint.is_applied(as_cdc_file(r))]
            if not done:
                return 0
            by_path: dict[str, str] = {}
            for commit in reversed(table.completed_commits()):
                for path in applied_files(commit.extra_metadata):
                    by_path.setdefault(path, commit.instant)
            keeper.check(s)
            for row in done:
                known = checkpoint.ledger.get(row.relative_path or "")
                row.content_hash = known.digest if known is not None and known.digest else row.content_hash
                row.commit_instant = by_path.get(row.relative_path or "")
                row.processed_at = _now()
                set_status(s, row, "processed", "reconciled from the Hudi commit checkpoint")
            log.warning("%s: reconciled %d file(s) from the commit checkpoint", self.table_id, len(done))
            return len(done)

    def _start_run(self, lease: Lease, rows: list[CdcFileRow]) -> int:
        with session_scope() as s:
            run = ProcessingRunRow(
                table_id=self.table_id,
                status="running",
                holder=self.holder,
                lock_token=lease.token,
                dag_id=self.ctx.dag_id,
                dag_run_id=self.ctx.dag_run_id,
                task_id=self.ctx.task_id,
                files=[r.uri for r in rows],
            )
            s.add(run)
            s.flush()
            s.add(ProcessingRunHistoryRow(run_id=run.run_id, status="running", detail=f"{len(rows)} files"))
            return run.run_id

    def _fail(
        self,
        keeper: LeaseKeeper,
        run_id: int,
        rows: list[CdcFileRow],
        exc: BaseException,
        culprit: str | None = None,
    ) -> TableOutcome:
        """Record the failure, count the attempt against the bad file (named by the error, or the
        ``culprit`` found by applying files one by one, or the only file; quarantined after the
        configured attempts) and queue the alert — all in one transaction."""
        expected = isinstance(exc, TributaryError)
        message = str(exc) if expected else f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(exc))
        if not expected:
            log.exception("%s: processing failed", self.table_id)
        bad_uri = culprit if culprit is not None else (rows[0].uri if len(rows) == 1 and _names_no_file(exc) else None)
        if isinstance(exc, CdcFileError):
            for row in rows:
                if exc.path in (row.relative_path, row.uri) or row.uri.endswith("/" + exc.path):
                    bad_uri = row.uri
        with session_scope() as s:
            now = _now()
            run = s.get(ProcessingRunRow, run_id)
            assert run is not None
            run.status, run.finished_at, run.error, run.traceback = "failed", now, message, tb
            s.add(ProcessingRunHistoryRow(run_id=run_id, status="failed", detail=message[:2000]))
            quarantined = False
            if bad_uri is not None:
                row = s.scalar(
                    select(CdcFileRow).where(
                        CdcFileRow.table_id == self.table_id,
                        CdcFileRow.uri == bad_uri,
                        CdcFileRow.status.in_(("pending", "failed")),
                    )
                )
                if row is not None:
                    row.attempts += 1
                    row.reason = message
                    quarantined = row.attempts >= self.max_attempts
                    set_status(
                        s,
                        row,
                        "quarantined" if quarantined else "failed",
                        f"attempt {row.attempts}/{self.max_attempts}: {message[:1000]}",
                    )
            queue_table_alert(s, self.ctx, self.table_id, message, [r.uri for r in rows])
        if bad_uri is not None and bad_uri not in message:
            message = f"{bad_uri}: {message}"
        suffix = f" (file quarantined after {self.max_attempts} attempts)" if quarantined else ""
        return TableOutcome(self.table_id, "failed", files=[r.uri for r in rows], error=message + suffix, run_id=run_id)


def _names_no_file(exc: BaseException) -> bool:
    """An engine error not about one input file nor about the run's own footing (the lease, a
    concurrent commit, the metadata DB): the writer refused the data."""
    return not isinstance(exc, CdcFileError | LeaseLostError | CommitConflictError | MetadataError)


def process_table(
    table: RawTable,
    holder: str,
    ctx: RunContext | None = None,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    ttl: timedelta = DEFAULT_TTL,
) -> TableOutcome:
    return TableProcessor(table, holder, ctx, max_files=max_files, ttl=ttl).run()
