"""STAND-IN for the front door of Amazon MWAA's ``InvokeRestApi`` operation.

Why a stand-in: moto has no MWAA at all (not in the installed moto 5.2.5, and listed under
"Unimplemented" in moto's IMPLEMENTATION_COVERAGE.md as of its August 2026 sources, so neither
``invoke_rest_api`` nor ``create_cli_token`` / ``create_web_login_token`` exist there), and no
other MWAA implementation runs on this machine.

What is real around it: the caller is botocore's own MWAA client (the service model, rest-json
serialisation of ``POST /restapi/{Name}``, SigV4 signing, error parsing into ``ClientError``),
the HTTP is real over loopback, and behind the stand-in is the stack's real Airflow api-server:
every accepted call is forwarded to ``/api/v2<Path>`` with an Airflow token.

What the stand-in itself does (after the AWS API reference for InvokeRestApi): it checks the
SigV4 signature with the one key pair it knows (IAM) and answers ``AccessDeniedException`` (403)
otherwise; an unknown environment is ``ResourceNotFoundException`` (404); Airflow's 2xx comes back
as 200 ``{"RestApiStatusCode", "RestApiResponse"}``, a 4xx as ``RestApiClientException`` and a
5xx as ``RestApiServerException`` (HTTP 400, with ``RestApiStatusCode`` and ``RestApiResponse``).
``inject`` queues Airflow statuses to answer instead of forwarding (fault injection).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tributary.events.airflow_api import AirflowClient, Credentials

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<headers>[^,]+), Signature=(?P<sig>[0-9a-f]{64})"
)


class MwaaStandIn:
    """``with MwaaStandIn(...) as mwaa:`` serves on ``mwaa.url`` until the block ends."""

    def __init__(
        self,
        environment: str,
        airflow_url: str,
        airflow_login: Credentials,
        *,
        access_key: str = "testing",
        secret_key: str = "testing",
        region: str = "us-east-1",
    ) -> None:
        self.environment = environment
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.airflow = AirflowClient(airflow_url, airflow_login, max_attempts=1)
        self.calls: list[dict[str, Any]] = []
        self._inject: deque[int] = deque()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def inject(self, *statuses: int) -> None:
        """Answer the next calls with these Airflow statuses instead of forwarding them."""
        self._inject.extend(statuses)

    def __enter__(self) -> MwaaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the service ----------------------------------------------------------------------

    def signature_ok(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """None when the SigV4 signature is right for our key pair, else why not."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as AwsCredentials

        match = _AUTH.fullmatch(headers.get("authorization", ""))
        if not match:
            return "missing or malformed SigV4 Authorization header"
        if match["key"] != self.access_key:
            return f"unknown access key {match['key']}"
        if match["service"] != "airflow" or match["region"] != self.region:
            return f"signed for {match['service']} in {match['region']}"
        signed = {name: headers[name] for name in match["headers"].split(";")}
        request = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body, headers=signed)
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(AwsCredentials(self.access_key, self.secret_key), "airflow", self.region)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        return None if expected == match["sig"] else "signature does not match"

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, str | None]:
        """(HTTP status, JSON body, x-amzn-ErrorType)."""
        refused = self.signature_ok(method, path, headers, body)
        if refused:
            message = f"User is not authorized to perform airflow:InvokeRestApi ({refused})"
            return 403, {"message": message}, "AccessDeniedException"
        name = urllib.parse.unquote(path.removeprefix("/restapi/"))
        if method != "POST" or not path.startswith("/restapi/"):
            return 404, {"message": f"no such operation {method} {path}"}, "ResourceNotFoundException"
        if name != self.environment:
            return 404, {"message": f"Environment {name} not found"}, "ResourceNotFoundException"
        doc = json.loads(body or b"{}")
        self.calls.append(doc)
        if doc.get("Method") not in ("GET", "PUT", "POST", "PATCH", "DELETE") or not str(doc.get("Path")).startswith(
            "/"
        ):
            return 400, {"message": "Method and Path are required"}, "ValidationException"
        if self._inject:
            status, payload = self._inject.popleft(), {"detail": "injected by the MWAA stand-in"}
        else:
            query = urllib.parse.urlencode(doc.get("QueryParameters") or {})
            target = "/api/v2" + doc["Path"] + (f"?{query}" if query else "")
            status, payload = self.airflow.request(doc["Method"], target, doc.get("Body"))
        wrapped = {"RestApiStatusCode": status, "RestApiResponse": payload}
        if status < 400:
            return 200, wrapped, None
        kind = "RestApiClientException" if status < 500 else "RestApiServerException"
        return 400, {"message": f"Airflow answered {status}", **wrapped}, kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, doc, error_type = service.answer("POST", self.path, headers, body)
                except Exception as exc:  # a bug in the stand-in: say so, as AWS would with a 500
                    status, doc, error_type = 500, {"message": repr(exc)}, "InternalServerException"
                raw = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if error_type:
                    self.send_header("x-amzn-ErrorType", error_type)
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
