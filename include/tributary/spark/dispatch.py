"""The Airflow side of the distributed engine: hand a batch to Spark, record what it did.

Before the run (:func:`prepare_batch`), per table, the table-run core's
:func:`~tributary.processing.claim.claim`, as the local processor does: skip tables without work,
take the lease (with a TTL that covers the job; the job's driver extends it when it can reach
the metadata DB), read the checkpoint from the Spark-written timeline once, reconcile files that
the table's commits applied but the DB does not know of, refuse tables blocked by a quarantined
file, select the pending files in DMS order and open a ``processing_runs`` row. The job gets the table config, the files, the lease and the checkpoint
its commit must carry (the local engine's checkpoint advanced by these files, from the newest
checkpoint on the table's timeline) with the instant it was read at, as JSON.

After the run (:func:`record_results`), per table, in ONE transaction that first proves the
lease still holds (the fencing token; a lost lease refuses the recording, fails the run and
queues an alert, and the new holder reconciles from the timeline): the files the table's
timeline checkpoint names are marked processed with their commit instant, whatever the job's
result says (a job that died after its commit has no result). Files the job reports applied in
a commit without a checkpoint are recorded from the result. Files neither names fail the table:
a failed run, an attempt counted against the bad file (quarantine after the configured
attempts) and a queued alert (the core's :func:`~tributary.processing.runs.record` and
:func:`~tributary.processing.runs.fail`, with :class:`SparkEngine` saying what the job applied).
Leases are released.

Never shipped to the cluster (it needs the metadata DB and the processor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tributary.cdc.apply import applied_by, read_checkpoint
from tributary.cdc.files import CdcFile, FileKind
from tributary.config.models import RawTable
from tributary.errors import CdcFileError, LeaseLostError, TributaryError
from tributary.locks import lease as leases
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, FileStatus
from tributary.processing.batches import config_failure
from tributary.processing.claim import DEFAULT_MAX_FILES, Claim, claim, release, resume
from tributary.processing.context import RunContext
from tributary.processing.engine import Applied, FileMark
from tributary.processing.outcome import OutcomeStatus, TableOutcome, batch_dict, outcome_dict
from tributary.processing.processor import cdc_options
from tributary.processing.runs import fail, record
from tributary.spark.job import BATCH_VERSION, ResultStatus
from tributary.spark.timeline import TableTimeline

log = logging.getLogger(__name__)


@dataclass
class PreparedBatch:
    """The job's batch argument, plus what the task must remember to record the results."""

    batch: dict[str, Any]
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    """table_id → {run_id, holder, token, file_ids, uris}: tables handed to the job."""
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """table_id → outcome dict of tables not handed to the job (idle, busy, blocked, failed)."""

    def to_state(self) -> dict[str, Any]:
        """JSON-safe, for the deferral's kwargs."""
        return {"pending": self.pending, "outcomes": self.outcomes}


class SparkEngine:
    """The distributed engine as the table-run core sees it: the table's timeline is the one
    Spark wrote; what it applied is what that timeline's checkpoint names (the truth, whatever
    the job's result says), then what the job's result reports."""

    def __init__(self, result: dict[str, Any] | None = None, job_error: str | None = None) -> None:
        self.result = result
        self.job_error = job_error

    def open_timeline(self, target: str) -> TableTimeline | None:
        # Spark-written tables (Merge-on-Read, metadata table) are read, never written, here
        return TableTimeline.open(target)

    @property
    def completed(self) -> bool:
        return self.result is not None and self.result.get("status") == ResultStatus.COMPLETED

    def applied(self, claim: Claim[TableTimeline]) -> Applied:
        """Raises TributaryError when the table's timeline cannot be read (nothing is recorded;
        the next run reconciles from the timeline)."""
        try:
            timeline = self.open_timeline(claim.target)
            checkpoint = read_checkpoint(timeline)
            applied_in = applied_by(timeline) if timeline is not None else {}
        except Exception as exc:
            raise TributaryError(f"cannot read the table's Hudi timeline to record the Spark result: {exc}") from exc
        result = self.result if self.completed and self.result is not None else {}
        reported, reported_instant = set(result.get("files") or []), result.get("instant")
        processed: dict[str, FileMark] = {}
        for file in claim.files:
            if checkpoint.is_applied(file):
                instant = applied_in.get(file.path)
                processed[file.path] = FileMark(instant, f"commit {instant} (spark)")
            elif file.path in reported:
                processed[file.path] = self._reported(claim.table_id, file.path, reported_instant)
        instants = {m.instant for m in processed.values() if m.instant}
        counts = [int((self.result or {}).get(k) or 0) for k in ("inserted", "updated", "deleted")]
        note = "" if self.completed else "; reconciled from the table's commit checkpoint (the job reported no success)"
        return Applied(
            processed,
            inserted=counts[0],
            updated=counts[1],
            deleted=counts[2],
            # the commit the checkpoint names (MOR: not the inline compaction after it)
            instant=max(instants) if instants else reported_instant,
            note=f" (spark){note}",
            unapplied_error=self.job_failure(),
        )

    @staticmethod
    def _reported(table_id: str, path: str, instant: str | None) -> FileMark:
        """A file the job's result names but no checkpoint on the timeline does."""
        if not instant:
            return FileMark(None, "no rows to write: no commit (spark)")
        log.error(
            "%s: commit %s carries no Tributary checkpoint naming %s; recorded from the job's result "
            "(check hoodie.datasource.write.commitmeta.key.prefix on the cluster)",
            table_id,
            instant,
            path,
        )
        return FileMark(instant, f"commit {instant} (spark; recorded from the job's result)")

    def job_failure(self) -> Exception:
        """Why the files neither the timeline nor the job's result names were not applied."""
        result = self.result
        if result is None:
            return TributaryError(f"the Spark job wrote no result for this table: {self.job_error or 'no result file'}")
        if result.get("status") == ResultStatus.COMPLETED:
            return TributaryError(
                "the Spark job reported the table completed but neither its result nor the table's "
                "commit checkpoint names these files"
            )
        if result.get("error_file"):
            return CdcFileError(str(result["error_file"]), str(result.get("error", "")).split(": ", 1)[-1])
        return TributaryError(str(result.get("error") or "the Spark job failed"))


def _is_reload(table_id: str, files: list[CdcFile]) -> bool:
    """A pending full-load file whose path was applied before rewrites the table (a DMS reload)."""
    loads = [f.path for f in files if f.kind is FileKind.LOAD]
    if not loads:
        return False
    with session_scope() as s:
        seen = s.scalar(
            select(CdcFileRow.file_id)
            .where(
                CdcFileRow.table_id == table_id,
                CdcFileRow.status == FileStatus.PROCESSED,
                CdcFileRow.file_kind == FileKind.LOAD.value,
                CdcFileRow.relative_path.in_(loads),
            )
            .limit(1)
        )
    return seen is not None


def file_spec(f: CdcFile) -> dict[str, Any]:
    """A pending CDC file as the job's arguments carry it (JSON)."""
    return {
        "uri": f.uri,
        "path": f.path,
        "kind": f.kind.value,
        "format": f.format,
        "order_key": f.order_key,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
    }


def prepare_batch(
    tables: dict[str, RawTable | None],
    *,
    holder: str,
    ctx: RunContext,
    lease_ttl: timedelta,
    max_files: int = DEFAULT_MAX_FILES,
    db_secret_id: str | None = None,
    invalid: dict[str, str] | None = None,
) -> PreparedBatch:
    """Lease, select and open runs for ``tables`` (None: a config row that is not valid)."""
    entries: list[dict[str, Any]] = []
    prepared = PreparedBatch(
        batch={
            "version": BATCH_VERSION,
            "tables": entries,
            "lease_ttl_seconds": int(lease_ttl.total_seconds()),
            **({"db_secret_id": db_secret_id} if db_secret_id else {}),
        }
    )
    for table_id, table in tables.items():
        if table is None:
            reason = (invalid or {}).get(table_id, "not configured")
            prepared.outcomes[table_id] = outcome_dict(config_failure(table_id, reason, ctx))
            continue
        try:
            entry = _prepare_table(table, holder, ctx, lease_ttl, max_files, prepared)
        except Exception as exc:  # the metadata DB refused: this table fails alone
            log.exception("%s: preparing the Spark batch failed", table_id)
            failed = TableOutcome(table_id, OutcomeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            prepared.outcomes[table_id] = outcome_dict(failed)
            continue
        if entry is not None:
            entries.append(entry)
    return prepared


def _prepare_table(
    table: RawTable, holder: str, ctx: RunContext, ttl: timedelta, max_files: int, prepared: PreparedBatch
) -> dict[str, Any] | None:
    """Claim the table (its lease is handed on to the job: no heartbeat here; a crash after an
    earlier job's commit is reconciled, fenced by this lease) and build its batch entry."""
    held = claim(table, holder, SparkEngine(), ctx, max_files=max_files, ttl=ttl, heartbeat=False, reloads=False)
    if isinstance(held, TableOutcome):
        prepared.outcomes[table.table_id] = outcome_dict(held)
        return None
    try:
        entry = _job_entry(held)
    except Exception as exc:  # the run is recorded failed (no file blamed) and alerted
        log.exception("%s: preparing the Spark batch failed", table.table_id)
        prepared.outcomes[table.table_id] = outcome_dict(fail(held, exc, []))
        release(held)
        return None
    prepared.pending[table.table_id] = held.to_state()
    return entry


def _job_entry(held: Claim[TableTimeline]) -> dict[str, Any]:
    """The table's entry in the job's batch argument: its config, files, lease and the
    checkpoint its commit must carry (advanced by these files) with the instant it was read at."""
    pending = held.files
    checkpoint = held.checkpoint
    reload = checkpoint.is_reload(pending) if not checkpoint.empty else _is_reload(held.table_id, pending)
    options = cdc_options(held.table)
    commit_metadata = checkpoint.advance(pending, reload=reload, keep=options.recent_files_kept).to_metadata(
        pending, reload=reload, mode=options.mode.value
    )
    lease = held.lease
    return {
        "table_id": held.table_id,
        "table": held.table.model_dump(mode="json"),
        "files": [file_spec(f) for f in pending],
        "reload": reload,
        "lease": {"holder": lease.holder, "token": lease.token, "expires_at": lease.expires_at.isoformat()},
        "commit_metadata": commit_metadata,
        "base_instant": held.timeline.latest_instant() if held.timeline is not None else None,
    }


def record_results(
    state: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    *,
    tables: dict[str, RawTable | None],
    holder: str,
    ctx: RunContext,
    lease_ttl: timedelta,
    job_error: str | None = None,
) -> dict[str, Any]:
    """Record each handed-over table's result; the same shape as the local engine's batch result."""
    out: dict[str, dict[str, Any]] = dict(state.get("outcomes") or {})
    for table_id, info in sorted((state.get("pending") or {}).items()):
        engine = SparkEngine(results.get(table_id), job_error)
        try:
            outcome = _record_one(table_id, info, engine, tables.get(table_id), ctx, lease_ttl)
        except Exception as exc:
            log.exception("%s: recording the Spark result failed", table_id)
            outcome = TableOutcome(table_id, OutcomeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        out[table_id] = outcome_dict(outcome)
    return batch_dict(out)


def _record_one(
    table_id: str,
    info: dict[str, Any],
    engine: SparkEngine,
    table: RawTable | None,
    ctx: RunContext,
    ttl: timedelta,
) -> TableOutcome:
    """Resume the table's claim, record what the job applied (fenced) and release the lease."""
    lease = leases.Lease(table_id, str(info["holder"]), int(info["token"]), datetime.now(UTC) + ttl)
    try:
        if table is None:
            if not engine.completed:
                raise engine.job_failure()
            raise TributaryError(f"table {table_id} is no longer configured; its Spark result is not recorded")
        held = resume(table, info, ctx, ttl)
    except BaseException:
        _release_lease(lease)
        raise
    try:
        return _record_claim(held, engine)
    finally:
        release(held)


def _record_claim(held: Claim[TableTimeline], engine: SparkEngine) -> TableOutcome:
    try:
        applied = engine.applied(held)
    except TributaryError as exc:  # nothing is recorded; the next run reconciles from the timeline
        return fail(held, exc)
    try:
        outcome = record(held, applied)
    except LeaseLostError as exc:
        lease = held.lease
        refused = LeaseLostError(
            f"table {held.table_id}: the lease (token {lease.token} of {lease.holder}) was lost while the Spark job "
            "ran, so its result is not recorded; the table's next run reconciles the files from the Hudi timeline "
            f"({exc})"
        )
        log.error("%s", refused)
        return fail(held, refused)
    if outcome.status == OutcomeStatus.COMPLETED and not engine.completed:
        log.warning("%s: the Spark job reported no success, but its commit applied every file", held.table_id)
    return outcome


def _release_lease(lease: leases.Lease) -> None:
    try:
        leases.release(lease)
    except Exception as exc:
        log.warning("releasing the lease on %s failed: %s", lease.table_id, exc)
