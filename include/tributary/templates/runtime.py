"""Task config read when a task runs: the DAG holds only the structure.

A task looks up its flow task row and template row in the metadata DB at run time, so a change
of params applies to the next run without a re-parse of the DAG file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tributary.errors import TaskConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskConfig:
    flow_id: str
    dag_id: str
    task: Any  # tributary.config.models.FlowTask
    template: Any  # tributary.config.models.Template
    alert_topic_arn: str | None


def load_task_config(flow_id: str, task_id: str) -> TaskConfig:
    """Read and validate the flow task and its template from the metadata DB."""
    from pydantic import ValidationError
    from sqlalchemy import select

    from tributary.config.models import FlowTask, Template
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import FlowRow, FlowTaskRow, TemplateRow

    with session_scope() as session:
        flow = session.get(FlowRow, flow_id)
        row = session.scalars(
            select(FlowTaskRow).where(FlowTaskRow.flow_id == flow_id, FlowTaskRow.task_id == task_id)
        ).first()
        if flow is None or row is None:
            raise TaskConfigError(
                f"flow {flow_id!r} task {task_id!r} is not in the metadata DB {''}; "
                "apply the config (`tributary config apply`) or refresh the snapshot"
            )
        template_row = session.get(TemplateRow, row.template_id)
        if template_row is None:
            raise TaskConfigError(f"flow {flow_id!r} task {task_id!r}: template {row.template_id!r} does not exist")
        try:
            task = FlowTask.model_validate(
                {
                    "task_id": row.task_id,
                    "template_id": row.template_id,
                    "params": row.params or {},
                    "upstream": tuple(row.upstream or ()),
                    "retries": row.retries,
                    "timeout_minutes": row.timeout_minutes,
                    "pool": row.pool,
                    "secret_id": row.secret_id,
                }
            )
            template = Template.model_validate(
                {
                    "template_id": template_row.template_id,
                    "kind": template_row.kind,
                    "description": template_row.description or "",
                    "entry_point": template_row.entry_point,
                    "params_schema": template_row.params_schema or {"type": "object"},
                    "version": template_row.version,
                }
            )
        except ValidationError as exc:
            raise TaskConfigError(f"flow {flow_id!r} task {task_id!r}: invalid config row: {exc}") from None
        return TaskConfig(
            flow_id=flow_id,
            dag_id=flow.dag_id,
            task=task,
            template=template,
            alert_topic_arn=flow.alert_topic_arn,
        )


def with_defaults(params: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Params with the template schema's top-level defaults filled in."""
    out = dict(params)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in out and isinstance(prop, Mapping) and "default" in prop:
            out[name] = prop["default"]
    return out


def check_params(params: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> None:
    """Validate rendered params against the template's JSON Schema."""
    from tributary.config.schema_safety import params_validator

    errors = sorted(params_validator(schema).iter_errors(dict(params)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        path = ".".join(str(p) for p in first.path)
        raise TaskConfigError(f"{where}: params{'.' + path if path else ''}: {first.message}")
