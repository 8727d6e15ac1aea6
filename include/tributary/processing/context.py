"""Where a processing run comes from (an Airflow task, the CLI), for history rows and alerts."""

from __future__ import annotations

from dataclasses import dataclass


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
