"""The invoker's logic with a fake Airflow client: registration, flow matching, deterministic run
ids, coalescing, duplicates and SQS partial batch responses (real metadata DB: SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tributary.errors import AirflowApiError, AirflowAuthError, InvokerFailedError
from tributary.events.airflow_api import TriggerResult
from tributary.events.invoker import handle

from .cfg import write_config


class FakeAirflow:
    def __init__(self, fail_dags: set[str] | None = None, queued: dict[str, str] | None = None, auth: bool = True):
        self.runs: dict[tuple[str, str], dict] = {}
        self.fail_dags = fail_dags or set()
        self.queued = queued or {}
        self.auth = auth

    def has_queued_run(self, dag_id: str) -> str | None:
        if not self.auth:
            raise AirflowAuthError("refused", status=401)
        return self.queued.get(dag_id)

    def trigger_dag_run(self, dag_id: str, dag_run_id: str, conf: dict) -> TriggerResult:
        if dag_id in self.fail_dags:
            raise AirflowApiError(f"trigger {dag_id}: HTTP 404: DAG not found", status=404)
        if (dag_id, dag_run_id) in self.runs:
            return TriggerResult(dag_id, dag_run_id, created=False)
        self.runs[(dag_id, dag_run_id)] = conf
        return TriggerResult(dag_id, dag_run_id, created=True, state="queued")


def s3_body(*keys: str, bucket: str = "landing", seq: str = "01") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "eventTime": "2026-11-23T11:34:01.000Z",
                    "s3": {"bucket": {"name": bucket}, "object": {"key": k, "size": 5, "sequencer": seq}},
                }
                for k in keys
            ]
        }
    )


def sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {"messageId": f"m{i}", "receiptHandle": "h", "body": b, "eventSource": "aws:sqs"}
            for i, b in enumerate(bodies)
        ]
    }


@pytest.fixture
def configured(migrated_db: str, tmp_path: Path) -> Path:
    from tributary.config.service import apply_paths

    path = write_config(tmp_path / "cfg", bucket="landing", tables=4, flows=2)
    apply_paths([path])
    return path


def test_registers_files_and_triggers_each_matching_flow_once(configured: Path) -> None:
    from tributary.files.registry import list_tracked
    from tributary.metadata.db import session_scope

    fake = FakeAirflow()
    event = sqs_event(
        s3_body("dms/sales/t0/20261123-1.parquet", "dms/sales/t2/2026/11/23/20261123-2.parquet"),
        s3_body("dms/sales/t1/20261123-1.parquet"),
        s3_body("elsewhere/readme.txt"),
    )
    out = handle(event, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert out["batchItemFailures"] == []
    assert out["tributary"]["registered"] == 3 and out["tributary"]["unmatched"] == 1  # recorded, never dropped
    assert sorted(d for d, _ in fake.runs) == ["tributary__sales_flow0", "tributary__sales_flow1"]
    conf0 = next(c for (d, _), c in fake.runs.items() if d.endswith("flow0"))
    assert conf0["tables"] == ["sales.t0", "sales.t2"] and conf0["file_count"] == 2
    with session_scope() as s:
        assert {r.table_id for r in list_tracked(s, status="pending")} == {"sales.t0", "sales.t1", "sales.t2"}

    # the same delivery again: same dag_run_ids, Airflow says 409, no new run
    again = handle(event, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert len(fake.runs) == 2
    assert {f["outcome"] for f in again["tributary"]["flows"]} == {"exists"}
    assert again["tributary"]["duplicates"] == 4


def test_coalesces_into_a_queued_run(configured: Path) -> None:
    fake = FakeAirflow(queued={"tributary__sales_flow0": "earlier"})
    out = handle(sqs_event(s3_body("dms/sales/t0/20261123-5.parquet")), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert fake.runs == {}
    assert out["tributary"]["flows"][0]["outcome"] == "coalesced" and out["tributary"]["flows"][0]["run"] == "earlier"


def test_partial_batch_names_only_the_failing_messages(configured: Path) -> None:
    fake = FakeAirflow(fail_dags={"tributary__sales_flow1"})
    event = sqs_event(
        s3_body("dms/sales/t0/20261123-7.parquet"),
        s3_body("dms/sales/t1/20261123-7.parquet"),
        "{not json",
    )
    out = handle(event, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert sorted(f["itemIdentifier"] for f in out["batchItemFailures"]) == ["m1", "m2"]
    assert len(fake.runs) == 1
    # the failure queued an alert in the outbox
    from sqlalchemy import select

    from tributary.metadata.db import session_scope
    from tributary.metadata.models import AlertOutboxRow

    with session_scope() as s:
        subjects = list(s.scalars(select(AlertOutboxRow.subject)))
    assert any("sales_flow1" in x for x in subjects)


def test_refused_credentials_fail_every_message_and_alert(configured: Path) -> None:
    fake = FakeAirflow(auth=False)
    out = handle(sqs_event(s3_body("dms/sales/t0/20261123-8.parquet")), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == ["m0"]


def test_non_sqs_event_raises_so_lambda_retries(configured: Path) -> None:
    fake = FakeAirflow(fail_dags={"tributary__sales_flow0"})
    with pytest.raises(InvokerFailedError, match="sales_flow0"):
        handle(json.loads(s3_body("dms/sales/t0/20261123-9.parquet")), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]


def test_scheduled_invoker_uses_flow_and_time_for_the_run_id(configured: Path) -> None:
    from tributary.errors import NotFoundError
    from tributary.events.scheduled import handle_scheduled

    fake = FakeAirflow()
    first = handle_scheduled({"flow_id": "sales_flow0", "time": "2026-11-23T11:00:00Z"}, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    second = handle_scheduled({"flow_id": "sales_flow0", "time": "2026-11-23T11:00:00Z"}, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert first["created"] and not second["created"] and first["dag_run_id"] == second["dag_run_id"]
    with pytest.raises(NotFoundError):
        handle_scheduled({"flow_id": "nope"}, client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
