"""The MWAA variant of the Airflow client: calls go through ``mwaa:InvokeRestApi`` (IAM-signed,
no Airflow login), with the same retries and answers as :class:`AirflowClient`.

How MWAA answers (API reference, and botocore's service model): 200 with ``RestApiStatusCode``
and ``RestApiResponse`` when Airflow answered 2xx; an Airflow 4xx comes back as
``RestApiClientException`` and a 5xx as ``RestApiServerException`` (both HTTP 400, carrying
``RestApiStatusCode`` and ``RestApiResponse``, which botocore puts at the top of
``ClientError.response``); IAM refusals are ``AccessDeniedException`` (403). The operation has the
host prefix ``env.`` (``env.airflow.<region>.amazonaws.com``), which must be off for any other
endpoint (``TRIBUTARY_MWAA_ENDPOINT_URL``).
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from tributary.errors import AirflowApiError, AirflowAuthError, AirflowUnavailableError
from tributary.events.airflow_api import RETRY_STATUSES, AirflowClient, backoff_delay

log = logging.getLogger(__name__)


class MwaaClient(AirflowClient):
    def __init__(self, environment: str, mwaa_client: Any, *, max_attempts: int = 5, **kwargs: Any) -> None:
        super().__init__(f"mwaa://{environment}", None, max_attempts=max_attempts, **kwargs)
        self.environment = environment
        self._mwaa = mwaa_client

    @classmethod
    def from_settings(cls) -> MwaaClient:
        import boto3

        from tributary.settings import get_settings

        settings = get_settings()
        assert settings.mwaa_environment
        if settings.mwaa_endpoint_url:
            from botocore.config import Config

            client = boto3.client(
                "mwaa",
                region_name=settings.aws_region,
                endpoint_url=settings.mwaa_endpoint_url,
                config=Config(inject_host_prefix=False),  # else botocore calls env.<endpoint host>
            )
        else:  # AWS's endpoint; not TRIBUTARY_S3_ENDPOINT_URL (moto's, say, which has no MWAA API)
            client = boto3.client("mwaa", region_name=settings.aws_region)
        return cls(settings.mwaa_environment, client, max_attempts=settings.airflow_api_attempts)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(path)
        api_path = parsed.path.removeprefix("/api/v2")
        query = dict(urllib.parse.parse_qsl(parsed.query))
        kwargs: dict[str, Any] = {"Name": self.environment, "Path": api_path, "Method": method}
        if query:
            kwargs["QueryParameters"] = query
        if body is not None:
            kwargs["Body"] = body
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                answer = self._mwaa.invoke_rest_api(**kwargs)
                return int(answer["RestApiStatusCode"]), answer.get("RestApiResponse")
            except Exception as exc:  # botocore ClientError carries the Airflow status for 4xx/5xx
                response = getattr(exc, "response", {}) or {}
                status = int(
                    response.get("RestApiStatusCode") or response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                )
                if status in (401, 403):
                    raise AirflowAuthError(
                        f"MWAA {self.environment} refused {method} {api_path}: {exc}", status=status
                    ) from exc
                if status and status not in RETRY_STATUSES and status < 500:
                    return status, response.get("RestApiResponse") or {"detail": str(exc)}
                last = str(exc)
            if attempt < self.max_attempts:
                self._sleep(backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng))
        raise AirflowUnavailableError(
            f"MWAA {self.environment} {method} {api_path} failed {self.max_attempts} time(s): {last}"
        )

    def token(self, *, refresh: bool = False) -> str:  # IAM signs the calls
        raise AirflowApiError("MWAA calls need no Airflow token")
