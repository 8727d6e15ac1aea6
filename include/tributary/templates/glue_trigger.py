"""The trigger a deferred Glue task waits on: the provider's ``GlueJobCompleteTrigger`` that also
stops the run when a user kills the deferred task (mark failed, clear, mark success).

Airflow 3.3's triggerer calls ``on_kill`` only for such a user action, never on a triggerer
restart, redistribution, timeout or normal completion, so a run is never stopped because a
triggerer moved. The worker-side window (run started, task not deferred yet) is covered by the
operators' own ``on_kill``.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

from tributary.templates.glue import stop_accepted, stop_run_args

log = logging.getLogger(__name__)


class GlueRunTrigger(GlueJobCompleteTrigger):
    """Waits for a Glue job run; stops it (BatchStopJobRun, under the same AWS connection) when the
    deferred task is killed and ``stop_job_run_on_kill`` is set."""

    def __init__(self, job_name: str, run_id: str, *, stop_job_run_on_kill: bool = True, **kwargs: Any) -> None:
        super().__init__(job_name=job_name, run_id=run_id, **kwargs)
        self.stop_job_run_on_kill = stop_job_run_on_kill
        self.serialized_fields["stop_job_run_on_kill"] = stop_job_run_on_kill

    async def on_kill(self) -> None:
        if not self.stop_job_run_on_kill:
            return
        async with await self.hook().get_async_conn() as client:
            response = await client.batch_stop_job_run(**stop_run_args(self.job_name, self.run_id))
        stop_accepted(response, self.job_name, self.run_id)
