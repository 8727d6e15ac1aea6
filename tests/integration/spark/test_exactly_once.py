"""Exactly once on the distributed engine, on the metadata DB (SQLite, and PostgreSQL in CI).

No Hudi Spark bundle can run here, so the Spark job's commit is played by Tributary's own Hudi
writer: the same rows, and as extraMetadata exactly the options Hudi's Spark writer copies into
the commit (those starting with ``hoodie.datasource.write.commitmeta.key.prefix``) from the
options the job passes (:func:`tributary.spark.options.write_options`). Everything around it is
the real code: prepare (lease, reconcile, checkpoint), recording (fence, timeline reconcile).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.cdc_factory import DmsFolder, completed_commits, hudi_snapshot, table_fingerprint
from tests.integration.processing.conftest import write_config
from tributary.cdc.apply import read_and_plan, table_options
from tributary.cdc.checkpoint import K_FILES, Checkpoint
from tributary.cdc.files import CdcFile, FileKind
from tributary.config.models import RawTable
from tributary.config.service import apply_paths, load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.locks.lease import acquire, release
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow, CdcFileRow, ProcessingRunRow, TableLockRow
from tributary.processing.context import RunContext
from tributary.processing.processor import cdc_options
from tributary.spark.dispatch import PreparedBatch, prepare_batch, record_results
from tributary.spark.options import CHECKPOINT_PREFIX, COMMIT_META_PREFIX_KEY, write_options

TABLE_ID = "shop.orders"
TTL = timedelta(hours=1)
CTX = RunContext(dag_id="tributary__shop", dag_run_id="r1", task_id="apply")


def _row(i: int, ts: int, op: str | None = None, name: str = "x") -> dict[str, Any]:
    row = {"id": i, "name": f"{name}{i}", "ts": ts}
    return {"Op": op, **row} if op else row


@pytest.fixture
def shop(migrated_db: str, tributary_home: Path, request: pytest.FixtureRequest) -> tuple[Path, DmsFolder]:
    mode = getattr(request, "param", "current")
    table = {
        "source_schema": "shop",
        "source_table": "orders",
        "staging_prefix": "staging/shop/orders",
        "target_uri": "lake/shop/orders",
        "database_name": "raw_shop",
        "table_name": "orders",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": "fast",
        "storage_mode": mode,
    }
    apply_paths([write_config(tributary_home, 0, extra_tables=[table])])
    folder = DmsFolder(tributary_home / "staging/shop/orders")
    folder.load([_row(1, 1), _row(2, 1), _row(3, 1)])
    folder.cdc([_row(1, 2, "U", "u"), _row(2, 3, "D"), _row(4, 4, "I")])
    _register()
    return tributary_home / "lake/shop/orders", folder


def _register() -> None:
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())


def _table() -> RawTable:
    return load_db_config().tables[TABLE_ID]


def _prepare(holder: str) -> PreparedBatch:
    return prepare_batch({TABLE_ID: _table()}, holder=holder, ctx=CTX, lease_ttl=TTL)


def _spark_commit(entry: dict[str, Any]) -> str:
    """The job's one write of ``entry``, as Hudi's Spark writer would commit it."""
    from tributary.config.locations import resolve_location
    from tributary.hudi import HudiTable, WriteOperation

    table = RawTable.model_validate(entry["table"])
    options = cdc_options(table)
    files = [
        CdcFile(f["path"], f["uri"], f["size"], f["mtime_ns"], FileKind(f["kind"]), f["format"]) for f in entry["files"]
    ]
    hudi = HudiTable.open_or_create(resolve_location(table.target_uri), table_options(options))
    plan = read_and_plan(files, options, hudi.schema, reload=entry["reload"])
    spark_options = write_options(entry["table"], plan.operation.value, entry["commit_metadata"], sync=False)
    prefix = spark_options[COMMIT_META_PREFIX_KEY]
    result = hudi.write(
        upserts=plan.upserts,
        deletes=plan.deletes if plan.deletes.num_rows else None,
        operation=WriteOperation(plan.operation.value.upper()),
        # what HoodieSparkSqlWriter copies into the commit: the options starting with the prefix
        extra_metadata={k: v for k, v in spark_options.items() if k.startswith(prefix)},
    )
    assert result.instant is not None
    return result.instant


def _expire_lease() -> None:
    """The crashed task's lease runs out (its holder stopped heartbeating)."""
    with session_scope() as s:
        s.execute(
            update(TableLockRow)
            .where(TableLockRow.table_id == TABLE_ID)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def _files() -> dict[str, CdcFileRow]:
    with session_scope() as s:
        rows = list(s.scalars(select(CdcFileRow)))
        for r in rows:
            s.expunge(r)
    return {r.relative_path or "": r for r in rows}


def _runs() -> list[ProcessingRunRow]:
    with session_scope() as s:
        rows = list(s.scalars(select(ProcessingRunRow).order_by(ProcessingRunRow.run_id)))
        for r in rows:
            s.expunge(r)
    return rows


def _table_alerts() -> list[AlertOutboxRow]:
    with session_scope() as s:
        rows = [a for a in s.scalars(select(AlertOutboxRow)) if TABLE_ID in (a.subject or "")]
        for r in rows:
            s.expunge(r)
    return rows


def _completed_result(entry: dict[str, Any], instant: str) -> dict[str, Any]:
    return {
        "table_id": TABLE_ID,
        "status": "completed",
        "inserted": 3,
        "updated": 0,
        "deleted": 0,
        "files": [f["path"] for f in entry["files"]],
        "instant": instant,
    }


# -- the batch carries the checkpoint the commit must hold ---------------------------------------


def test_the_batch_carries_the_local_engines_checkpoint_and_the_options_put_it_in_the_commit(
    shop: tuple[Path, DmsFolder],
) -> None:
    prepared = _prepare("task#1")
    (entry,) = prepared.batch["tables"]
    paths = [f["path"] for f in entry["files"]]
    assert paths == ["LOAD00000001.parquet", "20261123-0000000001.parquet"]
    meta = entry["commit_metadata"]
    assert json.loads(meta[K_FILES]) == paths
    checkpoint = Checkpoint.from_metadata(meta)
    assert checkpoint.files_total == 2 and checkpoint.recent == ("20261123-0000000001.parquet",)
    assert entry["base_instant"] is None and entry["reload"] is False
    assert entry["lease"]["expires_at"]  # the job refuses to write once it passed without a DB

    options = write_options(entry["table"], "upsert", meta)
    assert options[COMMIT_META_PREFIX_KEY] == CHECKPOINT_PREFIX
    for key, value in meta.items():
        assert key.startswith(CHECKPOINT_PREFIX) and options[key] == value
    assert options[CHECKPOINT_PREFIX + "engine"] == "spark"
    # a hoodie.* table option cannot move the prefix away from the checkpoint keys
    # (config validation refuses the key; the job holds even against a batch that carries it)
    prefix = {"hoodie.datasource.write.commitmeta.key.prefix": "_"}
    moved = {**entry["table"], "options": {**entry["table"]["options"], **prefix}}
    assert write_options(moved, "upsert", meta)[COMMIT_META_PREFIX_KEY] == CHECKPOINT_PREFIX


# -- crash after the commit, before recording ----------------------------------------------------


@pytest.mark.parametrize("shop", ["current", "historical"], indirect=True)
def test_crash_after_the_commit_before_recording_applies_nothing_twice(shop: tuple[Path, DmsFolder]) -> None:
    target, folder = shop
    (entry,) = _prepare("task#1").batch["tables"]
    instant = _spark_commit(entry)
    before = table_fingerprint(target)
    assert before[0] == 1
    # the task (or the job) died here: no result, nothing recorded, the lease runs out

    _expire_lease()
    retry = _prepare("task#2")
    assert retry.batch["tables"] == []  # nothing handed to Spark again
    assert retry.outcomes[TABLE_ID]["status"] == "idle"
    files = _files()
    assert {f.status for f in files.values()} == {"processed"}
    assert {f.commit_instant for f in files.values()} == {instant}
    assert table_fingerprint(target) == before  # no second commit, the same rows

    # a new file: only it goes to the job, with the checkpoint advanced from the Spark commit's
    folder.cdc([_row(5, 5, "I")])
    _register()
    prepared = _prepare("task#3")
    (entry,) = prepared.batch["tables"]
    assert [f["path"] for f in entry["files"]] == ["20261123-0000000002.parquet"]
    assert entry["base_instant"] == instant
    checkpoint = Checkpoint.from_metadata(entry["commit_metadata"])
    assert checkpoint.files_total == 3
    second = _spark_commit(entry)
    result = record_results(
        prepared.to_state(),
        {TABLE_ID: _completed_result(entry, second)},
        tables={TABLE_ID: _table()},
        holder="task#3",
        ctx=CTX,
        lease_ttl=TTL,
    )
    assert result["failed"] == []
    rows = hudi_snapshot(target).to_pylist()
    if entry["table"]["storage_mode"] == "historical":
        # every change once: 3 loaded rows, 3 changes, 1 insert
        assert len(rows) == 7
        assert sorted(r["_tributary_change_id"] for r in rows) == sorted({r["_tributary_change_id"] for r in rows})
    else:
        assert sorted((r["id"], r["name"]) for r in rows) == [(1, "u1"), (3, "x3"), (4, "x4"), (5, "x5")]
    assert len(completed_commits(target)) == 2


@pytest.mark.parametrize("shop", ["current", "historical"], indirect=True)
def test_job_died_after_its_commit_the_timeline_records_the_files(shop: tuple[Path, DmsFolder]) -> None:
    target, _ = shop
    prepared = _prepare("task#1")
    (entry,) = prepared.batch["tables"]
    instant = _spark_commit(entry)
    # the driver died after the commit: no result file, the Glue run FAILED
    result = record_results(
        prepared.to_state(),
        {TABLE_ID: None},
        tables={TABLE_ID: _table()},
        holder="task#1",
        ctx=CTX,
        lease_ttl=TTL,
        job_error="Glue job run failed: driver lost",
    )
    assert result["failed"] == []
    assert result["tables"][TABLE_ID]["status"] == "completed"
    assert result["tables"][TABLE_ID]["instant"] == instant
    assert {(f.status, f.commit_instant) for f in _files().values()} == {("processed", instant)}
    assert [(r.status, r.commit_instant) for r in _runs()] == [("completed", instant)]
    assert _table_alerts() == []
    before = table_fingerprint(target)
    again = _prepare("task#2")
    assert again.batch["tables"] == [] and again.outcomes[TABLE_ID]["status"] == "idle"
    assert table_fingerprint(target) == before


def test_a_job_that_failed_before_its_commit_fails_the_table_and_counts_the_attempt(
    shop: tuple[Path, DmsFolder],
) -> None:
    prepared = _prepare("task#1")
    (entry,) = prepared.batch["tables"]
    bad = entry["files"][-1]["path"]
    failed = {"table_id": TABLE_ID, "status": "failed", "error": f"{bad}: unknown Op value 'X'", "error_file": bad}
    result = record_results(
        prepared.to_state(), {TABLE_ID: failed}, tables={TABLE_ID: _table()}, holder="task#1", ctx=CTX, lease_ttl=TTL
    )
    assert result["failed"] == [TABLE_ID]
    files = _files()
    assert (files[bad].status, files[bad].attempts) == ("failed", 1)
    assert files["LOAD00000001.parquet"].status == "pending"
    assert len(_table_alerts()) == 1


# -- a lost lease blocks recording ---------------------------------------------------------------


def test_stale_fencing_token_refuses_the_recording_with_an_alert(shop: tuple[Path, DmsFolder]) -> None:
    target, _ = shop
    prepared = _prepare("task#1")
    (entry,) = prepared.batch["tables"]
    instant = _spark_commit(entry)
    # the job ran past its lease: another worker took the table over (token + 1)
    _expire_lease()
    other = acquire(TABLE_ID, "other-worker", TTL)
    assert other is not None and other.token == entry["lease"]["token"] + 1

    result = record_results(
        prepared.to_state(),
        {TABLE_ID: _completed_result(entry, instant)},
        tables={TABLE_ID: _table()},
        holder="task#1",
        ctx=CTX,
        lease_ttl=TTL,
    )
    outcome = result["tables"][TABLE_ID]
    assert result["failed"] == [TABLE_ID] and outcome["status"] == "failed"
    assert "lease" in outcome["error"] and "not recorded" in outcome["error"]
    files = _files()
    assert {f.status for f in files.values()} == {"pending"}  # the stale worker marked nothing
    assert {f.attempts for f in files.values()} == {0}  # a lost lease is not the files' fault
    (run,) = _runs()
    assert run.status == "failed" and "lease" in (run.error or "")
    (alert,) = _table_alerts()
    assert "not recorded" in json.dumps(alert.message)
    with session_scope() as s:
        lock = s.get(TableLockRow, TABLE_ID)
        assert lock is not None and (lock.holder, lock.token) == ("other-worker", other.token)  # untouched

    # the new holder reconciles the stale job's commit from the timeline: nothing applied twice
    release(other)
    before = table_fingerprint(target)
    again = _prepare("task#2")
    assert again.batch["tables"] == []
    assert {(f.status, f.commit_instant) for f in _files().values()} == {("processed", instant)}
    assert table_fingerprint(target) == before


# -- the driver's lease checks -------------------------------------------------------------------


def _lease_entry(holder: str, token: int, expires_at: datetime | None) -> dict[str, Any]:
    return {"holder": holder, "token": token, **({"expires_at": expires_at.isoformat()} if expires_at else {})}


def test_driver_heartbeat_extends_the_lease_and_detects_a_takeover(shop: tuple[Path, DmsFolder], db_url: str) -> None:
    from tributary.errors import LeaseLostError
    from tributary.spark.job import Heartbeat

    lease = acquire(TABLE_ID, "job", timedelta(seconds=60))
    assert lease is not None
    with Heartbeat(db_url, {TABLE_ID: _lease_entry("job", lease.token, lease.expires_at)}, 3600) as heartbeat:
        heartbeat.check(TABLE_ID)  # still ours: renewed for the job's TTL
        with session_scope() as s:
            lock = s.get(TableLockRow, TABLE_ID)
            assert lock is not None and lock.expires_at is not None
            assert lock.expires_at.replace(tzinfo=UTC) > lease.expires_at + timedelta(minutes=30)
        _expire_lease()
        assert acquire(TABLE_ID, "other", TTL) is not None
        with pytest.raises(LeaseLostError, match="lease was lost"):
            heartbeat.check(TABLE_ID)
        assert TABLE_ID in heartbeat.lost


@pytest.mark.parametrize("db", ["unreachable", "none"])
def test_without_the_db_the_driver_writes_only_while_the_lease_has_not_expired(
    db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tributary.errors import LeaseLostError
    from tributary.spark.job import Heartbeat

    url = f"sqlite:///{tmp_path / 'missing-dir' / 'tributary.db'}" if db == "unreachable" else None
    now = datetime.now(UTC)
    leases = {
        "live": _lease_entry("job", 1, now + timedelta(hours=1)),
        "expired": _lease_entry("job", 1, now - timedelta(seconds=1)),
    }
    with Heartbeat(url, leases, 60) as heartbeat:  # an unreachable DB does not stop the job
        heartbeat.check("live")
        with pytest.raises(LeaseLostError, match="expired"):
            heartbeat.check("expired")
    assert heartbeat.lost == {"expired"}
