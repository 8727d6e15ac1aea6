"""The ``lambda`` template: invoke a function with the rendered params as its JSON payload."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from tributary.errors import TemplateRunError

log = logging.getLogger(__name__)


def invoke_lambda(function_name: str, params: Mapping[str, Any], *, aws_conn_id: str, hook: Any = None) -> Any:
    """Invoke synchronously; a function error fails the task with the function's message."""
    if hook is None:
        from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook

        hook = LambdaHook(aws_conn_id=aws_conn_id)
    response = hook.invoke_lambda(
        function_name=function_name, invocation_type="RequestResponse", payload=json.dumps(dict(params), default=str)
    )
    body = response.get("Payload")
    text = body.read().decode("utf-8") if hasattr(body, "read") else (body or "")
    if response.get("FunctionError"):
        raise TemplateRunError(f"lambda {function_name} failed: {text[:1000]}")
    log.info("lambda %s returned status %s", function_name, response.get("StatusCode"))
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
