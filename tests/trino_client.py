"""A minimal client of Trino's HTTP statement protocol (POST /v1/statement, follow nextUri).

Only the tests use it, to read tables the way Athena (Trino) does; the protocol is four fields,
so no client library is added for it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class TrinoQueryError(Exception):
    pass


class Trino:
    def __init__(self, url: str, user: str = "tributary-test") -> None:
        self.url = url.rstrip("/")
        self.user = user

    def _get(self, request: urllib.request.Request) -> dict[str, Any]:
        with urllib.request.urlopen(request, timeout=120) as response:
            return dict(json.load(response))

    def query(self, sql: str) -> list[list[Any]]:
        """Rows of ``sql``; a failed query raises TrinoQueryError with Trino's message."""
        headers = {"X-Trino-User": self.user}
        doc = self._get(
            urllib.request.Request(f"{self.url}/v1/statement", data=sql.encode(), headers=headers, method="POST")
        )
        rows: list[list[Any]] = []
        while True:
            if "error" in doc:
                raise TrinoQueryError(f"{doc['error'].get('errorName')}: {doc['error'].get('message')}")
            rows.extend(doc.get("data") or [])
            next_uri = doc.get("nextUri")
            if not next_uri:
                return rows
            doc = self._get(urllib.request.Request(next_uri, headers=headers))

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]
