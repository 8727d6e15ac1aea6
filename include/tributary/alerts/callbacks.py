"""Airflow failure callbacks: a failed task or DAG run becomes one alert in the outbox.

Built like the Amazon provider's ``SnsNotifier`` (a ``BaseNotifier``), but the alert is first
written to ``alert_outbox`` and then delivered by a drain, so an SNS outage only delays it. If the
metadata DB itself is unreachable the notifier falls back to publishing straight to SNS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


def _error_of(context: Mapping[str, Any]) -> Any:
    return context.get("exception") or context.get("reason")


def _log_url(ti: Any) -> str | None:
    try:
        return str(ti.log_url)
    except Exception:
        return None


def _failed_tasks(dag_run: Any) -> list[str]:
    try:
        tis = dag_run.get_task_instances(state=["failed", "upstream_failed"])
    except Exception:
        return []
    out = []
    for ti in tis or []:
        idx = getattr(ti, "map_index", -1)
        out.append(ti.task_id if idx is None or idx < 0 else f"{ti.task_id}[{idx}]")
    return sorted(out)


class OutboxNotifier(BaseNotifier):
    """``on_failure_callback`` for tasks (``level="task"``) and DAG runs (``level="dag"``)."""

    template_fields = ()

    def __init__(self, *, flow_id: str, alert_topic_arn: str | None = None, level: str = "task") -> None:
        super().__init__()
        self.flow_id = flow_id
        self.alert_topic_arn = alert_topic_arn
        self.level = level

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render (no templated fields); skips building a Jinja env from the DAG."""

    def build(self, context: Mapping[str, Any]) -> Any:
        from tributary.alerts import messages

        dag_run = context.get("dag_run")
        run_id = getattr(dag_run, "run_id", None) or context.get("run_id")
        dag = context.get("dag")
        dag_id = getattr(dag, "dag_id", None) or getattr(dag_run, "dag_id", "") or ""
        if self.level == "dag":
            return messages.flow_failure(
                dag_id=dag_id,
                dag_run_id=run_id,
                failed_tasks=_failed_tasks(dag_run),
                reason=str(context.get("reason") or "") or None,
                flow_id=self.flow_id,
                topic_arn=self.alert_topic_arn,
            )
        ti = context["ti"]
        task = context.get("task")
        batch = getattr(task, "batch", None)
        return messages.task_failure(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            dag_run_id=ti.run_id,
            error=_error_of(context),
            try_number=getattr(ti, "try_number", None),
            max_tries=getattr(ti, "max_tries", None),
            log_url=_log_url(ti),
            flow_id=self.flow_id,
            tables=list(batch) if isinstance(batch, list | tuple) else None,
            map_index=getattr(ti, "map_index", -1),
            topic_arn=self.alert_topic_arn,
        )

    def notify(self, context: Context) -> None:
        alert = self.build(context)
        send_alert(alert)


def send_alert(alert: Any) -> None:
    """Queue the alert (own transaction), then try one drain so it usually goes out at once."""
    from tributary.alerts.outbox import drain, enqueue
    from tributary.metadata.db import session_scope

    try:
        with session_scope() as session:
            enqueue(
                session,
                topic_arn=alert.topic_arn,
                subject=alert.subject,
                message=alert.message,
                dedupe_key=alert.dedupe_key,
            )
    except Exception as exc:
        log.error("alert outbox unavailable (%s); publishing straight to SNS", exc)
        _publish_direct(alert)
        return
    try:
        drain(limit=20)
    except Exception as exc:  # delivery is retried by the maintenance DAG's drain
        log.warning("alert queued; immediate delivery failed (%s), the drain will retry", exc)


def _publish_direct(alert: Any) -> None:
    from tributary.alerts.publisher import sns_publisher
    from tributary.settings import get_settings

    topic = alert.topic_arn or get_settings().alert_topic_arn
    try:
        sns_publisher()(topic, alert.subject, alert.message)
    except Exception as exc:
        log.error("alert could not be delivered: %s: %s", alert.subject, exc)
