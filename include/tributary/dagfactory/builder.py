"""The one place that creates Airflow objects: a :class:`DagSpec` becomes a DAG.

Each flow task becomes one operator, except ``cdc_to_hudi`` which becomes a task group
plan_batches → process_batch (mapped over the batches with ``.expand``) → summary.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, TaskGroup

from tributary.alerts.callbacks import OutboxNotifier
from tributary.dagfactory.graph import DagSpec, TaskSpec
from tributary.templates.operators import (
    CdcBatchOperator,
    CdcPlanOperator,
    CdcSummaryOperator,
    GlueTemplateOperator,
    TemplateTaskOperator,
)

log = logging.getLogger(__name__)

START_DATE = datetime(2024, 1, 1, tzinfo=UTC)
RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
BACKOFF_MULTIPLIER = 2.0
SQS_WAIT_SECONDS = 20
"""Long-poll wait of the AssetWatcher's SQS receives (SQS's maximum)."""


def _schedule(spec: DagSpec) -> Any:
    if not spec.sqs_queue_url:
        return spec.schedule
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
    from airflow.sdk import Asset, AssetWatcher

    from tributary.settings import get_settings

    # Long polling without pauses: each receive waits up to SQS_WAIT_SECONDS and returns as soon as
    # a message arrives, and the next one starts at once (waiter_delay 0). Polling every second
    # instead (wait 1 s, sleep 1 s, a new connection per poll) added up to ~2 s before a run.
    trigger = MessageQueueTrigger(
        scheme="sqs",
        sqs_queue=spec.sqs_queue_url,
        aws_conn_id=get_settings().aws_conn_id,
        wait_time_seconds=SQS_WAIT_SECONDS,
        waiter_delay=0,
    )
    asset = Asset(
        name=f"tributary_{spec.flow_id}_queue", watchers=[AssetWatcher(name=f"{spec.flow_id}_sqs", trigger=trigger)]
    )
    if not spec.schedule:
        return [asset]
    from airflow.timetables.assets import AssetOrTimeSchedule
    from airflow.timetables.trigger import CronTriggerTimetable

    # Airflow 3.3 types `assets` as the serialized asset, yet the DAG processor serialises the SDK
    # Asset it is given (the SDK's own AssetOrTimeSchedule lacks the core one's `summary`).
    assets: list[Any] = [asset]
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(spec.schedule, timezone="UTC"), assets=assets)


def _task_kwargs(task: TaskSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if task.retries is not None:
        kwargs["retries"] = task.retries
    if task.timeout_minutes is not None:
        kwargs["execution_timeout"] = timedelta(minutes=task.timeout_minutes)
    if task.pool:
        kwargs["pool"] = task.pool
    return kwargs


def _cdc_group(spec: DagSpec, task: TaskSpec, kwargs: dict[str, Any]) -> TaskGroup:
    ids = {"flow_id": spec.flow_id, "flow_task_id": task.task_id}
    with TaskGroup(group_id=task.task_id, tooltip=f"cdc_to_hudi template {task.template_id}") as group:
        plan = CdcPlanOperator(task_id="plan_batches", **ids, **kwargs)
        process = CdcBatchOperator.partial(task_id="process_batch", **ids, **kwargs).expand(batch=plan.output)
        summary = CdcSummaryOperator(
            task_id="summary",
            plan_task_id=plan.task_id,
            process_task_id=process.task_id,
            trigger_rule="all_done",
            **ids,
            **{**kwargs, "retries": 0},
        )
        plan >> process >> summary
    return group


def build_dag(spec: DagSpec) -> DAG:
    """Create the DAG and its tasks (in the spec's stable order)."""
    default_args = {
        "owner": spec.owner,
        "retries": spec.retries,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": BACKOFF_MULTIPLIER if spec.retry_exponential_backoff else 0,
        "max_retry_delay": MAX_RETRY_DELAY,
        "execution_timeout": timedelta(minutes=spec.execution_timeout_minutes),
        "on_failure_callback": OutboxNotifier(flow_id=spec.flow_id, alert_topic_arn=spec.alert_topic_arn),
    }
    dag = DAG(
        dag_id=spec.dag_id,
        description=spec.description,
        doc_md=spec.doc_md or None,
        schedule=_schedule(spec),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=spec.max_active_runs,
        tags=list(spec.tags),
        default_args=default_args,
        on_failure_callback=OutboxNotifier(flow_id=spec.flow_id, alert_topic_arn=spec.alert_topic_arn, level="dag"),
        render_template_as_native_obj=False,
    )
    nodes: dict[str, Any] = {}
    with dag:
        for task in spec.tasks:
            kwargs = _task_kwargs(task)
            ids = {"flow_id": spec.flow_id, "flow_task_id": task.task_id}
            if task.kind == "cdc_to_hudi":
                nodes[task.task_id] = _cdc_group(spec, task, kwargs)
            elif task.kind == "glue":
                nodes[task.task_id] = GlueTemplateOperator(task_id=task.task_id, **ids, **kwargs)
            else:
                nodes[task.task_id] = TemplateTaskOperator(task_id=task.task_id, kind=task.kind, **ids, **kwargs)
        for task in spec.tasks:
            for upstream in task.upstream:
                nodes[upstream] >> nodes[task.task_id]
    return dag
