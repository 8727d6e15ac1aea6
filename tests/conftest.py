"""Shared fixtures: an isolated Tributary home per test, a real moto server, metadata DB URLs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tributary.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
HUDI_FIXTURES = SHARED / "fixtures" / "hudi"


@pytest.fixture(autouse=True)
def tributary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder, SQLite DB and snapshot path."""
    home = tmp_path / "tributary-home"
    home.mkdir()
    monkeypatch.setenv("TRIBUTARY_HOME", str(home))
    monkeypatch.delenv("TRIBUTARY_DB_URL", raising=False)
    monkeypatch.delenv("TRIBUTARY_SNAPSHOT", raising=False)
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
