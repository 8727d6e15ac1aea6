"""Event parsing over real-shaped payloads, including ones a moto server produced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tributary.errors import EventError
from tributary.events.parsing import parse_dms_key, parse_event, parse_message, sqs_records

PAYLOADS = Path(__file__).parent / "payloads"


def s3_record(key: str, *, bucket: str = "landing", seq: str = "0061", version: str | None = None) -> dict:
    obj = {"key": key, "size": 12, "eTag": "abc", "sequencer": seq}
    if version:
        obj["versionId"] = version
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": "2026-11-23T11:34:01.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
    }


def test_direct_s3_notification_decodes_keys_with_unquote_plus() -> None:
    events = parse_event({"Records": [s3_record("dms/sales/order+items/a%2Bb/20261123-1.csv")]})
    assert [e.key for e in events] == ["dms/sales/order items/a+b/20261123-1.csv"]
    assert events[0].uri == "s3://landing/dms/sales/order items/a+b/20261123-1.csv"
    assert events[0].source == "s3"


def test_moto_s3_to_sqs_lambda_event_skips_test_event() -> None:
    event = json.loads((PAYLOADS / "moto_s3_sqs_lambda.json").read_text())
    assert sqs_records(event) is not None
    events = parse_event(event)
    assert len(events) == 1
    assert events[0].key == "dms/sales/order items/2026/11/23/20261123-113401000.parquet"
    assert events[0].bucket == "raw-landing" and events[0].size == 10 and events[0].source == "sqs"


def test_moto_s3_sns_sqs_bodies() -> None:
    bodies = json.loads((PAYLOADS / "moto_s3_sns_sqs_bodies.json").read_text())
    events = [e for body in bodies for e in parse_message(body, "sqs")]
    assert [(e.bucket, e.key, e.source) for e in events] == [
        ("raw-sns", "dms/sales/orders/LOAD00000001.parquet", "sns+sqs")
    ]


def test_moto_eventbridge_sqs_body() -> None:
    bodies = json.loads((PAYLOADS / "moto_s3_eventbridge_sqs_bodies.json").read_text())
    events = [e for body in bodies for e in parse_message(body, "sqs")]
    assert len(events) == 1
    event = events[0]
    assert (event.bucket, event.key, event.size, event.source) == (
        "raw-eb",
        "dms/sales/orders/20261123-113401000.csv",
        3,
        "eventbridge+sqs",
    )
    assert event.identity == ("raw-eb", event.key, "617f08299329d189")  # version "null" → sequencer


def test_sns_to_lambda_and_eventbridge_direct() -> None:
    inner = json.dumps({"Records": [s3_record("a/b/c/20261123-2.parquet")]})
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": inner}}]}
    assert [e.source for e in parse_event(sns)] == ["sns"]
    eb = {
        "version": "0",
        "id": "x",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2026-11-23T11:34:01Z",
        "detail": {"bucket": {"name": "b-1"}, "object": {"key": "k with space/LOAD00000001.csv", "size": 1}},
    }
    (event,) = parse_event(eb)
    assert event.key == "k with space/LOAD00000001.csv" and event.source == "eventbridge"
    assert parse_event({**eb, "detail-type": "Object Deleted"}) == []


def test_duplicates_recognised_by_bucket_key_and_version_or_sequencer() -> None:
    rec = s3_record("x/y/z/20261123-1.csv", seq="0A")
    again = s3_record("x/y/z/20261123-1.csv", seq="0A")
    rewrite = s3_record("x/y/z/20261123-1.csv", seq="0B")
    assert len(parse_event({"Records": [rec, again, rewrite]})) == 2
    v1 = s3_record("x/y/z/LOAD00000001.csv", seq="01", version="v1")
    v1_later_seq = s3_record("x/y/z/LOAD00000001.csv", seq="02", version="v1")
    assert len(parse_event({"Records": [v1, v1_later_seq]})) == 1


def test_airflow_sqs_trigger_payload_and_non_create_events() -> None:
    body = json.dumps({"Records": [s3_record("a/b/c/20261123-3.csv")]})
    assert len(parse_event({"message_batch": [{"Body": body}, {"Body": body}]})) == 1
    removed = {**s3_record("a/b/c/20261123-3.csv"), "eventName": "ObjectRemoved:Delete"}
    assert parse_event({"Records": [removed]}) == []


@pytest.mark.parametrize("bad", ["not json", {"hello": 1}, {"Records": [{"what": 1}]}, 42])
def test_bad_payloads_raise_event_error(bad: object) -> None:
    with pytest.raises(EventError):
        parse_message(bad)


def test_dms_layouts() -> None:
    flat = parse_dms_key("dms/sales/orders/20261123-1134010000.parquet")
    assert flat and (flat.folder, flat.schema, flat.table, flat.kind, flat.partition_date) == (
        "dms",
        "sales",
        "orders",
        "cdc",
        None,
    )
    dated = parse_dms_key("root/dms/sales/orders/2026/11/23/20261123-1134010000.csv")
    assert dated and (dated.folder, dated.schema, dated.table, dated.partition_date) == (
        "root/dms",
        "sales",
        "orders",
        "2026-11-23",
    )
    hourly = parse_dms_key("sales/orders/2026/11/23/11/20261123-1.csv")
    assert hourly and (hourly.schema, hourly.table, hourly.partition_date) == ("sales", "orders", "2026-11-23")
    load = parse_dms_key("sales/orders/LOAD0000000A.csv")
    assert load and load.kind == "load"
    assert parse_dms_key("sales/orders/readme.txt") is None
    assert parse_dms_key("20261123-1.csv") is None
