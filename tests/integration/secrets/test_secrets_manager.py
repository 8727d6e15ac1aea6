"""secret_id resolution through AWS Secrets Manager on a real moto server (no Airflow variable)."""

from __future__ import annotations

import json

import pytest


def test_secret_resolves_from_secrets_manager(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from tributary.errors import TaskConfigError
    from tributary.secrets import resolve_secret

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws, "region_name": "us-east-1"}}),
    )
    boto3.client("secretsmanager").create_secret(
        Name="tributary/warehouse", SecretString=json.dumps({"username": "etl", "password": "s3cr3t-pw"})
    )
    value = resolve_secret("tributary/warehouse", aws_conn_id="aws_default")
    assert value == {"username": "etl", "password": "s3cr3t-pw"}

    with pytest.raises(TaskConfigError, match="tributary/missing"):
        resolve_secret("tributary/missing", aws_conn_id="aws_default")
