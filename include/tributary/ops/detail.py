"""One table's page: its facts, commits (I/U/D), runs (durations, Airflow links), files, quarantined
files, lease, the Hudi schema and its changes commit by commit, and the catalog slot."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tributary.errors import OpsNotFoundError, TributaryError
from tributary.metadata.models import CdcFileRow, FileStatus, ProcessingRunRow, RawTableRow, RunStatus
from tributary.ops import queries as q
from tributary.ops.params import check_name

RUNS = 50
FILES = 100
SCHEMA_COMMITS = 30


MAPPED = re.compile(r"^(?P<task>.+)\[(?P<index>\d+)\]$")


def airflow_paths(dag_id: str | None, dag_run_id: str | None, task_id: str | None) -> dict[str, Any]:
    """Paths in Airflow's UI (relative to its root) of a run's DAG run and task log; a mapped task
    instance is recorded as ``task_id[map_index]`` and links to that instance."""
    if not dag_id or not dag_run_id:
        return {"dag_run": None, "task_log": None}
    run = f"dags/{quote(dag_id, safe='')}/runs/{quote(dag_run_id, safe='')}"
    task = None
    if task_id:
        mapped = MAPPED.match(task_id)
        name = mapped.group("task") if mapped else task_id
        task = f"{run}/tasks/{quote(name, safe='')}"
        if mapped:
            task += f"/mapped/{int(mapped.group('index'))}"
    return {"dag_run": run, "task_log": task}


def _run_dict(r: ProcessingRunRow) -> dict[str, Any]:
    start, end = q.aware(r.started_at), q.aware(r.finished_at)
    return {
        "run_id": r.run_id,
        "status": r.status,
        "started_at": q.iso(start),
        "finished_at": q.iso(end),
        "duration_seconds": (end - start).total_seconds() if start and end else None,
        "inserted": r.inserted,
        "updated": r.updated,
        "deleted": r.deleted,
        "files": len(r.files or []),
        "commit_instant": r.commit_instant,
        "error": (r.error or "")[:1000] or None,
        "holder": r.holder,
        "dag_id": r.dag_id,
        "dag_run_id": r.dag_run_id,
        "task_id": r.task_id,
        "airflow": airflow_paths(r.dag_id, r.dag_run_id, r.task_id),
    }


def _file_dict(f: CdcFileRow) -> dict[str, Any]:
    return {
        "file_id": f.file_id,
        "file": f.relative_path or f.uri,
        "uri": f.uri,
        "status": f.status,
        "size_bytes": f.size_bytes,
        "landed_at": q.iso(f.landed_at),
        "processed_at": q.iso(f.processed_at),
        "attempts": f.attempts,
        "reason": f.reason,
        "commit_instant": f.commit_instant,
    }


def schema_history(target_uri: str) -> dict[str, Any]:
    """The table's columns and how they changed, from the Hudi timeline's commit metadata."""
    from tributary.config.locations import resolve_location
    from tributary.hudi.table import HudiTable

    try:
        uri = resolve_location(target_uri)
        if not HudiTable.exists(uri):
            return {"columns": [], "changes": [], "note": f"no Hudi table at {target_uri} yet"}
        table = HudiTable.open(uri)
        commits = table.completed_commits()[-SCHEMA_COMMITS:]
    except (TributaryError, OSError) as exc:
        return {"columns": [], "changes": [], "note": f"cannot read the Hudi table: {exc}"}
    changes: list[dict[str, Any]] = []
    previous: dict[str, str] | None = None
    for c in commits:
        raw = c.extra_metadata.get("schema")
        if not raw:
            continue
        columns = {f["name"]: json.dumps(f["type"]) for f in json.loads(raw).get("fields", [])}
        columns = {k: v for k, v in columns.items() if not k.startswith("_hoodie_")}
        if previous is None or columns != previous:
            before = previous or {}
            changes.append(
                {
                    "instant": c.instant,
                    "added": sorted(set(columns) - set(before)),
                    "removed": sorted(set(before) - set(columns)),
                    "changed": sorted(k for k in columns if k in before and before[k] != columns[k]),
                }
            )
        previous = columns
    return {"columns": [{"name": k, "type": v} for k, v in (previous or {}).items()], "changes": changes, "note": None}


def catalog_state(session: Session, table_id: str) -> dict[str, Any]:
    """The table's catalog state (Glue / Athena registration), shown on the table page: the
    commit its catalog entry holds against the latest (:mod:`tributary.catalog.status`, metadata
    DB only). ``{}`` when the table's config row does not validate."""
    from tributary.catalog.status import catalog_statuses
    from tributary.config.repository import read_config

    config = read_config(session)
    if table_id not in config.tables:
        return {}
    (status,) = catalog_statuses(config, [table_id], session)
    return {
        "state": status.state.value,
        "name": status.catalog_name,
        "synced_instant": status.synced_instant,
        "latest_instant": status.latest_instant,
        "partitions": status.partitions,
        "error": status.error,
    }


def table_detail(session: Session, table_id: str, now: datetime) -> dict[str, Any]:
    """The ``/api/tables/{table_id}`` document."""
    check_name(table_id, "table")
    row = session.get(RawTableRow, table_id)
    if row is None:
        raise OpsNotFoundError(f"table {table_id!r} is not configured; see /api/tables")
    t = q.table_rows()
    facts = session.execute(select(t).where(t.c.table_id == table_id)).mappings().one()
    runs = list(
        session.scalars(
            select(ProcessingRunRow)
            .where(ProcessingRunRow.table_id == table_id)
            .order_by(ProcessingRunRow.run_id.desc())
            .limit(RUNS)
        )
    )
    run_docs = [_run_dict(r) for r in runs]
    files = session.scalars(
        select(CdcFileRow).where(CdcFileRow.table_id == table_id).order_by(CdcFileRow.file_id.desc()).limit(FILES)
    )
    counts = dict(
        session.execute(
            select(CdcFileRow.status, func.count()).where(CdcFileRow.table_id == table_id).group_by(CdcFileRow.status)
        ).all()
    )
    quarantined = session.scalars(
        select(CdcFileRow).where(CdcFileRow.table_id == table_id, CdcFileRow.status == FileStatus.QUARANTINED)
    )
    return {
        "table": q.row_dict(facts, now),
        "config": {
            "target_uri": row.target_uri,
            "staging_prefix": row.staging_prefix,
            "record_key_fields": row.record_key_fields,
            "precombine_field": row.precombine_field,
            "partition_fields": row.partition_fields,
            "storage_mode": row.storage_mode,
            "table_version": row.table_version,
            "file_format": row.file_format,
        },
        "commits": [r for r in run_docs if r["status"] == RunStatus.COMPLETED and r["commit_instant"]],
        "runs": run_docs,
        "file_counts": {str(k): int(v) for k, v in counts.items()},
        "files": [_file_dict(f) for f in files],
        "quarantined": [_file_dict(f) for f in quarantined],
        "lease": {"holder": facts["lease_holder"], "expires_at": q.iso(facts["lease_expires"])},
        "schema": schema_history(row.target_uri),
        "catalog": catalog_state(session, table_id),
    }
