"""`tributary stack up --config` creates the AWS resources the config names on the stack's moto
server; here against the session's real moto server with the example config."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
import pytest

from tests.conftest import REPO_ROOT, run_cli


def _queue_bodies(sqs, url: str) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_example_config_provisions_buckets_queue_and_notifications(aws: str) -> None:
    from tributary.config.service import validate_paths
    from tributary.stack.provision import provision

    config = validate_paths([REPO_ROOT / "config"])
    first = provision(config, aws, "us-east-1")
    again = provision(config, aws, "us-east-1")  # idempotent: the same resources, no error
    assert first == again
    assert first.buckets == ["tributary-staging"]
    assert first.queues == ["tributary-taxi-trips-staging"]
    # the event-driven flow covers tables 1-9: one prefix each, with the trailing slash so that
    # table_1/ does not also catch table_10/ … table_18/ (the scheduled flow's tables)
    assert first.notifications == {"tributary-staging": sorted(f"taxi_trips/table_{i}/" for i in range(1, 10))}

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    # the URL in the config is the AWS form; the endpoint override sends it to moto
    url = config.flows["taxi_trips_refresh"].sqs_queue_url
    bodies = _queue_bodies(sqs, url)
    # one S3 test event for the new configuration; provisioning again changed nothing, sent nothing
    assert [b.get("Event") for b in bodies] == ["s3:TestEvent"]
    s3.put_object(Bucket="tributary-staging", Key="taxi_trips/table_1/2026/11/23/20261123-0001.parquet", Body=b"x")
    s3.put_object(Bucket="tributary-staging", Key="taxi_trips/table_12/LOAD00000001.parquet", Body=b"x")
    keys = [unquote_plus(r["s3"]["object"]["key"]) for body in _queue_bodies(sqs, url) for r in body.get("Records", [])]
    assert keys == ["taxi_trips/table_1/2026/11/23/20261123-0001.parquet"]


def test_provision_command_refuses_real_aws_and_provisions_moto(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tributary.settings import get_settings

    config = str(REPO_ROOT / "config")
    code, _, err = run_cli("stack", "provision", "--config", config, "--endpoint", "https://s3.amazonaws.com")
    assert code != 0 and "local AWS stand-in" in err and "Traceback" not in err
    code, out, err = run_cli("stack", "provision", "--config", config)  # the endpoint from the environment
    assert code == 0, err
    assert "buckets tributary-staging; queues tributary-taxi-trips-staging; notifications 9 prefix(es)" in out
    monkeypatch.delenv("TRIBUTARY_S3_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    get_settings.cache_clear()
    code, _, err = run_cli("stack", "provision", "--config", config)  # nothing says where moto is
    assert code != 0 and "--endpoint" in err
