"""Alert delivery through the Amazon provider's SnsHook to a moto SNS topic with an SQS subscriber."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tributary.alerts import messages, outbox
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow
from tributary.settings import get_settings


@pytest.fixture
def topic_queue(aws: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    import boto3

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("TRIBUTARY_ALERT_TOPIC_ARN", topic)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    return topic, queue


def _point_airflow_conn(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    conn = {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))


def _received(queue: str) -> list[dict[str, Any]]:
    import boto3

    resp = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [
        {"Subject": json.loads(m["Body"])["Subject"], **json.loads(json.loads(m["Body"])["Message"])}
        for m in resp.get("Messages", [])
    ]


def test_an_alert_survives_an_sns_outage_and_is_delivered_once_back(
    migrated_db: str, topic_queue: tuple[str, str], aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    alert = messages.table_failure(
        table_id="sales.orders",
        error=ValueError("bad file"),
        files=["s3://b/f.parquet"],
        dag_id="tributary__sales",
        dag_run_id="run-1",
        task_id="apply.process_batch",
        try_number=2,
        log_url="http://airflow/log",
        flow_id="sales",
    )
    with session_scope() as s:
        outbox.enqueue(s, topic_arn=None, subject=alert.subject, message=alert.message, dedupe_key=alert.dedupe_key)

    _point_airflow_conn(monkeypatch, f"http://127.0.0.1:{free_port()}")  # SNS is down
    down = outbox.drain()
    assert down.sent == 0 and down.failed == 1 and down.pending == 1
    with session_scope() as s:
        row = s.scalars(select(AlertOutboxRow)).one()
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        s.execute(update(AlertOutboxRow).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))

    _point_airflow_conn(monkeypatch, aws)  # SNS is back
    up = outbox.drain()
    assert up.sent == 1 and up.pending == 0
    got = _received(topic_queue[1])
    assert len(got) == 1
    msg = got[0]
    assert msg["Subject"] == alert.subject and len(msg["Subject"]) <= 100
    for key in ("flow", "dag_id", "dag_run_id", "task_id", "tables", "files", "error", "attempt", "log_url"):
        assert msg[key], key
    assert msg["tables"] == ["sales.orders"] and msg["attempt"] == 2 and "bad file" in msg["error"]
    assert outbox.drain().sent == 0 and _received(topic_queue[1]) == []  # delivered exactly once


def test_retries_of_one_failure_are_grouped_into_one_message(
    migrated_db: str, topic_queue: tuple[str, str], aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_airflow_conn(monkeypatch, aws)
    for attempt in (1, 2, 3):
        alert = messages.task_failure(dag_id="d", task_id="t", dag_run_id="r", error="boom", try_number=attempt)
        with session_scope() as s:
            outbox.enqueue(s, topic_arn=None, subject=alert.subject, message=alert.message, dedupe_key=alert.dedupe_key)
    assert outbox.drain().sent == 1
    got = _received(topic_queue[1])
    assert len(got) == 1 and got[0]["occurrences"] == 3 and got[0]["attempt"] == 3
