"""A small client for the Airflow 3 REST API v2 (standard library only, so it fits in a Lambda zip).

It gets a JWT from ``POST /auth/token`` and triggers runs with ``POST /api/v2/dags/{id}/dagRuns``.
5xx answers, timeouts and refused connections are retried with exponential backoff and full
jitter; a 4xx is a clear :class:`~tributary.errors.AirflowApiError` at once (401/403 as
:class:`~tributary.errors.AirflowAuthError`), except 409 on a trigger, which means the run with
that ``dag_run_id`` exists already: a duplicate event, not an error.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tributary.errors import AirflowApiError, AirflowAuthError, AirflowUnavailableError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class TriggerResult:
    dag_id: str
    dag_run_id: str
    created: bool
    """False when a run with this id existed already (409)."""
    state: str | None = None


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return (rng or random).uniform(0.0, min(cap, base * (2 ** max(attempt - 1, 0))))


class AirflowClient:
    """Token-authenticated calls to one Airflow API server."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None,
        *,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng
        self._token: str | None = None

    # --- transport ------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """One HTTP exchange with retries on 5xx, timeouts and connection errors."""
        data = None if body is None else json.dumps(body).encode()
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(self.base_url + path, data=data, method=method)
            request.add_header("Accept", "application/json")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            for key, value in (headers or {}).items():
                request.add_header(key, value)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.status, _json(response.read())
            except urllib.error.HTTPError as exc:
                payload = _json(exc.read())
                if exc.code not in RETRY_STATUSES:
                    return exc.code, payload
                last_error = f"HTTP {exc.code}: {_detail(payload)}"
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if attempt < self.max_attempts:
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
                log.warning(
                    "Airflow API %s %s failed (%s); retry %d/%d in %.2fs",
                    method,
                    path,
                    last_error,
                    attempt,
                    self.max_attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise AirflowUnavailableError(
            f"Airflow API {method} {self.base_url}{path} failed {self.max_attempts} time(s); last: {last_error}"
        )

    def token(self, *, refresh: bool = False) -> str:
        if self._token and not refresh:
            return self._token
        if self.credentials is None:
            raise AirflowAuthError(
                f"no Airflow API credentials for {self.base_url}: set TRIBUTARY_AIRFLOW_USERNAME and "
                "TRIBUTARY_AIRFLOW_PASSWORD, or TRIBUTARY_AIRFLOW_SECRET_ID (Secrets Manager)",
                status=401,
            )
        status, payload = self._send(
            "POST",
            "/auth/token",
            {"username": self.credentials.username, "password": self.credentials.password},
        )
        if status in (401, 403):
            raise AirflowAuthError(
                f"Airflow at {self.base_url} refused the login of user {self.credentials.username!r} "
                f"(HTTP {status}): check the credentials",
                status=status,
            )
        if status not in (200, 201) or not isinstance(payload, dict) or "access_token" not in payload:
            raise AirflowApiError(f"POST /auth/token: HTTP {status}: {_detail(payload)}", status=status)
        self._token = str(payload["access_token"])
        return self._token

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An authenticated call; an expired token is renewed once."""
        status, payload = self._send(method, path, body, {"Authorization": f"Bearer {self.token()}"})
        if status == 401:
            status, payload = self._send(method, path, body, {"Authorization": f"Bearer {self.token(refresh=True)}"})
        if status in (401, 403):
            raise AirflowAuthError(f"{method} {path}: HTTP {status}: {_detail(payload)}", status=status)
        return status, payload

    # --- API --------------------------------------------------------------------------------

    def trigger_dag_run(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any] | None = None) -> TriggerResult:
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns"
        body = {"dag_run_id": dag_run_id, "logical_date": None, "conf": dict(conf or {})}
        status, payload = self.request("POST", path, body)
        if status == 409:
            log.info("dag run %s/%s exists already (duplicate event)", dag_id, dag_run_id)
            return TriggerResult(dag_id, dag_run_id, created=False)
        if status not in (200, 201):
            raise AirflowApiError(
                f"trigger {dag_id} run {dag_run_id}: HTTP {status}: {_detail(payload)}"
                + (" (is the DAG parsed and the dag_id right?)" if status == 404 else ""),
                status=status,
            )
        state = payload.get("state") if isinstance(payload, dict) else None
        log.info("triggered %s run %s (%s)", dag_id, dag_run_id, state)
        return TriggerResult(dag_id, dag_run_id, created=True, state=state)

    def dag_runs(self, dag_id: str, states: tuple[str, ...] = (), limit: int = 100) -> list[dict[str, Any]]:
        query = [("limit", str(limit)), ("order_by", "-run_after")] + [("state", s) for s in states]
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns?{urllib.parse.urlencode(query)}"
        status, payload = self.request("GET", path)
        if status != 200:
            raise AirflowApiError(f"list runs of {dag_id}: HTTP {status}: {_detail(payload)}", status=status)
        return list(payload.get("dag_runs", []))

    def dag_run(self, dag_id: str, dag_run_id: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns/{urllib.parse.quote(dag_run_id, safe='')}"
        status, payload = self.request("GET", path)
        if status != 200:
            raise AirflowApiError(f"run {dag_id}/{dag_run_id}: HTTP {status}: {_detail(payload)}", status=status)
        return dict(payload)

    def has_queued_run(self, dag_id: str) -> str | None:
        """The id of a queued (not yet started) run of the DAG, if any."""
        runs = self.dag_runs(dag_id, states=("queued",), limit=1)
        return str(runs[0]["dag_run_id"]) if runs else None


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500]


def _detail(payload: Any) -> str:
    if isinstance(payload, dict) and "detail" in payload:
        return str(payload["detail"])[:500]
    return str(payload)[:500]
