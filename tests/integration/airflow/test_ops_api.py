"""The ops API answers a bad id with a 4xx and a message, never a 500.

Real parts: the ops FastAPI app as the plugin mounts it, Airflow's simple auth manager and its
JWT (a real token through Airflow's own ``get_user``), Airflow's migrated metadata DB (revoked
tokens), Tributary's metadata DB; FastAPI's in-process test client instead of a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow


@pytest.fixture
def client(airflow_db: Path, migrated_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, dict]]:
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from tributary.ops.app import create_app

    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "ops-api-test-" + "s" * 64)
    purge_cached_app()
    try:
        token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
        headers = {"Authorization": f"Bearer {token}", "X-Tributary-Action": "1"}
        yield TestClient(create_app(), raise_server_exceptions=False), headers
    finally:
        purge_cached_app()


@pytest.mark.parametrize(
    ("file_id", "status", "message"),
    [
        ("99999999999999999999", 422, "less than or equal to 9223372036854775807"),
        ("9223372036854775808", 422, "less than or equal to 9223372036854775807"),
        ("abc", 422, "valid integer"),
        ("0", 422, "greater than or equal to 1"),
        ("-3", 422, "greater than or equal to 1"),
        ("9223372036854775807", 404, "not tracked"),  # a well-formed id nobody tracks
    ],
)
def test_file_actions_refuse_bad_ids_with_a_message(
    client: tuple[object, dict], file_id: str, status: int, message: str
) -> None:
    http, headers = client
    response = http.post(f"/api/files/{file_id}/retry", headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == status, response.text
    assert message in response.text


def test_lock_release_refuses_a_malformed_table_id(client: tuple[object, dict]) -> None:
    http, headers = client
    response = http.post("/api/locks/a'b;drop/release", headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == 400 and "letters, digits" in response.text  # malformed, named
    response = http.post("/api/locks/sales.orders/release", headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == 409 and "no lease held" in response.text
