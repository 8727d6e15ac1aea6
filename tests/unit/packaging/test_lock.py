"""The lock, the Dockerfile and pyproject agree (no Docker engine runs here to build the image)."""

from __future__ import annotations

import re
from importlib.metadata import version

from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"requirements.txt is not a pinned lock: {line}"
        pins[req.name.lower().replace("_", "-")] = specs[0].version
    return pins


def test_lock_pins_what_the_project_needs() -> None:
    pins = _lock()
    assert pins["apache-airflow"] == "3.3.2"
    assert pins["hudi"] == "0.5.0"
    for name in (
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-postgres",
        "apache-airflow-providers-common-messaging",
        "aiobotocore",
        "sqlalchemy",
        "alembic",
        "pydantic",
        "pyarrow",
        "boto3",
        "moto",
        "typer",
        "rich",
        "pytest",
        "hypothesis",
    ):
        assert name in pins, f"{name} missing from requirements.txt"
    assert pins["sqlalchemy"].startswith("2.") and pins["pydantic"].startswith("2.")


def test_every_direct_dependency_is_locked() -> None:
    pins = _lock()
    for line in (REPO_ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = Requirement(line).name.lower().replace("_", "-")
            assert name in pins, f"{name} is in requirements.in but not in the lock; run `make lock`"


def test_installed_environment_matches_the_lock() -> None:
    pins = _lock()
    for name in ("apache-airflow", "hudi", "pyarrow", "sqlalchemy", "pydantic", "boto3", "moto"):
        assert version(name) == pins[name], f"{name}: installed {version(name)}, lock {pins[name]}; run make setup"


def test_dockerfile_matches_the_lock() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python(\S+)$", dockerfile, re.M)
    assert base, "Dockerfile must build FROM apache/airflow:<version>-python<version>"
    assert base.group(1) == _lock()["apache-airflow"]
    assert base.group(2) == "3.11"
    assert "pip install --no-cache-dir -r /opt/tributary/requirements.txt" in dockerfile
    assert "COPY --chown=airflow:root include /opt/tributary/include" in dockerfile


def test_compose_file_matches_the_lock_and_the_image() -> None:
    import yaml

    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    pins = _lock()
    assert services["moto"]["image"] == f"motoserver/moto:{pins['moto']}"
    assert services["postgres"]["image"].startswith("postgres:")
    airflow_services = {"init", "api-server", "scheduler", "dag-processor", "triggerer"}
    assert airflow_services <= set(services)
    for name in airflow_services:
        service = services[name]
        assert service["build"] == "." and service["image"] == "tributary:latest", name  # the Dockerfile's image
        env = service["environment"]
        assert (
            env["AIRFLOW__API_AUTH__JWT_SECRET"]
            == services["api-server"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"]
        )
        assert env["TRIBUTARY_DB_URL"].startswith("postgresql://")
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert services[component]["command"] == component
    init_script = services["init"]["command"][-1]
    for step in ("airflow db migrate", "tributary db upgrade", "tributary config apply"):
        assert step in init_script
    sql_init = REPO_ROOT / "config" / "docker" / "postgres-init.sql"
    assert "CREATE DATABASE tributary" in sql_init.read_text()
