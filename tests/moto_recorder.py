"""Which credentials signed each request to the moto server: moto's own request recorder (a real
moto server feature), written to a file of the test's, read back per request."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SIGNED_BY = re.compile(r"Credential=([^/]+)/")


def recording_as(
    endpoint: str, access_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Recording]:
    """For a fixture: the flow's AWS connection (``aws_default``) signs with ``access_key`` (the
    environment keeps its own); yields a :class:`Recording` of the moto server, stopped after."""
    from tributary.settings import get_settings

    connection = {
        "conn_type": "aws",
        "login": access_key,
        "password": "connection-secret",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    get_settings.cache_clear()
    recording = Recording(endpoint, tmp_path / "moto_recording", monkeypatch)
    yield recording
    recording.stop()


class Recording:
    def __init__(self, endpoint: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from moto.moto_api import recorder

        self.endpoint, self.path = endpoint, path
        monkeypatch.setattr(recorder, "_location", str(path))

    def _call(self, action: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}", method="POST")
        urllib.request.urlopen(request).read()

    def start(self) -> None:
        self._call("start-recording")

    def stop(self) -> list[dict[str, Any]]:
        """Stop recording; every request recorded since :meth:`start`."""
        self._call("stop-recording")
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]


def header(request: dict[str, Any], name: str) -> str:
    return next((str(v) for k, v in request["headers"].items() if k.lower() == name.lower()), "")


def signer(request: dict[str, Any]) -> str:
    """The access key that signed ``request`` (``unsigned`` if none did)."""
    found = SIGNED_BY.search(header(request, "Authorization"))
    return found.group(1) if found else "unsigned"
