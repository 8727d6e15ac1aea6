"""The Airflow side of the distributed engine: hand a batch to Spark, record what it did.

Before the run (:func:`prepare_batch`), per table, exactly as the local processor does: skip
tables without work, take the lease (with a TTL that covers the job; the job's driver extends it
when it can reach the metadata DB), refuse tables blocked by a quarantined file, select the
pending files in DMS order and open a ``processing_runs`` row. The job gets the table config,
the files and the lease as JSON.

After the run (:func:`record_results`), the job's JSON result per table (written to
``--result-uri``) is recorded with the processor's bookkeeping: under the lease fence, files are
marked processed and the run completed with its counts and commit instant; a failed table (or
one without a result because the job failed) gets a failed run, an attempt counted against the
bad file (quarantine after the configured attempts) and a queued alert. Leases are released.

Never shipped to the cluster (it needs the metadata DB and the processor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tributary.config.models import RawTable
from tributary.errors import CdcFileError, LeaseLostError, TributaryError
from tributary.files.registry import set_status
from tributary.locks.lease import Lease, acquire, check_and_extend, release
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ProcessingRunHistoryRow, ProcessingRunRow
from tributary.processing.context import RunContext
from tributary.processing.processor import DEFAULT_MAX_FILES, TableOutcome, TableProcessor
from tributary.spark.job import BATCH_VERSION

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
    with session_scope() as s:
        blocked = s.scalar(
            select(CdcFileRow.uri).where(CdcFileRow.table_id == table_id, CdcFileRow.status == "quarantined").limit(1)
        )
        rows = list(
            s.scalars(
                select(CdcFileRow)
                .where(CdcFileRow.table_id == table_id, CdcFileRow.status.in_(("pending", "failed")))
                .order_by(CdcFileRow.order_key, CdcFileRow.file_id)
                .limit(max_files)
            )
        )
        reload = _is_reload(s, table_id, rows)
        files = [
            {
                "uri": r.uri,
                "path": r.relative_path or r.uri.rsplit("/", 1)[-1],
                "kind": r.file_kind or "cdc",
                "format": r.file_format or "parquet",
                "order_key": r.order_key,
                "size": r.size_bytes or 0,
                "mtime_ns": r.mtime_ns or 0,
            }
            for r in rows
        ]
        ids = [r.file_id for r in rows]
        uris = [r.uri for r in rows]
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
        prepared.outcomes[table_id] = _outcome_dict(TableOutcome(table_id, status, error=error))
        return None
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
        "lease": {"holder": holder, "token": lease.token},
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
    if result is None or result.get("status") != "completed":
        if result is None:
            message = f"the Spark job wrote no result for this table: {job_error or 'no result file'}"
            exc: Exception = TributaryError(message)
        elif result.get("error_file"):
            exc = CdcFileError(str(result["error_file"]), str(result.get("error", "")).split(": ", 1)[-1])
        else:
            exc = TributaryError(str(result.get("error") or "the Spark job failed"))
        if table is None:
            raise exc
        proc = _GlueTableProcessor(table, lease.holder, ctx, ttl=ttl)
        return proc._fail(None, run_id, rows, exc)  # type: ignore[arg-type]
    instant = result.get("instant")
    applied = set(result.get("files") or [])
    with session_scope() as s:
        try:
            check_and_extend(lease, ttl, s)  # fence: the job wrote under this lease
        except LeaseLostError:
            log.error("%s: lease lost while the Spark job ran; recording anyway (the job's commit stands)", table_id)
        now = datetime.now(UTC)
        for row in s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_(info["file_ids"]))):
            done = row.relative_path in applied
            row.commit_instant = instant if done else row.commit_instant
            row.processed_at = now
            row.reason = None if done else "not in the Spark job's result"
            set_status(s, row, "processed", f"commit {instant} (spark)" if done else "skipped by the Spark job")
        counts = tuple(int(result.get(k) or 0) for k in ("inserted", "updated", "deleted"))
        run = s.get(ProcessingRunRow, run_id)
        assert run is not None
        run.status, run.finished_at = "completed", now
        run.inserted, run.updated, run.deleted = counts
        run.commit_instant = instant
        s.add(
            ProcessingRunHistoryRow(
                run_id=run_id, status="completed", detail=f"{len(rows)} files, instant {instant} (spark)"
            )
        )
    return TableOutcome(
        table_id,
        "completed",
        *counts,
        list(info["uris"]),
        instant,
        run_id=run_id,
    )
