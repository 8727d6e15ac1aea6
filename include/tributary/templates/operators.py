"""Airflow operators that run Tributary templates; cheap to construct, config read at run time.

Construction stores only the flow and task ids (the DAG's structure). ``execute`` reads the task
and template rows from the metadata DB, renders params in the sandbox, resolves the secret,
validates params against the template schema and runs the template kind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from tributary.processing.outcome import OutcomeStatus

if TYPE_CHECKING:
    from tributary.templates.glue import GlueJobSpec
    from tributary.templates.glue_tasks import GlueRun

log = logging.getLogger(__name__)


def run_context(context: Mapping[str, Any], flow_id: str, topic: str | None) -> Any:
    from tributary.processing.context import RunContext

    ti = context["ti"]
    try:
        log_url = ti.log_url
    except Exception:  # no API base URL configured
        log_url = None
    return RunContext(
        dag_id=ti.dag_id,
        dag_run_id=ti.run_id,
        task_id=ti.task_id if getattr(ti, "map_index", -1) < 0 else f"{ti.task_id}[{ti.map_index}]",
        try_number=getattr(ti, "try_number", None),
        log_url=log_url,
        alert_topic_arn=topic,
        flow_id=flow_id,
    )


def _deliver_alerts_now() -> None:
    """Best effort: the processor queued table alerts; the maintenance drain retries what fails."""
    from tributary.alerts.outbox import drain

    try:
        drain(limit=50)
    except Exception as exc:
        log.warning("queued alerts not delivered yet (%s); the outbox drain will retry", exc)


def _cadence_engine(params: Mapping[str, Any]) -> str:
    """The engine of the cadence a cdc_to_hudi task runs (``local`` unless the cadence says glue)."""
    cadence = params.get("cadence")
    if not cadence:
        return "local"
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import RefreshCadenceRow

    with session_scope() as session:
        row = session.get(RefreshCadenceRow, str(cadence))
        return str(getattr(row, "engine", None) or "local")


def _batch_tables(table_ids: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The batch's raw table configs (None for a row that is invalid or gone) and the reasons."""
    from tributary.config.service import load_db_config

    config = load_db_config()
    disabled = config.disabled("raw_tables")
    return {t: config.tables.get(t) for t in table_ids}, {t: disabled.get(t, "not configured") for t in table_ids}


class _TemplateOperator(BaseOperator):
    """Common part: which flow task this is, and how to load and prepare its config."""

    template_fields = ()
    expected_kind: str = ""

    def __init__(self, *, flow_id: str, flow_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.flow_task_id = flow_task_id

    def prepare(self, context: Mapping[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        """(task config, rendered and validated params, secret or None)."""
        from tributary.errors import TaskConfigError
        from tributary.secrets import redact, resolve_secret
        from tributary.templates.rendering import render_params
        from tributary.templates.runtime import check_params, load_task_config, with_defaults

        cfg = load_task_config(self.flow_id, self.flow_task_id)
        kind = cfg.template.kind.value
        if self.expected_kind and kind != self.expected_kind:
            raise TaskConfigError(
                f"flow {self.flow_id!r} task {self.flow_task_id!r}: template kind is now {kind!r} but the DAG was "
                f"built for {self.expected_kind!r}; wait for the DAG file to be re-parsed"
            )
        where = f"flow {self.flow_id!r} task {self.flow_task_id!r}"
        params = render_params(with_defaults(cfg.task.params, cfg.template.params_schema), context)
        check_params(params, cfg.template.params_schema, where)
        secret = resolve_secret(cfg.task.secret_id) if cfg.task.secret_id else None
        log.info(
            "%s: template %s v%s params %s",
            where,
            cfg.template.template_id,
            cfg.template.version,
            redact(params, secret),
        )
        return cfg, params, secret


class _GlueRunOperator(_TemplateOperator):
    """A template task that runs a Glue job deferrably; killing the task stops the run.

    Killed while it runs on the worker (the run started, not deferred yet), :meth:`on_kill`
    stops the run; killed while deferred, the trigger's ``on_kill`` does (Airflow 3.3+).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._glue_run: GlueRun | None = None

    def _start_run(self, spec: GlueJobSpec) -> GlueRun:
        from tributary.templates.glue_tasks import start_run

        self._glue_run = start_run(spec)
        return self._glue_run

    def _defer_to_run(
        self, run: GlueRun, params: Mapping[str, Any], *, method_name: str, kwargs: dict[str, Any], timeout: timedelta
    ) -> None:
        from tributary.templates.glue_tasks import run_trigger

        self.defer(trigger=run_trigger(run, params), method_name=method_name, kwargs=kwargs, timeout=timeout)

    def on_kill(self) -> None:
        from tributary.templates.glue_tasks import stop_run

        if self._glue_run is not None:
            stop_run(self._glue_run)


class TemplateTaskOperator(_TemplateOperator):
    """Runs a ``python``, ``lambda`` or ``sql`` template."""

    ui_color = "#e8f4fa"

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expected_kind = kind

    def execute(self, context: Any) -> Any:
        from tributary.secrets import redact
        from tributary.settings import get_settings

        cfg, params, secret = self.prepare(context)
        entry = cfg.template.entry_point
        if self.expected_kind == "python":
            from tributary.templates.python_runner import run_python

            result = run_python(entry, params, secret=secret)
        elif self.expected_kind == "lambda":
            from tributary.templates.aws_lambda import invoke_lambda

            function = str(params.pop("function_name", None) or entry)
            if secret is not None:
                params["secret"] = secret  # travels in the payload only, never to logs or XCom
            result = invoke_lambda(function, params, aws_conn_id=get_settings().aws_conn_id)
        elif self.expected_kind == "sql":
            from tributary.templates.sql import run_sql

            result = run_sql(entry, params)
        else:  # pragma: no cover - the builder never makes one
            raise ValueError(f"unsupported kind {self.expected_kind}")
        return redact(result, secret)


class CdcPlanOperator(_TemplateOperator):
    """Plans the cadence's tables into batches (XCom: list of lists of table ids)."""

    expected_kind = "cdc_to_hudi"
    ui_color = "#fdf1e0"

    def execute(self, context: Any) -> list[list[str]]:
        from tributary.config.service import load_db_config
        from tributary.events.watcher import register_from_asset_events
        from tributary.templates.cdc import plan

        _, params, _ = self.prepare(context)
        config = load_db_config()  # once for the registering and the planning below
        # a run started by an AssetWatcher (SQS) carries the S3 events: register their files
        # first, so the batches see them (files already registered are recognised as such)
        register_from_asset_events(context, config)
        if params.get("list_staging"):
            # Also list the tables' staging prefixes: Airflow 3.3 gives a run that waited at
            # max_active_runs only the asset events up to the first queued one; later events stay
            # unconsumed until another event comes. Listing catches their files now.
            from tributary.events.watcher import register_staged
            from tributary.processing.batches import cadence_tables

            counts = register_staged(config, cadence_tables(config, str(params["cadence"])))
            self.log.info("listed staging: %s", counts)
        return plan(str(params["cadence"]), config)


class CdcBatchOperator(_GlueRunOperator):
    """Processes one batch (mapped over the plan's output with ``.expand(batch=...)``)."""

    expected_kind = "cdc_to_hudi"
    ui_color = "#fbe3bd"

    def __init__(self, *, batch: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch = batch

    def execute(self, context: Any) -> dict[str, Any] | None:
        from tributary.templates.cdc import process

        cfg, params, _ = self.prepare(context)
        ctx = run_context(context, self.flow_id, cfg.alert_topic_arn)
        ti = context["ti"]
        holder = f"{ti.dag_id}/{ti.run_id}/{ctx.task_id}#{ctx.try_number}"
        if _cadence_engine(params) == "glue":
            return self._execute_on_glue(context, params, ctx, holder)
        result = process(list(self.batch), holder=holder, run_context=ctx, max_files=params.get("max_files_per_table"))
        if result["failed"]:
            _deliver_alerts_now()
        return result

    # -- the distributed engine: one Glue run per batch ------------------------------------------

    def _execute_on_glue(self, context: Any, params: dict[str, Any], ctx: Any, holder: str) -> dict[str, Any] | None:
        from tributary.settings import get_settings
        from tributary.spark.dispatch import prepare_batch

        settings = get_settings()
        tables, invalid = _batch_tables(list(self.batch))
        ttl = timedelta(seconds=settings.glue_lease_ttl_seconds)
        prepared = prepare_batch(
            tables,
            holder=holder,
            ctx=ctx,
            lease_ttl=ttl,
            max_files=int(params.get("max_files_per_table") or 500),
            db_secret_id=settings.glue_db_secret_id,
            invalid=invalid,
        )
        if not prepared.pending:  # nothing to hand to Spark (idle, busy, blocked or invalid tables)
            failed = sorted(t for t, o in prepared.outcomes.items() if o["status"] == OutcomeStatus.FAILED)
            if failed:
                _deliver_alerts_now()
            return {"tables": prepared.outcomes, "failed": failed}
        state = prepared.to_state()
        try:
            run, uri = self._start_cdc_run(context, params, prepared.batch, state, holder)
        except Exception as exc:
            self._record_glue(context, state, {}, holder, ctx, f"the Glue run could not start: {exc}")
            raise
        self._defer_to_run(
            run,
            params,
            method_name="execute_glue_complete",
            kwargs={"job_name": run.job_name, "result_uri": uri, "state": state, "holder": holder},
            timeout=self.execution_timeout or ttl,
        )
        return None  # pragma: no cover - defer raises

    def _start_cdc_run(
        self, context: Any, params: dict[str, Any], batch: dict[str, Any], state: dict[str, Any], holder: str
    ) -> tuple[GlueRun, str]:
        """Ship the batch to a new Glue run; (the run, its result URI)."""
        from tributary.aws_hooks import s3_hook
        from tributary.spark.job import RESULT_ARG
        from tributary.templates.glue import DISPATCH_STATE, put_json
        from tributary.templates.glue_tasks import cdc_spec

        s3 = s3_hook()
        spec = cdc_spec(context["ti"], params, batch, s3)
        uri = spec.arguments[RESULT_ARG]
        # what execute_glue_complete records, next to the results (dag.test() resumes a
        # deferred task with the trigger event only, without the deferral's kwargs)
        put_json(s3, f"{uri}/{DISPATCH_STATE}", {"state": state, "holder": holder})
        return self._start_run(spec), uri

    def execute_glue_complete(
        self,
        context: Any,
        event: dict[str, Any] | None = None,
        job_name: str = "",
        result_uri: str = "",
        state: dict[str, Any] | None = None,
        holder: str = "",
    ) -> dict[str, Any]:
        from tributary.aws_hooks import s3_hook
        from tributary.errors import SparkJobError
        from tributary.templates.glue import read_results
        from tributary.templates.glue_tasks import delete_job, saved_dispatch

        event = event or {}
        cfg, _, _ = self.prepare(context)
        ctx = run_context(context, self.flow_id, cfg.alert_topic_arn)
        s3 = s3_hook()
        if not job_name or not result_uri or state is None:  # resumed without the deferral's kwargs
            job_name, result_uri, state, holder = saved_dispatch(context["ti"], s3)
        succeeded = event.get("status") == "success"
        job_error = None if succeeded else f"Glue job {job_name} run failed: {event.get('message') or event}"
        results = read_results(s3, result_uri, sorted(state.get("pending") or {}))
        result = self._record_glue(context, state, results, holder, ctx, job_error)
        if not succeeded:
            raise SparkJobError(f"{job_error}; tables: {', '.join(result['failed']) or 'none'}")
        delete_job(job_name)
        return result

    def _record_glue(
        self,
        context: Any,
        state: dict[str, Any],
        results: dict[str, Any],
        holder: str,
        ctx: Any,
        job_error: str | None,
    ) -> dict[str, Any]:
        from tributary.settings import get_settings
        from tributary.spark.dispatch import record_results

        tables, _ = _batch_tables(list(self.batch))
        result = record_results(
            state,
            results,
            tables=tables,
            holder=holder,
            ctx=ctx,
            lease_ttl=timedelta(seconds=get_settings().glue_lease_ttl_seconds),
            job_error=job_error,
        )
        if result["failed"]:
            _deliver_alerts_now()
        return result


class CdcSummaryOperator(_TemplateOperator):
    """Runs after every batch (``all_done``); fails the run if any table failed."""

    expected_kind = "cdc_to_hudi"
    ui_color = "#f6d5a8"

    def __init__(self, *, plan_task_id: str, process_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_task_id = plan_task_id
        self.process_task_id = process_task_id

    def execute(self, context: Any) -> dict[str, Any]:
        from tributary.templates.cdc import summarise

        ti = context["ti"]
        planned = ti.xcom_pull(task_ids=self.plan_task_id, key="return_value")
        results: list[Any] = []
        if planned:
            pulled = ti.xcom_pull(
                task_ids=self.process_task_id, key="return_value", map_indexes=list(range(len(planned)))
            )
            if isinstance(pulled, dict):
                pulled = [pulled]
            results = [r for r in (pulled or []) if r]
        return summarise(planned, results)


class GlueTemplateOperator(_GlueRunOperator):
    """Creates a Glue job from the template, runs it deferrably, deletes it after success."""

    expected_kind = "glue"
    ui_color = "#e4d7f5"

    def execute(self, context: Any) -> None:
        from tributary.settings import get_settings
        from tributary.templates.glue import build_spec

        cfg, params, _ = self.prepare(context)
        ti = context["ti"]
        spec = build_spec(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            script=cfg.template.entry_point,
            params=params,
            secret_id=cfg.task.secret_id,
            default_role=get_settings().glue_role_arn,
        )
        run = self._start_run(spec)
        self._defer_to_run(
            run,
            params,
            method_name="execute_complete",
            kwargs={"job_name": spec.job_name},
            timeout=self.execution_timeout or timedelta(hours=2),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, job_name: str = "") -> dict[str, Any]:
        from tributary.errors import TemplateRunError
        from tributary.templates.glue import job_name as glue_job_name
        from tributary.templates.glue_tasks import delete_job

        event = event or {}
        ti = context["ti"]
        job_name = job_name or glue_job_name(ti.dag_id, ti.task_id, ti.run_id)  # deterministic per run
        if event.get("status") != "success":
            raise TemplateRunError(f"Glue job {job_name} run did not succeed: {event.get('message') or event}")
        delete_job(job_name)
        return {"job_name": job_name, "run_id": event.get("run_id")}
