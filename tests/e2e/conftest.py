"""One local stack (``tributary stack up``: moto, metadata DBs, Airflow api-server, scheduler,
dag-processor, triggerer) for the whole e2e package, with every test's flows applied once (config
apply makes the DB match the YAML, so all groups go in one config).

The package runs twice, once per metadata DB the stack offers: SQLite (the default) and a private
PostgreSQL cluster holding Tributary's and Airflow's databases (``stack up --db postgres``). Tests
show as ``test_x[sqlite]`` / ``test_x[postgres]``; one stack runs at a time (pytest finishes the
first stack before it starts the second). ``TRIBUTARY_E2E_DB=sqlite`` or ``=postgres`` runs one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tributary.settings import get_settings

from . import helpers

BURST_TABLES = 20
E2E_DBS = [db for db in ("sqlite", "postgres") if os.environ.get("TRIBUTARY_E2E_DB", db) == db]
if not E2E_DBS:
    raise pytest.UsageError(f"TRIBUTARY_E2E_DB must be sqlite or postgres, not {os.environ['TRIBUTARY_E2E_DB']!r}")


@dataclass
class E2E:
    db: str
    state: object
    env: dict[str, str]
    login: dict[str, str]
    invoker_queue: tuple[str, str]
    watch_queue: tuple[str, str]
    alerts_queue: str


def _client(login: dict[str, str]):  # type: ignore[no-untyped-def]
    from tributary.events.airflow_api import AirflowClient, Credentials

    return AirflowClient(login["url"], Credentials(login["username"], login["password"]))


@pytest.fixture(scope="package", params=E2E_DBS)  # stopped once its tests are done, not at session end
def e2e(request: pytest.FixtureRequest) -> Iterator[E2E]:
    from tributary.stack.stack import down, up

    kind = request.param
    directory = Path(tempfile.mkdtemp(prefix=f"tributary-e2e-{kind}-"))
    saved = dict(os.environ)
    state = up(directory, db=kind, timeout=180)
    try:
        os.environ.update(state.env)
        get_settings.cache_clear()
        invoker_queue = helpers.queue("e2e-invoker")
        watch_queue = helpers.queue("e2e-watch")
        helpers.notify_queue("e2e-landing", invoker_queue[1])
        helpers.notify_queue("e2e-watch-landing", watch_queue[1])
        helpers.boto("s3").create_bucket(Bucket="e2e-lake")
        alerts_url, alerts_arn = helpers.queue("e2e-alerts")
        helpers.boto("sns").subscribe(
            TopicArn=state.env["TRIBUTARY_ALERT_TOPIC_ARN"], Protocol="sqs", Endpoint=alerts_arn
        )
        config = helpers.write_config(
            directory / "config" / "e2e.yaml",
            [
                helpers.group("inv", bucket="e2e-landing", lake="e2e-lake", tables=2),
                helpers.group("watch", bucket="e2e-watch-landing", lake="e2e-lake", tables=1, queue_url=watch_queue[0]),
                helpers.group("fail", bucket="e2e-landing", lake="e2e-lake", tables=1),
                helpers.group("burst", bucket="e2e-landing", lake="e2e-lake", tables=BURST_TABLES),
                helpers.group("mwaa", bucket="e2e-landing", lake="e2e-lake", tables=1),
            ],
        )
        from tributary.config.service import apply_paths
        from tributary.metadata import db

        db.get_engine.cache_clear()
        apply_paths([config])
        db.dispose_engines()
        db.get_engine.cache_clear()
        login = state.login()
        client = _client(login)
        for dag in ("inv_flow", "watch_flow", "fail_flow", "burst_flow", "mwaa_flow"):
            helpers.wait_for(lambda d=dag: helpers.dag_exists(client, f"tributary__{d}"), 90, f"DAG {dag} parsed")
        yield E2E(kind, state, dict(state.env), login, invoker_queue, watch_queue, alerts_url)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        down(directory)


@pytest.fixture(autouse=True)
def stack_env(e2e: E2E, tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[E2E]:
    """Point this test at the stack (after the root conftest's per-test home)."""
    from tributary.metadata import db

    for key, value in e2e.env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield e2e
    db.dispose_engines()
    db.get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def airflow(e2e: E2E):  # type: ignore[no-untyped-def]
    return _client(e2e.login)
