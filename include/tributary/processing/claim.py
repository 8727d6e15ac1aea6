"""Claiming a table for one run: lease → checkpoint (read once) → reconcile → files → run row.

:func:`claim` is the first half of every table run, whatever the engine: it returns a
:class:`Claim` (the lease and its keeper, the checkpoint, the files in DMS order, the run id) or,
when there is nothing to do, the run's :class:`~tributary.processing.outcome.TableOutcome`
(idle, busy, blocked). The second half is :mod:`tributary.processing.runs` (``record``,
``fail``) and :func:`release`. A run split over two processes (the Spark engine's Airflow tasks)
carries :meth:`Claim.to_state` across and :func:`resume` s it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

from sqlalchemy import select

from tributary.cdc.apply import CheckpointRead, read_checkpoint_at
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import CdcFile
from tributary.config.locations import resolve_location
from tributary.config.models import RawTable
from tributary.faults import crash_point
from tributary.files.registry import as_cdc_file
from tributary.locks import lease as leases
from tributary.locks.lease import DEFAULT_TTL, Lease, LeaseKeeper
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow
from tributary.processing.context import RunContext
from tributary.processing.engine import TableEngine, TimelineT
from tributary.processing.outcome import OutcomeStatus, TableOutcome
from tributary.processing.queue import has_work, reconcile, select_files
from tributary.processing.runs import start_run
from tributary.settings import get_settings

log = logging.getLogger(__name__)

#: files a run takes at most; the rest wait for the next run (bounded memory per commit)
DEFAULT_MAX_FILES = 500


@dataclass
class Claim(Generic[TimelineT]):
    """A table held for one run (see the module doc)."""

    table: RawTable
    keeper: LeaseKeeper
    ctx: RunContext
    run_id: int
    rows: list[CdcFileRow]
    """The claimed files (detached tracker rows), in DMS order."""
    timeline: TimelineT | None = None
    """The table's commit log as the claim read it (None: no table yet, or a resumed claim)."""
    checkpoint_read: CheckpointRead = field(default_factory=lambda: CheckpointRead(Checkpoint(), {}))
    rebuild: bool = False
    reconciled: int = 0
    max_attempts: int = field(default_factory=lambda: get_settings().max_file_attempts)

    @property
    def table_id(self) -> str:
        return self.table.table_id

    @property
    def lease(self) -> Lease:
        return self.keeper.lease

    @property
    def target(self) -> str:
        return resolve_location(self.table.target_uri)

    @property
    def checkpoint(self) -> Checkpoint:
        return self.checkpoint_read.checkpoint

    @property
    def files(self) -> list[CdcFile]:
        return [as_cdc_file(r) for r in self.rows]

    @property
    def uris(self) -> list[str]:
        return [r.uri for r in self.rows]

    def fence(self) -> None:
        """Right before a commit completes: the lease still holds (raises LeaseLostError)."""
        self.keeper.check()
        crash_point("before_commit_complete")

    def to_state(self) -> dict[str, Any]:
        """JSON-safe: what :func:`resume` needs in another process."""
        return {
            "run_id": self.run_id,
            "holder": self.lease.holder,
            "token": self.lease.token,
            "file_ids": [r.file_id for r in self.rows],
            "uris": self.uris,
        }


def claim(
    table: RawTable,
    holder: str,
    engine: TableEngine[TimelineT],
    ctx: RunContext | None = None,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    ttl: timedelta = DEFAULT_TTL,
    heartbeat: bool = True,
    reloads: bool = True,
) -> Claim[TimelineT] | TableOutcome:
    """Take ``table`` for a run, or the outcome that says why not (the lease is then released).

    ``heartbeat``: keep the lease alive from a thread until :func:`release` (an engine that
    hands the lease on, as the Spark engine does, passes False). ``reloads``: the engine
    applies operator-requested reloads (rebuilds).
    """
    ctx = ctx or RunContext()
    if not has_work(table.table_id):
        return TableOutcome(table.table_id, OutcomeStatus.IDLE)
    lease = leases.acquire(table.table_id, holder, ttl)
    if lease is None:
        return TableOutcome(table.table_id, OutcomeStatus.BUSY, error="another worker holds the table's lease")
    crash_point("after_lease")
    keeper = LeaseKeeper(lease, ttl)
    if heartbeat:
        keeper.start()
    try:
        held = _claim_leased(table, keeper, engine, ctx, max_files, reloads)
    except BaseException:
        _let_go(table.table_id, keeper)
        raise
    if isinstance(held, TableOutcome):
        _let_go(table.table_id, keeper)
    return held


def _claim_leased(
    table: RawTable,
    keeper: LeaseKeeper,
    engine: TableEngine[TimelineT],
    ctx: RunContext,
    max_files: int,
    reloads: bool,
) -> Claim[TimelineT] | TableOutcome:
    table_id = table.table_id
    timeline = engine.open_timeline(resolve_location(table.target_uri))
    known = read_checkpoint_at(timeline)  # searches back when another writer committed last
    reconciled = reconcile(table_id, keeper, timeline, known.checkpoint)
    selection = select_files(table_id, max_files, reloads=reloads)
    if selection.blocked is not None:
        error = (
            f"quarantined file {selection.blocked} blocks this table; run `tributary files retry` "
            "or `tributary files skip`"
        )
        return TableOutcome(table_id, OutcomeStatus.BLOCKED, reconciled=reconciled, error=error)
    if not selection.rows:
        return TableOutcome(table_id, OutcomeStatus.IDLE, reconciled=reconciled)
    run_id = start_run(table_id, keeper.lease, ctx, [r.uri for r in selection.rows])
    crash_point("after_run_started")
    return Claim(
        table,
        keeper,
        ctx,
        run_id,
        selection.rows,
        timeline,
        known,
        rebuild=selection.rebuild,
        reconciled=reconciled,
    )


def resume(table: RawTable, state: dict[str, Any], ctx: RunContext, ttl: timedelta) -> Claim[Any]:
    """The claim that :meth:`Claim.to_state` described, in another process (no heartbeat: its
    fence renews the lease when it checks it; no timeline: the engine reads it afresh)."""
    lease = Lease(table.table_id, str(state["holder"]), int(state["token"]), datetime.now(UTC) + ttl)
    ids = [int(i) for i in state["file_ids"]]
    with session_scope() as s:
        by_id = {r.file_id: r for r in s.scalars(select(CdcFileRow).where(CdcFileRow.file_id.in_(ids)))}
        for row in by_id.values():
            s.expunge(row)
    rows = [by_id[i] for i in ids if i in by_id]
    return Claim(table, LeaseKeeper(lease, ttl), ctx, int(state["run_id"]), rows)


def release(held: Claim[Any]) -> None:
    """Stop the heartbeat and give the lease back (a failure is logged: the lease expires)."""
    _let_go(held.table_id, held.keeper)


def _let_go(table_id: str, keeper: LeaseKeeper) -> None:
    keeper.stop()
    try:
        leases.release(keeper.lease)
    except Exception as exc:  # the lease expires by itself; never mask the outcome
        log.warning("releasing the lease on %s failed: %s", table_id, exc)
