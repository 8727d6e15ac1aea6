"""Helpers for the end-to-end tests and the events bench: config, CDC files, S3→SQS wiring, waits."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

TEMPLATES = [
    {
        "template_id": "cdc_to_hudi",
        "kind": "cdc_to_hudi",
        "params_schema": {
            "type": "object",
            "required": ["cadence"],
            "properties": {"cadence": {"type": "string"}, "max_files_per_table": {"type": "integer"}},
        },
    },
    {
        "template_id": "register_flow_files",
        "kind": "python",
        "entry_point": "tributary.events.watcher:register_flow_files",
        "params_schema": {"type": "object", "required": ["flow_id"], "properties": {"flow_id": {"type": "string"}}},
    },
]


def group(
    schema: str, *, bucket: str, lake: str, tables: int, queue_url: str | None = None
) -> tuple[dict, list[dict], dict]:
    """(cadence, tables, flow) for one schema: tables <schema>.t<i> staged at s3://bucket/dms/<schema>/t<i>."""
    cadence = {"cadence_id": f"{schema}_cadence", "schedule": "0 0 * * *", "batch_size": 100}
    rows = [
        {
            "source_schema": schema,
            "source_table": f"t{i}",
            "staging_prefix": f"s3://{bucket}/dms/{schema}/t{i}",
            "target_uri": f"s3://{lake}/raw/{schema}/t{i}",
            "database_name": f"raw_{schema}",
            "table_name": f"t{i}",
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": f"{schema}_cadence",
        }
        for i in range(tables)
    ]
    apply = {"task_id": "apply_cdc", "template_id": "cdc_to_hudi", "params": {"cadence": f"{schema}_cadence"}}
    flow: dict[str, Any] = {"flow_id": f"{schema}_flow", "max_active_runs": 1, "retries": 0}
    if queue_url:
        flow["sqs_queue_url"] = queue_url
        flow["tasks"] = [
            {"task_id": "register", "template_id": "register_flow_files", "params": {"flow_id": f"{schema}_flow"}},
            {**apply, "upstream": ["register"]},
        ]
    else:
        flow["event_triggers"] = [{"bucket": bucket, "prefix": f"dms/{schema}/"}]
        flow["tasks"] = [apply]
    return cadence, rows, flow


def write_config(path: Path, groups: list[tuple[dict, list[dict], dict]]) -> Path:
    doc = {
        "templates": TEMPLATES,
        "refresh_cadences": [g[0] for g in groups],
        "raw_tables": [t for g in groups for t in g[1]],
        "flows": [g[2] for g in groups],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def cdc_parquet(rows: list[tuple[str, int, str, str]]) -> bytes:
    """A DMS CDC parquet file: Op, id, ts (yyyy-MM-dd HH:mm:ss.SSSSSS), v."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "Op": [r[0] for r in rows],
            "id": pa.array([r[1] for r in rows], pa.int64()),
            "ts": [r[2] for r in rows],
            "v": [r[3] for r in rows],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def boto(service: str) -> Any:
    import boto3

    return boto3.client(service)


def queue(name: str) -> tuple[str, str]:
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def notify_queue(bucket: str, queue_arn: str) -> None:
    s3 = boto("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]},
    )


def lambda_sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping passes for received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def pump(queue_url: str, queue_arn: str, handler: Callable[[dict], dict], *, idle_polls: int = 2) -> list[dict]:
    """Act as the Lambda SQS event source: receive batches of up to 10, call the handler, delete
    the messages it did not report as failures. Stops after ``idle_polls`` empty receives."""
    sqs = boto("sqs")
    answers: list[dict] = []
    idle = 0
    while idle < idle_polls:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            idle += 1
            continue
        idle = 0
        answer = handler(lambda_sqs_event(got, queue_arn))
        answers.append(answer)
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(got)
            if m["MessageId"] not in failed
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
    return answers


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def dag_exists(client: Any, dag_id: str) -> bool:
    status, _ = client.request("GET", f"/api/v2/dags/{dag_id}")
    return status == 200


def runs(client: Any, dag_id: str) -> list[dict]:
    return client.dag_runs(dag_id, limit=500)


def all_runs_finished(client: Any, dag_id: str) -> list[dict] | None:
    got = runs(client, dag_id)
    if got and all(r["state"] in ("success", "failed") for r in got):
        return got
    return None


def sns_messages(queue_url: str) -> list[dict]:
    sqs = boto("sqs")
    out = []
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        out += [json.loads(m["Body"]) for m in got]
        if not got:
            break
    return out
