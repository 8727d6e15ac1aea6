"""Run the demo against the local stack: land the dataset in the staging bucket and wait while the
flows — started by S3 events (AssetWatcher) and by their schedule, never by the demo — apply it.

The demo only lands files and watches the metadata DB; if a file fails, it stops waiting and says
which table and where to look.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from tributary.config.locations import resolve_location
from tributary.config.validation import ConfigSet
from tributary.errors import DemoError
from tributary.metadata.db import session_scope
from tributary.metadata.models import CatalogSyncRow, CdcFileRow, FileStatus
from tributary.storage import Storage

log = logging.getLogger(__name__)

SCHEMA = "taxi_trips"
TABLES = 18


def demo_tables(config: ConfigSet) -> list[str]:
    wanted = [f"{SCHEMA}.table_{i}" for i in range(1, TABLES + 1)]
    missing = [t for t in wanted if t not in config.tables]
    if missing:
        raise DemoError(
            f"the demo needs the 18 example tables; missing {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}: run `tributary config apply config/` first"
        )
    return wanted


def demo_flows(config: ConfigSet, tables: list[str]) -> dict[str, str]:
    """dag_id → how it starts, for the enabled flows that cover the demo tables."""
    from tributary.events.matching import flows_for_tables

    out = {}
    for flow_id in sorted(flows_for_tables(config, tables)):
        flow = config.flows[flow_id]
        how = [w for w, on in (("S3 events via SQS", flow.sqs_queue_url), ("schedule", flow.schedule)) if on]
        if flow.event_triggers:
            how.insert(0, "S3 events via the invoker")
        out[flow.effective_dag_id] = " + ".join(how) or "manual"
    return out


@dataclass
class Landing:
    """The dataset's sink: puts each file under its table's staging prefix and counts them."""

    config: ConfigSet
    on_landed: Callable[[str, int], None] = lambda _table_id, _size: None
    landed: Counter[str] = field(default_factory=Counter)
    bytes_landed: int = 0

    def __call__(self, rel: str, data: bytes) -> None:
        table, _, rest = rel.partition("/")
        table_id = f"{SCHEMA}.{table}"
        Storage(resolve_location(self.config.tables[table_id].staging_prefix)).write_bytes(rest, data)
        self.landed[table_id] += 1
        self.bytes_landed += len(data)
        self.on_landed(table_id, len(data))


def provision_if_local(config: ConfigSet) -> bool:
    """On the local stack (an S3 endpoint on loopback: its moto server), make sure the buckets,
    queue and notifications the config names exist — `stack up --config` made them, unless the
    stack was started before this config was applied. Never touches a real AWS account."""
    import os
    from urllib.parse import urlparse

    from tributary.settings import get_settings
    from tributary.stack.provision import provision

    endpoint = get_settings().s3_endpoint_url
    if not endpoint or urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        return False
    try:
        provision(config, endpoint, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    except Exception as exc:
        raise DemoError(
            f"the local stack's moto server at {endpoint} does not answer ({type(exc).__name__}): "
            "`tributary stack status`; start it with `tributary stack up --config config/`"
        ) from None
    return True


def check_staging_reachable(config: ConfigSet, tables: list[str]) -> None:
    """Fail early, with what to do, when the staging bucket is not there (no stack running)."""
    staging = Storage(resolve_location(config.tables[tables[0]].staging_prefix))
    try:
        staging.list_files("", recursive=False)
    except Exception as exc:
        raise DemoError(
            f"cannot reach the staging location {staging.full_uri()} ({type(exc).__name__}): the demo runs "
            "on the local stack — start it with `tributary stack up --config config/` and "
            "`source .stack/local/env` (or run `make demo`, which does both)"
        ) from None


def reset(config: ConfigSet, tables: list[str], wait_s: float = 300) -> None:
    """Delete the demo's staged files, Hudi tables and file records, so it starts from nothing.

    Each table is reset under its lease, so a DAG run still applying an earlier demo's files
    finishes (or waits) instead of writing into a half-deleted table."""
    from datetime import timedelta

    from tributary.locks.lease import acquire, release

    for table_id in tables:
        deadline = time.monotonic() + wait_s
        while (lease := acquire(table_id, "tributary-demo-reset", ttl=timedelta(minutes=5))) is None:
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{table_id}: its lease stayed held for {wait_s:.0f}s; see `tributary locks list` "
                    "(a run still applying files?) and try again"
                )
            time.sleep(1.0)
        try:
            table = config.tables[table_id]
            for location in (table.staging_prefix, table.target_uri):
                storage = Storage(resolve_location(location))
                if storage.exists():
                    storage.delete_dir("")
            with session_scope() as s:
                s.execute(delete(CdcFileRow).where(CdcFileRow.table_id == table_id))
                # the catalog entry stays (a table is re-registered from its first new commit)
                s.execute(delete(CatalogSyncRow).where(CatalogSyncRow.table_id == table_id))
        finally:
            release(lease)


@dataclass(frozen=True)
class Progress:
    processed: int
    registered: int
    quarantined: list[tuple[str, str, str]]  # table, file, reason
    latency_s: dict[str, float]  # table -> slowest landed → applied, seconds


def progress(tables: list[str]) -> Progress:
    with session_scope() as s:
        by_status = dict(
            s.execute(
                select(CdcFileRow.status, func.count())
                .where(CdcFileRow.table_id.in_(tables))
                .group_by(CdcFileRow.status)
            ).all()
        )
        bad = s.execute(
            select(CdcFileRow.table_id, CdcFileRow.relative_path, CdcFileRow.reason).where(
                CdcFileRow.table_id.in_(tables), CdcFileRow.status == FileStatus.QUARANTINED
            )
        ).all()
        latency: dict[str, float] = {}
        for table_id, landed, done in s.execute(
            select(CdcFileRow.table_id, CdcFileRow.landed_at, CdcFileRow.processed_at).where(
                CdcFileRow.table_id.in_(tables), CdcFileRow.status == FileStatus.PROCESSED
            )
        ):
            if table_id is not None and landed is not None and done is not None:
                seconds = (done.replace(tzinfo=None) - landed.replace(tzinfo=None)).total_seconds()
                latency[table_id] = max(latency.get(table_id, 0.0), seconds)
    return Progress(
        processed=int(by_status.get(FileStatus.PROCESSED, 0)),
        registered=int(sum(by_status.values())),
        quarantined=[(t or "", p or "", r or "") for t, p, r in bad],
        latency_s=latency,
    )


def wait_applied(
    tables: list[str],
    landed: int,
    timeout_s: float,
    on_progress: Callable[[Progress], None] = lambda _p: None,
    poll_s: float = 1.0,
) -> Progress:
    """Wait until every landed file of the demo tables is processed."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = progress(tables)
        on_progress(now)
        if now.quarantined:
            table, path, reason = now.quarantined[0]
            raise DemoError(
                f"{table}: file {path} was quarantined ({reason}); see the Tributary page in the "
                "Airflow UI and `tributary files list --status quarantined`"
            )
        if now.processed >= landed:
            return now
        if time.monotonic() > deadline:
            raise DemoError(
                f"{now.processed} of {landed} files applied after {timeout_s:.0f}s "
                f"({now.registered} registered): are the flows' DAGs unpaused and the scheduler and "
                "triggerer up? `tributary stack status`, and the DAG runs in the Airflow UI"
            )
        time.sleep(poll_s)


def run_source(run: dict[str, Any]) -> str:
    """How a DAG run was started, in words: by Airflow (asset event, schedule) or through the REST
    API by Tributary's invoker or lost-event sweep (run ids say which), or by someone else."""
    run_type, run_id = str(run.get("run_type")), str(run.get("dag_run_id", ""))
    if run_type == "asset_triggered":
        return "S3 event"
    if run_type == "scheduled":
        return "schedule"
    if run_id.startswith("tributary_sweep"):
        return "lost-event sweep"
    if run_id.startswith("tributary_event"):
        return "invoker"
    return run_type


def runs_by_trigger(client: Any, dag_ids: list[str], since: datetime) -> dict[str, Counter[str]]:
    """dag_id → Counter of "<source> <state>" over its runs started (or queued) since ``since``,
    from the Airflow REST API."""
    out: dict[str, Counter[str]] = {}
    for dag_id in dag_ids:
        counts: Counter[str] = Counter()
        for r in client.dag_runs(dag_id, limit=500):
            stamp = r.get("start_date") or r.get("queued_at")
            if stamp and datetime.fromisoformat(stamp.replace("Z", "+00:00")) >= since:
                counts[f"{run_source(r)} {r.get('state')}"] += 1
        out[dag_id] = counts
    return out


def wait_catalog(config: ConfigSet, tables: list[str], timeout: float, poll_s: float = 1.0) -> None:
    """Wait (at most ``timeout``) until no demo table's catalog entry is behind: each run syncs
    the catalog right after marking its files, so the last one may still be at it."""
    from tributary.catalog.status import CatalogState, catalog_statuses

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(s.state is CatalogState.BEHIND for s in catalog_statuses(config, tables)):
            return
        time.sleep(poll_s)
