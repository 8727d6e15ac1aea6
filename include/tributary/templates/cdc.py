"""The built-in ``cdc_to_hudi`` template: plan batches, process one batch, summarise.

In a DAG it becomes plan → mapped process (one task instance per batch, ``.expand``) →
summary. A table that fails inside a batch is recorded and alerted by the processor and does
not stop the batch; the summary runs after every batch and fails the run if any table failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tributary.errors import ProcessingError
from tributary.processing.outcome import OutcomeStatus

if TYPE_CHECKING:
    from tributary.config.validation import ConfigSet

log = logging.getLogger(__name__)


def plan(cadence_id: str, config: ConfigSet | None = None) -> list[list[str]]:
    from tributary.processing.batches import plan_batches

    batches = plan_batches(cadence_id, config)
    log.info("cadence %s: %d table(s) in %d batch(es)", cadence_id, sum(map(len, batches)), len(batches))
    return batches


def process(table_ids: list[str], *, holder: str, run_context: Any, max_files: int | None = None) -> dict[str, Any]:
    """Run the file processor on one batch with the local engine; one dict per table."""
    from tributary.processing.batches import process_batch

    kwargs: dict[str, Any] = {"holder": holder, "run_context": run_context}
    if max_files:
        kwargs["max_files"] = max_files
    result = process_batch(list(table_ids), **kwargs).to_dict()
    tables = result["tables"]
    for table_id, out in tables.items():
        log.info(
            "%s: %s (+%s ~%s -%s) %s",
            table_id,
            out["status"],
            out["inserted"],
            out["updated"],
            out["deleted"],
            out["error"] or "",
        )
    return result


def summarise(planned: list[list[str]] | None, results: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """Totals over every batch; raise when any table failed or any batch produced no result."""
    planned = planned or []
    got = [r for r in results if r]
    tables: dict[str, Any] = {}
    for result in got:
        tables.update(result.get("tables", {}))
    expected = {t for batch in planned for t in batch}
    missing = sorted(expected - set(tables))
    failed = sorted(t for t, o in tables.items() if o.get("status") == OutcomeStatus.FAILED)
    totals = {k: sum(int(o.get(k) or 0) for o in tables.values()) for k in ("inserted", "updated", "deleted")}
    statuses: dict[str, int] = {}
    for out in tables.values():
        statuses[out["status"]] = statuses.get(out["status"], 0) + 1
    summary = {"tables": len(tables), "statuses": statuses, **totals, "failed": failed, "missing": missing}
    log.info("cdc_to_hudi summary: %s", summary)
    if failed or missing:
        parts = []
        if failed:
            errors = "; ".join(f"{t}: {tables[t].get('error') or 'failed'}" for t in failed[:10])
            parts.append(f"{len(failed)} table(s) failed: {errors}")
        if missing:
            parts.append(f"{len(missing)} table(s) have no result (their batch task failed): {', '.join(missing[:20])}")
        raise ProcessingError("; ".join(parts))
    return summary
