"""cdc_to_hudi on a glue cadence, on moto: the job script is uploaded under its content hash, a
Glue job is created and run per batch with the batch as JSON, awaited deferrably, and deleted
after success; the job's results are recorded like the local engine's; a FAILED run fails the
task, records the tables as failed and queues alerts. Glue runs on moto never execute their
script: the test plays the job's part by writing its result files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cdc_factory import DmsFolder
from tests.integration.airflow.conftest import airflow_db, apply_config, sqlite_db_url  # noqa: F401
from tributary.settings import get_settings

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

EVIL = "__import__('os').system('touch /tmp/tributary-pwned') \"); DROP TABLE cdc_files; --"


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:  # noqa: F811
    return sqlite_db_url


def _config(home: Path) -> Path:
    doc = {
        "templates": [
            {
                "template_id": "cdc_glue",
                "kind": "cdc_to_hudi",
                "params_schema": {"type": "object", "required": ["cadence"]},
            }
        ],
        "refresh_cadences": [
            {
                "cadence_id": "big",
                "schedule": "@hourly",
                "batch_size": 10,
                "engine": "glue",
                "worker_type": "G.2X",
                "number_of_workers": 5,
            }
        ],
        "raw_tables": [
            {
                "source_schema": "sales",
                "source_table": "orders",
                "staging_prefix": "s3://staging/sales/orders/",
                "target_uri": "s3://lake/raw/orders",
                "database_name": "raw",
                "table_name": "orders",
                "record_key_fields": ["id"],
                "precombine_field": "ts",
                "refresh_cadence": "big",
                "table_type": "MERGE_ON_READ",
                "description": EVIL,
                "options": {"hoodie.tributary.note": EVIL},
            }
        ],
        "flows": [
            {
                "flow_id": "gcdc",
                "manual": True,
                "retries": 0,
                "tasks": [
                    {
                        "task_id": "apply",
                        "template_id": "cdc_glue",
                        "params": {"cadence": "big", "poll_seconds": 1, "max_polls": 20},
                    }
                ],
            }
        ],
    }
    path = home / "glue_cdc.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def glue_env(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    import boto3

    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws, "region_name": "us-east-1"}}),
    )
    monkeypatch.setenv("TRIBUTARY_GLUE_SCRIPTS_BUCKET", "glue-assets")
    get_settings.cache_clear()
    s3 = boto3.client("s3")
    for bucket in ("glue-assets", "staging", "lake"):
        s3.create_bucket(Bucket=bucket)
    folder = DmsFolder(tmp_path / "dms")
    folder.load(
        [{"id": 1, "name": "a", "ts": "2026-11-23 10:00:00"}, {"id": 2, "name": "b", "ts": "2026-11-23 10:00:00"}]
    )
    folder.cdc([{"Op": "U", "id": 1, "name": "a2", "ts": "2026-11-23 10:00:01"}])
    for path in sorted(p for p in folder.root.rglob("*") if p.is_file()):
        s3.upload_file(str(path), "staging", f"sales/orders/{path.relative_to(folder.root).as_posix()}")
    yield boto3.client("glue")


def _register() -> None:
    from tributary.config.service import load_db_config
    from tributary.files.registry import discover, register
    from tributary.metadata.db import session_scope

    config = load_db_config()
    with session_scope() as s:
        results = register(s, discover(["s3://staging/sales/orders/"]), config.tables.values())
    assert [r.status for r in results] == ["registered", "registered"]


def _spy(
    monkeypatch: pytest.MonkeyPatch, on_start: Callable[[Any, Any, str, dict[str, Any]], None]
) -> list[dict[str, Any]]:
    from tributary.templates import glue

    seen: list[dict[str, Any]] = []
    original = glue.create_and_start

    def spy(client: Any, spec: Any) -> str:
        run_id = original(client, spec)
        job = client.get_job(JobName=spec.job_name)["Job"]
        args = client.get_job_run(JobName=spec.job_name, RunId=run_id)["JobRun"]["Arguments"]
        seen.append({"job": job, "args": args, "spec": spec, "run_id": run_id})
        on_start(client, spec, run_id, args)
        return run_id

    monkeypatch.setattr(glue, "create_and_start", spy)
    return seen


def _play_job(args: dict[str, str], *, status: str = "completed") -> dict[str, Any]:
    """What the job script does on Glue, minus Spark: parse the batch, write a result per table."""
    from tributary.spark.job import load_batch, parse_args, write_result

    parsed = parse_args([token for k, v in args.items() for token in (k, v)])
    batch = load_batch(parsed["--tributary-batch"])
    for entry in batch["tables"]:
        paths = [f["path"] for f in entry["files"]]
        if status == "completed":
            payload = {
                "table_id": entry["table_id"],
                "status": "completed",
                "inserted": 2,
                "updated": 0,
                "deleted": 0,
                "files": paths,
                "instant": "20261123100000000",
            }
        else:
            payload = {
                "table_id": entry["table_id"],
                "status": "failed",
                "files": paths,
                "error": f"{paths[-1]}: unknown Op value 'X'",
                "error_file": paths[-1],
            }
        write_result(parsed["--result-uri"], entry["table_id"], payload)
    return batch


def _rows(model: Any) -> list[Any]:
    from sqlalchemy import select

    from tributary.metadata.db import session_scope

    with session_scope() as s:
        rows = list(s.scalars(select(model)))
        for r in rows:
            s.expunge(r)
        return rows


def test_glue_run_succeeds_results_are_recorded_and_the_job_deleted(
    airflow_db: Path,  # noqa: F811
    apply_config: Callable[..., Path],  # noqa: F811
    tributary_home: Path,
    glue_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from tributary.dagfactory.loader import build_dags
    from tributary.metadata.models import CdcFileRow, ProcessingRunRow, TableLockRow
    from tributary.templates.glue import job_bundle

    batches: list[dict[str, Any]] = []
    seen = _spy(monkeypatch, lambda c, s, r, args: batches.append(_play_job(args)))
    apply_config(_config(tributary_home))
    _register()
    run = build_dags()["tributary__gcdc"].test()
    assert str(run.state) == "success"

    job, args = seen[0]["job"], seen[0]["args"]
    assert job["WorkerType"] == "G.2X" and job["NumberOfWorkers"] == 5 and job["GlueVersion"] == "5.0"
    sha = job_bundle().sha256
    assert job["Command"]["ScriptLocation"] == f"s3://glue-assets/tributary/scripts/{sha}/job.py"
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket="glue-assets", Key=f"tributary/scripts/{sha}/job.py")["Body"].read()
    assert body == (Path(__file__).resolve().parents[3] / "include/tributary/spark/job.py").read_bytes()
    assert args["--datalake-formats"] == "hudi"
    assert "spark.sql.extensions=org.apache.spark.sql.hudi.HoodieSparkSessionExtension" in args["--conf"]
    assert args["--extra-py-files"].endswith(f"{sha}/tributary_spark.zip")
    # the batch round-trips as JSON: table config, files in DMS order, lease
    entry = batches[0]["tables"][0]
    assert entry["table_id"] == "sales.orders"
    assert entry["table"]["table_type"] == "MERGE_ON_READ"
    assert [f["path"] for f in entry["files"]] == ["LOAD00000001.parquet", "20261123-0000000001.parquet"]
    assert entry["lease"]["holder"] and entry["lease"]["token"] >= 1
    # a malicious string is data: it arrives unchanged and nothing ran it
    assert entry["table"]["description"] == EVIL and entry["table"]["options"]["hoodie.tributary.note"] == EVIL
    assert not Path("/tmp/tributary-pwned").exists()

    assert glue_env.get_jobs()["Jobs"] == []  # deleted after success
    files = _rows(CdcFileRow)
    assert {f.status for f in files} == {"processed"}
    assert {f.commit_instant for f in files} == {"20261123100000000"}
    (prun,) = _rows(ProcessingRunRow)
    assert (prun.status, prun.inserted, prun.commit_instant) == ("completed", 2, "20261123100000000")
    assert all(lock.holder is None for lock in _rows(TableLockRow))  # released


def test_failed_glue_run_fails_the_task_records_the_table_and_alerts(
    airflow_db: Path,  # noqa: F811
    apply_config: Callable[..., Path],  # noqa: F811
    tributary_home: Path,
    glue_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.backends import get_backend

    from tributary.dagfactory.loader import build_dags
    from tributary.metadata.models import AlertOutboxRow, CdcFileRow, ProcessingRunRow, TableLockRow

    def fail(client: Any, spec: Any, run_id: str, args: dict[str, str]) -> None:
        _play_job(args, status="failed")
        get_backend("glue")["123456789012"]["us-east-1"].get_job_run(spec.job_name, run_id).status = "FAILED"

    seen = _spy(monkeypatch, fail)
    apply_config(_config(tributary_home))
    _register()
    run = build_dags()["tributary__gcdc"].test()
    assert str(run.state) == "failed"

    assert [j["Name"] for j in glue_env.get_jobs()["Jobs"]] == [seen[0]["spec"].job_name]  # kept for inspection
    (prun,) = _rows(ProcessingRunRow)
    assert prun.status == "failed" and "unknown Op value" in (prun.error or "")
    bad = {f.relative_path: f for f in _rows(CdcFileRow)}
    assert bad["20261123-0000000001.parquet"].status == "failed" and bad["20261123-0000000001.parquet"].attempts == 1
    assert bad["LOAD00000001.parquet"].status == "pending"
    alerts = _rows(AlertOutboxRow)
    table_alerts = [a for a in alerts if "table sales.orders failed" in (a.subject or "")]
    assert table_alerts, [(a.subject, a.message) for a in alerts]
    assert "unknown Op value" in json.dumps(table_alerts[0].message)
    assert all(lock.holder is None for lock in _rows(TableLockRow))
