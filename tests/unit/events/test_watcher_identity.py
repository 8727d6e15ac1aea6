"""A cdc_to_hudi plan task registering the files of its triggering asset events HEADs them under
the flow's AWS connection (the task's one identity), not the ambient credentials; the Lambda
invoker, which has no Airflow, keeps its runtime's. On moto, its recorder naming the signer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.moto_recorder import Recording, recording_as, signer

from .cfg import write_config
from .test_invoker import sqs_event

CONNECTION_KEY = "AKIAWATCHERCONN00001"
KEY = "dms/sales/t0/LOAD00000001.parquet"


@pytest.fixture
def db_url(tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tests.conftest import _fresh_db

    yield from _fresh_db("sqlite", tributary_home, monkeypatch)


@pytest.fixture
def landed(aws: str, migrated_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    import boto3

    from tributary.config.service import apply_paths

    boto3.client("s3").create_bucket(Bucket="landing")
    boto3.client("s3").put_object(Bucket="landing", Key=KEY, Body=b"PAR1 not really parquet")
    apply_paths([write_config(tmp_path / "cfg", bucket="landing", tables=1, flows=1)])
    yield from recording_as(aws, CONNECTION_KEY, tmp_path, monkeypatch)


def _s3_event(key: str) -> str:
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "landing"}, "object": {"key": key, "size": 23}},
    }
    return json.dumps({"Records": [record]})


def _heads(requests: list[dict[str, Any]]) -> list[str]:
    return [signer(r) for r in requests if r["method"] == "HEAD" and r["url"].endswith(KEY)]


def test_the_plan_task_heads_landed_files_under_the_connection(landed: Recording) -> None:
    from tributary.events.watcher import register_from_asset_events

    batch = [{"Body": _s3_event(KEY)}]
    context = {"triggering_asset_events": {"sqs": [SimpleNamespace(extra={"payload": {"message_batch": batch}})]}}
    landed.start()
    counts = register_from_asset_events(context)
    assert counts == {"events": 1, "registered": 1}
    assert _heads(landed.stop()) == [CONNECTION_KEY]


def test_the_lambda_invoker_heads_under_its_runtime_role(landed: Recording) -> None:
    from tests.unit.events.test_invoker import FakeAirflow
    from tributary.events.invoker import handle

    landed.start()
    handle(sqs_event(_s3_event(KEY)), client_factory=lambda: FakeAirflow())  # type: ignore[arg-type,return-value]
    assert _heads(landed.stop()) == ["testing"]
