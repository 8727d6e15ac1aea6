"""The catalog definition Tributary writes equals the one Hudi's own hive sync writes for the same
table: Hudi 0.15.0's Spark writer with Tributary's Spark hive-sync options registers a table in
an embedded Hive metastore; Tributary's sync reads the same Hudi table and builds its Glue table.

Known, deliberate differences (asserted, so a change is noticed): Spark's datasource schema
records the writer's nullability (Spark literals are not null; Tributary says nullable, as its
Avro schemas do), ``spark.sql.create.version`` (no Spark on the embedded engine) and
``last_commit_completion_time_sync`` (a table version 6 timeline has no completion times; Hudi
takes file times) are Hudi's only; ``hudi.metadata-listing-enabled`` is what Hudi's Glue sync
client adds and its HMS client does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tributary.catalog import definition as ddl
from tributary.catalog.source import HudiSource

PEER = Path(__file__).with_name("hudi_sync_peer.py")
pytestmark = pytest.mark.slow


def bundle(version: str) -> str:
    listed = os.environ.get("TRIBUTARY_HUDI_BUNDLES", "")
    jars = dict(item.split("=", 1) for item in listed.split(";") if "=" in item)
    if version not in jars:
        proc = subprocess.run(
            [str(REPO_ROOT / "scripts/hudi-bundles.sh")],
            env={**os.environ, "TRIBUTARY_HUDI_VERSIONS": version},
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert proc.returncode == 0, proc.stderr
        jars.update(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    return jars[version]


def _params(doc: dict[str, str]) -> dict[str, str]:
    out = {k: v for k, v in doc.items() if k not in ("transient_lastDdlTime",)}
    for key in [k for k in out if k.startswith("spark.sql.sources.schema.part.")]:
        schema = json.loads(out.pop(key))
        for f in schema["fields"]:
            f["nullable"] = True
        out[key] = json.dumps(schema, separators=(",", ":"))
    return out


def test_tributary_writes_the_table_hudis_hive_sync_writes(tmp_path: Path) -> None:
    base = tmp_path / "orders"
    out = tmp_path / "hms.json"
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'include'}:{REPO_ROOT}"}
    proc = subprocess.run(
        [sys.executable, str(PEER), bundle("0.15.0"), str(base), str(tmp_path / "warehouse"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    hudi = json.loads(out.read_text())

    source = HudiSource(str(base))
    state = source.state()
    assert state.schema is not None and state.latest_instant is not None
    location = "file://" + str(base)
    ours = ddl.table_input("orders", location, state.schema, ["region"], state.latest_instant)
    sd = ours["StorageDescriptor"]

    assert ours["TableType"] == hudi["TableType"] == "EXTERNAL_TABLE"
    assert [[c["Name"], c["Type"], c["Comment"]] for c in sd["Columns"]] == hudi["Columns"]
    assert [[c["Name"], c["Type"], c["Comment"]] for c in ours["PartitionKeys"]] == hudi["PartitionKeys"]
    assert (sd["InputFormat"], sd["OutputFormat"], sd["SerdeInfo"]["SerializationLibrary"]) == (
        hudi["InputFormat"],
        hudi["OutputFormat"],
        hudi["SerializationLibrary"],
    )
    assert sd["SerdeInfo"]["Parameters"] == {**hudi["SerdeParameters"], "path": location}
    assert hudi["SerdeParameters"]["path"] == str(base)
    theirs = _params(hudi["Parameters"])
    assert theirs.pop("spark.sql.create.version") == "3.5.4"
    assert theirs.pop("last_commit_completion_time_sync")
    mine = _params(ours["Parameters"])
    assert mine.pop(ddl.METADATA_LISTING) == "FALSE"
    assert mine == theirs
    partitions = sorted(
        "/".join(f"{k}={v}" for k, v in zip(["region"], ddl.partition_values(p, ["region"]), strict=True))
        for p in source.all_partitions()
    )
    assert partitions == hudi["Partitions"] == ["region=apac", "region=eu", "region=us"]


@pytest.fixture(autouse=True)
def _no_catalog_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
