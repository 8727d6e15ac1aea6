"""``dag.test()`` end to end on a real Airflow 3 (SQLite): python templates, the CDC→Hudi flow,
failure alerts through moto's SNS→SQS, secrets and the params sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from tests.cdc_factory import DmsFolder, snapshot_rows
from tests.integration.processing.conftest import write_config
from tributary.config.service import load_db_config
from tributary.dagfactory.loader import build_dags
from tributary.files.registry import register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow, CdcFileRow, FlowTaskRow, ProcessingRunRow

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
COLUMNS = ["id", "ts", "amount", "region"]


def python_config(home: Path, tasks: list[dict[str, Any]], **flow: Any) -> Path:
    doc = {
        "templates": [
            {"template_id": "record", "kind": "python", "entry_point": "tests.integration.airflow.helpers:record"},
            {"template_id": "leak", "kind": "python", "entry_point": "tests.integration.airflow.helpers:leak"},
            {"template_id": "boom", "kind": "python", "entry_point": "tests.integration.airflow.helpers:boom"},
        ],
        "flows": [{"flow_id": "py", "manual": True, "retries": 0, "tasks": tasks, **flow}],
    }
    path = home / "py.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def xcom(dag_run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id, XComModel.task_id == task_id
            )
        ).first()
        assert row is not None, f"no XCom for {task_id}"
        value = row.value
    return json.loads(value) if isinstance(value, str) else value


def states(dag_run: Any) -> dict[str, str]:
    return {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
        for ti in dag_run.get_task_instances()
    }


def test_python_flow_runs_and_a_params_change_applies_without_reparse(
    airflow_db: Path, apply_config: Callable[..., Path], tributary_home: Path
) -> None:
    out = tributary_home / "calls.jsonl"
    tasks = [
        {
            "task_id": "first",
            "template_id": "record",
            "params": {"path": str(out), "msg": "run {{ run_id }} of {{ dag.dag_id }}"},
        },
        {
            "task_id": "second",
            "template_id": "record",
            "params": {"path": str(out), "msg": "v1"},
            "upstream": ["first"],
        },
    ]
    apply_config(python_config(tributary_home, tasks))
    dag = build_dags()["tributary__py"]
    run = dag.test()
    assert str(run.state) == "success"
    calls = [json.loads(line) for line in out.read_text().splitlines()]
    assert calls[0]["msg"] == f"run {run.run_id} of tributary__py" and calls[1]["msg"] == "v1"

    with session_scope() as s:  # a params change in the DB, no re-parse: the same DAG object runs again
        s.execute(
            update(FlowTaskRow).where(FlowTaskRow.task_id == "second").values(params={"path": str(out), "msg": "v2"})
        )
    run2 = dag.test()
    assert str(run2.state) == "success"
    assert json.loads(out.read_text().splitlines()[-1])["msg"] == "v2"


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    return sqlite_db_url


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ dag.__init__.__globals__ }}",
        "{{ environ }}",
        "{{ var.value.x }}",
        "{{ conn.aws_default.password }}",
    ],
)
def test_params_that_reach_for_internals_are_refused(
    airflow_db: Path, apply_config: Callable[..., Path], tributary_home: Path, template: str
) -> None:
    out = tributary_home / "calls.jsonl"
    apply_config(
        python_config(
            tributary_home, [{"task_id": "t", "template_id": "record", "params": {"path": str(out), "msg": template}}]
        )
    )
    run = build_dags()["tributary__py"].test()
    assert str(run.state) == "failed"
    assert not out.exists()


def test_secrets_resolve_at_run_time_and_stay_out_of_xcom_and_logs(
    airflow_db: Path,
    apply_config: Callable[..., Path],
    tributary_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_APP_DB", json.dumps({"user": "app", "password": "pa55-w0rd-XYZ"}))
    apply_config(
        python_config(
            tributary_home, [{"task_id": "t", "template_id": "leak", "secret_id": "app_db", "params": {"note": "hi"}}]
        )
    )
    run = build_dags()["tributary__py"].test()
    assert str(run.state) == "success"
    assert xcom(run, "t") == {"echo": "pw=***", "note": "hi"}
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    # Registered with Airflow's masker, which redacts task logs written by a worker (dag.test
    # prints to the console without that filter, so the console is not what is checked here).
    assert redact("the password is pa55-w0rd-XYZ") == "the password is ***"
    captured = capfd.readouterr()
    text = captured.out + captured.err + caplog.text
    ours = [line for line in text.splitlines() if "template leak v1 params" in line]
    assert ours and not any("pa55-w0rd-XYZ" in line for line in ours)


def _cdc_home(home: Path, broken_table: int | None = None) -> None:
    for t in (1, 2, 3):
        folder = DmsFolder(home / f"staging/shop/t{t}")
        folder.load([{"id": i, "ts": 1, "amount": float(i), "region": "eu"} for i in range(10)])
        folder.cdc(
            [
                {"Op": "U", "id": 1, "ts": 2, "amount": 99.0, "region": "eu"},
                {"Op": "D", "id": 2, "ts": 2, "amount": 0.0, "region": "eu"},
            ]
        )
        if t == broken_table:
            (home / f"staging/shop/t{t}/20261123-0000000009.parquet").write_bytes(b"not parquet at all")
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())


def test_cdc_flow_end_to_end_on_the_local_engine(airflow_db: Path, migrated_db: str, tributary_home: Path) -> None:
    from tributary.config.service import apply_paths

    apply_paths([write_config(tributary_home, 3, batch_size=2)])
    _cdc_home(tributary_home)
    dag = build_dags()["tributary__shop"]
    run = dag.test()
    assert str(run.state) == "success", states(run)
    assert states(run) == {
        "apply.plan_batches": "success",
        "apply.process_batch[0]": "success",
        "apply.process_batch[1]": "success",
        "apply.summary": "success",
    }
    assert xcom(run, "apply.plan_batches") == [["shop.t1", "shop.t2"], ["shop.t3"]]
    for t in (1, 2, 3):
        got = snapshot_rows(tributary_home / f"lake/shop/t{t}", COLUMNS, ["id"])  # read by hudi-rs
        assert len(got) == 9 and any(r["id"] == 1 and r["amount"] == 99.0 for r in got)
    with session_scope() as s:
        assert {f.status for f in s.scalars(select(CdcFileRow))} == {"processed"}
        runs = s.scalars(select(ProcessingRunRow)).all()
        assert len(runs) == 3 and {r.status for r in runs} == {"completed"}
        assert {r.dag_id for r in runs} == {"tributary__shop"}
        assert s.scalars(select(AlertOutboxRow)).all() == []


def _sqs_messages(queue_url: str, expected: int) -> list[dict[str, Any]]:
    import boto3

    sqs = boto3.client("sqs")
    got: list[dict[str, Any]] = []
    for _ in range(20):
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in resp.get("Messages", []):
            body = json.loads(m["Body"])
            got.append({"Subject": body.get("Subject"), **json.loads(body["Message"])})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) >= expected:
            break
    return got


@pytest.fixture
def topic_queue(aws: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed; the default alert topic points at it."""
    import boto3

    from tributary.settings import get_settings

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="tributary-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("TRIBUTARY_ALERT_TOPIC_ARN", topic)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws, "region_name": "us-east-1"}}),
    )
    get_settings.cache_clear()
    return topic, queue_url


def test_a_failed_table_fails_the_run_after_every_batch_and_alerts_through_sns(
    airflow_db: Path, migrated_db: str, tributary_home: Path, topic_queue: tuple[str, str]
) -> None:
    from tributary.config.service import apply_paths

    apply_paths([write_config(tributary_home, 3, batch_size=2)])
    _cdc_home(tributary_home, broken_table=2)
    run = build_dags()["tributary__shop"].test()
    assert str(run.state) == "failed"
    st = states(run)
    assert st["apply.process_batch[0]"] == "success" and st["apply.process_batch[1]"] == "success"
    assert st["apply.summary"] == "failed"
    assert len(snapshot_rows(tributary_home / "lake/shop/t3", COLUMNS, ["id"])) == 9  # the other batch ran

    messages = _sqs_messages(topic_queue[1], expected=3)
    by_kind = {m["kind"]: m for m in messages}
    table = by_kind["table_failure"]
    assert table["tables"] == ["shop.t2"] and table["dag_id"] == "tributary__shop"
    assert table["dag_run_id"] == run.run_id and table["task_id"].startswith("apply.process_batch")
    assert any(f.endswith("20261123-0000000009.parquet") for f in table["files"]) or table["file_count"] >= 1
    assert table["error"] and table["attempt"] == 1 and table["log_url"].startswith("http://airflow.test:8080")
    assert table["Subject"] and len(table["Subject"]) <= 100
    task = by_kind["task_failure"]
    assert task["task_id"] == "apply.summary" and "shop.t2" in task["error"] and task["log_url"]
    flow = by_kind["flow_failure"]
    assert flow["dag_run_id"] == run.run_id and flow["flow"] == "shop"
    with session_scope() as s:
        rows = s.scalars(select(AlertOutboxRow)).all()
        assert len(rows) == 3 and {r.status for r in rows} == {"sent"}
