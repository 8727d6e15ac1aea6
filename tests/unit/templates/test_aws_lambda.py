"""The ``lambda`` template's payload and error handling.

A stand-in hook is used here because no real Lambda can run on these machines (moto's invoke
needs a Docker engine, and none runs here); it records the call and answers as the Lambda API
does (a ``Payload`` stream, ``FunctionError`` on a function error).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tributary.errors import TemplateRunError
from tributary.templates.aws_lambda import invoke_lambda


class StandInLambdaHook:
    def __init__(self, payload: Any, function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.calls: list[dict[str, Any]] = []

    def invoke_lambda(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_params_go_as_a_json_payload_and_the_answer_comes_back() -> None:
    hook = StandInLambdaHook({"rows": 3})
    result = invoke_lambda("refresh-dim", {"table": "sales.orders", "limit": 5}, aws_conn_id="aws_default", hook=hook)
    assert result == {"rows": 3}
    [call] = hook.calls
    assert call["function_name"] == "refresh-dim" and call["invocation_type"] == "RequestResponse"
    assert json.loads(call["payload"]) == {"table": "sales.orders", "limit": 5}


def test_a_function_error_fails_the_task_with_its_message() -> None:
    hook = StandInLambdaHook({"errorMessage": "table locked", "errorType": "RuntimeError"}, "Unhandled")
    with pytest.raises(TemplateRunError, match=r"lambda refresh-dim failed: .*table locked"):
        invoke_lambda("refresh-dim", {}, aws_conn_id="aws_default", hook=hook)
