"""The ops FastAPI app, mounted by the Airflow plugin under ``/tributary`` in the api-server.

Airflow does not authenticate plugin apps: every route here depends on Airflow's own
``get_user`` (the UI's session cookie or a bearer token), reading needs the custom-view
permission and actions need DAG-run edit permission. Actions are POSTs that must carry the
``X-Tributary-Action`` header (a cross-site form cannot set it), and are audited.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path
from fastapi.responses import HTMLResponse

log = logging.getLogger(__name__)

MAX_ROW_ID = 2**63 - 1
"""Row ids are 64-bit (BIGINT, SQLite INTEGER): a larger id is a 422 with a message, not a 500."""
FileId = Path(..., ge=1, le=MAX_ROW_ID, description="a file id from `files list` (1 to 2^63-1)")


def _user_dependency() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    return get_user


def _name(user: Any) -> str:
    return str(user.get_name() if hasattr(user, "get_name") else user)


def _can_view(user: Any) -> None:
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name="Tributary", user=user):
        raise HTTPException(status_code=403, detail="not allowed to view Tributary")


def _can_act(user: Any) -> None:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    if not get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user):
        raise HTTPException(status_code=403, detail="operator actions need permission to edit DAG runs")


def _require_action_header(x_tributary_action: str | None) -> None:
    if x_tributary_action != "1":
        raise HTTPException(status_code=400, detail="actions must be posted by the Tributary page")


def _snapshot() -> dict[str, Any]:
    from tributary.config.repository import read_config
    from tributary.metadata.db import session_scope
    from tributary.ops.state import flow_summaries, recent_alerts, table_states

    with session_scope() as s:
        config = read_config(s)
        return {"tables": table_states(s, config), "flows": flow_summaries(config), "alerts": recent_alerts(s)}


def _dag_runs(dag_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The last runs of each flow's DAG from Airflow's own metadata DB (we run inside Airflow)."""
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select

        out: dict[str, list[dict[str, Any]]] = {}
        with create_session() as session:
            for dag_id in dag_ids:
                runs = session.scalars(
                    select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(5)
                )
                out[dag_id] = [{"run_id": r.run_id, "state": str(r.state), "start": str(r.start_date)} for r in runs]
        return out
    except Exception as exc:  # the page still shows tables when Airflow's DB is not reachable
        log.warning("cannot read DAG runs: %s", exc)
        return {}


def create_app() -> FastAPI:
    app = FastAPI(title="Tributary ops", docs_url=None, redoc_url=None, openapi_url=None)
    get_user = _user_dependency()

    @app.get("/", response_class=HTMLResponse)
    async def page(user: Any = Depends(get_user)) -> HTMLResponse:
        from tributary.ops.page import render

        _can_view(user)
        data = await asyncio.to_thread(_snapshot)
        dag_ids = [f["dag_id"] for f in data["flows"] if f.get("dag_id")]
        runs = await asyncio.to_thread(_dag_runs, dag_ids)
        return HTMLResponse(render(data["tables"], data["flows"], data["alerts"], runs, _name(user)))

    @app.get("/api/tables")
    async def tables(user: Any = Depends(get_user)) -> dict[str, Any]:
        _can_view(user)
        data = await asyncio.to_thread(_snapshot)
        return {"tables": [t.as_dict() for t in data["tables"]], "flows": data["flows"], "alerts": data["alerts"]}

    def _file_action(file_id: int, action: str, user: Any) -> dict[str, Any]:
        from tributary.errors import TributaryError
        from tributary.files.registry import operator_action
        from tributary.metadata.db import session_scope

        try:
            with session_scope() as s:
                row = operator_action(s, file_id, action, f"airflow:{_name(user)}")
                return {"message": f"file {file_id} is now {row.status}", "status": row.status}
        except TributaryError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None

    @app.post("/api/files/{file_id}/{action}")
    async def file_action(
        action: str,
        file_id: int = FileId,
        user: Any = Depends(get_user),
        x_tributary_action: str | None = Header(default=None),
    ) -> dict[str, Any]:
        _require_action_header(x_tributary_action)
        _can_act(user)
        if action not in ("retry", "skip"):
            raise HTTPException(status_code=404, detail="action must be retry or skip")
        return await asyncio.to_thread(_file_action, file_id, action, user)

    def _release(table_id: str, user: Any) -> dict[str, Any]:
        from tributary.locks.lease import force_release
        from tributary.metadata.db import session_scope
        from tributary.metadata.models import ConfigChangeRow

        with session_scope() as s:
            before = force_release(table_id, s)
            if before is None:
                raise HTTPException(status_code=409, detail=f"{table_id}: no lease held")
            s.add(
                ConfigChangeRow(
                    batch_id=f"lock-{table_id}",
                    actor=f"airflow:{_name(user)}",
                    entity="table_locks",
                    entity_id=table_id,
                    action="release_lock",
                    after={"holder": None},
                    before={"holder": before.holder, "token": before.token},
                )
            )
        return {"message": f"lease of {before.holder} on {table_id} released"}

    @app.post("/api/locks/{table_id}/release")
    async def release(
        table_id: str, user: Any = Depends(get_user), x_tributary_action: str | None = Header(default=None)
    ) -> dict[str, Any]:
        _require_action_header(x_tributary_action)
        _can_act(user)
        from tributary.config.identifiers import TABLE_ID_RE

        if not TABLE_ID_RE.fullmatch(table_id):
            raise HTTPException(status_code=404, detail=f"{table_id!r} is not a table id (<schema>.<table>)")
        return await asyncio.to_thread(_release, table_id, user)

    return app
