"""A real Airflow 3 for these tests: its own AIRFLOW_HOME, SQLite DB migrated once, our dags/ folder.

The environment is set when this conftest is imported, before Airflow is imported anywhere in
the process, because Airflow reads its configuration at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DAGS = REPO / "dags"
CONFIG = REPO / "config"
from tests.conftest import AIRFLOW_TEST_HOME as _AIRFLOW_HOME  # noqa: E402  (set up by the top conftest)


@pytest.fixture(autouse=True)
def allow_test_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """The python templates of these tests name callables in tests/integration/airflow/helpers.py."""
    from tributary.settings import get_settings

    monkeypatch.setenv("TRIBUTARY_ENTRY_POINT_PACKAGES", "tests.integration.airflow.helpers")
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate Airflow's SQLite metadata DB once per session (``dag.test`` needs it)."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    return _AIRFLOW_HOME


@pytest.fixture
def apply_config(migrated_db: str, tributary_home: Path) -> Callable[..., Path]:
    """Apply YAML config (default: the example config/) into this test's metadata DB and snapshot."""
    from tributary.config.service import apply_paths

    def _apply(*paths: Path) -> Path:
        apply_paths(list(paths) or [CONFIG])
        return tributary_home

    return _apply


@pytest.fixture
def dagbag_of() -> Callable[[], object]:
    from airflow.dag_processing.dagbag import DagBag

    def _bag() -> DagBag:
        return DagBag(dag_folder=str(DAGS))

    return _bag


@pytest.fixture
def sqlite_db_url(tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """dag.test() end-to-end runs use a SQLite metadata DB (Airflow's own DB is SQLite here too);
    modules that need it override ``db_url`` with this, so nothing is parametrised and skipped."""
    from tests.conftest import _fresh_db

    yield from _fresh_db("sqlite", tributary_home, monkeypatch)
