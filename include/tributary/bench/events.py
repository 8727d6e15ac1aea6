"""`tributary bench events`: event-to-run-start and event-to-table-committed latency, p50/p95,
for the invoker path (S3 → SQS → invoker handler → REST API) and the AssetWatcher path
(S3 → SQS → triggerer → asset-triggered run), one single-file event at a time, on a local stack."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _cdc(n: int) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(
        pa.table({"Op": ["I"], "id": pa.array([n], pa.int64()), "ts": [f"2026-11-23 10:00:00.{n:06d}"], "v": ["x"]}),
        buf,
    )
    return buf.getvalue()


def _config(path: Path, watch_queue: str) -> Path:
    import yaml

    cdc = {
        "template_id": "cdc_to_hudi",
        "kind": "cdc_to_hudi",
        "params_schema": {"type": "object", "required": ["cadence"], "properties": {"cadence": {"type": "string"}}},
    }
    reg = {
        "template_id": "register_flow_files",
        "kind": "python",
        "entry_point": "tributary.events.watcher:register_flow_files",
        "params_schema": {"type": "object", "required": ["flow_id"], "properties": {"flow_id": {"type": "string"}}},
    }
    doc: dict[str, Any] = {"templates": [cdc, reg], "refresh_cadences": [], "raw_tables": [], "flows": []}
    for name, bucket in (("lam", "bench-lambda"), ("wat", "bench-watch")):
        doc["refresh_cadences"].append({"cadence_id": f"{name}_c", "schedule": "0 0 * * *", "batch_size": 10})
        doc["raw_tables"].append(
            {
                "source_schema": name,
                "source_table": "t0",
                "staging_prefix": f"s3://{bucket}/dms/{name}/t0",
                "target_uri": f"s3://bench-lake/raw/{name}/t0",
                "database_name": f"raw_{name}",
                "table_name": "t0",
                "record_key_fields": ["id"],
                "precombine_field": "ts",
                "refresh_cadence": f"{name}_c",
            }
        )
        apply = {"task_id": "apply_cdc", "template_id": "cdc_to_hudi", "params": {"cadence": f"{name}_c"}}
        flow: dict[str, Any] = {"flow_id": f"{name}_flow", "max_active_runs": 1, "retries": 0}
        if name == "wat":
            flow["sqs_queue_url"] = watch_queue
            flow["tasks"] = [
                {"task_id": "register", "template_id": "register_flow_files", "params": {"flow_id": "wat_flow"}},
                {**apply, "upstream": ["register"]},
            ]
        else:
            flow["event_triggers"] = [{"bucket": bucket, "prefix": f"dms/{name}/"}]
            flow["tasks"] = [apply]
        doc["flows"].append(flow)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _setup(state: Any) -> dict[str, Any]:
    import boto3

    from tributary.config.service import apply_paths
    from tributary.metadata import db
    from tributary.settings import get_settings

    os.environ.update(state.env)
    get_settings.cache_clear()
    db.dispose_engines()
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    queues = {}
    for name, bucket in (("lam", "bench-lambda"), ("wat", "bench-watch")):
        url = sqs.create_queue(QueueName=f"bench-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
        )
        queues[name] = (url, arn)
    s3.create_bucket(Bucket="bench-lake")
    apply_paths([_config(Path(state.dir) / "bench-config" / "bench.yaml", queues["wat"][0])])
    return {"queues": queues}


def _processed(uri: str) -> bool:
    from sqlalchemy import select

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow, FileStatus

    with session_scope() as s:
        return s.scalar(select(CdcFileRow.status).where(CdcFileRow.uri == uri)) == FileStatus.PROCESSED


def _wait(pred: Any, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    return None


def _sqs_event_source(sqs: Any, queue_url: str, queue_arn: str, stop: threading.Event) -> None:
    """The Lambda SQS event source until ``stop``: long-poll, call the handler, delete what it
    handled."""
    from tributary.events.invoker import handle

    while not stop.is_set():
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                }
                for m in got
            ]
        }
        answer = handle(event)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(got)
            if m["MessageId"] not in failed
        ]
        if entries:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)


def _measure(path: str, n: int, setup: dict[str, Any], client: Any) -> dict[str, list[float]]:
    import boto3

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    name, bucket = ("lam", "bench-lambda") if path == "invoker" else ("wat", "bench-watch")
    dag_id = f"tributary__{name}_flow"
    queue_url, queue_arn = setup["queues"][name]
    queued_lat: list[float] = []
    start_lat: list[float] = []
    commit_lat: list[float] = []
    stop = threading.Event()

    thread = (
        threading.Thread(target=_sqs_event_source, args=(sqs, queue_url, queue_arn, stop), daemon=True)
        if path == "invoker"
        else None
    )
    if thread:
        thread.start()
    try:
        for i in range(n):
            known = {r["dag_run_id"] for r in client.dag_runs(dag_id, limit=1000)}
            key = f"dms/{name}/t0/20261123-{7000000000 + i}.parquet"
            body = _cdc(i)
            t0 = time.time()
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            new_run = _wait(
                lambda known=known: next(
                    (
                        r
                        for r in client.dag_runs(dag_id, limit=20)
                        if r["dag_run_id"] not in known and r.get("start_date")
                    ),
                    None,
                ),
                120,
                0.05,
            )
            if new_run is None:
                log.warning("%s event %d: no run started within 120s", path, i)
                continue
            started, queued = _ts(new_run["start_date"]), _ts(new_run.get("queued_at"))
            if started is not None:
                start_lat.append(started - t0)
            if queued is not None:  # where the time goes: getting the run queued, then started
                queued_lat.append(queued - t0)
            if _wait(lambda key=key: _processed(f"s3://{bucket}/{key}"), 180, 0.05):
                commit_lat.append(time.time() - t0)
            _wait(lambda: all(r["state"] in ("success", "failed") for r in client.dag_runs(dag_id, limit=5)), 120, 0.1)
    finally:
        stop.set()
        if thread:
            thread.join(5)
    return {"run_queued": queued_lat, "run_start": start_lat, "committed": commit_lat}


def _latency_rows(path: str, lat: dict[str, list[float]], figures: dict[str, Any]) -> list[list[Any]]:
    """The table rows of one path's latencies (n, p50, p95, max, mean); adds p50, p95 and n to
    ``figures``."""
    rows: list[list[Any]] = []
    for what, values in lat.items():
        p50, p95 = _pct(values, 0.5), _pct(values, 0.95)
        figures[f"{path}_{what}_p50_s"] = round(p50, 3) if p50 is not None else None
        figures[f"{path}_{what}_p95_s"] = round(p95, 3) if p95 is not None else None
        figures[f"{path}_{what}_n"] = len(values)
        rows.append(
            [
                path,
                what,
                len(values),
                p50 or 0.0,
                p95 or 0.0,
                max(values) if values else 0.0,
                statistics.fmean(values) if values else 0.0,
            ]
        )
    return rows


def events(
    count: int = typer.Option(200, "--events", min=1, help="Single-file events per path."),
    paths: str = typer.Option("invoker,watcher", "--paths", help="Comma list of paths: invoker, watcher."),
    stack_dir: Path | None = typer.Option(
        None, "--stack-dir", help="Run on this stack (default: a new one in a temp folder)."
    ),
    db: str = typer.Option("sqlite", "--db", help="The stack's metadata DBs: sqlite or postgres."),
) -> None:
    """Event → run start and event → table committed latency (p50, p95) for both paths."""
    from tributary.bench.report import emit
    from tributary.events.airflow_api import AirflowClient, Credentials
    from tributary.stack.stack import down, up

    directory = stack_dir or Path(tempfile.mkdtemp(prefix="tributary-bench-events-"))
    state = up(directory, db=db, timeout=180)
    try:
        setup = _setup(state)
        login = state.login()
        client = AirflowClient(login["url"], Credentials(login["username"], login["password"]))
        for dag_id in ("tributary__lam_flow", "tributary__wat_flow"):
            if not _wait(lambda d=dag_id: client.request("GET", f"/api/v2/dags/{d}")[0] == 200, 120, 0.5):
                raise RuntimeError(f"{dag_id} was not parsed within 120s")
        figures: dict[str, Any] = {"events_per_path": count, "stack_db": db, "load_avg_1_5_15": {}}
        rows: list[list[Any]] = []
        for path in [p.strip() for p in paths.split(",") if p.strip()]:
            load_before = os.getloadavg()
            began = time.monotonic()
            lat = _measure(path, count, setup, client)
            figures["load_avg_1_5_15"][path] = {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            }
            figures[f"{path}_wall_s"] = round(time.monotonic() - began, 1)
            rows += _latency_rows(path, lat, figures)
        figures["goal_run_start_p95_under_2s"] = {
            p: (figures.get(f"{p}_run_start_p95_s") or 99) < 2.0
            for p in ("invoker", "watcher")
            if f"{p}_run_start_n" in figures
        }
        emit(
            "events",
            "events: event → run start / table committed (seconds)",
            ["path", "latency", "n", "p50", "p95", "max", "mean"],
            rows,
            figures,
        )
    finally:
        if stack_dir is None:
            down(directory)
