"""Process one table with the embedded engine: claim → apply in one Hudi commit → record → release.

Exactly once holds because the Hudi commit carries the checkpoint of the files it applied (see
:mod:`tributary.cdc.checkpoint`): a run that crashed after the commit but before the DB update is
reconciled by the next run from that checkpoint, and the engine never re-applies a file the
checkpoint names. Leases keep two workers off one table; the fencing check runs inside the
commit (before its completed instant appears) and inside the transaction that marks files. The
steps shared with the Spark engine are :mod:`tributary.processing.claim` and
:mod:`tributary.processing.runs`.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from tributary.catalog.after_run import sync_catalog_after_run
from tributary.cdc.apply import ApplyResult, apply_files
from tributary.cdc.options import CdcOptions
from tributary.config.models import RawTable
from tributary.config.table_options import cdc_options
from tributary.faults import crash_point
from tributary.files.registry import as_cdc_file
from tributary.locks.lease import DEFAULT_TTL
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow
from tributary.processing.claim import DEFAULT_MAX_FILES, Claim, claim, release
from tributary.processing.context import RunContext
from tributary.processing.engine import Applied, FileMark
from tributary.processing.outcome import OutcomeStatus, TableOutcome
from tributary.processing.runs import complete_run, fail, mark_files, names_no_file, record

if TYPE_CHECKING:
    from tributary.hudi import HudiTable

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_FILES", "EmbeddedEngine", "TableOutcome", "TableProcessor", "cdc_options", "process_table"]


def applied_from(result: ApplyResult, rows: list[CdcFileRow]) -> Applied:
    """An embedded commit as the core records it: of the files given, those refused (re-uploads)
    count an attempt; the others are processed, by this commit or by an earlier one."""
    refused = {r.path: r.message for r in result.refused}
    applied = set(result.files)
    already = FileMark(None, "found applied in the table's checkpoint", reason="already applied by an earlier commit")
    processed = {
        path: FileMark(result.instant, f"commit {result.instant}", digest=result.digests.get(path))
        if path in applied
        else already
        for path in (r.relative_path or "" for r in rows)
        if path not in refused
    }
    return Applied(processed, refused, result.inserted, result.updated, result.deleted, result.instant)


class EmbeddedEngine:
    """The local engine: Tributary's own Hudi writer, in this process."""

    def __init__(self, options: CdcOptions) -> None:
        self.options = options
        self.seconds = 0.0
        """Time spent inside the writer (read files, write the commit)."""

    def open_timeline(self, target: str) -> HudiTable | None:
        from tributary.hudi import HudiTable

        if not HudiTable.exists(target):
            return None
        return HudiTable.open(target)

    def applied(self, claim: Claim[HudiTable]) -> Applied:
        """Apply the claimed files in one commit (the checkpoint the claim read; fenced)."""
        return applied_from(self.apply(claim, claim.rows, whole=True), claim.rows)

    def apply(self, claim: Claim[HudiTable], rows: list[CdcFileRow], *, whole: bool) -> ApplyResult:
        """``rows`` of the claim in one commit; ``whole``: all of them, on the claim's checkpoint
        (a part re-reads it: an earlier part may have committed)."""
        start = time.perf_counter()
        try:
            return apply_files(
                claim.target,
                [as_cdc_file(r) for r in rows],
                self.options,
                rebuild=claim.rebuild and whole,
                before_complete=claim.fence,
                checkpoint_read=claim.checkpoint_read if whole else None,
            )
        finally:
            self.seconds += time.perf_counter() - start


class TableProcessor:
    """Runs one table with the embedded engine; each DB step is its own short transaction."""

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
        self.engine = EmbeddedEngine(cdc_options(table))

    def run(self) -> TableOutcome:
        start = time.perf_counter()
        outcome = self._run()
        # register the commit in the data catalog (or finish an earlier, failed registration)
        outcome = sync_catalog_after_run(self.table, outcome, self.ctx)
        outcome.seconds = time.perf_counter() - start
        outcome.engine_seconds = self.engine.seconds
        return outcome

    def _run(self) -> TableOutcome:
        held = claim(self.table, self.holder, self.engine, self.ctx, max_files=self.max_files, ttl=self.ttl)
        if isinstance(held, TableOutcome):
            return held
        try:
            return self._apply(held)
        finally:
            release(held)

    def _apply(self, held: Claim[HudiTable]) -> TableOutcome:
        try:
            applied = self.engine.applied(held)
        except Exception as exc:
            if names_no_file(exc) and len(held.rows) > 1 and not held.rebuild:
                return self._isolate(held, exc)
            return fail(held, exc)
        crash_point("after_hudi_commit")
        outcome = record(held, applied)
        crash_point("after_marking")
        return outcome

    def _isolate(self, held: Claim[HudiTable], first: BaseException) -> TableOutcome:
        """The batch failed with an error that names no file (the writer's): apply the files one
        by one, in DMS order, so that the attempt counts against the file that fails alone."""
        log.warning(
            "%s: %s; applying its %d files one by one to find the one at fault", self.table_id, first, len(held.rows)
        )
        total = Applied()
        for row in held.rows:
            try:
                applied = applied_from(self.engine.apply(held, [row], whole=False), [row])
            except Exception as exc:
                return fail(held, exc, culprit=row.uri)
            with session_scope() as s:
                held.keeper.check(s)
                mark_files(s, held, [row], applied)
            total = Applied(
                inserted=total.inserted + applied.inserted,
                updated=total.updated + applied.updated,
                deleted=total.deleted + applied.deleted,
                instant=applied.instant or total.instant,
            )
        with session_scope() as s:
            complete_run(s, held.run_id, len(held.rows), total)
        return TableOutcome(
            self.table_id,
            OutcomeStatus.COMPLETED,
            total.inserted,
            total.updated,
            total.deleted,
            held.uris,
            total.instant,
            run_id=held.run_id,
            reconciled=held.reconciled,
        )


def process_table(
    table: RawTable,
    holder: str,
    ctx: RunContext | None = None,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    ttl: timedelta = DEFAULT_TTL,
) -> TableOutcome:
    return TableProcessor(table, holder, ctx, max_files=max_files, ttl=ttl).run()
