"""Alerts from the invokers and the sweep: queued in the outbox (durable), then delivered at once
through boto3's SNS client (a Lambda has no Airflow); the maintenance drain retries what fails."""

from __future__ import annotations

import logging
from typing import Any

from tributary.alerts.messages import render_text
from tributary.alerts.outbox import Publisher, drain, enqueue
from tributary.settings import get_settings

log = logging.getLogger(__name__)


def boto3_sns_publisher() -> Publisher:
    import boto3

    settings = get_settings()
    client = boto3.client("sns", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url)

    def publish(topic_arn: str | None, subject: str, message: dict[str, Any]) -> None:
        if not topic_arn:
            raise ValueError("no SNS topic to publish to")
        client.publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=render_text(subject, message),
            MessageAttributes={
                "tributary_kind": {"DataType": "String", "StringValue": str(message.get("kind", "alert"))}
            },
        )

    return publish


def alert_invoker_failure(
    *, what: str, error: str, flow_id: str | None = None, dag_id: str | None = None, files: list[str] | None = None
) -> None:
    """Queue one alert for an invoker failure and try to deliver it now; never raises."""
    from tributary.metadata.db import session_scope

    message: dict[str, Any] = {
        "kind": "invoker_failure",
        "what": what,
        "flow_id": flow_id,
        "dag_id": dag_id,
        "files": (files or [])[:20],
        "file_count": len(files or []),
        "error": error[:2000],
    }
    subject = f"Tributary invoker failed: {flow_id or what}"
    try:
        with session_scope() as session:
            enqueue(
                session,
                topic_arn=None,
                subject=subject,
                message=message,
                dedupe_key=f"invoker:{what}:{flow_id}:{error[:80]}",
            )
    except Exception as exc:
        log.error("could not queue the invoker alert (%s): %s", exc, message)
        return
    try:
        drain(boto3_sns_publisher(), limit=20)
    except Exception as exc:
        log.warning("invoker alert queued but not delivered yet (%s); the maintenance drain retries", exc)
