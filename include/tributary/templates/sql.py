"""The ``sql`` template: run statements through an Airflow connection (a DB-API hook).

The template's ``entry_point`` names the connection (or params give ``conn_id``); params give
``sql`` (a statement or a list) and optional bind ``parameters``. Values are bound, never
pasted into the SQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tributary.errors import TaskConfigError

log = logging.getLogger(__name__)


def run_sql(conn_id: str | None, params: Mapping[str, Any], *, hook: Any = None) -> list[Any] | None:
    sql = params.get("sql")
    if not sql:
        raise TaskConfigError("params.sql: a sql template needs the statement(s) to run")
    conn_id = params.get("conn_id") or conn_id
    if hook is None:
        if not conn_id:
            raise TaskConfigError("entry_point: a sql template needs the Airflow connection id")
        from airflow.sdk import BaseHook

        hook = BaseHook.get_connection(conn_id).get_hook()
    from airflow.providers.common.sql.hooks.handlers import fetch_all_handler

    result = hook.run(sql, parameters=params.get("parameters"), handler=fetch_all_handler)
    rows = [list(r) for r in result] if isinstance(result, list) and result and isinstance(result[0], tuple) else result
    log.info("sql on %s done", conn_id)
    return rows if isinstance(rows, list) and len(rows) <= 1000 else None
