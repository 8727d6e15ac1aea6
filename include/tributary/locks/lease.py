"""Lease locks in ``table_locks``: one holder per table, taken by one atomic statement.

- acquire: a single conditional ``UPDATE ... WHERE holder IS NULL OR expires_at < now`` that also
  increments ``token`` (the fencing token). No read-then-write: of two racing callers exactly
  one sees a row updated.
- heartbeat / check: ``UPDATE ... WHERE token = :mine AND expires_at >= now`` extends the lease;
  no row updated means it was lost (expired and taken over, or force-released).
- a stale lease (its holder died) is taken over by the next acquire once ``expires_at`` passed;
  the dead holder's token no longer matches, so it cannot commit or mark files (fencing).

Times come from this process's UTC clock; holders on several machines need synchronised clocks
(NTP), as with any lease with an expiry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tributary.errors import LeaseLostError
from tributary.metadata.db import session_scope
from tributary.metadata.models import TableLockRow

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=60)


def default_holder() -> str:
    """host:pid:random — unique per process and attempt."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Lease:
    table_id: str
    holder: str
    token: int
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _ensure_row(session: Session, table_id: str) -> None:
    dialect = session.get_bind().dialect.name
    ins = pg_insert(TableLockRow) if dialect == "postgresql" else sqlite_insert(TableLockRow)
    session.execute(ins.values(table_id=table_id, token=0).on_conflict_do_nothing(index_elements=["table_id"]))


def acquire(table_id: str, holder: str, ttl: timedelta = DEFAULT_TTL, session: Session | None = None) -> Lease | None:
    """Take the table's lease if it is free or expired; None when someone else holds it."""
    if session is None:
        with session_scope() as s:
            return acquire(table_id, holder, ttl, s)
    _ensure_row(session, table_id)
    now = _now()
    stmt = (
        update(TableLockRow)
        .where(TableLockRow.table_id == table_id)
        # free, expired, or ours already (a retry by the same worker after a lost DB connection)
        .where((TableLockRow.holder.is_(None)) | (TableLockRow.expires_at < now) | (TableLockRow.holder == holder))
        .values(holder=holder, token=TableLockRow.token + 1, acquired_at=now, heartbeat_at=now, expires_at=now + ttl)
        .returning(TableLockRow.token, TableLockRow.expires_at)
    )
    row = session.execute(stmt).first()
    if row is None:
        return None
    log.debug("lease on %s taken by %s (token %s)", table_id, holder, row.token)
    return Lease(table_id, holder, int(row.token), now + ttl)


def check_and_extend(lease: Lease, ttl: timedelta = DEFAULT_TTL, session: Session | None = None) -> Lease:
    """Prove the lease is still ours and extend it; raise :class:`LeaseLostError` otherwise.

    Inside a caller's transaction on PostgreSQL the updated row stays locked until commit, so
    nobody can take the lease over between this check and the caller's writes (fencing).
    """
    if session is None:
        with session_scope() as s:
            return check_and_extend(lease, ttl, s)
    now = _now()
    result = session.execute(
        update(TableLockRow)
        .where(
            TableLockRow.table_id == lease.table_id,
            TableLockRow.token == lease.token,
            TableLockRow.holder == lease.holder,
            TableLockRow.expires_at >= now,
        )
        .values(heartbeat_at=now, expires_at=now + ttl)
    )
    if _rowcount(result) != 1:
        raise LeaseLostError(
            f"table {lease.table_id}: lease token {lease.token} of {lease.holder} expired or was taken over; "
            "this worker must not write (another worker owns the table now)"
        )
    return Lease(lease.table_id, lease.holder, lease.token, now + ttl)


def release(lease: Lease, session: Session | None = None) -> bool:
    """Give the lease back; False when it was not ours any more (nothing changed)."""
    if session is None:
        with session_scope() as s:
            return release(lease, s)
    result = session.execute(
        update(TableLockRow)
        .where(
            TableLockRow.table_id == lease.table_id,
            TableLockRow.token == lease.token,
            TableLockRow.holder == lease.holder,
        )
        .values(holder=None, expires_at=None, heartbeat_at=None)
    )
    return _rowcount(result) == 1


def force_release(table_id: str, session: Session) -> TableLockRow | None:
    """Operator action: free the table's lease whoever holds it (the token still moves on at the
    next acquire, so the old holder stays fenced out). Returns the row as it was."""
    row = session.get(TableLockRow, table_id, with_for_update=True)
    if row is None or row.holder is None:
        return None
    before = TableLockRow(
        table_id=row.table_id,
        holder=row.holder,
        token=row.token,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
    )
    row.holder = None
    row.expires_at = None
    row.heartbeat_at = None
    return before


def reap_expired(session: Session) -> list[str]:
    """Clear leases whose holder stopped heartbeating (for the maintenance DAG's view of the
    world; acquire takes expired leases over anyway). Returns the table ids."""
    now = _now()
    rows = session.execute(
        update(TableLockRow)
        .where(TableLockRow.holder.is_not(None), TableLockRow.expires_at < now)
        .values(holder=None, heartbeat_at=None, expires_at=None)
        .returning(TableLockRow.table_id)
    ).all()
    return [r.table_id for r in rows]


def list_leases(session: Session) -> list[TableLockRow]:
    return list(session.scalars(select(TableLockRow).order_by(TableLockRow.table_id)))


class LeaseKeeper:
    """Heartbeats a lease from a background thread while work runs.

    ``check()`` is the fence: it renews synchronously and raises if the lease was lost (by the
    heartbeat thread or now). Use as a context manager around the work.
    """

    def __init__(self, lease: Lease, ttl: timedelta = DEFAULT_TTL) -> None:
        self.lease = lease
        self.ttl = ttl
        self.lost: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.table_id}", daemon=True)
        self._lock = threading.Lock()

    def __enter__(self) -> LeaseKeeper:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        """Start heartbeating (once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop heartbeating (a keeper never started stops at once)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.ttl.total_seconds())

    def _run(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                with self._lock:
                    self.lease = check_and_extend(self.lease, self.ttl)
            except LeaseLostError as exc:
                self.lost = exc
                log.error("%s", exc)
                return
            except Exception as exc:  # DB hiccup: keep trying until the lease would expire
                log.warning("heartbeat for %s failed: %s", self.lease.table_id, exc)
                if _now() >= self.lease.expires_at:
                    self.lost = LeaseLostError(
                        f"table {self.lease.table_id}: heartbeats failed until the lease expired"
                    )
                    return

    def check(self, session: Session | None = None) -> None:
        if self.lost is not None:
            raise LeaseLostError(str(self.lost))
        with self._lock:
            self.lease = check_and_extend(self.lease, self.ttl, session)


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (an UPDATE executed by the session returns a CursorResult)."""
    assert isinstance(result, CursorResult)
    return result.rowcount
