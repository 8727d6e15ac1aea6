"""The ops FastAPI app, mounted by the Airflow plugin under ``/tributary`` in the api-server: the
pages (overview, tables, one table) and the JSON API they are drawn from (documented in the
README, "The operators' view"). Authorization: :mod:`tributary.ops.auth`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from tributary.errors import OpsNotFoundError, OpsQueryError, TributaryError
from tributary.ops.auth import AirflowAuth, Auth, can_edit, check_same_origin, user_name
from tributary.ops.params import MAX_PAGE, TableQuery

MAX_ID = 2**63 - 1


def _overview() -> dict[str, Any]:
    from tributary.metadata.db import session_scope
    from tributary.ops.overview import overview

    with session_scope() as s:
        return overview(s, datetime.now(UTC))


def _tables(query: TableQuery) -> dict[str, Any]:
    from tributary.metadata.db import session_scope
    from tributary.ops.overview import flows
    from tributary.ops.queries import filter_choices, list_tables

    with session_scope() as s:
        doc = list_tables(s, query, datetime.now(UTC))
        doc["choices"] = {**filter_choices(s), "flows": [f["flow_id"] for f in flows(s)]}
        return doc


def _detail(table_id: str) -> dict[str, Any]:
    from tributary.metadata.db import session_scope
    from tributary.ops.detail import table_detail

    with session_scope() as s:
        return table_detail(s, table_id, datetime.now(UTC))


def _file_action(file_id: int, action: str, user: Any) -> dict[str, Any]:
    from tributary.files.registry import operator_action
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow

    with session_scope() as s:
        if s.get(CdcFileRow, file_id) is None:
            raise OpsNotFoundError(f"file {file_id} is not tracked")
        try:
            row = operator_action(s, file_id, action, f"airflow:{user_name(user)}")
        except TributaryError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return {"message": f"file {file_id} is now {row.status}", "status": row.status, "table_id": row.table_id}


def _release(table_id: str, user: Any) -> dict[str, Any]:
    from tributary.locks.lease import force_release
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import ConfigChangeRow
    from tributary.ops.params import check_name

    check_name(table_id, "table")
    with session_scope() as s:
        before = force_release(table_id, s)
        if before is None:
            raise HTTPException(status_code=409, detail=f"{table_id}: no lease held")
        s.add(
            ConfigChangeRow(
                batch_id=f"lock-{table_id}",
                actor=f"airflow:{user_name(user)}",
                entity="table_locks",
                entity_id=table_id,
                action="release_lock",
                after={"holder": None},
                before={"holder": before.holder, "token": before.token},
            )
        )
    return {"message": f"lease of {before.holder} on {table_id} released"}


def _query(
    search: str | None = Query(default=None, max_length=200),
    state: str | None = None,
    cadence: str | None = None,
    flow: str | None = None,
    database: str | None = None,
    sort: str | None = None,
    order: str | None = None,
    page: int = Query(default=1, ge=1, le=MAX_PAGE),
    page_size: int = Query(default=50, ge=1, le=500),
) -> TableQuery:
    return TableQuery.parse(
        search=search, state=state, cadence=cadence, flow=flow, database=database,
        sort=sort, order=order, page=page, page_size=page_size,
    )  # fmt: skip


def _airflow_root(request: Request) -> str:
    """Airflow's UI root as seen from this app (its mount prefix ``/tributary`` removed)."""
    root = str(request.scope.get("root_path") or "")
    return root[: -len("/tributary")] if root.endswith("/tributary") else root


def create_app(auth: Auth | None = None) -> FastAPI:
    """The app; ``auth`` defaults to Airflow's (a stand-in only for tests and the bench)."""
    from tributary.ops import page

    app = FastAPI(title="Tributary ops", docs_url=None, redoc_url=None, openapi_url=None)
    a: Auth = auth or AirflowAuth()

    @app.exception_handler(OpsQueryError)
    async def _bad_query(_request: Request, exc: OpsQueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, OpsNotFoundError) else 400)

    @app.get("/api/overview")
    async def api_overview(_user: Any = Depends(a.viewer)) -> dict[str, Any]:
        return await asyncio.to_thread(_overview)

    @app.get("/api/tables")
    async def api_tables(query: TableQuery = Depends(_query), _user: Any = Depends(a.viewer)) -> dict[str, Any]:
        return await asyncio.to_thread(_tables, query)

    @app.get("/api/tables/{table_id}")
    async def api_table(table_id: str, _user: Any = Depends(a.viewer)) -> dict[str, Any]:
        return await asyncio.to_thread(_detail, table_id)

    @app.post("/api/files/{file_id}/{action}")
    async def file_action(
        request: Request, action: str, file_id: int = Path(ge=1, le=MAX_ID), user: Any = Depends(a.editor)
    ) -> dict[str, Any]:
        check_same_origin(request)
        if action not in ("retry", "skip"):
            raise HTTPException(status_code=404, detail="action must be retry or skip")
        return await asyncio.to_thread(_file_action, file_id, action, user)

    @app.post("/api/locks/{table_id}/release")
    async def release(request: Request, table_id: str, user: Any = Depends(a.editor)) -> dict[str, Any]:
        check_same_origin(request)
        return await asyncio.to_thread(_release, table_id, user)

    @app.get("/", response_class=HTMLResponse)
    async def overview_page(request: Request, user: Any = Depends(a.viewer)) -> HTMLResponse:
        doc = await asyncio.to_thread(_overview)
        return HTMLResponse(page.overview_page(doc, _ctx(request, user)))

    @app.get("/tables", response_class=HTMLResponse)
    async def tables_page(
        request: Request, query: TableQuery = Depends(_query), user: Any = Depends(a.viewer)
    ) -> HTMLResponse:
        doc = await asyncio.to_thread(_tables, query)
        return HTMLResponse(page.tables_page(doc, query, _ctx(request, user)))

    @app.get("/tables/{table_id}", response_class=HTMLResponse)
    async def table_page(request: Request, table_id: str, user: Any = Depends(a.viewer)) -> HTMLResponse:
        doc = await asyncio.to_thread(_detail, table_id)
        return HTMLResponse(page.table_page(doc, _ctx(request, user)))

    return app


def _ctx(request: Request, user: Any) -> dict[str, Any]:
    root = str(request.scope.get("root_path") or "")
    return {"user": user_name(user), "can_edit": can_edit(user), "base": root, "airflow": _airflow_root(request)}
