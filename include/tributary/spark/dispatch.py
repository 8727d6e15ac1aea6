"""The Airflow side of the distributed engine: hand a batch to Spark, record what it did.

Before the run (:func:`prepare_batch`), per table, exactly as the local processor does: skip
tables without work, take the lease (with a TTL that covers the job; the job's driver extends it
when it can reach the metadata DB), reconcile files that the table's commits applied but the DB
does not know of (the processor's own reconcile, reading the Spark-written timeline), refuse
tables blocked by a quarantined file, select the pending files in DMS order and open a
``processing_runs`` row. The job gets the table config, the files, the lease and the checkpoint
its commit must carry (the local engine's checkpoint advanced by these files, from the newest
checkpoint on the table's timeline) with the instant it was read at, as JSON.

After the run (:func:`record_results`), per table, in ONE transaction that first proves the
lease still holds (the fencing token; a lost lease refuses the recording, fails the run and
queues an alert, and the new holder reconciles from the timeline): the files the table's
timeline checkpoint names are marked processed with their commit instant, whatever the job's
result says (a job that died after its commit has no result). Files the job reports applied in
a commit without a checkpoint are recorded from the result. Files neither names fail the table:
a failed run, an attempt counted against the bad file (quarantine after the configured
attempts) and a queued alert. Leases are released.

Never shipped to the cluster (it needs the metadata DB and the processor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tributary.cdc.apply import read_checkpoint
from tributary.cdc.files import CdcFile
from tributary.config.models import RawTable
from tributary.errors import CdcFileError, LeaseLostError, TributaryError
from tributary.files.registry import as_cdc_file, set_status
from tributary.locks.lease import Lease, LeaseKeeper, acquire, release
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ProcessingRunHistoryRow, ProcessingRunRow
from tributary.processing.context import RunContext
from tributary.processing.processor import DEFAULT_MAX_FILES, TableOutcome, TableProcessor
from tributary.spark.job import BATCH_VERSION
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


class _GlueTableProcessor(TableProcessor):
    """The processor's steps, reused; the engine step runs on Spark instead."""

    def _open_table(self) -> TableTimeline | None:  # type: ignore[override]
        # Spark-written tables (Merge-on-Read, metadata table) are read, never written, here
        return TableTimeline.open(self.target)


def _is_reload(session: Any, table_id: str, rows: list[CdcFileRow]) -> bool:
    """A pending full-load file whose path was applied before rewrites the table (a DMS reload)."""
    loads = [r.relative_path for r in rows if r.file_kind == "load"]
    if not loads:
        return False
    seen = session.scalar(
        select(CdcFileRow.file_id)
        .where(
            CdcFileRow.table_id == table_id,
            CdcFileRow.status == "processed",
            CdcFileRow.file_kind == "load",
            CdcFileRow.relative_path.in_(loads),
        )
        .limit(1)
    )
    return seen is not None


def _outcome_dict(outcome: TableOutcome) -> dict[str, Any]:
    from tributary.templates.cdc import outcome_dict

    return outcome_dict(outcome)


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
    from tributary.processing.batches import _config_failure

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
            prepared.outcomes[table_id] = _outcome_dict(_config_failure(table_id, reason, ctx))
            continue
        try:
            entry = _prepare_table(table, holder, ctx, lease_ttl, max_files, prepared)
        except Exception as exc:  # the metadata DB refused: this table fails alone
            log.exception("%s: preparing the Spark batch failed", table_id)
            prepared.outcomes[table_id] = _outcome_dict(
                TableOutcome(table_id, "failed", error=f"{type(exc).__name__}: {exc}")
            )
            continue
        if entry is not None:
            entries.append(entry)
    return prepared


def _prepare_table(
    table: RawTable, holder: str, ctx: RunContext, ttl: timedelta, max_files: int, prepared: PreparedBatch
) -> dict[str, Any] | None:
    table_id = table.table_id
    proc = _GlueTableProcessor(table, holder, ctx, max_files=max_files, ttl=ttl)
    if not proc._has_work():
        prepared.outcomes[table_id] = _outcome_dict(TableOutcome(table_id, "idle"))
        return None
    lease = acquire(table_id, holder, ttl)
    if lease is None:
        prepared.outcomes[table_id] = _outcome_dict(
            TableOutcome(table_id, "busy", error="another worker holds the table's lease")
        )
        return None
    try:
        # a crash after an earlier job's commit: its files are marked from the table's checkpoint
        # (fenced by this lease; the keeper is not started, its check renews the lease)
        reconciled = proc._reconcile(LeaseKeeper(lease, ttl))
        timeline = proc._open_table()
        checkpoint = read_checkpoint(timeline)
        base_instant = timeline.latest_instant() if timeline is not None else None
        with session_scope() as s:
            blocked = s.scalar(
                select(CdcFileRow.uri)
                .where(CdcFileRow.table_id == table_id, CdcFileRow.status == "quarantined")
                .limit(1)
            )
            rows = list(
                s.scalars(
                    select(CdcFileRow)
                    .where(CdcFileRow.table_id == table_id, CdcFileRow.status.in_(("pending", "failed")))
                    .order_by(CdcFileRow.order_key, CdcFileRow.file_id)
                    .limit(max_files)
                )
            )
            # DMS order, as the local engine's sort_files (the same key, a stable sort)
            pairs = sorted(((as_cdc_file(r), r) for r in rows), key=lambda pair: pair[0].order_key)
            pending = [f for f, _ in pairs]
            reload = checkpoint.is_reload(pending) if not checkpoint.empty else _is_reload(s, table_id, rows)
            files = [file_spec(f) for f in pending]
            ids = [r.file_id for _, r in pairs]
            uris = [f.uri for f in pending]
    except Exception:
        release(lease)
        raise
    if blocked is not None or not rows:
        release(lease)
        status, error = (
            (
                "blocked",
                f"quarantined file {blocked} blocks this table; run `tributary files retry` or `tributary files skip`",
            )
            if blocked is not None
            else ("idle", None)
        )
        prepared.outcomes[table_id] = _outcome_dict(TableOutcome(table_id, status, error=error, reconciled=reconciled))
        return None
    options = proc.options
    commit_metadata = checkpoint.advance(pending, reload=reload, keep=options.recent_files_kept).to_metadata(
        pending, reload=reload, mode=options.mode.value
    )
    run_id = proc._start_run(lease, rows)
    prepared.pending[table_id] = {
        "run_id": run_id,
        "holder": holder,
        "token": lease.token,
        "file_ids": ids,
        "uris": uris,
    }
    return {
        "table_id": table_id,
        "table": table.model_dump(mode="json"),
        "files": files,
        "reload": reload,
        "lease": {"holder": holder, "token": lease.token, "expires_at": lease.expires_at.isoformat()},
        "commit_metadata": commit_metadata,
        "base_instant": base_instant,
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
        lease = Lease(table_id, info["holder"], int(info["token"]), datetime.now(UTC) + lease_ttl)
        result = results.get(table_id)
        try:
            out[table_id] = _outcome_dict(
                _record_one(table_id, info, lease, result, tables.get(table_id), ctx, lease_ttl, job_error)
            )
        except Exception as exc:
            log.exception("%s: recording the Spark result failed", table_id)
            out[table_id] = _outcome_dict(TableOutcome(table_id, "failed", error=f"{type(exc).__name__}: {exc}"))
        finally:
            try:
                release(lease)
            except Exception as exc:
                log.warning("releasing the lease on %s failed: %s", table_id, exc)
    failed = sorted(t for t, o in out.items() if o["status"] == "failed")
    return {"tables": dict(sorted(out.items())), "failed": failed}


def _job_error(result: dict[str, Any] | None, job_error: str | None) -> Exception:
    if result is None:
        return TributaryError(f"the Spark job wrote no result for this table: {job_error or 'no result file'}")
    if result.get("status") == "completed":
        return TributaryError(
            "the Spark job reported the table completed but neither its result nor the table's "
            "commit checkpoint names these files"
        )
    if result.get("error_file"):
        return CdcFileError(str(result["error_file"]), str(result.get("error", "")).split(": ", 1)[-1])
    return TributaryError(str(result.get("error") or "the Spark job failed"))


def _record_one(
    table_id: str,
    info: dict[str, Any],
    lease: Lease,
    result: dict[str, Any] | None,
    table: RawTable | None,
    ctx: RunContext,
    ttl: timedelta,
    job_error: str | None,
) -> TableOutcome:
    run_id = int(info["run_id"])
    with session_scope() as s:
        rows = list(s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_(info["file_ids"]))))
        for row in rows:
            s.expunge(row)
    if table is None:
        if result is None or result.get("status") != "completed":
            raise _job_error(result, job_error)
        raise TributaryError(f"table {table_id} is no longer configured; its Spark result is not recorded")
    proc = _GlueTableProcessor(table, lease.holder, ctx, ttl=ttl)
    # what the table's timeline says was applied: the truth, whatever the job's result says
    try:
        timeline = proc._open_table()
        checkpoint = read_checkpoint(timeline)
        applied_in = timeline.applied_by() if timeline is not None else {}
    except Exception as exc:  # nothing is recorded; the next run reconciles from the timeline
        error = TributaryError(f"cannot read the table's Hudi timeline to record the Spark result: {exc}")
        return proc._fail(None, run_id, rows, error)  # type: ignore[arg-type]
    completed = result is not None and result.get("status") == "completed"
    reported = set(result.get("files") or []) if completed and result is not None else set()
    reported_instant = result.get("instant") if completed and result is not None else None
    unapplied: list[int] = []
    instants: set[str] = set()
    keeper = LeaseKeeper(lease, ttl)  # not started: check() is the fence of the marking transaction
    try:
        with session_scope() as s:
            keeper.check(s)  # on PostgreSQL the lock row stays locked until this transaction commits
            now = datetime.now(UTC)
            for row in s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_(info["file_ids"]))):
                path = row.relative_path or ""
                if checkpoint.is_applied(as_cdc_file(row)):
                    instant = applied_in.get(path)
                    detail = f"commit {instant} (spark)"
                elif path in reported:
                    instant = reported_instant
                    if instant:
                        log.error(
                            "%s: commit %s carries no Tributary checkpoint naming %s; recorded from the job's "
                            "result (check hoodie.datasource.write.commitmeta.key.prefix on the cluster)",
                            table_id,
                            instant,
                            path,
                        )
                        detail = f"commit {instant} (spark; recorded from the job's result)"
                    else:
                        detail = "no rows to write: no commit (spark)"
                else:
                    unapplied.append(row.file_id)
                    continue
                row.commit_instant = instant or row.commit_instant
                row.processed_at = now
                row.reason = None
                set_status(s, row, "processed", detail)
                if instant:
                    instants.add(instant)
            if not unapplied:
                counts = tuple(int((result or {}).get(k) or 0) for k in ("inserted", "updated", "deleted"))
                # the commit the checkpoint names (MOR: not the inline compaction after it)
                instant_done = max(instants) if instants else reported_instant
                run = s.get(ProcessingRunRow, run_id)
                assert run is not None
                run.status, run.finished_at = "completed", now
                run.inserted, run.updated, run.deleted = counts
                run.commit_instant = instant_done
                note = (
                    "" if completed else "; reconciled from the table's commit checkpoint (the job reported no success)"
                )
                s.add(
                    ProcessingRunHistoryRow(
                        run_id=run_id,
                        status="completed",
                        detail=f"{len(rows)} files, instant {instant_done} (spark){note}",
                    )
                )
    except LeaseLostError as exc:
        refused = LeaseLostError(
            f"table {table_id}: the lease (token {lease.token} of {lease.holder}) was lost while the Spark job ran, "
            "so its result is not recorded; the table's next run reconciles the files from the Hudi timeline "
            f"({exc})"
        )
        log.error("%s", refused)
        return proc._fail(None, run_id, rows, refused)  # type: ignore[arg-type]
    if unapplied:
        remaining = [r for r in rows if r.file_id in set(unapplied)]
        return proc._fail(None, run_id, remaining, _job_error(result, job_error))  # type: ignore[arg-type]
    if not completed:
        log.warning("%s: the Spark job reported no success, but its commit applied every file", table_id)
    return TableOutcome(
        table_id,
        "completed",
        *counts,
        list(info["uris"]),
        instant_done,
        run_id=run_id,
    )
