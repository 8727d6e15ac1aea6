"""An Athena-class reader (Trino's Hudi connector on the Glue catalog, both on moto) reads every
table the embedded engine registered exactly as hudi-rs reads it: after a full load, after
updates, deletes, a new partition and a new column; and a filter on the partition key prunes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
import yaml

from tests.cdc_factory import DmsFolder, hudi_snapshot
from tests.integration.processing.test_processor import register_all
from tests.trino_client import Trino, TrinoQueryError
from tributary.config.service import apply_paths
from tributary.processing.batches import process_cadence
from tributary.settings import get_settings

LAKE = "tributary-lake"
TABLES = {"t1": ["region"], "t2": []}  # one partitioned table, one not


def config(home: Path) -> Path:
    tables = [
        {
            "source_schema": "shop",
            "source_table": name,
            "staging_prefix": f"staging/shop/{name}",
            "target_uri": f"s3://{LAKE}/raw/shop/{name}",
            "database_name": "raw_shop",
            "table_name": name,
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "partition_fields": parts,
            "refresh_cadence": "fast",
        }
        for name, parts in TABLES.items()
    ]
    doc = {
        "templates": [{"template_id": "cdc_to_hudi", "kind": "cdc_to_hudi"}],
        "refresh_cadences": [{"cadence_id": "fast", "schedule": "*/10 * * * *", "batch_size": 5}],
        "raw_tables": tables,
    }
    path = home / "tables.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


pytestmark = pytest.mark.slow

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ts", pa.int64()),
        ("amount", pa.float64()),
        ("region", pa.string()),
        ("picked_up", pa.timestamp("us", tz="UTC")),
        ("fare", pa.decimal128(10, 2)),
    ]
)


def row(i: int, ts: int, op: str | None = None, amount: float = 1.0, region: str | None = None) -> dict[str, Any]:
    from datetime import UTC, datetime
    from decimal import Decimal

    out = {
        "id": i,
        "ts": ts,
        "amount": amount * i,
        "region": region or ("eu" if i % 2 else "us"),
        "picked_up": datetime(2026, 11, 1 + i % 20, 8, i % 60, tzinfo=UTC),
        "fare": Decimal(f"{i}.{ts:02d}"),
    }
    return {"Op": op, **out} if op else out


def expected(uri: str, columns: list[str]) -> list[tuple[Any, ...]]:
    table = hudi_snapshot(uri, columns)
    return sorted(tuple(_plain(v) for v in r.values()) for r in table.to_pylist())


def _plain(value: Any) -> Any:
    """A value as Trino's JSON protocol returns it: decimals as strings, a Hive ``timestamp``
    column as Trino's (and Athena's) ``timestamp(3)``, in the session zone (UTC here)."""
    from datetime import datetime
    from decimal import Decimal

    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, Decimal):
        return str(value)
    return value


def read(trino: Trino, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    select = ", ".join(columns)
    return sorted(tuple(r) for r in trino.query(f"SELECT {select} FROM hudi.raw_shop.{table}"))


def assert_same(trino: Trino, columns: list[str]) -> None:
    for name in TABLES:
        uri = f"s3://{LAKE}/raw/shop/{name}"
        rows = read(trino, name, columns)
        assert rows == expected(uri, columns), name
        assert trino.scalar(f"SELECT count(*) FROM hudi.raw_shop.{name}") == len(rows)


@pytest.fixture
def lake(aws: str, migrated_db: str, tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIBUTARY_CATALOG_SYNC", "on")
    get_settings.cache_clear()
    boto3.client("s3", endpoint_url=aws, region_name="us-east-1").create_bucket(Bucket=LAKE)
    apply_paths([config(tributary_home)])
    return tributary_home


def land(home: Path, rows: list[dict[str, Any]], *, load: bool) -> None:
    for name in TABLES:
        folder = DmsFolder(home / f"staging/shop/{name}")
        folder._cdc_counter = len(list(folder.root.glob("2026*")))
        schema = SCHEMA if load else None
        if load:
            folder.load(rows, schema=schema)
        else:
            folder.cdc(rows)
    register_all(home)


def test_trino_reads_what_hudi_rs_reads_through_the_glue_catalog(trino: Trino, lake: Path, aws: str) -> None:
    columns = ["id", "ts", "amount", "region", "picked_up", "fare"]
    land(lake, [row(i, 1) for i in range(20)], load=True)
    assert process_cadence("fast").failed == []
    assert_same(trino, columns)
    assert trino.scalar("SELECT count(*) FROM hudi.raw_shop.t1 WHERE region = 'eu'") == 10

    # updates, deletes, a new partition and a new column, in one CDC file per table
    cdc = [row(1, 2, "U", amount=10), row(2, 2, "U", amount=10), row(3, 2, "D"), row(4, 2, "D")]
    cdc = [{**r, "note": None} for r in cdc] + [{**row(100, 2, "I", region="apac"), "note": "new column"}]
    land(lake, cdc, load=False)
    assert process_cadence("fast").failed == []
    assert_same(trino, [*columns, "note"])
    assert trino.scalar("SELECT count(*) FROM hudi.raw_shop.t1") == 19
    assert trino.query("SELECT id, note FROM hudi.raw_shop.t1 WHERE region = 'apac'") == [[100, "new column"]]
    assert trino.scalar("SELECT amount FROM hudi.raw_shop.t2 WHERE id = 1") == 10.0

    # pruning: break every data file of partition 'us' behind Hudi's back; a query that names
    # only 'eu' never opens them, a query over every partition does
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=LAKE, Prefix="raw/shop/t1/region=us/")["Contents"]
    broken = [o["Key"] for o in listed if o["Key"].endswith(".parquet")]
    assert broken
    for key in broken:
        s3.put_object(Bucket=LAKE, Key=key, Body=b"not parquet")
    assert trino.scalar("SELECT count(*) FROM hudi.raw_shop.t1 WHERE region = 'eu'") == 9
    with pytest.raises(TrinoQueryError):
        trino.query("SELECT sum(amount) FROM hudi.raw_shop.t1")
