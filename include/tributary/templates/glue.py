"""The ``glue`` template: create a Glue job from the template's script, run it, delete it after success.

Worker type and count come from the refresh cadence named by ``params.cadence`` (else
``params.worker_type`` / ``params.number_of_workers``, else G.1X with 2 workers). The run is awaited
deferrably with the Amazon provider's ``GlueJobCompleteTrigger``; a failed run fails the task
and keeps the job for inspection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

RESERVED_PARAMS = frozenset(
    {
        "cadence",
        "worker_type",
        "number_of_workers",
        "role_arn",
        "glue_version",
        "poll_seconds",
        "max_polls",
        "stop_job_run_on_kill",
    }
)


@dataclass(frozen=True)
class GlueJobSpec:
    job_name: str
    script_location: str
    role_arn: str
    worker_type: str
    number_of_workers: int
    glue_version: str
    arguments: dict[str, str]
    tags: dict[str, str]


def job_name(dag_id: str, task_id: str, run_id: str) -> str:
    """Deterministic per DAG run and task (a retry reuses it), at most 255 characters."""
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:12]
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", f"tributary-{dag_id}-{task_id}")[:200]
    return f"{base}-{digest}"


@dataclass(frozen=True)
class CadenceJob:
    """What a refresh cadence fixes about its Glue jobs."""

    worker_type: str
    number_of_workers: int
    glue_version: str


def cadence_job(cadence_id: str) -> CadenceJob:
    """Worker type, count and Glue version of ``cadence_id``'s jobs (the Glue version decides
    which Hudi writes its tables, so config validation checks it against their table versions)."""
    from tributary.errors import TaskConfigError
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import RefreshCadenceRow

    with session_scope() as session:
        row = session.get(RefreshCadenceRow, cadence_id)
        if row is None:
            raise TaskConfigError(f"params.cadence: refresh cadence {cadence_id!r} is not configured")
        return CadenceJob(row.worker_type, row.number_of_workers, row.glue_version)


def cadence_workers(cadence_id: str) -> tuple[str, int]:
    job = cadence_job(cadence_id)
    return job.worker_type, job.number_of_workers


def build_spec(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    script: str,
    params: Mapping[str, Any],
    secret_id: str | None,
    default_role: str,
) -> GlueJobSpec:
    worker_type, workers = str(params.get("worker_type", "G.1X")), int(params.get("number_of_workers", 2))
    if params.get("cadence"):
        worker_type, workers = cadence_workers(str(params["cadence"]))
    arguments = {
        f"--{k}": v if isinstance(v, str) else json.dumps(v) for k, v in params.items() if k not in RESERVED_PARAMS
    }
    if secret_id:
        arguments["--secret_id"] = secret_id  # the name only; the script resolves it
    arguments.setdefault("--datalake-formats", "hudi")
    return GlueJobSpec(
        job_name=job_name(dag_id, task_id, run_id),
        script_location=script,
        role_arn=str(params.get("role_arn") or default_role),
        worker_type=worker_type,
        number_of_workers=workers,
        glue_version=str(params.get("glue_version", "4.0")),
        arguments=arguments,
        tags={"tributary:dag_id": dag_id[:256], "tributary:task_id": task_id[:256]},
    )


def create_and_start(client: Any, spec: GlueJobSpec) -> str:
    """Create (or, on a retry, update) the job and start a run; return the run id."""
    definition = {
        "Role": spec.role_arn,
        "Command": {"Name": "glueetl", "ScriptLocation": spec.script_location, "PythonVersion": "3"},
        "GlueVersion": spec.glue_version,
        "WorkerType": spec.worker_type,
        "NumberOfWorkers": spec.number_of_workers,
        "DefaultArguments": {"--enable-glue-datacatalog": "true"},
    }
    try:
        client.create_job(Name=spec.job_name, Tags=spec.tags, **definition)
        log.info("created Glue job %s (%s x %d)", spec.job_name, spec.worker_type, spec.number_of_workers)
    except client.exceptions.AlreadyExistsException:
        client.update_job(JobName=spec.job_name, JobUpdate=definition)
        log.info("updated existing Glue job %s", spec.job_name)
    run_id = client.start_job_run(JobName=spec.job_name, Arguments=spec.arguments)["JobRunId"]
    log.info("started Glue job run %s of %s", run_id, spec.job_name)
    return str(run_id)


def delete_job(client: Any, name: str) -> None:
    client.delete_job(JobName=name)
    log.info("deleted Glue job %s", name)


def stop_run_args(job_name: str, run_id: str) -> dict[str, Any]:
    """The arguments of Glue's BatchStopJobRun for one run (the sync and the async client take them)."""
    return {"JobName": job_name, "JobRunIds": [run_id]}


def stop_accepted(response: Mapping[str, Any], job_name: str, run_id: str) -> bool:
    """Whether BatchStopJobRun accepted the run; logs Glue's reason when it did not (e.g. the run
    had already ended)."""
    if any(s.get("JobRunId") == run_id for s in response.get("SuccessfulSubmissions") or ()):
        log.info("asked Glue to stop run %s of %s", run_id, job_name)
        return True
    errors = [e.get("ErrorDetail") for e in response.get("Errors") or ()]
    log.warning("Glue did not stop run %s of %s: %s", run_id, job_name, errors or response)
    return False


def stop_run(client: Any, job_name: str, run_id: str) -> bool:
    """Stop a Glue job run (the task running it was killed); True when Glue accepted the stop."""
    return stop_accepted(client.batch_stop_job_run(**stop_run_args(job_name, run_id)), job_name, run_id)


# -- the cdc_to_hudi template on the distributed engine (cadence engine: glue) ------------------

#: files shipped with the job: the script itself, and the package modules it imports
_SCRIPT_MODULES = (
    "__init__.py",
    "errors.py",
    "modes.py",
    "spark/__init__.py",
    "spark/options.py",
    "spark/semantics.py",
    "spark/writing.py",
)
CDC_JOB_SCRIPT = "spark/job.py"


@dataclass(frozen=True)
class JobBundle:
    """The job script and the zip of the modules it imports, named by their content hash."""

    script: bytes
    modules_zip: bytes
    sha256: str

    def script_key(self) -> str:
        return f"tributary/scripts/{self.sha256}/job.py"

    def modules_key(self) -> str:
        return f"tributary/scripts/{self.sha256}/tributary_spark.zip"


def job_bundle() -> JobBundle:
    """The Spark job as shipped: deterministic bytes (fixed zip timestamps), one hash for both."""
    import io
    import zipfile
    from pathlib import Path

    package = Path(__file__).resolve().parents[1]
    script = (package / CDC_JOB_SCRIPT).read_bytes()
    digest = hashlib.sha256(script)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (*_SCRIPT_MODULES, CDC_JOB_SCRIPT):
            data = (package / name).read_bytes()
            digest.update(name.encode() + b"\0" + data)
            info = zipfile.ZipInfo(f"tributary/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return JobBundle(script, buffer.getvalue(), digest.hexdigest())


def upload_bundle(s3: S3Hook, bucket: str, bundle: JobBundle | None = None) -> tuple[str, str]:
    """Upload the job under its content hash (once per content); (script URI, modules zip URI)."""
    bundle = bundle or job_bundle()
    for key, body in ((bundle.script_key(), bundle.script), (bundle.modules_key(), bundle.modules_zip)):
        if not s3.check_for_key(key, bucket):  # a refused HEAD (403) raises: no blind overwrite
            s3.load_bytes(body, key, bucket, replace=True)
            log.info("uploaded s3://%s/%s (%d bytes)", bucket, key, len(body))
    return f"s3://{bucket}/{bundle.script_key()}", f"s3://{bucket}/{bundle.modules_key()}"


def spark_conf_argument() -> str:
    """Glue takes one ``--conf``; further settings chain as ``k=v --conf k=v``."""
    from tributary.spark.options import SPARK_CONF

    return " --conf ".join(f"{k}={v}" for k, v in SPARK_CONF.items())


DISPATCH_STATE = "_dispatch.json"


def cdc_job_name(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """One job per mapped batch task instance (a retry reuses it)."""
    return job_name(dag_id, f"{task_id}-{map_index}" if map_index >= 0 else task_id, run_id)


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def put_json(s3: S3Hook, uri: str, data: Any) -> None:
    bucket, key = _split_s3(uri)
    s3.load_bytes(json.dumps(data, sort_keys=True).encode(), key, bucket, replace=True)


def get_json(s3: S3Hook, uri: str) -> Any:
    bucket, key = _split_s3(uri)
    try:
        return json.loads(s3.read_key(key, bucket))
    except Exception as exc:
        log.warning("cannot read %s: %s", uri, exc)
        return None


def cdc_job_spec(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    map_index: int,
    script: str,
    modules: str,
    worker_type: str,
    number_of_workers: int,
    role_arn: str,
    glue_version: str,
    batch: Mapping[str, Any],
    result_uri: str,
    sync: bool = True,
) -> GlueJobSpec:
    """One Glue job per batch; the batch travels as a JSON string argument (data, never code)."""
    from tributary.spark.job import BATCH_ARG, RESULT_ARG, SYNC_ARG

    arguments = {
        BATCH_ARG: json.dumps(batch, sort_keys=True, separators=(",", ":")),
        RESULT_ARG: result_uri,
        SYNC_ARG: "true" if sync else "false",
        "--datalake-formats": "hudi",
        "--conf": spark_conf_argument(),
        "--extra-py-files": modules,
        "--enable-glue-datacatalog": "true",
    }
    return GlueJobSpec(
        job_name=cdc_job_name(dag_id, task_id, run_id, map_index),
        script_location=script,
        role_arn=role_arn,
        worker_type=worker_type,
        number_of_workers=number_of_workers,
        glue_version=glue_version,
        arguments=arguments,
        tags={"tributary:dag_id": dag_id[:256], "tributary:task_id": task_id[:256], "tributary:engine": "glue"},
    )


def read_results(s3: S3Hook, result_uri: str, table_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """The job's result per table (None where it wrote none); JSON only."""
    from tributary.spark.job import result_key

    bucket, _, prefix = result_uri[5:].partition("/")
    out: dict[str, dict[str, Any] | None] = {}
    for table_id in table_ids:
        try:
            body = s3.read_key(f"{prefix.rstrip('/')}/{result_key(table_id)}", bucket)
        except Exception as exc:
            log.warning("no Spark result for %s under %s: %s", table_id, result_uri, exc)
            out[table_id] = None
            continue
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        out[table_id] = data if isinstance(data, dict) else None
    return out
