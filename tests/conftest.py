"""Shared fixtures: an isolated Tributary home per test, a real moto server, metadata DB URLs."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tributary.settings import get_settings

os.environ.setdefault("COLUMNS", "200")  # rich wraps at 80 columns when not on a terminal

REPO_ROOT = Path(__file__).resolve().parents[1]
# Airflow reads its configuration when first imported, so every test session gets its own
# AIRFLOW_HOME here, before any test module can import Airflow.
AIRFLOW_TEST_HOME = Path(tempfile.mkdtemp(prefix="tributary-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_TEST_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_TEST_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__API__BASE_URL": "http://airflow.test:8080",
    }
)

SHARED = REPO_ROOT.parent / "shared"
HUDI_FIXTURES = SHARED / "fixtures" / "hudi"
# The Spark-written sample tables of ../shared are extra cases: a clone without ../shared runs
# everything else (tests/conformance writes its own Spark tables at test time).
needs_shared_samples = pytest.mark.skipif(
    not (HUDI_FIXTURES / "spark-written").is_dir(),
    reason="the extra Spark-written samples of ../shared/fixtures/hudi are not beside this clone",
)


@pytest.fixture(autouse=True)
def tributary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder, SQLite DB and snapshot path."""
    home = tmp_path / "tributary-home"
    home.mkdir()
    monkeypatch.setenv("TRIBUTARY_HOME", str(home))
    monkeypatch.delenv("TRIBUTARY_DB_URL", raising=False)
    monkeypatch.delenv("TRIBUTARY_SNAPSHOT", raising=False)
    # no catalog registration unless a test asks for it (tests/integration/catalog, the demo)
    monkeypatch.setenv("TRIBUTARY_CATALOG_SYNC", "off")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server on loopback for the whole session (reset per test by ``aws``)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every AWS client at the moto server, with its state reset."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "TRIBUTARY_S3_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    get_settings.cache_clear()
    return moto_endpoint


def postgres_url() -> str | None:
    """URL of the private PostgreSQL cluster that .ci/run (or `make pg-up`) started, if any."""
    return os.environ.get("TRIBUTARY_TEST_PG_URL")


def _require_postgres() -> str:
    url = postgres_url()
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("TRIBUTARY_TEST_PG_URL is not set in CI: run the suite through `make test`")
    pytest.skip("no PostgreSQL: run through `make test` (it starts a private cluster)")


def _fresh_db(kind: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tributary.metadata import db

    if kind == "sqlite":
        url = f"sqlite:///{home / 'tributary.db'}"
        dbname = None
    else:
        import uuid

        import psycopg

        base = _require_postgres()
        dbname = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE template0')
        url = base.rsplit("/", 1)[0] + f"/{dbname}"
    monkeypatch.setenv("TRIBUTARY_DB_URL", url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield url
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    if dbname:
        import psycopg

        with psycopg.connect(_require_postgres(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty metadata DB: a SQLite file, or a new database in the private PG cluster."""
    yield from _fresh_db(request.param, tributary_home, monkeypatch)


@pytest.fixture
def pg_db_url(tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database in the private PostgreSQL cluster, for tests that need a real server."""
    yield from _fresh_db("postgres", tributary_home, monkeypatch)


@pytest.fixture
def migrated_db(db_url: str) -> str:
    from tributary.metadata import db

    db.upgrade(db_url)
    return db_url


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the `tributary` CLI in-process; return (exit code, stdout, stderr)."""
    import contextlib
    import io

    from tributary.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    console_out = cli_main.err_console
    cli_main.err_console = type(console_out)(file=err, width=200)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main.main(list(args))
    finally:
        cli_main.err_console = console_out
    return code, out.getvalue(), err.getvalue()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    shutil.rmtree(AIRFLOW_TEST_HOME, ignore_errors=True)
