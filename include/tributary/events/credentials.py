"""Where the invokers find the Airflow API URL and login: the environment, or Secrets Manager."""

from __future__ import annotations

import json
import logging

from tributary.errors import AirflowAuthError, EventError
from tributary.events.airflow_api import AirflowClient, Credentials
from tributary.settings import get_settings

log = logging.getLogger(__name__)


def _from_secrets_manager(secret_id: str) -> tuple[Credentials, str | None]:
    import boto3

    settings = get_settings()
    client = boto3.client("secretsmanager", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint_url)
    try:
        raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
        doc = json.loads(raw)
        return Credentials(str(doc["username"]), str(doc["password"])), doc.get("base_url")
    except (KeyError, ValueError, TypeError) as exc:
        raise AirflowAuthError(
            f"secret {secret_id!r} must be JSON with 'username' and 'password' ({type(exc).__name__})", status=401
        ) from None
    except Exception as exc:  # botocore errors: not found, access denied, endpoint down
        raise AirflowAuthError(f"secret {secret_id!r}: cannot read it from Secrets Manager: {exc}", status=401) from exc


def client_from_settings() -> AirflowClient:
    """A client for ``TRIBUTARY_AIRFLOW_API_URL`` with the login from the environment, or from the
    Secrets Manager secret ``TRIBUTARY_AIRFLOW_SECRET_ID``; None credentials fail on first use (401)."""
    settings = get_settings()
    base_url = settings.airflow_api_url
    credentials: Credentials | None = None
    if settings.airflow_username and settings.airflow_password:
        credentials = Credentials(settings.airflow_username, settings.airflow_password)
    elif settings.airflow_secret_id:
        credentials, secret_url = _from_secrets_manager(settings.airflow_secret_id)
        base_url = base_url or secret_url
    if not base_url:
        raise EventError("TRIBUTARY_AIRFLOW_API_URL is not set (nor base_url in the Airflow secret)")
    return AirflowClient(
        base_url, credentials, timeout=settings.airflow_api_timeout, max_attempts=settings.airflow_api_attempts
    )
