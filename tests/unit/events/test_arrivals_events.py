"""The event path whatever arrives (issue 16 findings 1 and 5) on a moto S3 bucket and a real
metadata DB: an invoker that could not HEAD a file and a sweep that lists it later register one
identity (the applied full load is not applied again as a reload); a re-upload with new content
announced by its event is quarantined naming both versions; a duplicate event is a no-op."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from tests.cdc_factory import hudi_snapshot
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow
from tributary.processing.batches import process_batch

from .cfg import write_config
from .test_invoker import FakeAirflow, sqs_event

PREFIX = "dms/sales/t0/"
TARGET = "s3://landing/lake/sales/t0"


def _parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def _event(key: str, size: int) -> str:
    import json

    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "landing"}, "object": {"key": key, "size": size}},
    }
    return json.dumps({"Records": [record]})


def _rows() -> list[tuple]:
    table = hudi_snapshot(TARGET, ["id", "v"])
    return sorted((r["id"], r["v"]) for r in table.to_pylist())


def _tracked() -> list[CdcFileRow]:
    with session_scope() as s:
        return list(s.scalars(select(CdcFileRow).order_by(CdcFileRow.file_id)))


def test_failed_head_then_sweep_is_one_identity_and_no_reload(aws: str, migrated_db: str, tmp_path: Path) -> None:
    import boto3

    from tributary.config.service import apply_paths
    from tributary.events.invoker import handle
    from tributary.events.sweep import sweep

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="landing")
    apply_paths([write_config(tmp_path / "cfg", bucket="landing", tables=1, flows=1)])
    fake = FakeAirflow()
    load = _parquet([{"id": 1, "ts": 1, "v": "a"}, {"id": 2, "ts": 1, "v": "b"}])
    # the event arrives before the object can be read: the HEAD fails
    handle(sqs_event(_event(PREFIX + "LOAD00000001.parquet", len(load))), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    s3.put_object(Bucket="landing", Key=PREFIX + "LOAD00000001.parquet", Body=load)
    cdc = _parquet([{"Op": "U", "id": 1, "ts": 2, "v": "a2"}, {"Op": "I", "id": 3, "ts": 2, "v": "c"}])
    s3.put_object(Bucket="landing", Key=PREFIX + "20261123-0000000001.parquet", Body=cdc)
    handle(sqs_event(_event(PREFIX + "20261123-0000000001.parquet", len(cdc))), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert process_batch(["sales.t0"]).tables["sales.t0"].status == "completed"
    assert _rows() == [(1, "a2"), (2, "b"), (3, "c")]

    report = sweep(client=fake, grace_seconds=0).as_dict()  # type: ignore[arg-type]
    assert report["registered"] == 0
    # a duplicate event for the same object changes nothing either
    handle(sqs_event(_event(PREFIX + "LOAD00000001.parquet", len(load))), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert len(_tracked()) == 2
    assert process_batch(["sales.t0"]).tables["sales.t0"].status == "idle"
    assert _rows() == [(1, "a2"), (2, "b"), (3, "c")]
    from tributary.hudi import HudiTable

    assert len(HudiTable.open(TARGET).completed_commits()) == 1


def test_reupload_announced_by_its_event_is_quarantined(aws: str, migrated_db: str, tmp_path: Path) -> None:
    import boto3

    from tributary.config.service import apply_paths
    from tributary.events.invoker import handle

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="landing")
    apply_paths([write_config(tmp_path / "cfg", bucket="landing", tables=1, flows=1)])
    fake = FakeAirflow()
    key = PREFIX + "20261123-0000000001.parquet"
    first = _parquet([{"Op": "I", "id": 1, "ts": 1, "v": "a"}])
    s3.put_object(Bucket="landing", Key=key, Body=first)
    handle(sqs_event(_event(key, len(first))), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    process_batch(["sales.t0"])
    second = _parquet([{"Op": "I", "id": 1, "ts": 5, "v": "rewritten"}, {"Op": "I", "id": 2, "ts": 5, "v": "new"}])
    s3.put_object(Bucket="landing", Key=key, Body=second)
    handle(sqs_event(_event(key, len(second))), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    process_batch(["sales.t0"])
    rows = _tracked()
    assert [r.status for r in rows] == ["processed", "quarantined"]
    assert "re-uploaded with other content" in (rows[1].reason or "") and (rows[1].reason or "").count("sha256") == 2
    assert _rows() == [(1, "a")]
