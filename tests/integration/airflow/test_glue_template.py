"""The glue template on moto: create the job, run it deferrably to SUCCEEDED, delete the job;
a FAILED run fails the task and alerts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tributary.dagfactory.loader import build_dags
from tributary.settings import get_settings

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _config(home: Path) -> Path:
    doc = {
        "templates": [{"template_id": "hudi_glue", "kind": "glue", "entry_point": "s3://scripts/job.py"}],
        "refresh_cadences": [
            {
                "cadence_id": "big",
                "schedule": "@hourly",
                "batch_size": 10,
                "engine": "glue",
                "worker_type": "G.2X",
                "number_of_workers": 7,
            }
        ],
        "flows": [
            {
                "flow_id": "gl",
                "manual": True,
                "retries": 0,
                "tasks": [
                    {
                        "task_id": "run_glue",
                        "template_id": "hudi_glue",
                        "params": {"cadence": "big", "poll_seconds": 1, "max_polls": 20, "target": "{{ ds }}"},
                    }
                ],
            }
        ],
    }
    path = home / "glue.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    return sqlite_db_url


@pytest.fixture
def glue_env(aws: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws, "region_name": "us-east-1"}}),
    )
    get_settings.cache_clear()
    return boto3.client("glue")


def test_glue_job_is_created_run_to_success_and_deleted(
    airflow_db: Path,
    apply_config: Callable[..., Path],
    tributary_home: Path,
    glue_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tributary.templates import glue

    created: list[dict[str, Any]] = []
    original = glue.create_and_start

    def spy(client: Any, spec: Any) -> str:
        run_id = original(client, spec)
        job = client.get_job(JobName=spec.job_name)["Job"]
        created.append({"job": job, "run": client.get_job_run(JobName=spec.job_name, RunId=run_id)["JobRun"]})
        return run_id

    monkeypatch.setattr(glue, "create_and_start", spy)
    apply_config(_config(tributary_home))
    run = build_dags()["tributary__gl"].test()
    assert str(run.state) == "success"
    job = created[0]["job"]
    assert job["WorkerType"] == "G.2X" and job["NumberOfWorkers"] == 7
    assert job["Command"]["ScriptLocation"] == "s3://scripts/job.py"
    assert created[0]["run"]["Arguments"]["--target"] == run.logical_date.strftime("%Y-%m-%d")
    assert glue_env.get_jobs()["Jobs"] == []  # deleted after success
