"""The tables list in SQL: per-table facts (backlog, last run, newest applied change, lease) joined
onto ``raw_tables``, with the state as a ``CASE``; the database filters, sorts and pages, so 3,000+
tables cost one query whatever the page.

Freshness is the time since a table's newest *applied change*: the finish of its newest completed
run that made a Hudi commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from tributary.metadata.models import CdcFileRow, FlowTaskRow, ProcessingRunRow, RawTableRow, TableLockRow
from tributary.ops.params import SortKey, SortOrder, TableQuery, TableState

BACKLOG_STATUSES = ("pending", "failed", "quarantined", "processing")


def _count(status: str) -> ColumnElement[Any]:
    return func.sum(case((CdcFileRow.status == status, 1), else_=0))


def file_facts() -> Any:
    """Backlog per table: files by unfinished status, their bytes and the oldest one's landing."""
    return (
        select(
            CdcFileRow.table_id.label("table_id"),
            _count("pending").label("pending"),
            _count("failed").label("failed"),
            _count("quarantined").label("quarantined"),
            _count("processing").label("processing"),
            func.sum(func.coalesce(CdcFileRow.size_bytes, 0)).label("pending_bytes"),
            func.min(func.coalesce(CdcFileRow.landed_at, CdcFileRow.registered_at)).label("oldest_pending"),
        )
        .where(CdcFileRow.status.in_(BACKLOG_STATUSES), CdcFileRow.table_id.is_not(None))
        .group_by(CdcFileRow.table_id)
        .subquery("ff")
    )


def _applied(column: Any) -> Any:
    """A correlated lookup on the newest committing run of the outer table (the partial index
    ``ix_processing_runs_applied`` answers it without touching the table)."""
    r = ProcessingRunRow
    return (
        select(column)
        .where(r.table_id == RawTableRow.table_id, r.status == "completed", r.commit_instant.is_not(None))
        .order_by(r.finished_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def table_rows() -> Any:
    """Every configured table with its facts and state, as a subquery to filter, sort and page.

    The newest run and newest commit are correlated subqueries on indexes (one index probe per
    table); the backlog is one grouped scan of the unfinished files."""
    ff = file_facts()
    last = aliased(ProcessingRunRow, name="lr")
    newest_run = (
        select(func.max(ProcessingRunRow.run_id))
        .where(ProcessingRunRow.table_id == RawTableRow.table_id)
        .correlate(RawTableRow)
        .scalar_subquery()
    )
    pending = func.coalesce(ff.c.pending, 0)
    failed = func.coalesce(ff.c.failed, 0)
    quarantined = func.coalesce(ff.c.quarantined, 0)
    processing = func.coalesce(ff.c.processing, 0)
    state = case(
        (RawTableRow.active == false(), literal(TableState.INACTIVE.value)),
        (quarantined > 0, literal(TableState.BLOCKED.value)),
        (last.status == "failed", literal(TableState.FAILING.value)),
        (pending + failed + processing > 0, literal(TableState.BACKLOG.value)),
        else_=literal(TableState.OK.value),
    )
    return (
        select(
            RawTableRow.table_id,
            RawTableRow.database_name,
            RawTableRow.table_name,
            RawTableRow.refresh_cadence.label("cadence"),
            RawTableRow.active,
            state.label("state"),
            pending.label("pending"),
            failed.label("failed"),
            quarantined.label("quarantined"),
            processing.label("processing"),
            func.coalesce(ff.c.pending_bytes, 0).label("pending_bytes"),
            ff.c.oldest_pending,
            last.status.label("last_run_status"),
            last.started_at.label("last_run_at"),
            last.error.label("last_error"),
            _applied(ProcessingRunRow.finished_at).label("last_applied"),
            _applied(ProcessingRunRow.commit_instant).label("last_commit"),
            TableLockRow.holder.label("lease_holder"),
            TableLockRow.expires_at.label("lease_expires"),
        )
        .outerjoin(ff, ff.c.table_id == RawTableRow.table_id)
        .outerjoin(last, last.run_id == newest_run)
        .outerjoin(TableLockRow, TableLockRow.table_id == RawTableRow.table_id)
        .subquery("t")
    )


def flow_cadences(session: Session, flow_id: str) -> list[str]:
    """The cadences whose tables a flow's cdc_to_hudi tasks process (their ``cadence`` param)."""
    params = session.scalars(select(FlowTaskRow.params).where(FlowTaskRow.flow_id == flow_id))
    return sorted({str(p["cadence"]) for p in params if isinstance(p, dict) and p.get("cadence")})


def _order(t: Any, query: TableQuery) -> list[Any]:
    column = {
        SortKey.TABLE: t.c.table_id,
        SortKey.STATE: case(*((t.c.state == s.value, i) for i, s in enumerate(TableState)), else_=99),
        SortKey.FRESHNESS: t.c.last_applied,
        SortKey.PENDING: t.c.pending + t.c.failed + t.c.quarantined + t.c.processing,
        SortKey.PENDING_BYTES: t.c.pending_bytes,
        SortKey.LAST_RUN: t.c.last_run_at,
        SortKey.CADENCE: t.c.cadence,
    }[query.sort]
    # stalest first when sorting by freshness ascending: a table never applied is the stalest
    nulls_first = query.sort == SortKey.FRESHNESS and query.order == SortOrder.ASC
    nulls = case((column.is_(None), 0 if nulls_first else 1), else_=1 if nulls_first else 0)
    direction = column.asc() if query.order == SortOrder.ASC else column.desc()
    return [nulls, direction, t.c.table_id.asc()]


def filtered(session: Session, query: TableQuery) -> tuple[Any, Select[Any]]:
    """The table subquery and a select of its rows matching ``query``'s filters (no order/page)."""
    t = table_rows()
    stmt = select(t)
    if query.search:
        like = "%" + query.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(func.lower(t.c.table_id).like(like, escape="\\"), func.lower(t.c.table_name).like(like, escape="\\"))
        )
    if query.state:
        stmt = stmt.where(t.c.state == query.state.value)
    if query.cadence:
        stmt = stmt.where(t.c.cadence == query.cadence)
    if query.database:
        stmt = stmt.where(t.c.database_name == query.database)
    if query.flow:
        stmt = stmt.where(t.c.cadence.in_(flow_cadences(session, query.flow)))
    return t, stmt


def list_tables(session: Session, query: TableQuery, now: datetime) -> dict[str, Any]:
    """One page of tables: ``{"total", "page", "page_size", "pages", "tables": [...]}``."""
    t, stmt = filtered(session, query)
    stmt = stmt.add_columns(func.count().over().label("total"))
    stmt = stmt.order_by(*_order(t, query)).limit(query.page_size).offset((query.page - 1) * query.page_size)
    rows = session.execute(stmt).mappings().all()
    total = int(rows[0]["total"]) if rows else _count_only(session, query)
    return {
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "pages": max(1, -(-total // query.page_size)),
        "tables": [row_dict(r, now) for r in rows],
    }


def _count_only(session: Session, query: TableQuery) -> int:
    _, stmt = filtered(session, query)
    return int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat(timespec="seconds") if value else None


def age_seconds(value: datetime | None, now: datetime) -> float | None:
    value = aware(value)
    return None if value is None else max(0.0, (now - value).total_seconds())


def row_dict(r: Any, now: datetime) -> dict[str, Any]:
    return {
        "table_id": r["table_id"],
        "database": r["database_name"],
        "table_name": r["table_name"],
        "cadence": r["cadence"],
        "active": bool(r["active"]),
        "state": r["state"],
        "pending": int(r["pending"]),
        "failed": int(r["failed"]),
        "quarantined": int(r["quarantined"]),
        "processing": int(r["processing"]),
        "pending_bytes": int(r["pending_bytes"]),
        "backlog_age_seconds": age_seconds(r["oldest_pending"], now),
        "last_run_status": r["last_run_status"],
        "last_run_at": iso(r["last_run_at"]),
        "last_error": (r["last_error"] or "")[:500] or None,
        "last_applied_at": iso(r["last_applied"]),
        "freshness_seconds": age_seconds(r["last_applied"], now),
        "last_commit": r["last_commit"],
        "lease_holder": r["lease_holder"],
        "lease_expires": iso(r["lease_expires"]),
    }


def state_counts(session: Session) -> dict[str, int]:
    t = table_rows()
    counts = {s.value: 0 for s in TableState}
    for state, n in session.execute(select(t.c.state, func.count()).group_by(t.c.state)):
        counts[str(state)] = int(n)
    return counts


def backlog_now(session: Session) -> dict[str, int]:
    files, size = session.execute(
        select(func.count(), func.coalesce(func.sum(CdcFileRow.size_bytes), 0)).where(
            CdcFileRow.status.in_(BACKLOG_STATUSES), CdcFileRow.table_id.is_not(None)
        )
    ).one()
    return {"files": int(files), "bytes": int(size or 0)}


def stale_condition(t: Any, before: datetime) -> ColumnElement[bool]:
    return and_(t.c.active == True, or_(t.c.last_applied.is_(None), t.c.last_applied < before))  # noqa: E712


def filter_choices(session: Session) -> dict[str, list[str]]:
    """The cadences and databases the tables use (the list page's filter menus)."""
    return {
        "cadences": list(
            session.scalars(select(RawTableRow.refresh_cadence).distinct().order_by(RawTableRow.refresh_cadence))
        ),
        "databases": list(
            session.scalars(select(RawTableRow.database_name).distinct().order_by(RawTableRow.database_name))
        ),
        "states": [s.value for s in TableState],
    }
