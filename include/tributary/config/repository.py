"""Config rows in the metadata DB: model ⇄ DB row conversion, and reading config back.

Rows read back pass the same validation as YAML (they may have been written with plain SQL);
a bad row is left out of the result with its reason, never taking other rows down with it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from tributary.config.loader import RawRow
from tributary.config.models import Flow, RawTable, RefreshCadence, Template
from tributary.config.validation import ConfigSet, validate_rows
from tributary.metadata.models import (
    Base,
    FlowRow,
    FlowTaskRow,
    RawTableRow,
    RefreshCadenceRow,
    TemplateRow,
)

ROW_CLASSES: dict[str, type[Base]] = {
    "templates": TemplateRow,
    "refresh_cadences": RefreshCadenceRow,
    "raw_tables": RawTableRow,
    "flows": FlowRow,
}
_BOOKKEEPING = {"updated_at", "table_id", "explicit_dag_id", "position", "flow_id_fk"}


def canonical(model: BaseModel) -> dict[str, Any]:
    """The comparable, JSON-ready form of a validated row."""
    data = model.model_dump(mode="json")
    if isinstance(model, Flow) and model.dag_id is None:
        data["dag_id"] = None
    return data


def to_db_values(section: str, model: BaseModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Column values for the section's table, and for flows the task rows."""
    data = model.model_dump(mode="json")
    if isinstance(model, RawTable):
        data["table_id"] = model.table_id
    if isinstance(model, Flow):
        tasks = data.pop("tasks")
        data["explicit_dag_id"] = model.dag_id is not None
        data["dag_id"] = model.effective_dag_id
        task_rows = [{**t, "flow_id": model.flow_id, "position": i} for i, t in enumerate(tasks)]
        return data, task_rows
    return data, []


def _columns(row: Base) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def db_rows_as_raw(session: Session) -> list[RawRow]:
    """Every config row in the DB as a raw row (as if written in YAML), for validation."""
    raw: list[RawRow] = []
    tasks_by_flow: dict[str, list[FlowTaskRow]] = {}
    for task in session.scalars(select(FlowTaskRow).order_by(FlowTaskRow.flow_id, FlowTaskRow.position)):
        tasks_by_flow.setdefault(task.flow_id, []).append(task)
    for section, cls in ROW_CLASSES.items():
        pk = inspect(cls).primary_key[0]
        for row in session.scalars(select(cls).order_by(pk)):
            data = {k: v for k, v in _columns(row).items() if k not in _BOOKKEEPING}
            if isinstance(row, FlowRow):
                if not row.explicit_dag_id:
                    data["dag_id"] = None
                data["tasks"] = [
                    {k: v for k, v in _columns(t).items() if k not in ("flow_id", "position")}
                    for t in tasks_by_flow.get(row.flow_id, [])
                ]
            data = {k: v for k, v in data.items() if v is not None or k in ("dag_id",)}
            if data.get("dag_id") is None:
                data.pop("dag_id", None)
            raw.append(RawRow(section=section, data=data, file=f"db:{cls.__tablename__}", line=0))
    return raw


def read_config(session: Session) -> ConfigSet:
    """Validated config from the DB; bad rows are left out and named in ``problems``."""
    return validate_rows(db_rows_as_raw(session))


def current_canonical(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    """(section, id) → canonical form of every row in the DB, valid or not."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    models: dict[str, type[Template | RefreshCadence | RawTable | Flow]] = {
        "templates": Template,
        "refresh_cadences": RefreshCadence,
        "raw_tables": RawTable,
        "flows": Flow,
    }
    for row in db_rows_as_raw(session):
        try:
            model = models[row.section].model_validate(row.data)
            out[(row.section, model.key())] = canonical(model)
        except Exception:
            out[(row.section, row.label)] = row.data
    return out
