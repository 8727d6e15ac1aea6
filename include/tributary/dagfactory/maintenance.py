"""The maintenance DAG: refresh the config snapshot, drain the alert outbox, reap stale leases,
clean Hudi tables to their retention. Each step is a plain function (testable without Airflow)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

DAG_ID = "tributary__maintenance"


def refresh_snapshot_step() -> dict[str, Any]:
    from tributary.config.service import refresh_snapshot

    snap = refresh_snapshot()
    return {"flows": len(snap.flows), "tables": len(snap.tables), "hash": snap.content_hash[:12]}


def drain_alerts_step() -> dict[str, int]:
    from tributary.alerts.outbox import drain

    return drain(limit=500).as_dict()


def reap_leases_step() -> list[str]:
    from tributary.locks.lease import reap_expired
    from tributary.metadata.db import session_scope

    with session_scope() as session:
        reaped = reap_expired(session)
    if reaped:
        log.warning("reaped %d stale lease(s): %s", len(reaped), ", ".join(reaped))
    return reaped


def clean_tables_step() -> dict[str, int]:
    """Clean each active table (KEEP_LATEST_COMMITS) while holding its lease; busy tables wait."""
    from tributary.config.locations import resolve_location
    from tributary.config.service import load_db_config
    from tributary.hudi.maintenance import clean
    from tributary.hudi.timeline import Timeline
    from tributary.locks.lease import acquire, release
    from tributary.storage import Storage, hudi_storage_options

    config = load_db_config()
    cleaned: dict[str, int] = {}
    holder = f"maintenance/{datetime.now(UTC).isoformat()}"
    for table_id, table in sorted(config.tables.items()):
        if not table.active:
            continue
        uri = resolve_location(table.target_uri)
        storage = Storage(uri, hudi_storage_options(uri))
        if not storage.exists(".hoodie/hoodie.properties"):
            continue
        lease = acquire(table_id, holder, timedelta(minutes=10))
        if lease is None:
            log.info("%s is being written; cleaning it next time", table_id)
            continue
        try:
            # the retention the table configured (options.cleaner_commits_retained, also spelled
            # hoodie.cleaner.commits.retained), the same both engines clean to after each write
            retain = table.options.cleaner_commits_retained
            deleted = clean(storage, Timeline(storage, table.table_version, table.table_name), retain)
            cleaned[table_id] = len(deleted)
        except Exception:
            log.exception("%s: cleaning failed", table_id)
        finally:
            release(lease)
    return cleaned


def sweep_staging_step() -> dict[str, Any]:
    from tributary.events.sweep import sweep_step

    return sweep_step()


def build_maintenance_dag(schedule: str = "*/15 * * * *") -> Any:
    from airflow.sdk import DAG, task

    from tributary.alerts.callbacks import OutboxNotifier

    with DAG(
        dag_id=DAG_ID,
        description="Tributary housekeeping: snapshot, alert outbox, leases, Hudi cleaning",
        doc_md=__doc__,
        schedule=schedule,
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["tributary", "maintenance"],
        default_args={
            "owner": "tributary",
            "retries": 1,
            "retry_delay": timedelta(minutes=1),
            "on_failure_callback": OutboxNotifier(flow_id="maintenance"),
        },
    ) as dag:
        snapshot = task(task_id="refresh_snapshot")(refresh_snapshot_step)()
        alerts = task(task_id="drain_alert_outbox")(drain_alerts_step)()
        leases = task(task_id="reap_stale_leases")(reap_leases_step)()
        cleaning = task(task_id="clean_hudi_tables", execution_timeout=timedelta(minutes=30))(clean_tables_step)()
        # files in staging that no event announced (lost events) are registered, flows triggered
        task(task_id="sweep_staging")(sweep_staging_step)()
        snapshot >> alerts
        leases >> cleaning
    return dag
