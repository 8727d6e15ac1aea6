"""Where a processing run comes from (an Airflow task, the CLI), for history rows and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RunContext:
    dag_id: str | None = None
    dag_run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    log_url: str | None = None
    alert_topic_arn: str | None = None
    flow_id: str | None = None

    @classmethod
    def cli(cls) -> RunContext:
        return cls(task_id="cli")


def queue_table_alert(
    session: Session, ctx: RunContext | None, table_id: str, error: str, files: list[str] | None = None
) -> None:
    """Queue the SNS alert for a failed table in ``session`` (the failure record's transaction)."""
    from tributary.alerts.messages import table_failure
    from tributary.alerts.outbox import enqueue

    ctx = ctx or RunContext()
    alert = table_failure(
        table_id=table_id,
        error=error,
        files=files,
        flow_id=ctx.flow_id,
        dag_id=ctx.dag_id,
        dag_run_id=ctx.dag_run_id,
        task_id=ctx.task_id,
        try_number=ctx.try_number,
        log_url=ctx.log_url,
        topic_arn=ctx.alert_topic_arn,
    )
    enqueue(
        session, topic_arn=alert.topic_arn, subject=alert.subject, message=alert.message, dedupe_key=alert.dedupe_key
    )
