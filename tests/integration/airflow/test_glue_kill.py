"""Killing a Glue task stops its Glue run, on moto: on the worker (the operator's on_kill, run
started but not deferred yet) and while deferred (the trigger's on_kill, which Airflow 3.3's
triggerer calls for a user action only: a triggerer shutting down leaves the run alone).

moto 5.2.5 has no Glue BatchStopJobRun; ``stoppable_glue`` adds that one action to the real moto
server (it sets the run's state to STOPPED, as Glue does), and holds runs in RUNNING through
moto's own state-manager API so that there is something to stop."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.moto_recorder import Recording
from tributary.settings import get_settings

pytestmark = [pytest.mark.airflow]

REGION = "us-east-1"
ACTIVE = "STARTING"  # where moto holds a run (see stoppable_glue)


def _moto_api(endpoint: str, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/{path}", data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).read()


@pytest.fixture
def stoppable_glue(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    from moto.core.responses import ActionResult
    from moto.glue.responses import GlueResponse

    def batch_stop_job_run(self: Any) -> ActionResult:  # the one Glue action moto lacks
        name, stopped, errors = self._get_param("JobName"), [], []
        for run_id in self._get_param("JobRunIds"):
            run = self.glue_backend.get_job_run(name, run_id)
            if run.status in ("STARTING", "RUNNING", "STOPPING"):
                run.status = "STOPPED"
                stopped.append({"JobName": name, "JobRunId": run_id})
            else:
                errors.append({"JobName": name, "JobRunId": run_id, "ErrorDetail": {"ErrorCode": "InvalidInput"}})
        return ActionResult({"SuccessfulSubmissions": stopped, "Errors": errors})

    monkeypatch.setattr(GlueResponse, "batch_stop_job_run", batch_stop_job_run, raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws, "region_name": REGION}}),
    )
    get_settings.cache_clear()
    # a run leaves STARTING only after 10,000 reads: it is active until something stops it
    transition = {"progression": "manual", "times": 10_000}
    _moto_api(aws, "state-manager/set-transition", {"model_name": "glue::job_run", "transition": transition})
    yield boto3.client("glue", region_name=REGION)
    _moto_api(aws, "state-manager/unset-transition", {"model_name": "glue::job_run"})


def _spec(name: str = "tributary-kill-test") -> Any:
    from tributary.templates.glue import GlueJobSpec

    return GlueJobSpec(
        job_name=name,
        script_location="s3://scripts/job.py",
        role_arn="arn:aws:iam::123456789012:role/glue",
        worker_type="G.1X",
        number_of_workers=2,
        glue_version="5.0",
        arguments={},
        tags={},
    )


def _state(glue: Any, job_name: str, run_id: str) -> str:
    return str(glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]["JobRunState"])


@pytest.mark.parametrize("kind", ["glue", "cdc_to_hudi"])
def test_killing_the_task_on_the_worker_stops_the_run_it_started(stoppable_glue: Any, kind: str) -> None:
    from tributary.templates.operators import CdcBatchOperator, GlueTemplateOperator

    if kind == "glue":
        op: Any = GlueTemplateOperator(task_id="run_glue", flow_id="f", flow_task_id="run_glue")
    else:
        op = CdcBatchOperator(task_id="apply", flow_id="f", flow_task_id="apply", batch=["sales.orders"])
    op.on_kill()  # killed before any run started: nothing to stop, no error
    run = op._start_run(_spec())
    other = _start_other(stoppable_glue)  # a run this task did not start
    assert _state(stoppable_glue, run.job_name, run.run_id) == ACTIVE
    op.on_kill()
    assert _state(stoppable_glue, run.job_name, run.run_id) == "STOPPED"
    assert _state(stoppable_glue, *other) == ACTIVE
    op.on_kill()  # again, the run already stopped: Glue refuses, the kill still completes
    assert _state(stoppable_glue, run.job_name, run.run_id) == "STOPPED"


def _start_other(glue: Any) -> tuple[str, str]:
    from tributary.templates.glue import create_and_start

    spec = _spec("tributary-kill-other")
    return spec.job_name, create_and_start(glue, spec)


def _run_in_triggerer(trigger: Any, cancel: str, recording: Recording) -> None:
    """Run ``trigger`` in Airflow's own TriggerRunner and cancel it as the triggerer does: through
    its to_cancel queue (a user killed the task) or by cancelling the task (shutdown). The cancel
    comes while the trigger waits between two polls, where a deferred Glue task spends its time."""
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    async def polled() -> None:
        for _ in range(300):
            if recording.path.exists() and "AWSGlue.GetJobRun" in recording.path.read_text():
                await asyncio.sleep(0.5)  # the response is read; the trigger sleeps until its next poll
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the trigger never polled the run")

    async def scenario() -> None:
        runner = TriggerRunner()
        runner.triggers[1] = {"name": "glue-kill-test", "events": 0, "task": None}
        task = asyncio.create_task(runner.run_trigger(1, trigger))
        runner.triggers[1]["task"] = task
        await polled()
        assert not task.done(), task
        if cancel == "user":
            runner.to_cancel.append(1)
            await runner.cancel_triggers()
        else:
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert runner.triggers[1]["events"] == 0

    recording.start()
    try:
        asyncio.run(scenario())
    finally:
        recording.stop()


@pytest.mark.parametrize(("cancel", "state"), [("user", "STOPPED"), ("shutdown", ACTIVE)])
def test_a_deferred_task_killed_by_a_user_stops_the_run(
    stoppable_glue: Any, aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cancel: str, state: str
) -> None:
    from tributary.templates.glue_tasks import run_trigger, start_run

    monkeypatch.setenv("AIRFLOW_DISABLE_GREENBACK_PORTAL", "true")
    run = start_run(_spec())
    trigger = run_trigger(run, {"poll_seconds": 60, "max_polls": 10})
    _run_in_triggerer(trigger, cancel, Recording(aws, tmp_path / "moto_recording", monkeypatch))
    assert _state(stoppable_glue, run.job_name, run.run_id) == state


def test_stopping_on_kill_can_be_turned_off(
    stoppable_glue: Any, aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tributary.templates.glue_tasks import run_trigger, start_run

    monkeypatch.setenv("AIRFLOW_DISABLE_GREENBACK_PORTAL", "true")
    run = start_run(_spec())
    trigger = run_trigger(run, {"poll_seconds": 60, "stop_job_run_on_kill": False})
    _run_in_triggerer(trigger, "user", Recording(aws, tmp_path / "moto_recording", monkeypatch))
    assert _state(stoppable_glue, run.job_name, run.run_id) == ACTIVE


def test_the_trigger_round_trips_through_its_serialized_form(aws: str) -> None:
    from airflow.sdk.module_loading import import_string

    from tributary.templates.glue_tasks import GlueRun, run_trigger
    from tributary.templates.glue_trigger import GlueRunTrigger

    trigger = run_trigger(GlueRun("job", "jr_1"), {"poll_seconds": 7, "stop_job_run_on_kill": False})
    classpath, kwargs = trigger.serialize()
    assert classpath == "tributary.templates.glue_trigger.GlueRunTrigger"
    again = import_string(classpath)(**kwargs)
    assert isinstance(again, GlueRunTrigger) and again.serialize() == (classpath, kwargs)
    assert (again.job_name, again.run_id, again.waiter_delay, again.stop_job_run_on_kill) == ("job", "jr_1", 7, False)
    assert again.aws_conn_id == get_settings().aws_conn_id
