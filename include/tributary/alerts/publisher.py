"""SNS delivery through the Airflow Amazon provider's ``SnsHook``."""

from __future__ import annotations

import logging
from typing import Any

from tributary.alerts.messages import render_text
from tributary.alerts.outbox import Publisher
from tributary.settings import get_settings

log = logging.getLogger(__name__)


def sns_publisher(aws_conn_id: str | None = None) -> Publisher:
    """A publisher that sends the alert as a JSON body to the topic, via ``SnsHook``."""
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    settings = get_settings()
    conn_id = aws_conn_id or settings.aws_conn_id
    hook = SnsHook(aws_conn_id=conn_id, region_name=settings.aws_region)

    def publish(topic_arn: str | None, subject: str, message: dict[str, Any]) -> None:
        if not topic_arn:
            raise ValueError("no SNS topic to publish to")
        attributes = {"tributary_kind": str(message.get("kind", "alert"))}
        if message.get("dag_id"):
            attributes["dag_id"] = str(message["dag_id"])
        hook.publish_to_target(
            target_arn=topic_arn,
            message=render_text(subject, message),
            subject=subject,
            message_attributes=attributes,
        )
        log.info("alert published to %s: %s", topic_arn, subject)

    return publish
