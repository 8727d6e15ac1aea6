"""Helpers of the ops browser tests: HTTP requests to the stack, Airflow tokens for its users,
headless Chromium (Debian's, through selenium) logged in as one of them, kept screenshots."""

from __future__ import annotations

import json
import shutil
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ops"
"""Screenshots are kept here (gitignored) after the run."""


def request(
    url: str,
    *,
    token: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def token(urls: dict[str, str], login_file: str, *, viewer: bool = False) -> str:
    login = json.loads(Path(login_file).read_text())
    user, password = (
        (login["viewer_username"], login["viewer_password"]) if viewer else (login["username"], login["password"])
    )
    status, body = request(
        f"{urls['airflow']}/auth/token",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"username": user, "password": password}).encode(),
    )
    assert status in (200, 201), body
    return str(json.loads(body)["access_token"])


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@contextmanager
def chromium(base: str, access_token: str, tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium logged in to the stack's Airflow with ``access_token``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"{base}/api/v2/monitor/health")  # on the origin, so the cookie can be set
        driver.add_cookie({"name": "_token", "value": access_token, "path": "/"})
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Keep a screenshot of the window under test-artifacts/ops/ and check it is a rendered page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = driver.get_screenshot_as_png()
    path = ARTIFACTS / name
    path.write_bytes(shot)
    width, height = _png_size(shot)
    assert width >= 1000 and height >= 600 and len(shot) > 20_000  # a rendered page, not a blank one
    return path
