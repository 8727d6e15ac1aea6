"""End to end on the local stack: S3 (moto) → SQS → invoker Lambda handler / AssetWatcher →
Airflow DAG run → Hudi table in moto S3 read back with hudi-rs; failures reach SNS; a burst of
1,000 files; refused credentials."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from . import helpers
from .conftest import BURST_TABLES, E2E

pytestmark = pytest.mark.slow


def hudi_rows(uri: str) -> list[dict]:
    """The table read back by hudi-rs through its S3 storage options (moto endpoint)."""
    import hudi
    import pyarrow as pa

    from tributary.storage import hudi_storage_options

    options = hudi_storage_options(uri)
    assert options.get("aws_endpoint_url", "").startswith("http://127.0.0.1:"), options
    batches = hudi.HudiTable(uri, options).read()
    return sorted(pa.Table.from_batches(batches).to_pylist(), key=lambda r: r["id"]) if batches else []


def assert_runs_recorded_in_stack_dbs(stack_env: E2E, table_id: str, run_ids: set[str]) -> None:
    """The runs and the files live in the stack's own metadata DBs, of the dialect under test:
    Airflow's ``dag_run`` rows in Airflow's DB, the tracker's rows in Tributary's."""
    import sqlalchemy as sa

    from tributary.metadata.db import get_engine, session_scope
    from tributary.metadata.models import CdcFileRow

    dialect = {"sqlite": "sqlite", "postgres": "postgresql"}[stack_env.db]
    assert get_engine().dialect.name == dialect
    airflow_db = sa.create_engine(stack_env.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        assert airflow_db.dialect.name == dialect
        with airflow_db.connect() as conn:
            got = conn.execute(
                sa.text("SELECT run_id, state FROM dag_run WHERE dag_id = :d"), {"d": "tributary__inv_flow"}
            ).all()
    finally:
        airflow_db.dispose()
    assert {r.run_id for r in got} == run_ids
    assert {r.state for r in got} == {"success"}
    with session_scope() as s:
        statuses = s.scalars(sa.select(CdcFileRow.status).where(CdcFileRow.table_id == table_id)).all()
    assert sorted(statuses) == ["processed", "processed"]


def invoke(event: dict) -> dict:
    from tributary.events.invoker import handler

    return handler(event, None)


def test_invoker_lambda_path_builds_the_hudi_table(stack_env: E2E, airflow) -> None:  # type: ignore[no-untyped-def]
    s3 = helpers.boto("s3")
    s3.put_object(
        Bucket="e2e-landing",
        Key="dms/inv/t0/20261123-1000000000.parquet",
        Body=helpers.cdc_parquet(
            [("I", 1, "2026-11-23 10:00:00.000000", "a"), ("I", 2, "2026-11-23 10:00:00.000000", "b")]
        ),
    )
    s3.put_object(
        Bucket="e2e-landing",
        Key="dms/inv/t0/2026/11/23/20261123-1000000001.parquet",  # a date-partitioned CDC folder
        Body=helpers.cdc_parquet(
            [("U", 1, "2026-11-23 10:00:01.000000", "a2"), ("D", 2, "2026-11-23 10:00:01.000000", "")]
        ),
    )
    answers = helpers.pump(*stack_env.invoker_queue, invoke)
    assert answers and all(a["batchItemFailures"] == [] for a in answers)
    outcomes = [f["outcome"] for a in answers for f in a["tributary"]["flows"]]
    assert "triggered" in outcomes
    done = helpers.wait_for(lambda: helpers.all_runs_finished(airflow, "tributary__inv_flow"), 120, "inv runs")
    assert {r["state"] for r in done} == {"success"}, done
    rows = hudi_rows("s3://e2e-lake/raw/inv/t0")
    assert [(r["id"], r["v"]) for r in rows] == [(1, "a2")]
    assert_runs_recorded_in_stack_dbs(stack_env, "inv.t0", {r["dag_run_id"] for r in done})
    # the same notification delivered again (S3 delivers at least once: same key, same size)
    # starts no second run
    before = len(helpers.runs(airflow, "tributary__inv_flow"))
    size = s3.head_object(Bucket="e2e-landing", Key="dms/inv/t0/20261123-1000000000.parquet")["ContentLength"]
    again = invoke(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": "e2e-landing"},
                        "object": {"key": "dms/inv/t0/20261123-1000000000.parquet", "size": size},
                    },
                }
            ]
        }
    )
    assert {f["outcome"] for f in again["flows"]} <= {"nothing_new", "exists"}
    assert len(helpers.runs(airflow, "tributary__inv_flow")) == before


def test_asset_watcher_path_needs_no_lambda(stack_env: E2E, airflow) -> None:  # type: ignore[no-untyped-def]
    # S3's test message (sent when the notification was configured) may have started a run already
    known = {r["dag_run_id"] for r in helpers.runs(airflow, "tributary__watch_flow")}
    helpers.boto("s3").put_object(
        Bucket="e2e-watch-landing",
        Key="dms/watch/t0/20261123-2000000000.parquet",
        Body=helpers.cdc_parquet([("I", 7, "2026-11-23 11:00:00.000000", "w")]),
    )

    def new_finished() -> list[dict] | None:
        done = helpers.all_runs_finished(airflow, "tributary__watch_flow") or []
        fresh = [r for r in done if r["dag_run_id"] not in known]
        return fresh or None

    done = helpers.wait_for(new_finished, 120, "a new asset-triggered watch run")
    assert {r["state"] for r in done} == {"success"}, done
    assert all(r["run_type"] == "asset_triggered" for r in done)
    assert [(r["id"], r["v"]) for r in hudi_rows("s3://e2e-lake/raw/watch/t0")] == [(7, "w")]


def test_a_failing_table_reaches_sns(stack_env: E2E, airflow) -> None:  # type: ignore[no-untyped-def]
    helpers.boto("s3").put_object(
        Bucket="e2e-landing", Key="dms/fail/t0/20261123-3000000000.parquet", Body=b"not parquet"
    )
    helpers.pump(*stack_env.invoker_queue, invoke)
    done = helpers.wait_for(lambda: helpers.all_runs_finished(airflow, "tributary__fail_flow"), 120, "fail run")
    assert {r["state"] for r in done} == {"failed"}
    messages = helpers.wait_for(
        lambda: [m for m in helpers.sns_messages(stack_env.alerts_queue) if "fail.t0" in m.get("Message", "")],
        60,
        "an SNS alert naming fail.t0",
    )
    assert "20261123-3000000000.parquet" in messages[0]["Message"]


def test_refused_credentials_and_no_anonymous_trigger(stack_env: E2E) -> None:
    from tributary.events.airflow_api import AirflowClient, Credentials
    from tributary.events.invoker import handle

    url = stack_env.login["url"]
    request = urllib.request.Request(
        f"{url}/api/v2/dags/tributary__inv_flow/dagRuns",
        data=json.dumps({"logical_date": None}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
    event = {
        "Records": [
            {
                "messageId": "m-wrong",
                "receiptHandle": "h",
                "eventSource": "aws:sqs",
                "body": json.dumps(
                    {
                        "Records": [
                            {
                                "eventName": "ObjectCreated:Put",
                                "s3": {
                                    "bucket": {"name": "e2e-landing"},
                                    "object": {"key": "dms/inv/t1/20261123-4000000000.parquet", "size": 1},
                                },
                            }
                        ]
                    }
                ),
            }
        ]
    }
    for creds in (Credentials("admin", "wrong-password"), None):
        out = handle(event, client_factory=lambda c=creds: AirflowClient(url, c, max_attempts=1))
        assert out["batchItemFailures"] == [{"itemIdentifier": "m-wrong"}]
    alerts = helpers.wait_for(
        lambda: [m for m in helpers.sns_messages(stack_env.alerts_queue) if "invoker" in m.get("Subject", "").lower()],
        30,
        "an invoker alert on SNS",
    )
    assert "refused" in alerts[0]["Message"] or "credentials" in alerts[0]["Message"]


def test_burst_of_1000_files_across_20_tables(stack_env: E2E, airflow, record_property) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow

    s3 = helpers.boto("s3")
    per_table = 1000 // BURST_TABLES
    stop = threading.Event()
    answers: list[dict] = []

    def pump_until_stopped() -> None:
        while not stop.is_set():
            answers.extend(helpers.pump(*stack_env.invoker_queue, invoke, idle_polls=1))

    pumper = threading.Thread(target=pump_until_stopped, daemon=True)
    pumper.start()
    start = time.monotonic()

    def put(n: int) -> None:
        table, k = n % BURST_TABLES, n // BURST_TABLES
        body = helpers.cdc_parquet([("I", k, f"2026-11-23 12:00:{k:02d}.000000", f"t{table}-{k}")])
        s3.put_object(Bucket="e2e-landing", Key=f"dms/burst/t{table}/20261123-{5000000000 + k}.parquet", Body=body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(1000)))
    put_seconds = time.monotonic() - start
    assert put_seconds < 60
    helpers.wait_for(
        lambda: _burst_counts().get("processed", 0) == 1000,
        400,
        "every burst file processed",
        interval=2,
    )
    stop.set()
    pumper.join(30)
    done = helpers.wait_for(
        lambda: helpers.all_runs_finished(airflow, "tributary__burst_flow"), 120, "burst runs finished"
    )
    counts = _burst_counts()
    assert counts == {"processed": 1000}, counts
    for t in range(BURST_TABLES):
        ids = sorted(r["id"] for r in hudi_rows(f"s3://e2e-lake/raw/burst/t{t}"))
        assert ids == list(range(per_table)), (t, ids[:5], len(ids))
    assert all(a["batchItemFailures"] == [] for a in answers)
    outcomes: dict[str, int] = {}
    for a in answers:
        for f in a["tributary"]["flows"]:
            outcomes[f["outcome"]] = outcomes.get(f["outcome"], 0) + 1
    queued = [r for r in helpers.runs(airflow, "tributary__burst_flow") if r["state"] in ("queued", "running")]
    assert queued == []
    record_property("burst_runs", len(done))
    print(f"burst: 1000 files, {len(done)} DAG runs, put in {put_seconds:.1f}s, invoker outcomes {outcomes}")
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CdcFileRow).where(CdcFileRow.table_id.like("burst.%"))) == 1000


def _burst_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow

    with session_scope() as s:
        rows = s.execute(
            select(CdcFileRow.status, func.count())
            .where(CdcFileRow.table_id.like("burst.%"))
            .group_by(CdcFileRow.status)
        )
        return {status: int(n) for status, n in rows}
