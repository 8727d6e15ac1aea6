"""The Airflow API client against a scripted HTTP server on loopback: retries with backoff on 5xx
and timeouts, a clear error on 4xx, 409 as an existing run, token renewal."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tributary.errors import AirflowApiError, AirflowAuthError, AirflowUnavailableError
from tributary.events.airflow_api import AirflowClient, Credentials, backoff_delay


class Script:
    def __init__(self) -> None:
        self.answers: list[tuple[int, dict]] = []
        self.requests: list[tuple[str, str, dict | None, str | None]] = []
        self.delay = 0.0


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            script.requests.append((self.command, self.path, body, self.headers.get("Authorization")))
            if self.path == "/auth/token":
                status, doc = (201, {"access_token": f"tok{len(script.requests)}"})
                if body and body.get("password") != "right":
                    status, doc = 401, {"detail": "Invalid credentials"}
            else:
                status, doc = script.answers.pop(0) if script.answers else (200, {})
                if status == -1:
                    import time

                    time.sleep(1.0)
                    status = 200
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()


def client(url: str, password: str = "right", **kw: object) -> tuple[AirflowClient, list[float]]:
    sleeps: list[float] = []
    c = AirflowClient(url, Credentials("admin", password), sleep=sleeps.append, rng=random.Random(1), **kw)  # type: ignore[arg-type]
    return c, sleeps


def test_trigger_retries_5xx_with_jittered_backoff_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(503, {"detail": "busy"}), (500, {}), (200, {"dag_run_id": "r1", "state": "queued"})]
    c, sleeps = client(url)
    result = c.trigger_dag_run("d", "r1", {"files": ["s3://b/k"]})
    assert result.created and result.state == "queued"
    assert len(sleeps) == 2 and all(0 <= s <= 0.4 for s in sleeps)
    post = script.requests[-1]
    assert post[0] == "POST" and post[1] == "/api/v2/dags/d/dagRuns"
    assert post[2] == {"dag_run_id": "r1", "logical_date": None, "conf": {"files": ["s3://b/k"]}}
    assert post[3] == "Bearer tok1"


def test_409_is_an_existing_run(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(409, {"detail": "exists"})]
    assert client(url)[0].trigger_dag_run("d", "r1").created is False


def test_4xx_is_a_clear_error_without_retries(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(404, {"detail": "The Dag with dag_id: `d` was not found"})]
    c, sleeps = client(url)
    with pytest.raises(AirflowApiError, match=r"HTTP 404.*not found.*dag_id right") as info:
        c.trigger_dag_run("d", "r1")
    assert info.value.status == 404 and sleeps == []


def test_wrong_password_and_no_credentials_are_auth_errors(server: tuple[str, Script]) -> None:
    url, _ = server
    with pytest.raises(AirflowAuthError, match="refused the login"):
        client(url, password="wrong")[0].trigger_dag_run("d", "r")
    with pytest.raises(AirflowAuthError, match="no Airflow API credentials"):
        AirflowClient(url, None).trigger_dag_run("d", "r")


def test_expired_token_is_renewed_once(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(401, {"detail": "expired"}), (200, {"dag_runs": [{"dag_run_id": "q1"}]})]
    assert client(url)[0].has_queued_run("d") == "q1"
    assert [r[1] for r in script.requests].count("/auth/token") == 2


def test_timeouts_and_refused_connections_exhaust_retries(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(-1, {}), (-1, {})]
    c, _ = client(url, timeout=0.3, max_attempts=2)
    with pytest.raises(AirflowUnavailableError, match="failed 2 time"):
        c.trigger_dag_run("d", "r")
    c2, sleeps2 = client("http://127.0.0.1:1", max_attempts=3)
    with pytest.raises(AirflowUnavailableError):
        c2.trigger_dag_run("d", "r")
    assert len(sleeps2) == 2


def test_backoff_is_bounded() -> None:
    rng = random.Random(3)
    assert all(0 <= backoff_delay(a, base=0.2, cap=5, rng=rng) <= min(5, 0.2 * 2 ** (a - 1)) for a in range(1, 12))
