"""Who may see and act on the ops pages, decided by Airflow's auth manager.

Airflow does not authenticate plugin apps: every route depends on :class:`AirflowAuth`'s
``viewer`` (Airflow's ``get_user`` — the UI's ``_token`` cookie or a bearer token — plus the
custom-view permission) or ``editor`` (DAG-run edit permission). Actions also pass
:func:`check_same_origin`: a POST must carry ``X-Tributary-Action: 1`` (a cross-site form cannot
set a header) and, when the browser sends ``Origin`` / ``Sec-Fetch-Site``, come from this origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

ACTION_HEADER = "X-Tributary-Action"


class Auth(Protocol):
    """Two FastAPI dependencies returning the user: one to read, one to act."""

    viewer: Callable[..., Any]
    editor: Callable[..., Any]


def user_name(user: Any) -> str:
    return str(user.get_name() if hasattr(user, "get_name") else user)


class AirflowAuth:
    """Airflow's own user and permissions (the api-server's auth manager)."""

    def __init__(self) -> None:
        from airflow.api_fastapi.core_api.security import get_user

        def viewer(user: Any = Depends(get_user)) -> Any:
            from airflow.api_fastapi.app import get_auth_manager

            if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name="Tributary", user=user):
                raise HTTPException(status_code=403, detail="not allowed to view Tributary")
            return user

        def editor(user: Any = Depends(viewer)) -> Any:
            from airflow.api_fastapi.app import get_auth_manager
            from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

            if not get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user):
                raise HTTPException(status_code=403, detail="operator actions need permission to edit DAG runs")
            return user

        self.viewer = viewer
        self.editor = editor


def can_edit(user: Any) -> bool:
    """Whether the page should offer the actions (the API checks again on every POST)."""
    try:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

        return bool(get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user))
    except Exception:  # outside the api-server (a stand-in auth): the user object says
        return bool(getattr(user, "can_edit", False))


def check_same_origin(request: Request) -> None:
    """Refuse a POST that a page on another site could have sent."""
    if request.headers.get(ACTION_HEADER) != "1":
        raise HTTPException(status_code=400, detail="actions must be posted by the Tributary page")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise HTTPException(status_code=403, detail=f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is not None:
        # host and port only: a TLS-terminating proxy in front of the api-server changes the scheme
        own = request.headers.get("host", request.url.netloc)
        if urlsplit(origin).netloc != own:
            raise HTTPException(status_code=403, detail=f"cross-origin request refused (Origin: {origin})")


class StaticUser:
    """A named user with or without edit rights, for :class:`StaticAuth`."""

    def __init__(self, name: str, can_edit: bool) -> None:
        self.name, self.can_edit = name, can_edit

    def get_name(self) -> str:
        return self.name


class StaticAuth:
    """A stand-in for Airflow's auth, for the in-process API tests and ``tributary bench ops``
    (where no api-server runs): every request is ``user``; ``editor`` refuses a read-only user
    like Airflow's check does. The browser tests use the real :class:`AirflowAuth`."""

    def __init__(self, user: StaticUser) -> None:
        def viewer() -> StaticUser:
            return user

        def editor() -> StaticUser:
            if not user.can_edit:
                raise HTTPException(status_code=403, detail="operator actions need permission to edit DAG runs")
            return user

        self.viewer = viewer
        self.editor = editor
