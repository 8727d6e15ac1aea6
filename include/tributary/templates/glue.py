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
from typing import Any

log = logging.getLogger(__name__)

RESERVED_PARAMS = frozenset(
    {"cadence", "worker_type", "number_of_workers", "role_arn", "glue_version", "poll_seconds", "max_polls"}
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


def cadence_workers(cadence_id: str) -> tuple[str, int]:
    from tributary.errors import TaskConfigError
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import RefreshCadenceRow

    with session_scope() as session:
        row = session.get(RefreshCadenceRow, cadence_id)
        if row is None:
            raise TaskConfigError(f"params.cadence: refresh cadence {cadence_id!r} is not configured")
        return row.worker_type, row.number_of_workers


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
