"""What an operator sees per table and per flow, read from the metadata DB in a few queries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tributary.config.validation import ConfigSet
from tributary.metadata.models import AlertOutboxRow, CdcFileRow, ProcessingRunRow, TableLockRow


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat(timespec="seconds") if value else None


@dataclass
class TableState:
    table_id: str
    cadence: str
    active: bool
    target_uri: str
    last_commit: str | None = None
    last_run_status: str | None = None
    last_run_at: str | None = None
    last_error: str | None = None
    pending: int = 0
    failed: int = 0
    quarantined: int = 0
    processed: int = 0
    lag_seconds: float | None = None
    lease_holder: str | None = None
    lease_expires: str | None = None
    quarantined_files: list[dict[str, Any]] = field(default_factory=list)
    disabled_reason: str | None = None
    catalog: str | None = None
    """Glue Data Catalog state: "in step", "behind", "failed", ... (tributary.catalog.status)."""
    catalog_name: str | None = None
    catalog_synced: str | None = None
    catalog_error: str | None = None

    @property
    def state(self) -> str:
        if self.disabled_reason:
            return "invalid config"
        if self.quarantined:
            return "blocked"
        if self.last_run_status == "failed":
            return "failing"
        if self.pending or self.failed:
            return "backlog"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


def table_states(session: Session, config: ConfigSet, now: datetime | None = None) -> list[TableState]:
    now = now or datetime.now(UTC)
    states = {
        t: TableState(t, table.refresh_cadence, table.active, table.target_uri) for t, table in config.tables.items()
    }
    for t, reason in config.disabled("raw_tables").items():
        states[t] = TableState(t, "-", False, "-", disabled_reason=reason)
    counts = session.execute(
        select(CdcFileRow.table_id, CdcFileRow.status, func.count(), func.min(CdcFileRow.landed_at))
        .where(CdcFileRow.table_id.is_not(None))
        .group_by(CdcFileRow.table_id, CdcFileRow.status)
    )
    for table_id, status, n, oldest in counts:
        st = states.get(table_id)
        if st is None:
            continue
        if status in ("pending", "failed", "quarantined", "processed"):
            setattr(st, status, int(n))
        if status in ("pending", "failed", "quarantined") and oldest is not None:
            lag = (now - _aware(oldest)).total_seconds()  # type: ignore[operator]
            st.lag_seconds = max(st.lag_seconds or 0.0, lag)
    latest = (
        select(ProcessingRunRow.table_id, func.max(ProcessingRunRow.run_id).label("run_id"))
        .group_by(ProcessingRunRow.table_id)
        .subquery()
    )
    for run in session.scalars(select(ProcessingRunRow).join(latest, ProcessingRunRow.run_id == latest.c.run_id)):
        st = states.get(run.table_id)
        if st is not None:
            st.last_run_status, st.last_run_at = run.status, _iso(run.started_at)
            st.last_error = run.error if run.status == "failed" else None
    commits = session.execute(
        select(ProcessingRunRow.table_id, func.max(ProcessingRunRow.commit_instant))
        .where(ProcessingRunRow.status == "completed")
        .group_by(ProcessingRunRow.table_id)
    )
    for table_id, instant in commits:
        if table_id in states:
            states[table_id].last_commit = instant
    for lock in session.scalars(select(TableLockRow).where(TableLockRow.holder.is_not(None))):
        if lock.table_id in states:
            states[lock.table_id].lease_holder = lock.holder
            states[lock.table_id].lease_expires = _iso(lock.expires_at)
    for f in session.scalars(select(CdcFileRow).where(CdcFileRow.status == "quarantined").order_by(CdcFileRow.file_id)):
        if f.table_id in states:
            states[f.table_id].quarantined_files.append(
                {"file_id": f.file_id, "file": f.relative_path or f.uri, "attempts": f.attempts, "reason": f.reason}
            )
    for st in states.values():
        if not (st.pending or st.failed or st.quarantined) and st.processed:
            st.lag_seconds = 0.0
    _catalog_states(session, states, config)
    return sorted(states.values(), key=lambda s: _natural(s.table_id))


def _catalog_states(session: Session, states: dict[str, TableState], config: ConfigSet) -> None:
    from tributary.catalog.status import catalog_statuses

    for c in catalog_statuses(config, [t for t in states if t in config.tables], session):
        st = states[c.table_id]
        st.catalog, st.catalog_name, st.catalog_synced, st.catalog_error = (
            c.state.value,
            c.catalog_name,
            c.synced_instant,
            c.error,
        )


def recent_alerts(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.alert_id.desc()).limit(limit))
    return [
        {
            "alert_id": a.alert_id,
            "created_at": _iso(a.created_at),
            "subject": a.subject,
            "status": a.status,
            "occurrences": a.occurrences,
            "attempts": a.attempts,
            "tables": (a.message or {}).get("tables", []),
        }
        for a in rows
    ]


def flow_summaries(config: ConfigSet) -> list[dict[str, Any]]:
    out = []
    for flow_id, flow in sorted(config.flows.items()):
        out.append(
            {
                "flow_id": flow_id,
                "dag_id": flow.effective_dag_id,
                "owner": flow.owner,
                "enabled": flow.enabled,
                "schedule": flow.schedule,
                "manual": flow.manual,
                "event_triggers": [t.model_dump() for t in flow.event_triggers],
                "sqs_queue_url": flow.sqs_queue_url,
                "tasks": [
                    {
                        "task_id": t.task_id,
                        "template_id": t.template_id,
                        "upstream": list(t.upstream),
                        "params": t.params,
                    }
                    for t in flow.tasks
                ],
            }
        )
    for flow_id, reason in sorted(config.disabled("flows").items()):
        out.append({"flow_id": flow_id, "dag_id": None, "enabled": False, "invalid": reason, "tasks": []})
    return out


def _natural(text: str) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
