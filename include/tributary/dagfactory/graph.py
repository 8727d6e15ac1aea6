"""A plain, Airflow-free task graph planned from the config snapshot.

``plan_flows`` turns every enabled flow into a :class:`DagSpec` (frozen dataclasses naming what
to build) or a :class:`FlowProblem` naming the flow and the field that is wrong. Nothing here
imports Airflow, touches a database or the network, so it is cheap to test and to run while a
DAG file is parsed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tributary.config.models import Flow, Template, TemplateKind
from tributary.errors import FlowPlanError

log = logging.getLogger(__name__)

SUPPORTED_KINDS = frozenset(k.value for k in TemplateKind)
TABLES_LISTED = 50
"""Table ids a DAG's doc lists per cadence; the rest are counted."""


@dataclass(frozen=True)
class TaskSpec:
    """One flow task: which template kind runs it and how Airflow should schedule it."""

    task_id: str
    template_id: str
    kind: str
    upstream: tuple[str, ...] = ()
    retries: int | None = None
    timeout_minutes: int | None = None
    pool: str | None = None
    has_secret: bool = False


@dataclass(frozen=True)
class DagSpec:
    """One DAG: everything the builder needs, in a stable order."""

    dag_id: str
    flow_id: str
    description: str
    doc_md: str
    owner: str
    tags: tuple[str, ...]
    schedule: str | None
    sqs_queue_url: str | None
    max_active_runs: int
    retries: int
    retry_exponential_backoff: bool
    execution_timeout_minutes: int
    alert_topic_arn: str | None
    tasks: tuple[TaskSpec, ...]


@dataclass(frozen=True, order=True)
class FlowProblem:
    """Why one flow has no DAG: names the flow, the field and what is wrong."""

    flow_id: str
    field: str | None
    message: str
    dag_id: str | None = None

    def __str__(self) -> str:
        where = f"flow '{self.flow_id}'" + (f" (DAG {self.dag_id})" if self.dag_id else "")
        return f"{where} field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class Plan:
    dags: tuple[DagSpec, ...]
    problems: tuple[FlowProblem, ...]
    disabled_flows: tuple[str, ...] = field(default=())


def _validation_problem(flow_id: str, raw: Any) -> FlowProblem:
    """Re-validate a raw flow row to name the first failing field."""
    try:
        Flow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or None
        return FlowProblem(flow_id, loc, str(first.get("msg", "invalid")).removeprefix("Value error, "))
    return FlowProblem(flow_id, None, "the flow row did not validate when the snapshot was read")


def _split_reason(reason: str) -> tuple[str | None, str]:
    """``"tasks[0].template_id: unknown template"`` → (field, message)."""
    head, sep, tail = reason.partition(": ")
    if sep and head and " " not in head:
        return head, tail
    return None, reason


def order_tasks(flow: Flow) -> list[str]:
    """Topological order, ties broken by position in the config (stable across parses)."""
    position = {t.task_id: i for i, t in enumerate(flow.tasks)}
    upstream = {t.task_id: set(t.upstream) for t in flow.tasks}
    for i, task in enumerate(flow.tasks):
        for up in task.upstream:
            if up not in position:
                raise FlowPlanError(f"tasks[{i}].upstream", f"names task {up!r}, which the flow does not have")
            if up == task.task_id:
                raise FlowPlanError(f"tasks[{i}].upstream", "a task cannot be its own upstream")
    done: list[str] = []
    ready = sorted((t for t, ups in upstream.items() if not ups), key=position.__getitem__)
    remaining = {t: set(ups) for t, ups in upstream.items() if ups}
    while ready:
        current = ready.pop(0)
        done.append(current)
        freed = []
        for task_id, ups in remaining.items():
            ups.discard(current)
            if not ups:
                freed.append(task_id)
        for task_id in freed:
            del remaining[task_id]
        ready = sorted([*ready, *freed], key=position.__getitem__)
    if remaining:
        raise FlowPlanError("tasks.upstream", f"tasks {', '.join(sorted(remaining))} form a cycle")
    return done


def _triggers(flow: Flow) -> list[str]:
    out = []
    if flow.schedule:
        out.append(f"schedule `{flow.schedule}`")
    for trig in flow.event_triggers:
        out.append(f"object created in `s3://{trig.bucket}/{trig.prefix}*{trig.suffix}`")
    if flow.sqs_queue_url:
        out.append(f"messages on SQS queue `{flow.sqs_queue_url}`")
    if flow.manual or not out:
        out.append("manual (trigger from the UI, the CLI or the REST API)")
    return out


def doc_md(
    flow: Flow,
    templates: Mapping[str, Template],
    tables_by_cadence: Mapping[str, list[str]],
    table_counts: Mapping[str, int] | None = None,
) -> str:
    """The DAG's documentation: description, owner, triggers, tasks and the tables it refreshes.

    Tables are summarised (how many, the first :data:`TABLES_LISTED` ids and where to see all), so
    the doc of a flow over thousands of tables stays small; ``tables_by_cadence`` may hold only the
    first ids when ``table_counts`` gives the totals."""
    lines = [f"### {flow.flow_id}", "", flow.description or "_No description._", ""]
    lines.append(f"**Owner:** {flow.owner}  ")
    lines.append(f"**Triggers:** {'; '.join(_triggers(flow))}  ")
    if flow.alert_topic_arn:
        lines.append(f"**Alerts:** `{flow.alert_topic_arn}`  ")
    lines += ["", "| task | template | kind | after |", "|---|---|---|---|"]
    cadences: list[str] = []
    for task in flow.tasks:
        template = templates.get(task.template_id)
        kind = template.kind.value if template else "?"
        lines.append(f"| {task.task_id} | {task.template_id} | {kind} | {', '.join(task.upstream) or '-'} |")
        cadence = task.params.get("cadence") if kind in ("cdc_to_hudi", "glue") else None
        if isinstance(cadence, str) and cadence not in cadences:
            cadences.append(cadence)
    for cadence in cadences:
        tables = tables_by_cadence.get(cadence, [])[:TABLES_LISTED]
        count = (table_counts or {}).get(cadence, len(tables_by_cadence.get(cadence, [])))
        shown = ", ".join(f"`{t}`" for t in tables)
        more = f" and {count - len(tables)} more (all: `tributary tables list`)" if count > len(tables) else ""
        lines += ["", f"**Tables (cadence `{cadence}`, {count}):** {shown or '_none_'}{more}"]
    lines += ["", "_Params are read from the metadata DB when each task runs; edit config, not this DAG._"]
    return "\n".join(lines)


def plan_flow(
    flow: Flow,
    templates: Mapping[str, Template],
    tables_by_cadence: Mapping[str, list[str]],
    *,
    with_docs: bool = True,
    table_counts: Mapping[str, int] | None = None,
) -> DagSpec:
    """Plan one valid flow; raise :class:`FlowPlanError` naming the field when it cannot be built."""
    order = order_tasks(flow)
    by_id = {t.task_id: (i, t) for i, t in enumerate(flow.tasks)}
    specs = []
    for task_id in order:
        i, task = by_id[task_id]
        template = templates.get(task.template_id)
        if template is None:
            raise FlowPlanError(
                f"tasks[{i}].template_id", f"template {task.template_id!r} is not configured or disabled"
            )
        specs.append(
            TaskSpec(
                task_id=task.task_id,
                template_id=task.template_id,
                kind=template.kind.value,
                upstream=tuple(sorted(task.upstream, key=lambda u: by_id[u][0])),
                retries=task.retries,
                timeout_minutes=task.timeout_minutes,
                pool=task.pool,
                has_secret=task.secret_id is not None,
            )
        )
    tags = tuple(dict.fromkeys(["tributary", *flow.tags]))
    return DagSpec(
        dag_id=flow.effective_dag_id,
        flow_id=flow.flow_id,
        description=(flow.description or f"Tributary flow {flow.flow_id}")[:2000],
        doc_md=doc_md(flow, templates, tables_by_cadence, table_counts) if with_docs else "",
        owner=flow.owner,
        tags=tags,
        schedule=flow.schedule,
        sqs_queue_url=flow.sqs_queue_url,
        max_active_runs=flow.max_active_runs,
        retries=flow.retries,
        retry_exponential_backoff=flow.retry_exponential_backoff,
        execution_timeout_minutes=flow.execution_timeout_minutes,
        alert_topic_arn=flow.alert_topic_arn,
        tasks=tuple(specs),
    )


def plan_flows(
    flows: Mapping[str, Flow],
    templates: Mapping[str, Template],
    tables_by_cadence: Mapping[str, list[str]],
    *,
    raw_flows: Mapping[str, Any] | None = None,
    disabled: Mapping[str, str] | None = None,
    only_dag_id: str | None = None,
    table_counts: Mapping[str, int] | None = None,
) -> Plan:
    """Plan every enabled flow (or only the one with ``only_dag_id``); broken flows become problems."""
    dags: list[DagSpec] = []
    problems: list[FlowProblem] = []
    off: list[str] = []
    seen: dict[str, str] = {}
    for flow_id in sorted(flows):
        flow = flows[flow_id]
        if only_dag_id is not None and flow.effective_dag_id != only_dag_id:
            continue
        if not flow.enabled:
            off.append(flow_id)
            continue
        try:
            spec = plan_flow(flow, templates, tables_by_cadence, with_docs=True, table_counts=table_counts)
        except FlowPlanError as exc:
            problems.append(FlowProblem(flow_id, exc.field, exc.message, flow.effective_dag_id))
            continue
        if spec.dag_id in seen:
            problems.append(
                FlowProblem(flow_id, "dag_id", f"{spec.dag_id!r} is also the DAG of flow {seen[spec.dag_id]!r}")
            )
            continue
        seen[spec.dag_id] = flow_id
        dags.append(spec)
    if only_dag_id is None:
        for flow_id, raw in sorted((raw_flows or {}).items()):
            problems.append(_validation_problem(flow_id, raw))
        for flow_id, reason in sorted((disabled or {}).items()):
            if flow_id not in flows and flow_id not in (raw_flows or {}):
                fld, message = _split_reason(reason)
                problems.append(FlowProblem(flow_id, fld, message))
    return Plan(dags=tuple(dags), problems=tuple(sorted(problems)), disabled_flows=tuple(off))
