"""The one settings module: environment variables with defaults, read when asked.

Nothing here touches a database or the network, so DAG files may import it freely.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


class Settings(NamedTuple):
    """Resolved settings. Build with :func:`get_settings`; tests call ``get_settings.cache_clear()``.

    A NamedTuple (immutable, like the frozen dataclass it was): DAG files import this module on
    every parse, and creating a 30-field dataclass cost ~2 ms there."""

    home: Path
    """Data folder for the embedded default (SQLite DB, snapshot, local lake)."""
    db_url: str
    """SQLAlchemy URL of the metadata DB (``TRIBUTARY_DB_URL``); SQLite in ``home`` by default."""
    snapshot_path: Path
    """Config snapshot the DAG factory reads (``TRIBUTARY_SNAPSHOT``)."""
    config_dir: Path
    """Default folder of YAML config (``TRIBUTARY_CONFIG_DIR``)."""
    actor: str
    """Who is changing config, for the audit trail (``TRIBUTARY_ACTOR``, else the OS user)."""
    s3_endpoint_url: str | None
    """Endpoint override for S3 and other AWS APIs (moto on loopback in tests)."""
    aws_region: str
    alert_topic_arn: str | None = None
    """Default SNS topic for alerts when a flow names none (``TRIBUTARY_ALERT_TOPIC_ARN``)."""
    alert_group_window_seconds: int = 3600
    """Identical alerts (same dedupe key) within this window are grouped (``TRIBUTARY_ALERT_GROUP_WINDOW``)."""
    alert_max_attempts: int = 20
    """Delivery attempts before an alert is marked dead (``TRIBUTARY_ALERT_MAX_ATTEMPTS``)."""
    aws_conn_id: str = "aws_default"
    """Airflow connection used for SNS, Glue, Lambda and Secrets Manager (``TRIBUTARY_AWS_CONN_ID``)."""
    strict_dags: bool = False
    """Fail the whole DAG file on any broken flow, for CI (``TRIBUTARY_STRICT_DAGS``)."""
    airflow_base_url: str | None = None
    glue_role_arn: str = "arn:aws:iam::123456789012:role/tributary-glue"
    """IAM role Glue jobs created from templates run as, unless params give ``role_arn`` (``TRIBUTARY_GLUE_ROLE_ARN``)."""
    """Base URL of the Airflow UI for log links (``TRIBUTARY_AIRFLOW_BASE_URL``, else Airflow's own)."""

    max_file_attempts: int = 3
    """Attempts at a failing CDC file before it is quarantined (``TRIBUTARY_MAX_FILE_ATTEMPTS``)."""
    lease_ttl_seconds: int = 60
    """How long a table lease lives without a heartbeat (``TRIBUTARY_LEASE_TTL``)."""

    airflow_api_url: str | None = None
    """Base URL of the Airflow API server the invokers trigger (``TRIBUTARY_AIRFLOW_API_URL``)."""
    airflow_username: str | None = None
    """Airflow API user for the invokers (``TRIBUTARY_AIRFLOW_USERNAME``)."""
    airflow_password: str | None = None
    """Airflow API password for the invokers (``TRIBUTARY_AIRFLOW_PASSWORD``)."""
    airflow_secret_id: str | None = None
    """Secrets Manager secret holding ``{"username", "password"[, "base_url"]}`` (``TRIBUTARY_AIRFLOW_SECRET_ID``)."""
    mwaa_environment: str | None = None
    """MWAA environment name: trigger through ``mwaa:InvokeRestApi`` instead (``TRIBUTARY_MWAA_ENVIRONMENT``)."""
    mwaa_endpoint_url: str | None = None
    """Endpoint of the MWAA API when not AWS's own (``TRIBUTARY_MWAA_ENDPOINT_URL``; host prefixes off)."""
    airflow_api_timeout: float = 10.0
    """Seconds per Airflow API request (``TRIBUTARY_AIRFLOW_API_TIMEOUT``)."""
    airflow_api_attempts: int = 5
    """Attempts per Airflow API request on 5xx and timeouts (``TRIBUTARY_AIRFLOW_API_ATTEMPTS``)."""

    glue_scripts_bucket: str = "tributary-glue"
    """Bucket for the Spark job script (``tributary/scripts/<sha256>/``) and the per-run results
    (``tributary/results/``) of the distributed engine (``TRIBUTARY_GLUE_SCRIPTS_BUCKET``)."""
    glue_lease_ttl_seconds: int = 7200
    """Lease TTL of tables handed to a Glue run; the job's driver extends it when it can reach the
    metadata DB (``TRIBUTARY_GLUE_LEASE_TTL``)."""
    glue_db_secret_id: str | None = None
    """Secrets Manager secret with the metadata DB URL, for lease heartbeats from the Spark
    driver (``TRIBUTARY_GLUE_DB_SECRET_ID``; unset: the lease TTL covers the run)."""
    entry_point_packages: tuple[str, ...] = ()
    """Packages whose callables python templates may name besides Tributary's own entry points
    (``TRIBUTARY_ENTRY_POINT_PACKAGES``, comma-separated, e.g. ``acme_jobs,acme.etl``)."""

    catalog_sync: bool = True
    """Register tables in the data catalog after each commit, as their rows ask
    (``TRIBUTARY_CATALOG_SYNC=off`` turns it off for a machine with no catalog, e.g. unit tests)."""

    write_threads: int = 2
    """Base files of one embedded commit written at the same time (``TRIBUTARY_WRITE_THREADS``;
    default: the CPU count, at most 2). Each one in flight holds its file group's rows in memory."""

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    home = _env_path("TRIBUTARY_HOME", PROJECT_ROOT / "data")
    db_url = os.environ.get("TRIBUTARY_DB_URL") or f"sqlite:///{home / 'tributary.db'}"
    return Settings(
        home=home,
        db_url=db_url,
        snapshot_path=_env_path("TRIBUTARY_SNAPSHOT", home / "config_snapshot.json"),
        config_dir=_env_path("TRIBUTARY_CONFIG_DIR", PROJECT_ROOT / "config"),
        actor=os.environ.get("TRIBUTARY_ACTOR") or os.environ.get("USER") or "unknown",
        s3_endpoint_url=os.environ.get("TRIBUTARY_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL"),
        aws_region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        alert_topic_arn=os.environ.get("TRIBUTARY_ALERT_TOPIC_ARN") or None,
        alert_group_window_seconds=int(os.environ.get("TRIBUTARY_ALERT_GROUP_WINDOW", "3600")),
        alert_max_attempts=int(os.environ.get("TRIBUTARY_ALERT_MAX_ATTEMPTS", "20")),
        aws_conn_id=os.environ.get("TRIBUTARY_AWS_CONN_ID", "aws_default"),
        strict_dags=os.environ.get("TRIBUTARY_STRICT_DAGS", "").lower() in {"1", "true", "yes", "on"},
        airflow_base_url=os.environ.get("TRIBUTARY_AIRFLOW_BASE_URL") or None,
        glue_role_arn=os.environ.get("TRIBUTARY_GLUE_ROLE_ARN") or "arn:aws:iam::123456789012:role/tributary-glue",
        max_file_attempts=max(1, int(os.environ.get("TRIBUTARY_MAX_FILE_ATTEMPTS", "3"))),
        lease_ttl_seconds=max(1, int(os.environ.get("TRIBUTARY_LEASE_TTL", "60"))),
        airflow_api_url=os.environ.get("TRIBUTARY_AIRFLOW_API_URL") or None,
        airflow_username=os.environ.get("TRIBUTARY_AIRFLOW_USERNAME") or None,
        airflow_password=os.environ.get("TRIBUTARY_AIRFLOW_PASSWORD") or None,
        airflow_secret_id=os.environ.get("TRIBUTARY_AIRFLOW_SECRET_ID") or None,
        mwaa_environment=os.environ.get("TRIBUTARY_MWAA_ENVIRONMENT") or None,
        mwaa_endpoint_url=os.environ.get("TRIBUTARY_MWAA_ENDPOINT_URL") or None,
        airflow_api_timeout=float(os.environ.get("TRIBUTARY_AIRFLOW_API_TIMEOUT", "10")),
        airflow_api_attempts=max(1, int(os.environ.get("TRIBUTARY_AIRFLOW_API_ATTEMPTS", "5"))),
        glue_scripts_bucket=os.environ.get("TRIBUTARY_GLUE_SCRIPTS_BUCKET") or "tributary-glue",
        glue_lease_ttl_seconds=max(60, int(os.environ.get("TRIBUTARY_GLUE_LEASE_TTL", "7200"))),
        glue_db_secret_id=os.environ.get("TRIBUTARY_GLUE_DB_SECRET_ID") or None,
        entry_point_packages=tuple(
            p.strip() for p in os.environ.get("TRIBUTARY_ENTRY_POINT_PACKAGES", "").split(",") if p.strip()
        ),
        catalog_sync=os.environ.get("TRIBUTARY_CATALOG_SYNC", "on").lower() not in {"0", "false", "no", "off"},
        write_threads=max(1, int(os.environ.get("TRIBUTARY_WRITE_THREADS") or min(2, os.cpu_count() or 1))),
    )
