"""Secrets named by a flow task's ``secret_id``, resolved when the task runs.

Resolution order: Airflow's secrets backends (``Variable.get``: environment, the configured
backend such as AWS Secrets Manager, then the metastore), then AWS Secrets Manager directly
through the Amazon provider's hook. Every value found is registered with Airflow's secrets
masker before it is returned, so it never appears in logs; callers must keep it out of XCom
and rendered fields (see :func:`redact`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tributary.errors import TaskConfigError

log = logging.getLogger(__name__)


def _mask(value: Any) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - outside Airflow
        return
    mask_secret(value)
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, str) and item:
                mask_secret(item)


def _from_airflow(secret_id: str) -> str | None:
    try:
        from airflow.sdk import Variable

        return Variable.get(secret_id, default=None)
    except Exception as exc:  # backend errors fall through to Secrets Manager
        log.debug("Airflow secrets backends have no %s: %s", secret_id, type(exc).__name__)
        return None


def _from_secrets_manager(secret_id: str, aws_conn_id: str) -> str | None:
    from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook

    try:
        value = SecretsManagerHook(aws_conn_id=aws_conn_id).get_secret(secret_id)
        return value.decode() if isinstance(value, bytes) else value
    except Exception as exc:
        log.warning("secret %s not found in AWS Secrets Manager (%s)", secret_id, type(exc).__name__)
        return None


def resolve_secret(secret_id: str, *, aws_conn_id: str | None = None) -> Any:
    """The secret's value (a dict when it is a JSON object), masked in logs from now on."""
    from tributary.settings import get_settings

    raw = _from_airflow(secret_id)
    if raw is None:
        raw = _from_secrets_manager(secret_id, aws_conn_id or get_settings().aws_conn_id)
    if raw is None:
        raise TaskConfigError(
            f"secret_id {secret_id!r} was found neither in Airflow's secrets backends nor in AWS Secrets Manager"
        )
    _mask(raw)
    value: Any = raw
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    _mask(value)
    log.info("secret %s resolved (value masked)", secret_id)
    return value


def _secret_strings(secret: Any) -> list[str]:
    if isinstance(secret, str):
        return [secret] if secret else []
    if isinstance(secret, dict):
        return [v for v in secret.values() if isinstance(v, str) and len(v) >= 3] + [json.dumps(secret)]
    return []


def redact(value: Any, secret: Any) -> Any:
    """``value`` with every occurrence of the secret replaced by ``***`` (for XCom and logs)."""
    needles = sorted(_secret_strings(secret), key=len, reverse=True)
    if not needles:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for needle in needles:
                item = item.replace(needle, "***")
            return item
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)
