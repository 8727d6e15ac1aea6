"""The overview's figures, each one SQL aggregate: states, freshness (distribution and the stalest
tables), backlog and throughput per hour over the last 24 hours, failures per hour, and whether
each cadence keeps up (its last cycle's duration against its schedule's interval)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tributary.metadata.models import (
    AlertOutboxRow,
    CdcFileRow,
    FlowRow,
    FlowTaskRow,
    ProcessingRunRow,
    RawTableRow,
    RefreshCadenceRow,
    RunStatus,
)
from tributary.ops import queries as q

log = logging.getLogger(__name__)

HOURS = 24
FRESHNESS_BUCKETS: list[tuple[str, float | None]] = [
    ("< 15 min", 15 * 60),
    ("15 min-1 h", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 24 * 3600),
    ("> 24 h", None),
]


def hour_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def hour_key(session: Session, column: Any) -> ColumnElement[Any]:
    """``YYYY-MM-DD HH`` (UTC) of a timestamp column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.substr(column, 1, 13)


def hour_labels(now: datetime) -> list[datetime]:
    """The starts of the last 24 hours, oldest first; the last is the current (partial) hour."""
    current = hour_start(now)
    return [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


def freshness(session: Session, now: datetime, worst: int = 10) -> dict[str, Any]:
    t = q.table_rows()
    active = t.c.active == True  # noqa: E712
    sums = []
    lower: float = 0
    for _label, upper in FRESHNESS_BUCKETS:
        after = t.c.last_applied <= now - timedelta(seconds=lower)
        cond = (
            and_(active, after)
            if upper is None
            else and_(active, after, t.c.last_applied > now - timedelta(seconds=upper))
        )
        sums.append(func.sum(case((cond, 1), else_=0)))
        lower = upper or lower
    sums.append(func.sum(case((and_(active, t.c.last_applied.is_(None)), 1), else_=0)))
    counts = session.execute(select(*sums)).one()
    labels = [b[0] for b in FRESHNESS_BUCKETS] + ["never applied"]
    stalest = session.execute(
        select(t.c.table_id, t.c.state, t.c.last_applied, t.c.cadence)
        .where(active)
        .order_by(case((t.c.last_applied.is_(None), 0), else_=1), t.c.last_applied.asc(), t.c.table_id)
        .limit(worst)
    ).all()
    return {
        "distribution": [{"bucket": lbl, "tables": int(n or 0)} for lbl, n in zip(labels, counts, strict=True)],
        "worst": [
            {
                "table_id": r.table_id,
                "state": r.state,
                "cadence": r.cadence,
                "last_applied_at": q.iso(r.last_applied),
                "freshness_seconds": q.age_seconds(r.last_applied, now),
            }
            for r in stalest
        ],
    }


def backlog_series(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Files and bytes waiting at the end of each of the last 24 hours (the last point is now): a
    file waits at the end of hour H if it was registered in or before H and was not processed by
    the end of H (processed in a later hour, or still pending/failed/quarantined/processing).

    One grouped scan by (hour registered, hour processed); the series is summed from the groups."""
    f = CdcFileRow
    waiting_now = and_(f.processed_at.is_(None), f.status.in_(q.BACKLOG_STATUSES))
    reg, done = hour_key(session, f.registered_at), hour_key(session, f.processed_at)
    groups = session.execute(
        select(reg, done, func.count(), func.coalesce(func.sum(f.size_bytes), 0))
        .where(f.table_id.is_not(None), or_(waiting_now, f.processed_at > now - timedelta(hours=HOURS)))
        .group_by(reg, done)
    ).all()
    out = []
    for h in hour_labels(now):
        key = h.strftime("%Y-%m-%d %H")
        files = size = 0
        for reg_key, done_key, n, b in groups:
            if str(reg_key) <= key and (done_key is None or str(done_key) > key):
                files, size = files + int(n), size + int(b)
        at = min(h + timedelta(hours=1), now)
        out.append({"at": q.iso(at), "files": files, "bytes": size})
    return out


def _per_hour(session: Session, column: Any, where: list[Any], values: list[Any], now: datetime) -> list[list[int]]:
    since = hour_labels(now)[0]
    key = hour_key(session, column)
    rows = session.execute(select(key, *values).where(column >= since, *where).group_by(key)).all()
    by_hour = {str(r[0]): [int(v or 0) for v in r[1:]] for r in rows}
    return [by_hour.get(h.strftime("%Y-%m-%d %H"), [0] * len(values)) for h in hour_labels(now)]


def throughput(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Rows inserted, updated and deleted per hour (completed runs, by the hour they finished)."""
    r = ProcessingRunRow
    values = [func.sum(r.inserted), func.sum(r.updated), func.sum(r.deleted), func.count()]
    counts = _per_hour(session, r.finished_at, [r.status == RunStatus.COMPLETED], values, now)
    return [
        {"hour": q.iso(h), "inserted": c[0], "updated": c[1], "deleted": c[2], "runs": c[3]}
        for h, c in zip(hour_labels(now), counts, strict=True)
    ]


def failures(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Failed runs and the tables they touched, per hour they started."""
    r = ProcessingRunRow
    values = [func.count(), func.count(func.distinct(r.table_id))]
    counts = _per_hour(session, r.started_at, [r.status == RunStatus.FAILED], values, now)
    return [
        {"hour": q.iso(h), "failed_runs": c[0], "tables": c[1]} for h, c in zip(hour_labels(now), counts, strict=True)
    ]


def interval_seconds(schedule: str, now: datetime) -> float | None:
    """Seconds between the next two fire times of a cron schedule (None if it is not cron)."""
    try:
        from croniter import croniter

        it = croniter(schedule, now)
        first = it.get_next(datetime)
        return float((it.get_next(datetime) - first).total_seconds())
    except Exception as exc:  # a preset like @daily that croniter refuses, or a timetable name
        log.debug("no interval for schedule %r: %s", schedule, exc)
        return None


def _last_cycle(session: Session, cadence: str, dag_ids: list[str]) -> Any:
    """The newest DAG run (of the flows processing ``cadence``) that processed its tables: its
    first start and last finish (index reads on dag_id with started_at, then dag_run_id)."""
    r, t = ProcessingRunRow, RawTableRow
    if not dag_ids:
        return None
    newest = session.execute(
        select(r.dag_id, r.dag_run_id, r.started_at)
        .join(t, t.table_id == r.table_id)
        .where(r.dag_id.in_(dag_ids), r.dag_run_id.is_not(None), t.refresh_cadence == cadence)
        .order_by(r.started_at.desc())
        .limit(1)
    ).first()
    if newest is None:
        return None
    return session.execute(
        select(r.dag_id, r.dag_run_id, func.min(r.started_at).label("start"), func.max(r.finished_at).label("end"))
        .join(t, t.table_id == r.table_id)
        .where(
            r.dag_id == newest.dag_id,
            r.dag_run_id == newest.dag_run_id,
            t.refresh_cadence == cadence,
        )
        .group_by(r.dag_id, r.dag_run_id)
    ).first()


def cadences(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per cadence: tables, interval, and its last cycle (the newest DAG run that processed its
    tables): first start to last finish, against the interval."""
    t = RawTableRow
    tables = dict(session.execute(select(t.refresh_cadence, func.count()).group_by(t.refresh_cadence)).all())
    dags: dict[str, list[str]] = {}
    for f in flows(session):
        for cad in f["cadences"]:
            dags.setdefault(cad, []).append(f["dag_id"])
    out = []
    for cad in session.scalars(select(RefreshCadenceRow).order_by(RefreshCadenceRow.cadence_id)):
        last = _last_cycle(session, cad.cadence_id, dags.get(cad.cadence_id, []))
        interval = interval_seconds(cad.schedule, now)
        start, end = (q.aware(last.start), q.aware(last.end)) if last else (None, None)
        duration = (end - start).total_seconds() if start and end else None
        out.append(
            {
                "cadence": cad.cadence_id,
                "schedule": cad.schedule,
                "tables": int(tables.get(cad.cadence_id, 0)),
                "interval_seconds": interval,
                "last_dag_id": last.dag_id if last else None,
                "last_dag_run_id": last.dag_run_id if last else None,
                "last_started_at": q.iso(start),
                "last_duration_seconds": duration,
                "keeping_up": None if duration is None or interval is None else duration <= interval,
            }
        )
    return out


def flows(session: Session) -> list[dict[str, Any]]:
    tasks: dict[str, list[str]] = {}
    for flow_id, params in session.execute(select(FlowTaskRow.flow_id, FlowTaskRow.params)):
        if isinstance(params, dict) and params.get("cadence"):
            tasks.setdefault(flow_id, []).append(str(params["cadence"]))
    return [
        {
            "flow_id": f.flow_id,
            "dag_id": f.dag_id,
            "enabled": f.enabled,
            "schedule": f.schedule,
            "cadences": sorted(set(tasks.get(f.flow_id, []))),
        }
        for f in session.scalars(select(FlowRow).order_by(FlowRow.flow_id))
    ]


def recent_alerts(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    rows = session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.alert_id.desc()).limit(limit))
    return [
        {
            "alert_id": a.alert_id,
            "created_at": q.iso(a.created_at),
            "subject": a.subject,
            "status": a.status,
            "occurrences": a.occurrences,
            "tables": (a.message or {}).get("tables", []),
        }
        for a in rows
    ]


def overview(session: Session, now: datetime) -> dict[str, Any]:
    """Everything the overview shows (the ``/api/overview`` document)."""
    return {
        "generated_at": now.isoformat(),
        "states": q.state_counts(session),
        "freshness": freshness(session, now),
        "backlog": {"now": q.backlog_now(session), "series": backlog_series(session, now)},
        "throughput": throughput(session, now),
        "failures": failures(session, now),
        "cadences": cadences(session, now),
        "flows": flows(session),
        "alerts": recent_alerts(session),
    }
