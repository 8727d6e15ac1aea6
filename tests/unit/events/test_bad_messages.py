"""Bad messages are reported alone: in an SQS batch each gets its own batchItemFailures entry
and the rest are processed; `events parse` names the file instead of a traceback. The Airflow
side is the stand-in client of test_invoker (no Airflow API server runs in unit tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tributary.events.invoker import handle

from .cfg import write_config
from .test_invoker import FakeAirflow, s3_body, sqs_event

BAD_BODIES = [
    '{"Records": [null]}',
    "{not json",
    '{"Records": [{"eventName": "ObjectCreated:Put", "s3": "landing"}]}',
    '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": ["landing"]}, "object": {"key": 1}}}]}',
    "5",
    '{"Type": "Notification", "Message": {"Records": [[]]}}',
    '{"message_batch": [null]}',
    '{"detail-type": "Object Created", "detail": {"bucket": "landing", "object": {"key": "k"}}}',
    "[" * 100_000 + "]" * 100_000,
    "[[[[[[{}]]]]]]",
]


@pytest.fixture
def configured(migrated_db: str, tmp_path: Path) -> Path:
    from tributary.config.service import apply_paths

    path = write_config(tmp_path / "cfg", bucket="landing", tables=4, flows=2)
    apply_paths([path])
    return path


def test_each_bad_message_fails_alone(configured: Path) -> None:
    from tributary.files.registry import list_tracked
    from tributary.metadata.db import session_scope

    fake = FakeAirflow()
    bodies = [s3_body("dms/sales/t0/20261123-1.parquet"), *BAD_BODIES, s3_body("dms/sales/t1/20261123-1.parquet")]
    out = handle(sqs_event(*bodies), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [f"m{i}" for i in range(1, len(BAD_BODIES) + 1)]
    assert sorted(d for d, _ in fake.runs) == ["tributary__sales_flow0", "tributary__sales_flow1"]
    with session_scope() as s:
        assert {r.table_id for r in list_tracked(s, status="pending")} == {"sales.t0", "sales.t1"}


@pytest.mark.parametrize("body", [*BAD_BODIES, ""], ids=lambda b: b[:24] or "empty")
def test_events_parse_names_the_file(body: str, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(body)
    code, out, err = run_cli("events", "parse", str(event))
    assert code == 1, out
    assert "Traceback" not in err and err.startswith("error: ")
    if body in ("{not json", ""):
        assert f"{event}: not JSON" in err


def test_events_parse_of_a_missing_file(tmp_path: Path) -> None:
    code, _, err = run_cli("events", "parse", str(tmp_path / "nope.json"))
    assert code == 1 and "cannot read the event file" in err


def test_a_good_message_still_parses(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(s3_body("dms/sales/t0/20261123-1.parquet"))
    code, out, err = run_cli("events", "parse", str(event))
    assert code == 0, err
    assert json.loads(out)["uri"] == "s3://landing/dms/sales/t0/20261123-1.parquet"
