"""Params rendering in a sandboxed Jinja environment with Airflow context values and params only.

Task params are config rows, so they are rendered with ``ImmutableSandboxedEnvironment``: no
attribute starting with an underscore (``''.__class__``), no mutation, no ``os``/``environ``,
no Airflow ``var``/``conn``/``macros`` (those reach secrets). The context exposes plain values
(strings, dates, numbers) and small read-only views of the DAG, run and task instance.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from tributary.errors import TemplateRenderError

log = logging.getLogger(__name__)

_ENV: ImmutableSandboxedEnvironment | None = None
_PLAIN_KEYS = (
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "run_id",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "prev_data_interval_start_success",
    "prev_data_interval_end_success",
    "try_number",
    "map_index_template",
)


class _View:
    """A read-only attribute bag: the only thing templates can see of Airflow objects."""

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("read-only")

    def __str__(self) -> str:
        return str(self._values.get("id", ""))


class _Env(ImmutableSandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Only our views, mappings and plain values; never callables reached by attribute.
        if attr.startswith("_"):
            return False
        if isinstance(obj, _View | Mapping | str | int | float | date | datetime | list | tuple):
            return super().is_safe_attribute(obj, attr, value)
        return False


def environment() -> ImmutableSandboxedEnvironment:
    global _ENV
    if _ENV is None:
        _ENV = _Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        _ENV.globals.clear()  # no range/lipsum/dict/cycler/joiner/namespace
    return _ENV


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | date | datetime):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _plain(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return str(value)


def template_context(context: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values a params template may use, built from the Airflow task context."""
    out: dict[str, Any] = {k: _plain(context[k]) for k in _PLAIN_KEYS if k in context}
    dag = context.get("dag")
    if dag is not None:
        out["dag"] = _View(
            id=dag.dag_id, dag_id=dag.dag_id, owner=getattr(dag, "owner", None), tags=tuple(dag.tags or ())
        )
    task = context.get("task")
    if task is not None:
        out["task"] = _View(id=task.task_id, task_id=task.task_id)
    ti = context.get("ti") or context.get("task_instance")
    if ti is not None:
        out["ti"] = _View(
            id=ti.task_id,
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            try_number=getattr(ti, "try_number", None),
            map_index=getattr(ti, "map_index", -1),
        )
        out.setdefault("try_number", getattr(ti, "try_number", None))
    run = context.get("dag_run")
    if run is not None:
        conf = getattr(run, "conf", None) or {}
        out["dag_run"] = _View(
            id=run.run_id,
            run_id=run.run_id,
            run_type=str(getattr(run, "run_type", "")),
            logical_date=getattr(run, "logical_date", None),
            conf=_plain(conf),
        )
        out["conf"] = _plain(conf)
    out["params"] = _plain({**dict(context.get("params") or {}), **dict(params or {})})
    return out


def render_value(value: Any, values: Mapping[str, Any], *, where: str = "params") -> Any:
    """Render every string inside ``value`` (recursively); other values pass through."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        try:
            return environment().from_string(value).render(values)
        except SecurityError as exc:
            raise TemplateRenderError(f"{where}: refused: {exc}") from None
        except TemplateError as exc:
            raise TemplateRenderError(f"{where}: cannot render {value!r}: {exc}") from None
    if isinstance(value, Mapping):
        return {k: render_value(v, values, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, values, where=f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def render_params(params: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Render a task's params with the task context (raw params are available as ``params``)."""
    values = template_context(context, params)
    return {k: render_value(v, values, where=f"params.{k}") for k, v in params.items()}
