"""One task, one identity: every Glue and S3 call the Airflow side of a glue-cadence run makes
goes through the provider's hooks under the flow's AWS connection, never under the ambient
credentials a bare boto3 client would pick up.

The connection carries its own access key; the environment another. moto accepts both, and
its request recorder (a real moto server feature) shows which key signed each request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.airflow.conftest import airflow_db, apply_config, sqlite_db_url  # noqa: F401
from tests.integration.spark.test_glue_engine import _config, _play_job, _register, _spy, db_url, glue_env  # noqa: F401
from tests.moto_recorder import Recording, header, recording_as, signer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CONNECTION_KEY = "AKIACONNECTIONKEY001"


@pytest.fixture
def recording(glue_env: Any, aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Recording]:  # noqa: F811
    """The flow's connection signs with its own key (the environment keeps ``testing``)."""
    yield from recording_as(aws, CONNECTION_KEY, tmp_path, monkeypatch)


def _is_job_result_put(request: dict) -> bool:
    """The job's own result files: written by the job on the cluster (its role), not by Airflow."""
    url = request["url"]
    return request["method"] == "PUT" and "/tributary/results/" in url and not url.endswith("_dispatch.json")


def test_the_glue_task_uses_the_connection_for_glue_and_s3(
    airflow_db: Path,  # noqa: F811
    apply_config: Callable[..., Path],  # noqa: F811
    tributary_home: Path,
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tributary.dagfactory.loader import build_dags

    _spy(monkeypatch, lambda c, s, r, args: _play_job(args))
    apply_config(_config(tributary_home))
    _register()
    recording.start()
    run = build_dags()["tributary__gcdc"].test()
    requests = recording.stop()
    assert str(run.state) == "success"

    glue = [
        r
        for r in requests
        if {k.lower(): v for k, v in r["headers"].items()}.get("x-amz-target", "").startswith("AWSGlue.")
    ]
    s3 = [r for r in requests if "glue-assets" in r["url"] and not _is_job_result_put(r)]
    targets = {header(r, "X-Amz-Target") for r in glue}
    assert {"AWSGlue.CreateJob", "AWSGlue.StartJobRun", "AWSGlue.GetJobRun", "AWSGlue.DeleteJob"} <= targets
    assert {r["method"] for r in s3} >= {"HEAD", "PUT", "GET"}  # bundle check + upload, state, results
    assert {signer(r) for r in glue + s3} == {CONNECTION_KEY}, sorted(
        (signer(r), r["method"], r["url"]) for r in glue + s3 if signer(r) != CONNECTION_KEY
    )
