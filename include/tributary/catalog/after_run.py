"""The processor's one call into the catalog: sync a table after its run.

A sync failure turns the table's outcome into a failure with an alert, but the run's commit and
the files it marked stay as they are (nothing is lost or applied again); the catalog entry stays
behind until a later run, which retries the sync even when it has no new files.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tributary.catalog.sync import needs_sync, sync_table
from tributary.config.models import RawTable
from tributary.metadata.db import session_scope
from tributary.processing.context import RunContext, queue_table_alert
from tributary.processing.outcome import OutcomeStatus
from tributary.settings import get_settings

if TYPE_CHECKING:
    from tributary.processing.outcome import TableOutcome

log = logging.getLogger(__name__)

#: outcomes after which the catalog is not touched: another worker holds the table, or the run
#: failed (and alerted) already; the next run syncs
_SKIP = frozenset({OutcomeStatus.BUSY, OutcomeStatus.FAILED})


def sync_catalog_after_run(table: RawTable, outcome: TableOutcome, ctx: RunContext | None) -> TableOutcome:
    """Sync the table's catalog entry after a commit (or when an earlier sync is unfinished)."""
    if not table.catalog_sync or outcome.status in _SKIP or not get_settings().catalog_sync:
        return outcome
    try:
        if outcome.status != OutcomeStatus.COMPLETED and not needs_sync(table):
            return outcome
    except Exception as exc:  # the metadata DB hiccuped: the next run looks again
        log.warning("%s: could not tell whether the catalog is behind: %s", table.table_id, exc)
        return outcome
    result = sync_table(table)
    if not result.failed:
        return outcome
    error = result.error or "catalog sync failed"
    try:
        with session_scope() as s:
            queue_table_alert(s, ctx, table.table_id, error, outcome.files)
    except Exception as exc:
        log.error("%s: could not queue the catalog alert: %s", table.table_id, exc)
    outcome.status = OutcomeStatus.FAILED
    outcome.error = f"{outcome.error}; {error}" if outcome.error else error
    return outcome
