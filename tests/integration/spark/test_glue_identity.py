"""One task, one identity: every Glue and S3 call the Airflow side of a glue-cadence run makes
goes through the provider's hooks under the flow's AWS connection, never under the ambient
credentials a bare boto3 client would pick up.

The connection carries its own access key; the environment another. moto accepts both, and
its request recorder (a real moto server feature) shows which key signed each request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.airflow.conftest import airflow_db, apply_config, sqlite_db_url  # noqa: F401
from tests.integration.spark.test_glue_engine import _config, _play_job, _register, _spy, db_url, glue_env  # noqa: F401
from tributary.settings import get_settings

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CONNECTION_KEY = "AKIACONNECTIONKEY001"
SIGNED_BY = re.compile(r"Credential=([^/]+)/")


@pytest.fixture
def recorded(glue_env: Any, aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], list[dict]]:  # noqa: F811
    """The flow's connection signs with its own key (the environment keeps ``testing``); moto
    records every request from here on; the returned function stops and reads the recording."""
    import urllib.request

    from moto.moto_api import recorder

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                "conn_type": "aws",
                "login": CONNECTION_KEY,
                "password": "connection-secret",
                "extra": {"endpoint_url": aws, "region_name": "us-east-1"},
            }
        ),
    )
    get_settings.cache_clear()
    monkeypatch.setattr(recorder, "_location", str(tmp_path / "moto_recording"))

    def call(action: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{aws}/moto-api/recorder/{action}", method="POST")).read()

    call("start-recording")

    def stop() -> list[dict]:
        call("stop-recording")
        return [json.loads(line) for line in (tmp_path / "moto_recording").read_text().splitlines()]

    yield stop
    call("stop-recording")


def _signer(request: dict) -> str:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    found = SIGNED_BY.search(headers.get("authorization", ""))
    return found.group(1) if found else "unsigned"


def _is_job_result_put(request: dict) -> bool:
    """The job's own result files: written by the job on the cluster (its role), not by Airflow."""
    url = request["url"]
    return request["method"] == "PUT" and "/tributary/results/" in url and not url.endswith("_dispatch.json")


def test_the_glue_task_uses_the_connection_for_glue_and_s3(
    airflow_db: Path,  # noqa: F811
    apply_config: Callable[..., Path],  # noqa: F811
    tributary_home: Path,
    recorded: Callable[[], list[dict]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tributary.dagfactory.loader import build_dags

    _spy(monkeypatch, lambda c, s, r, args: _play_job(args))
    apply_config(_config(tributary_home))
    _register()
    run = build_dags()["tributary__gcdc"].test()
    assert str(run.state) == "success"
    requests = recorded()

    glue = [
        r
        for r in requests
        if {k.lower(): v for k, v in r["headers"].items()}.get("x-amz-target", "").startswith("AWSGlue.")
    ]
    s3 = [r for r in requests if "glue-assets" in r["url"] and not _is_job_result_put(r)]
    targets = {r["headers"].get("X-Amz-Target") for r in glue}
    assert {"AWSGlue.CreateJob", "AWSGlue.StartJobRun", "AWSGlue.GetJobRun", "AWSGlue.DeleteJob"} <= targets
    assert {r["method"] for r in s3} >= {"HEAD", "PUT", "GET"}  # bundle check + upload, state, results
    assert {_signer(r) for r in glue + s3} == {CONNECTION_KEY}, sorted(
        (_signer(r), r["method"], r["url"]) for r in glue + s3 if _signer(r) != CONNECTION_KEY
    )
