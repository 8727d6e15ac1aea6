"""``dag.test()`` of the maintenance DAG (snapshot, outbox drain through moto SNS, stale leases,
Hudi cleaning read back with hudi-rs) and of a ``sql`` template against the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, completed_commits, snapshot_rows
from tests.conftest import _fresh_db, _require_postgres
from tests.integration.airflow.test_dag_runs import topic_queue  # noqa: F401  (fixture)
from tests.integration.processing.conftest import write_config

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    return sqlite_db_url


def test_maintenance_dag_cleans_drains_reaps_and_refreshes(
    airflow_db: Path,
    migrated_db: str,
    tributary_home: Path,
    topic_queue: tuple[str, str],  # noqa: F811
) -> None:
    import boto3

    from tributary.alerts.outbox import enqueue
    from tributary.config.service import apply_paths, load_db_config
    from tributary.dagfactory.maintenance import build_maintenance_dag
    from tributary.files.registry import register, sweep_table_files
    from tributary.locks.lease import acquire
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import AlertOutboxRow, TableLockRow
    from tributary.processing.batches import process_batch
    from tributary.settings import get_settings

    cfg = write_config(tributary_home, 2)
    apply_paths([cfg])  # written with the default retention; lowered before the maintenance run
    config = load_db_config()
    folder = DmsFolder(tributary_home / "staging/shop/t1")
    folder.load([{"id": i, "ts": 1, "amount": 1.0, "region": "eu"} for i in range(5)])
    for wave in range(2, 5):  # four commits rewriting the same file group
        with session_scope() as s:
            register(s, sweep_table_files(config.tables["shop.t1"]), config.tables.values())
        assert process_batch(["shop.t1"], config=config).failed == []
        folder.cdc([{"Op": "U", "id": 1, "ts": wave, "amount": float(wave), "region": "eu"}])
    with session_scope() as s:
        register(s, sweep_table_files(config.tables["shop.t1"]), config.tables.values())
    assert process_batch(["shop.t1"], config=config).failed == []
    target = tributary_home / "lake/shop/t1"
    before_files = sorted(p.name for p in target.rglob("*.parquet") if ".hoodie" not in p.parts)  # base files
    before_rows = snapshot_rows(target, ["id", "amount"], ["id"])
    assert len(before_files) == 4
    doc = yaml.safe_load(cfg.read_text())
    doc["raw_tables"][0]["options"] = {"hoodie.cleaner.commits.retained": "1"}
    cfg.write_text(yaml.safe_dump(doc))
    apply_paths([cfg])

    assert acquire("shop.t2", "dead-worker", timedelta(milliseconds=1)) is not None  # expires at once
    with session_scope() as s:
        enqueue(s, topic_arn=None, subject="Tributary: test alert", message={"kind": "test"}, dedupe_key="m1")
    get_settings().snapshot_path.unlink()

    run = build_maintenance_dag().test()
    assert str(run.state) == "success"
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()} == {
        "refresh_snapshot": "success",
        "drain_alert_outbox": "success",
        "reap_stale_leases": "success",
        "clean_hudi_tables": "success",
        "sweep_staging": "success",
    }

    after_files = sorted(p.name for p in target.rglob("*.parquet") if ".hoodie" not in p.parts)
    # retention 1 (KEEP_LATEST_COMMITS): the newest commit's file slice and the one before it
    assert len(after_files) == 2
    assert snapshot_rows(target, ["id", "amount"], ["id"]) == before_rows
    assert len(completed_commits(target)) >= 2
    assert get_settings().snapshot_path.exists()
    with session_scope() as s:
        assert s.get(TableLockRow, "shop.t2").holder is None  # type: ignore[union-attr]
        assert s.scalars(select(AlertOutboxRow)).one().status == "sent"
    messages = boto3.client("sqs").receive_message(QueueUrl=topic_queue[1], MaxNumberOfMessages=10)["Messages"]
    assert any("Tributary: test alert" in json.loads(m["Body"]).get("Subject", "") for m in messages)


@pytest.fixture
def pg_target(tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A scratch PostgreSQL database that an Airflow connection points at."""
    yield from _fresh_db("postgres", tributary_home / "pg", monkeypatch)


@pytest.mark.postgres
def test_sql_template_runs_through_an_airflow_connection(
    airflow_db: Path, tributary_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import psycopg

    from tributary.config.service import apply_paths
    from tributary.dagfactory.loader import build_dags
    from tributary.metadata import db

    base = _require_postgres()
    target_db = f"t_sql_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{target_db}"')
    target_url = base.rsplit("/", 1)[0] + f"/{target_db}"
    try:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", target_url)
        db.upgrade()
        doc = {
            "templates": [{"template_id": "warehouse_sql", "kind": "sql", "entry_point": "warehouse"}],
            "flows": [
                {
                    "flow_id": "sqlflow",
                    "manual": True,
                    "retries": 0,
                    "tasks": [
                        {
                            "task_id": "create",
                            "template_id": "warehouse_sql",
                            "params": {"sql": "CREATE TABLE loads (name text, n int)"},
                        },
                        {
                            "task_id": "insert",
                            "template_id": "warehouse_sql",
                            "upstream": ["create"],
                            "params": {
                                "sql": "INSERT INTO loads VALUES (%(name)s, %(n)s)",
                                "parameters": {"name": "x'); DROP TABLE loads; --", "n": 3},
                            },
                        },
                    ],
                }
            ],
        }
        cfg = tributary_home / "sql.yaml"
        cfg.write_text(yaml.safe_dump(doc))
        apply_paths([cfg])
        run = build_dags()["tributary__sqlflow"].test()
        assert str(run.state) == "success"
        with psycopg.connect(target_url) as conn:
            rows = conn.execute("SELECT name, n FROM loads").fetchall()
        assert rows == [("x'); DROP TABLE loads; --", 3)]  # bound, never pasted into the SQL
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target_db}" WITH (FORCE)')
