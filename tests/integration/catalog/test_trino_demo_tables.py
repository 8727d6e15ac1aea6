"""README's demo tables through an Athena-class reader: the demo's dataset (small size) applied
to its 18 tables (config/tables/taxi_trips.yaml, the lake on S3 in moto), each registered in the
Glue catalog by the embedded engine; Trino's Hudi connector returns exactly the rows hudi-rs
reads, and the rows the generated source says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.cdc_factory import hudi_snapshot
from tests.conftest import REPO_ROOT
from tests.integration.processing.test_processor import register_all
from tests.trino_client import Trino
from tributary.config.service import apply_paths
from tributary.demo.dataset import SCHEMA, generate
from tributary.processing.batches import process_cadence
from tributary.settings import get_settings

pytestmark = pytest.mark.slow

LAKE = "tributary-lake"
COLUMNS = [f.name for f in SCHEMA]


def demo_config(home: Path) -> Path:
    """The example config's tables, cadences and templates; staging in the data folder and the
    Hudi tables on S3 (where Athena reads them)."""
    doc: dict[str, Any] = {}
    for path in (REPO_ROOT / "config/templates.yaml", REPO_ROOT / "config/cadences.yaml"):
        doc.update(yaml.safe_load(path.read_text()))
    tables = yaml.safe_load((REPO_ROOT / "config/tables/taxi_trips.yaml").read_text())["raw_tables"]
    for row in tables:
        name = row["source_table"]
        row["staging_prefix"] = f"staging/taxi_trips/{name}"
        row["target_uri"] = f"s3://{LAKE}/raw/taxi_trips/{name}"
    doc["raw_tables"] = tables
    path = home / "demo-tables.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _plain(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):  # Hive timestamp → Trino/Athena timestamp(3), UTC session
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return value


def test_trino_reads_every_demo_table_as_hudi_rs_does(
    trino: Trino, aws: str, migrated_db: str, tributary_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIBUTARY_CATALOG_SYNC", "on")
    get_settings.cache_clear()
    boto3.client("s3", endpoint_url=aws, region_name="us-east-1").create_bucket(Bucket=LAKE)
    apply_paths([demo_config(tributary_home)])

    def land(rel: str, data: bytes) -> None:
        table, _, rest = rel.partition("/")
        path = tributary_home / "staging/taxi_trips" / table / rest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def apply(_phase: str) -> None:
        register_all(tributary_home)
        for cadence in ("every_10_minutes", "every_minute"):
            assert process_cadence(cadence).failed == []

    expected = generate(land, tributary_home / "expected.json", 300, after_phase=apply)
    select = ", ".join(COLUMNS)
    glue = boto3.client("glue", endpoint_url=aws, region_name="us-east-1")
    assert len(glue.get_tables(DatabaseName="raw_taxi_trips")["TableList"]) == 18
    for table_id, exp in expected.items():
        name = table_id.split(".")[1]
        hudi = hudi_snapshot(f"s3://{LAKE}/raw/taxi_trips/{name}", COLUMNS).to_pylist()
        want = sorted(tuple(_plain(v) for v in r.values()) for r in hudi)
        got = sorted(tuple(r) for r in trino.query(f"SELECT {select} FROM hudi.raw_taxi_trips.{name}"))
        assert got == want, table_id
        assert len(got) == exp["rows"], table_id
        fare = trino.scalar(f"SELECT round(sum(fare_amount), 2) FROM hudi.raw_taxi_trips.{name}")
        assert abs(fare - exp["fare_sum"]) < 0.01, table_id
    tracked = expected["taxi_trips.table_10"]["tracked_key"]
    assert trino.query(
        f"SELECT fare_amount FROM hudi.raw_taxi_trips.table_10 WHERE trip_id = {int(tracked['trip_id'])}"
    ) == [[tracked["fare_amount"]]]
    print(json.dumps({"tables": len(expected), "rows": sum(e["rows"] for e in expected.values())}))
