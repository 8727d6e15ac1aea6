"""Cadences and batches: tables grouped by refresh cadence, split into batches of the cadence's
batch size, each batch processed table by table. One table's failure never stops the others;
the batch result names every table that failed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tributary.config.models import RawTable
from tributary.config.service import load_db_config
from tributary.config.validation import ConfigSet
from tributary.errors import MetadataError, NotFoundError
from tributary.locks.lease import default_holder
from tributary.processing.context import RunContext, queue_table_alert
from tributary.processing.outcome import OutcomeStatus, TableOutcome, batch_dict
from tributary.processing.processor import DEFAULT_MAX_FILES, process_table
from tributary.settings import get_settings

log = logging.getLogger(__name__)
DB_RETRY_PAUSE_SECONDS = 2.0


@dataclass
class BatchResult:
    tables: dict[str, TableOutcome] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        return sorted(t for t, o in self.tables.items() if o.failed)

    @property
    def blocked(self) -> list[str]:
        return sorted(t for t, o in self.tables.items() if o.status == OutcomeStatus.BLOCKED)

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """The batch's serialized result (see :meth:`TableOutcome.to_dict` for ``full``)."""
        doc = batch_dict({t: o.to_dict(full=full) for t, o in self.tables.items()})
        return {**doc, "seconds": self.seconds} if full else doc

    def merge(self, other: BatchResult) -> None:
        self.tables.update(other.tables)
        self.seconds += other.seconds


def cadence_tables(config: ConfigSet, cadence_id: str) -> list[str]:
    if cadence_id not in config.cadences:
        known = ", ".join(sorted(config.cadences)) or "none"
        raise NotFoundError(f"refresh cadence {cadence_id!r} is not configured (configured: {known})")
    return sorted(t for t, table in config.tables.items() if table.refresh_cadence == cadence_id and table.active)


def plan_batches(cadence_id: str, config: ConfigSet | None = None) -> list[list[str]]:
    """The cadence's active tables in batches of its batch size (stable order)."""
    config = config or load_db_config()
    tables = cadence_tables(config, cadence_id)
    size = config.cadences[cadence_id].batch_size
    return [tables[i : i + size] for i in range(0, len(tables), size)]


def process_batch(
    table_ids: list[str],
    *,
    holder: str | None = None,
    run_context: RunContext | None = None,
    config: ConfigSet | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> BatchResult:
    """Process each table in turn; a failure is recorded for its table and the batch goes on."""
    config = config or load_db_config()
    holder = holder or default_holder()
    ttl = timedelta(seconds=get_settings().lease_ttl_seconds)
    disabled = config.disabled("raw_tables")
    result = BatchResult()
    start = time.perf_counter()
    unreachable: list[str] = []
    for table_id in table_ids:
        table = config.tables.get(table_id)
        if table is None:
            reason = disabled.get(table_id, "not configured")
            result.tables[table_id] = config_failure(table_id, reason, run_context)
            continue
        outcome = _process_one(table, holder, run_context, max_files, ttl)
        result.tables[table_id] = outcome
        if outcome.failed and outcome.error and outcome.error.startswith(MetadataError.__name__):
            unreachable.append(table_id)
    if unreachable:
        # the metadata DB was unavailable for a moment: nothing was lost (files stay pending, a
        # commit that landed is reconciled from its checkpoint); try those tables once more
        log.warning("metadata DB was unavailable for %s; retrying them", ", ".join(unreachable))
        time.sleep(DB_RETRY_PAUSE_SECONDS)
        for table_id in unreachable:
            result.tables[table_id] = _process_one(config.tables[table_id], holder, run_context, max_files, ttl)
    result.seconds = time.perf_counter() - start
    return result


def _process_one(table: RawTable, holder: str, ctx: RunContext | None, max_files: int, ttl: timedelta) -> TableOutcome:
    try:
        return process_table(table, holder, ctx, max_files=max_files, ttl=ttl)
    except Exception as exc:  # e.g. the metadata DB was unreachable for this table
        if not isinstance(exc, MetadataError):
            log.exception("%s: processing failed outside the engine", table.table_id)
        return TableOutcome(table.table_id, OutcomeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


def config_failure(table_id: str, reason: str, ctx: RunContext | None) -> TableOutcome:
    """A table whose config row is broken fails alone, with an alert naming the reason."""
    from tributary.metadata.db import session_scope

    message = f"raw_tables row {table_id!r} is invalid and disabled: {reason}; fix the row and apply config"
    try:
        with session_scope() as s:
            queue_table_alert(s, ctx, table_id, message)
    except Exception as exc:
        log.error("could not queue the alert for %s: %s", table_id, exc)
    return TableOutcome(table_id, OutcomeStatus.FAILED, error=message)


def process_cadence(
    cadence_id: str,
    *,
    batch: int | None = None,
    holder: str | None = None,
    run_context: RunContext | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> BatchResult:
    """Every batch of a cadence (or only batch number ``batch``, 1-based), one after another."""
    config = load_db_config()
    batches = plan_batches(cadence_id, config)
    if batch is not None:
        if not 1 <= batch <= len(batches):
            raise NotFoundError(
                f"cadence {cadence_id!r} has {len(batches)} batch(es); --batch must be 1..{len(batches)}"
            )
        batches = [batches[batch - 1]]
    total = BatchResult()
    for table_ids in batches:
        total.merge(
            process_batch(table_ids, holder=holder, run_context=run_context, config=config, max_files=max_files)
        )
    return total
