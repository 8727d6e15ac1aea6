"""The reconciliation sweep: find files nobody announced, and pending files no run will take.

It lists every active table's staging prefix and registers what is there (idempotent: announced
files are duplicates), then triggers the flows covering tables that got new files (lost
events) or that have files pending longer than ``stale_seconds`` (e.g. left over by a run that
hit its per-table file cap). Triggers coalesce into a queued run like the event invoker's.
Meant for the maintenance DAG (:func:`sweep_step`) and ``tributary events sweep``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tributary.config.models import RawTable
from tributary.config.validation import ConfigSet
from tributary.errors import AirflowApiError
from tributary.events.airflow_api import AirflowClient
from tributary.events.dispatch import FlowDispatch, run_id_for, trigger_flow
from tributary.events.matching import flows_for_tables
from tributary.files.registry import LandedFile, register, sweep_table_files

log = logging.getLogger(__name__)

DEFAULT_STALE_SECONDS = 300
DEFAULT_GRACE_SECONDS = 120
"""A file younger than this is left to its S3 event (still in flight, not lost)."""


@dataclass
class SweepReport:
    listed: int = 0
    registered: dict[str, list[str]] = field(default_factory=dict)
    """table id → files registered by the sweep (their events were lost)."""
    stale: dict[str, int] = field(default_factory=dict)
    """table id → files pending longer than the stale limit."""
    recent: int = 0
    """Unregistered files younger than the grace period, left to their events."""
    flows: list[FlowDispatch] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "registered": sum(len(v) for v in self.registered.values()),
            "tables_with_lost_events": sorted(self.registered),
            "left_to_events": self.recent,
            "stale_tables": dict(sorted(self.stale.items())),
            "flows": [
                {"flow_id": f.flow_id, "dag_id": f.dag_id, "outcome": f.outcome, "run": f.run, "error": f.error}
                for f in self.flows
            ],
            "seconds": round(self.seconds, 3),
        }


def _stale_pending(session: Session, older_than: datetime) -> dict[str, list[str]]:
    from tributary.metadata.models import CdcFileRow, FileStatus

    rows = session.execute(
        select(CdcFileRow.table_id, CdcFileRow.uri).where(
            CdcFileRow.status == FileStatus.PENDING,
            CdcFileRow.registered_at < older_than,
            CdcFileRow.table_id.is_not(None),
        )
    )
    out: dict[str, list[str]] = {}
    for table_id, uri in rows:
        if table_id is not None:  # excluded by the query; narrows the type
            out.setdefault(table_id, []).append(uri)
    return out


def sweep(
    config: ConfigSet | None = None,
    client: AirflowClient | None = None,
    *,
    stale_seconds: int = DEFAULT_STALE_SECONDS,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
    trigger: bool = True,
) -> SweepReport:
    """Register unannounced files older than ``grace_seconds`` and trigger the flows that need a
    run (a younger file's event may still be on its way: registering it here would start a
    second run for it)."""
    from tributary.config.service import load_db_config
    from tributary.metadata.db import session_scope

    start = time.perf_counter()
    config = config or load_db_config()
    report = SweepReport()
    tables = [t for t in config.tables.values() if t.active]
    needs: dict[str, list[str]] = {}
    young_ns = time.time_ns() - grace_seconds * 1_000_000_000
    with session_scope() as session:
        for table in sorted(tables, key=lambda t: t.table_id):
            new = _register_unannounced(session, table, young_ns, report)
            if new:
                report.registered[table.table_id] = new
                needs.setdefault(table.table_id, []).extend(new)
                log.warning("sweep: %d unannounced file(s) registered for %s", len(new), table.table_id)
        cutoff = datetime.now(UTC) - timedelta(seconds=stale_seconds)
        for table_id, uris in _stale_pending(session, cutoff).items():
            report.stale[table_id] = len(uris)
            needs.setdefault(table_id, []).extend(uris)
    if trigger and needs:
        if client is None:
            from tributary.events.invoker import default_client

            client = default_client()
        report.flows.extend(_trigger_flows(config, client, needs))
    report.seconds = time.perf_counter() - start
    log.info("sweep: %s", report.as_dict())
    return report


def _register_unannounced(session: Session, table: RawTable, young_ns: int, report: SweepReport) -> list[str]:
    """List the table's staging prefix and register the files older than ``young_ns`` (count the
    younger unregistered ones in ``report.recent``); the uris the sweep registered."""
    listed = sweep_table_files(table)
    report.listed += len(listed)
    landed: list[LandedFile] = []
    young: list[str] = []
    for f in listed:  # one pass: a staging folder can hold thousands of files
        if f.mtime_ns is None or f.mtime_ns <= young_ns:
            landed.append(f)
        else:
            young.append(f.uri)
    if young:
        from tributary.metadata.models import CdcFileRow

        known = set(session.scalars(select(CdcFileRow.uri).where(CdcFileRow.uri.in_(young))))
        report.recent += len(set(young) - known)
    return [r.uri for r in register(session, landed, [table]) if r.status == "registered"]


def _trigger_flows(config: ConfigSet, client: AirflowClient, needs: dict[str, list[str]]) -> list[FlowDispatch]:
    """Trigger each flow covering a table in ``needs`` once, with a run id that coalesces the
    sweep's triggers within a ten-minute window; a failed trigger is alerted and reported."""
    window = datetime.now(UTC).strftime("%Y%m%d%H") + str(datetime.now(UTC).minute // 10)
    dispatched: list[FlowDispatch] = []
    for flow_id, covered in sorted(flows_for_tables(config, needs).items()):
        flow = config.flows[flow_id]
        files = sorted({u for t in covered for u in needs[t]})
        run_id = run_id_for("tributary_sweep", flow_id, [(u,) for u in files] + [(window,)])
        item = FlowDispatch(flow_id, flow.effective_dag_id, run_id, files, sorted(covered))
        conf = {"source": "tributary-sweep", "files": files[:200], "file_count": len(files), "tables": item.tables}
        try:
            item.outcome, item.run = trigger_flow(client, flow, run_id, conf)
        except AirflowApiError as exc:
            item.outcome, item.error = "failed", str(exc)
            from tributary.events.alerting import alert_invoker_failure

            alert_invoker_failure(what="sweep", error=str(exc), flow_id=flow_id, dag_id=flow.effective_dag_id)
        dispatched.append(item)
    return dispatched


def sweep_step() -> dict[str, Any]:
    """For the maintenance DAG: ``task(task_id="sweep_staging")(sweep_step)()``."""
    return sweep().as_dict()
