"""The scheduled invoker: an EventBridge schedule (or Scheduler) names a flow, this triggers its DAG.

Input: ``{"flow_id": "..."}`` (a rule's constant input or a Scheduler target's input), optionally
with ``"time"``; or a raw EventBridge ``Scheduled Event`` with ``flow_id`` in ``detail``. The
``dag_run_id`` comes from the flow and the scheduled time, so a retried or duplicate delivery of
one tick never starts a second run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tributary.config.validation import ConfigSet
from tributary.errors import AirflowApiError, EventError, NotFoundError
from tributary.events.airflow_api import AirflowClient
from tributary.events.alerting import alert_invoker_failure

log = logging.getLogger(__name__)


def _flow_and_time(event: Mapping[str, Any]) -> tuple[str, str]:
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    flow_id = event.get("flow_id") or (detail or {}).get("flow_id")
    if not flow_id:
        raise EventError('scheduled event: no flow_id (set the rule\'s input to {"flow_id": "..."})')
    when = str(event.get("time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00Z"))
    return str(flow_id), when


def scheduled_run_id(flow_id: str, when: str) -> str:
    return "tributary_schedule__" + re.sub(r"[^A-Za-z0-9_.~:+-]", "_", f"{flow_id}__{when}")[:200]


def handle_scheduled(
    event: Mapping[str, Any],
    *,
    client_factory: Callable[[], AirflowClient] | None = None,
    config_loader: Callable[[], ConfigSet] | None = None,
) -> dict[str, Any]:
    from tributary.events.invoker import _config, default_client

    flow_id, when = _flow_and_time(event)
    config = (config_loader or _config)()
    flow = config.flows.get(flow_id)
    if flow is None or not flow.enabled:
        reason = config.disabled("flows").get(flow_id) or ("disabled" if flow else "not configured")
        raise NotFoundError(f"scheduled event for flow {flow_id!r}: the flow is {reason}")
    run_id = scheduled_run_id(flow_id, when)
    try:
        result = (client_factory or default_client)().trigger_dag_run(
            flow.effective_dag_id, run_id, {"source": "tributary-schedule", "scheduled_time": when}
        )
    except AirflowApiError as exc:
        alert_invoker_failure(what="schedule", error=str(exc), flow_id=flow_id, dag_id=flow.effective_dag_id)
        raise
    return {"flow_id": flow_id, "dag_id": result.dag_id, "dag_run_id": run_id, "created": result.created}


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point: ``tributary.events.scheduled.handler``."""
    logging.getLogger().setLevel(logging.INFO)
    return handle_scheduled(event)
