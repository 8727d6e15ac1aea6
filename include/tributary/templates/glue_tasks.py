"""The Airflow side of a Glue run: starting it, the trigger it defers to, stopping it when the
task is killed, and shipping a cdc_to_hudi batch to it.

Every AWS call here (Glue and S3) goes through :mod:`tributary.aws_hooks`, the provider's hooks
under the flow's AWS connection, so a task acts under one identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tributary.aws_hooks import glue_hook

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from tributary.templates.glue import GlueJobSpec
    from tributary.templates.glue_trigger import GlueRunTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlueRun:
    """A Glue job run a task started."""

    job_name: str
    run_id: str


def start_run(spec: GlueJobSpec) -> GlueRun:
    """Create (or update) the job and start a run of it."""
    from tributary.templates import glue

    return GlueRun(spec.job_name, glue.create_and_start(glue_hook().conn, spec))


def stop_run(run: GlueRun) -> None:
    """Stop ``run`` (the task was killed); best effort: a failure is logged, never raised."""
    from tributary.templates.glue import stop_run as stop

    try:
        stop(glue_hook().conn, run.job_name, run.run_id)
    except Exception as exc:
        log.warning("could not stop Glue run %s of %s: %s", run.run_id, run.job_name, exc)


def delete_job(job_name: str) -> None:
    from tributary.templates.glue import delete_job as delete

    delete(glue_hook().conn, job_name)


def run_trigger(run: GlueRun, params: Mapping[str, Any]) -> GlueRunTrigger:
    """The trigger the task defers to: polls the run, stops it if the deferred task is killed."""
    from tributary.settings import get_settings
    from tributary.templates.glue_trigger import GlueRunTrigger

    settings = get_settings()
    return GlueRunTrigger(
        job_name=run.job_name,
        run_id=run.run_id,
        waiter_delay=int(params.get("poll_seconds", 30)),
        waiter_max_attempts=int(params.get("max_polls", 240)),
        aws_conn_id=settings.aws_conn_id,
        region_name=settings.aws_region,
        stop_job_run_on_kill=bool(params.get("stop_job_run_on_kill", True)),
    )


# -- cdc_to_hudi on the distributed engine ------------------------------------------------------


def result_uri(job_name: str, attempt: int) -> str:
    """Where the job writes its per-table results (and the task its dispatch state)."""
    from tributary.settings import get_settings

    return f"s3://{get_settings().glue_scripts_bucket}/tributary/results/{job_name}/{attempt}"


def task_map_index(ti: Any) -> int:
    raw = getattr(ti, "map_index", -1)
    return -1 if raw is None else int(raw)


def cdc_spec(ti: Any, params: Mapping[str, Any], batch: Mapping[str, Any], s3: S3Hook) -> GlueJobSpec:
    """The Glue job of one cdc_to_hudi batch: the job uploaded (once per content), the cadence's
    workers and Glue version, and this attempt's result location."""
    from tributary.settings import get_settings
    from tributary.spark.job import RESULT_ARG
    from tributary.templates.glue import cadence_job, cdc_job_spec, upload_bundle

    settings = get_settings()
    cadence = cadence_job(str(params["cadence"]))
    script, modules = upload_bundle(s3, settings.glue_scripts_bucket)
    spec = cdc_job_spec(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        map_index=task_map_index(ti),
        script=script,
        modules=modules,
        worker_type=cadence.worker_type,
        number_of_workers=cadence.number_of_workers,
        role_arn=str(params.get("role_arn") or settings.glue_role_arn),
        # the cadence's Glue version: config validation checked it against the tables' versions
        glue_version=cadence.glue_version,
        batch=batch,
        result_uri="",
    )
    spec.arguments[RESULT_ARG] = result_uri(spec.job_name, getattr(ti, "try_number", None) or 1)
    return spec


def saved_dispatch(ti: Any, s3: S3Hook) -> tuple[str, str, dict[str, Any], str]:
    """(job name, result URI, state, holder) of this attempt's run, from what the task saved next
    to the results (``dag.test()`` resumes a deferred task without the deferral's kwargs)."""
    from tributary.templates.glue import DISPATCH_STATE, cdc_job_name, get_json

    job_name = cdc_job_name(ti.dag_id, ti.task_id, ti.run_id, task_map_index(ti))
    uri = result_uri(job_name, getattr(ti, "try_number", None) or 1)
    saved = get_json(s3, f"{uri}/{DISPATCH_STATE}") or {}
    return job_name, uri, saved.get("state") or {}, str(saved.get("holder") or "")
