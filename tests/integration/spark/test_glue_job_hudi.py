"""The Glue job run for real: ``spark/job.py`` in its own process on Hudi's own Spark writer,
Hudi 0.15.0 (table version 6, Glue 5.0) and 1.0.2 (table version 8, Glue 5.1), driven by the
real Airflow-side code (prepare → job → record) on the metadata DB.

One story per Hudi version, three tables, three Spark processes (two job runs and one read):

- ``shop.orders`` (Copy-on-Write, partitioned): the embedded engine loads it, the cadence moves
  to glue, the job applies upserts, a partition move, deletes flagged with ``_hoodie_is_deleted``
  and a change older than the stored row (it loses: event-time ordering across runs); the job
  commits a DMS reload (``insert_overwrite_table``) and the task dies before recording; the
  next run reconciles from the commit's checkpoint; the cadence moves back and the embedded
  engine continues the Spark-written table;
- ``shop.items`` (Merge-on-Read): upserts and deletes, on a new table and then on the stored keys;
- ``shop.events`` (historical mode): every change inserted once.

Spark then reads every table, equal to rows written out by hand here; every file is applied
exactly once (the commits' checkpoints name each file once, and the DB marked each processed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from tests.cdc_factory import DmsFolder
from tests.integration.spark.hudi_runtime import HUDI_VERSIONS, HudiRuntime, hudi_bundle, job_results, run_job
from tests.integration.spark.hudi_runtime import spark_read as read_with_spark
from tributary.cdc.checkpoint import K_FILES
from tributary.config.service import apply_paths, load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.hudi.options import parse_properties
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, TableLockRow
from tributary.processing.context import RunContext
from tributary.processing.processor import process_table
from tributary.spark.dispatch import PreparedBatch, prepare_batch, record_results
from tributary.spark.timeline import TableTimeline

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

TTL = timedelta(hours=1)
CTX = RunContext(dag_id="tributary__shop", dag_run_id="r1", task_id="apply")
ORDERS, ITEMS, EVENTS = "shop.orders", "shop.items", "shop.events"
#: keep Hudi's shuffles small on a two-core test machine (passed through as table options)
SMALL = {
    "hive_sync": "false",
    **{
        f"hoodie.{k}.parallelism": "2"
        for k in ("upsert.shuffle", "insert.shuffle", "bulkinsert.shuffle", "global.simple.index", "simple.index")
    },
}


@pytest.fixture(params=list(HUDI_VERSIONS))
def runtime(request: pytest.FixtureRequest) -> HudiRuntime:
    return HudiRuntime(request.param, hudi_bundle(request.param))


def _table(home: Path, name: str, cadence: str, version: int, **extra: Any) -> dict[str, Any]:
    return {
        "source_schema": "shop",
        "source_table": name,
        "staging_prefix": (home / "staging" / name).as_uri(),
        "target_uri": (home / "lake" / name).as_uri(),
        "database_name": "raw_shop",
        "table_name": name,
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": cadence,
        "table_version": version,
        "options": SMALL,
        **extra,
    }


def _configure(home: Path, runtime: HudiRuntime, orders_engine: str) -> None:
    """The config rows; ``orders_engine`` is the engine of the cadence shop.orders is on."""
    version = runtime.table_version
    cadence = {"schedule": "*/10 * * * *", "batch_size": 10, "glue_version": runtime.glue_version}
    doc = {
        "refresh_cadences": [
            {"cadence_id": "moving", "engine": orders_engine, **cadence},
            {"cadence_id": "sparky", "engine": "glue", **cadence},
        ],
        "raw_tables": [
            _table(home, "orders", "moving", version, partition_fields=["region"]),
            _table(home, "items", "sparky", version, table_type="MERGE_ON_READ"),
            _table(home, "events", "sparky", version, storage_mode="historical"),
        ],
    }
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    apply_paths([path])


def _register() -> None:
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())


def _prepare(holder: str, *table_ids: str) -> PreparedBatch:
    tables = load_db_config().tables
    return prepare_batch({t: tables[t] for t in table_ids}, holder=holder, ctx=CTX, lease_ttl=TTL)


def _record(prepared: PreparedBatch, holder: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tables = load_db_config().tables
    return record_results(
        prepared.to_state(),
        {t: results.get(t) for t in prepared.pending},
        tables={t: tables[t] for t in prepared.pending},
        holder=holder,
        ctx=CTX,
        lease_ttl=TTL,
    )


def _files(table_id: str) -> list[CdcFileRow]:
    with session_scope() as s:
        rows = list(s.scalars(select(CdcFileRow).where(CdcFileRow.table_id == table_id).order_by(CdcFileRow.file_id)))
        for r in rows:
            s.expunge(r)
    return rows


def _expire_leases() -> None:
    """The crashed task stopped heartbeating: its leases run out."""
    with session_scope() as s:
        s.execute(update(TableLockRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def _timeline(home: Path, name: str) -> TableTimeline:
    timeline = TableTimeline.open((home / "lake" / name).as_uri())
    assert timeline is not None, f"no Hudi table {name}"
    return timeline


def _applied_per_commit(home: Path, name: str) -> list[list[str]]:
    """The files each completed commit's checkpoint names as applied by it."""
    return [
        json.loads(c.extra_metadata[K_FILES])
        for c in _timeline(home, name).completed_commits()
        if K_FILES in c.extra_metadata
    ]


def _props(home: Path, name: str) -> dict[str, str]:
    return parse_properties((home / "lake" / name / ".hoodie" / "hoodie.properties").read_text())


@pytest.fixture
def staging(migrated_db: str, tributary_home: Path) -> Iterator[dict[str, DmsFolder]]:
    yield {name: DmsFolder(tributary_home / "staging" / name) for name in ("orders", "items", "events")}


def _row(op: str | None, i: int, name: str, ts: int, **extra: Any) -> dict[str, Any]:
    row = {"id": i, "name": name, "ts": ts, **extra}
    return {"Op": op, **row} if op else row


def _land_first(staging: dict[str, DmsFolder]) -> None:
    o, it, ev = staging["orders"], staging["items"], staging["events"]
    o.load(
        [_row(None, i, n, 1, region=r) for i, n, r in ((1, "a", "eu"), (2, "b", "eu"), (3, "c", "us"), (4, "d", "us"))]
    )
    it.load([_row(None, 1, "x", 1, qty=1), _row(None, 2, "y", 1, qty=2), _row(None, 3, "z", 1, qty=3)])
    it.cdc([_row("U", 1, "x2", 2, qty=10), _row("D", 3, "z", 2, qty=3), _row("I", 4, "w", 2, qty=4)])
    ev.load([_row(None, 1, "a", 1), _row(None, 2, "b", 1)])
    ev.cdc([_row("U", 1, "a2", 2), _row("D", 2, "b", 3)])


def _run_batch(runtime: HudiRuntime, prepared: PreparedBatch, workdir: Path) -> dict[str, dict[str, Any]]:
    code, log = run_job(runtime, prepared.batch, workdir)
    results = job_results(workdir)
    failed = {t: r.get("traceback") for t, r in results.items() if r["status"] != "completed"}
    assert not failed, "\n".join(f"{t}: {tb}" for t, tb in failed.items())
    assert code == 0 and set(results) == set(prepared.pending), log[-6000:]
    return results


def _glue_run_one(home: Path, runtime: HudiRuntime, staging: dict[str, DmsFolder]) -> None:
    """The cadence moves to glue; the job applies a first batch of all three tables."""
    _configure(home, runtime, "glue")
    staging["orders"].cdc(
        [
            _row("U", 1, "a1", 5, region="us"),  # partition move eu -> us
            _row("D", 2, "b", 5, region="eu"),
            _row("I", 5, "e", 5, region="eu"),
            _row("U", 3, "c-stale", 0, region="us"),  # older than the stored row: loses
        ]
    )
    _register()
    prepared = _prepare("task#1", ORDERS, ITEMS, EVENTS)
    assert sorted(prepared.pending) == [EVENTS, ITEMS, ORDERS], prepared.outcomes
    results = _run_batch(runtime, prepared, home / "job1")
    assert (results[ORDERS]["operation"], results[ORDERS]["updated"], results[ORDERS]["deleted"]) == ("upsert", 2, 1)
    assert results[EVENTS]["operation"] == "insert"
    recorded = _record(prepared, "task#1", results)
    assert recorded["failed"] == [], recorded
    for table_id, name in ((ORDERS, "orders"), (ITEMS, "items"), (EVENTS, "events")):
        # the checkpoint travelled into the commit's extraMetadata and names the files it applied
        (commit,) = [c for c in _timeline(home, name).completed_commits() if c.instant == results[table_id]["instant"]]
        assert json.loads(commit.extra_metadata[K_FILES]) == results[table_id]["files"]
        assert commit.extra_metadata["tributary.cdc.engine"] == "spark"
        ran = [f for f in _files(table_id) if f.file_id in set(prepared.pending[table_id]["file_ids"])]
        assert {(f.status, f.commit_instant) for f in ran} == {("processed", commit.instant)}
        assert {f.status for f in _files(table_id)} == {"processed"}


def _glue_run_two_then_crash(home: Path, runtime: HudiRuntime, staging: dict[str, DmsFolder]) -> None:
    """A second job commits, the task dies before recording; the next run reconciles exactly once."""
    # a DMS reload of orders: LOAD00000001 written again, then changes after it
    reloaded = [(1, "a1", 5, "us"), (2, "b-again", 6, "eu"), (3, "c", 1, "us"), (4, "d", 1, "us"), (5, "e", 5, "eu")]
    staging["orders"].load([_row(None, i, n, t, region=r) for i, n, t, r in reloaded], counter=1)
    staging["orders"].cdc([_row("U", 4, "d2", 6, region="eu"), _row("D", 5, "e", 6, region="eu")])
    # Merge-on-Read: updates and a delete of keys the table holds (log blocks), an insert
    staging["items"].cdc([_row("U", 2, "y2", 3, qty=20), _row("D", 1, "x2", 3, qty=10), _row("I", 7, "n", 3, qty=70)])
    staging["events"].cdc([_row("I", 3, "c", 4), _row("U", 1, "a3", 5)])
    _register()
    prepared = _prepare("task#2", ORDERS, ITEMS, EVENTS)
    assert {e["table_id"]: e["reload"] for e in prepared.batch["tables"]} == {ORDERS: True, ITEMS: False, EVENTS: False}
    results = _run_batch(runtime, prepared, home / "job2")
    assert results[ORDERS]["operation"] == "insert_overwrite_table"
    assert (results[ITEMS]["operation"], results[ITEMS]["updated"], results[ITEMS]["deleted"]) == ("upsert", 1, 1)
    commits = {n: len(_timeline(home, n).completed_commits()) for n in ("orders", "items", "events")}
    # the task died here: nothing recorded, the leases run out
    _expire_leases()
    again = _prepare("task#3", ORDERS, ITEMS, EVENTS)
    assert again.batch["tables"] == [], "a committed batch was handed to Spark again"
    assert {t: o["status"] for t, o in again.outcomes.items()} == dict.fromkeys((ORDERS, ITEMS, EVENTS), "idle")
    for table_id in (ORDERS, ITEMS, EVENTS):
        ids = set(prepared.pending[table_id]["file_ids"])
        instants = {f.commit_instant for f in _files(table_id) if f.file_id in ids}
        assert instants == {results[table_id]["instant"]}, table_id
        assert {f.status for f in _files(table_id)} == {"processed"}
    assert {n: len(_timeline(home, n).completed_commits()) for n in commits} == commits  # no second commit


def test_the_glue_job_on_hudis_own_writer(
    runtime: HudiRuntime, staging: dict[str, DmsFolder], tributary_home: Path
) -> None:
    home = tributary_home
    _configure(home, runtime, "local")
    _land_first(staging)
    _register()
    local = process_table(load_db_config().tables[ORDERS], "local#1", CTX)  # the embedded engine starts
    assert local.status == "completed", local.error

    _glue_run_one(home, runtime, staging)
    _glue_run_two_then_crash(home, runtime, staging)

    _configure(home, runtime, "local")  # back to the embedded engine, which continues Spark's table
    staging["orders"].cdc([_row("U", 1, "a3", 7, region="us"), _row("I", 6, "f", 7, region="us")])
    _register()
    local = process_table(load_db_config().tables[ORDERS], "local#2", CTX)
    assert local.status == "completed", local.error

    for name in ("orders", "events"):  # Copy-on-Write: no metadata table, so either engine continues
        props = _props(home, name)
        assert not props.get("hoodie.table.metadata.partitions"), props
        assert not (home / "lake" / name / ".hoodie" / "metadata").exists()
    if runtime.table_version == 8:
        assert {_props(home, n)["hoodie.record.merge.mode"] for n in ("orders", "items", "events")} == {
            "EVENT_TIME_ORDERING"
        }
    for table_id, name in ((ORDERS, "orders"), (ITEMS, "items"), (EVENTS, "events")):
        applied = [path for commit in _applied_per_commit(home, name) for path in commit]
        registered = sorted(f.relative_path or "" for f in _files(table_id))
        # every file applied exactly once: each registered file (a reload registers LOAD00000001
        # again) is named by exactly one commit's checkpoint, and processed in the DB
        assert sorted(applied) == registered, (name, applied)
        assert {f.status for f in _files(table_id)} == {"processed"}

    read = read_with_spark(
        runtime, {n: (home / "lake" / n).as_uri() for n in ("orders", "items", "events")}, home / "read"
    )
    data = {n: [c for c in t.column_names if not c.startswith("_hoodie_")] for n, t in read.items()}
    assert all("_hoodie_is_deleted" not in t.column_names for t in read.values())  # the flag is no column
    rows = {n: t.to_pylist() for n, t in read.items()}
    assert data["orders"] == ["id", "name", "ts", "region"]
    assert sorted((r["id"], r["name"], r["ts"], r["region"]) for r in rows["orders"]) == [
        (1, "a3", 7, "us"),
        (2, "b-again", 6, "eu"),
        (3, "c", 1, "us"),
        (4, "d2", 6, "eu"),
        (6, "f", 7, "us"),
    ]
    assert data["items"] == ["id", "name", "ts", "qty"]
    assert sorted((r["id"], r["name"], r["ts"], r["qty"]) for r in rows["items"]) == [
        (2, "y2", 3, 20),
        (4, "w", 2, 4),
        (7, "n", 3, 70),
    ]
    assert data["events"] == ["Op", "id", "name", "ts", "_tributary_change_id"]
    assert sorted((r["Op"], r["id"], r["name"], r["ts"]) for r in rows["events"]) == sorted(
        [("I", 1, "a", 1), ("I", 2, "b", 1), ("U", 1, "a2", 2), ("D", 2, "b", 3), ("I", 3, "c", 4), ("U", 1, "a3", 5)]
    )
    assert len({r["_tributary_change_id"] for r in rows["events"]}) == 6
