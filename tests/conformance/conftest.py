"""Fixtures of the conformance suite: one long-lived Spark + Hudi peer per Hudi version.

Every case runs once per table version with the Hudi release that reads it in production:
table version 6 on Hudi 0.15.0 (AWS Glue 5.0), table version 8 on Hudi 1.0.2 (AWS Glue 5.1).
The bundles come from ``TRIBUTARY_HUDI_BUNDLES`` ("0.15.0=/jar;1.0.2=/jar;", set by the test
command) or else from ``scripts/hudi-bundles.sh``. This suite never skips: a missing bundle,
Java or Maven fails the test with the script's message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# the cases' shared checks live in these modules: show their failed comparisons in full
pytest.register_assert_rewrite("tests.conformance.helpers", "tests.conformance.spark_tables")

from tests.conformance.spark_peer import SparkPeer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
HUDI_FOR_TABLE_VERSION = {6: "0.15.0", 8: "1.0.2"}


@dataclass(frozen=True)
class Version:
    """One case's table version and the Hudi release that reads it."""

    table_version: int
    hudi: str

    @property
    def id(self) -> str:
        return f"v{self.table_version}-hudi{self.hudi}"


VERSIONS = [Version(tv, hudi) for tv, hudi in HUDI_FOR_TABLE_VERSION.items()]


def _parse_bundles(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.replace("\n", ";").split(";"):
        if "=" in item:
            version, jar = item.split("=", 1)
            out[version.strip()] = jar.strip()
    return out


def hudi_bundles() -> dict[str, str]:
    """Hudi version -> bundle jar, from the environment or from ``scripts/hudi-bundles.sh``."""
    bundles = _parse_bundles(os.environ.get("TRIBUTARY_HUDI_BUNDLES", ""))
    if all(v in bundles and Path(bundles[v]).is_file() for v in HUDI_FOR_TABLE_VERSION.values()):
        return bundles
    script = REPO_ROOT / "scripts" / "hudi-bundles.sh"
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"the Hudi bundles are not available ({script.name} failed):\n{proc.stderr.strip()}")
    bundles = {**bundles, **_parse_bundles(proc.stdout.replace(" ", "=").replace("\n", ";"))}
    for version in HUDI_FOR_TABLE_VERSION.values():
        if not Path(bundles.get(version, "")).is_file():
            pytest.fail(f"no Hudi {version} bundle: {script.name} printed {proc.stdout.strip()!r}")
    return bundles


class Peers:
    """Starts one peer per Hudi version on first use; stops them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._peers: dict[str, SparkPeer] = {}
        self._bundles: dict[str, str] | None = None

    def get(self, hudi_version: str) -> SparkPeer:
        peer = self._peers.get(hudi_version)
        if peer is not None and peer.alive:
            return peer
        if peer is not None:
            peer.stop()
        if self._bundles is None:
            self._bundles = hudi_bundles()
        peer = SparkPeer(hudi_version, self._bundles[hudi_version], self.root / f"hudi-{hudi_version}")
        self._peers[hudi_version] = peer
        return peer.start()

    def stop(self) -> None:
        for peer in self._peers.values():
            peer.stop()
        self._peers.clear()


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    root = Path(tempfile.mkdtemp(prefix="tributary-spark-peers-"))
    registry = Peers(root)
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=VERSIONS, ids=[v.id for v in VERSIONS])
def version(request: pytest.FixtureRequest) -> Version:
    """Parametrizes a case over (table version 6, Hudi 0.15.0) and (8, Hudi 1.0.2)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def spark(peers: Peers, version: Version) -> SparkPeer:
    """The Spark + Hudi peer of this case's Hudi version."""
    return peers.get(version.hudi)
