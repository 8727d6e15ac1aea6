"""Trino (the engine under Athena engine 3) on a Glue metastore and S3, both on the moto server:
started once per session by scripts/trino.sh, stopped after, also on failure."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.trino_client import Trino

SCRIPT = REPO_ROOT / "scripts" / "trino.sh"


def _rss_mib(pid_file: Path) -> float:
    pid = pid_file.read_text().strip()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="session")
def trino(moto_endpoint: str) -> Iterator[Trino]:
    started = time.perf_counter()
    proc = subprocess.run([str(SCRIPT), "start", moto_endpoint], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)
        pytest.fail(f"Trino did not start (scripts/trino.sh start):\n{proc.stderr[-3000:]}")
    seconds = time.perf_counter() - started
    url = proc.stdout.strip().splitlines()[-1]
    print(f"\nTrino up at {url} in {seconds:.1f} s, RSS {_rss_mib(REPO_ROOT / '.stack/trino/launcher.pid'):.0f} MiB")
    try:
        yield Trino(url)
    finally:
        pid_file = REPO_ROOT / ".stack/trino/launcher.pid"
        if pid_file.exists():
            print(f"\nTrino RSS at the end: {_rss_mib(pid_file):.0f} MiB")
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)
