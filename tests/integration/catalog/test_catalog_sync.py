"""Glue Data Catalog sync after each commit, on a real moto server: Hudi's own table definition,
partitions in step, columns evolved (never dropped), cheap when nothing changed, and a catalog
outage that loses nothing and is finished by the next run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from tests.cdc_factory import DmsFolder, completed_commits
from tests.integration.processing.conftest import write_config
from tests.integration.processing.test_processor import register_all, rows
from tributary.catalog.state import get_record
from tributary.config.service import apply_paths, load_db_config
from tributary.metadata.db import session_scope
from tributary.metadata.models import AlertOutboxRow, CdcFileRow
from tributary.processing.batches import process_cadence
from tributary.settings import get_settings

META = [
    "_hoodie_commit_time",
    "_hoodie_commit_seqno",
    "_hoodie_record_key",
    "_hoodie_partition_path",
    "_hoodie_file_name",
]


@pytest.fixture
def glue(aws: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TRIBUTARY_CATALOG_SYNC", "on")
    get_settings.cache_clear()
    return boto3.client("glue", endpoint_url=aws, region_name="us-east-1")


@pytest.fixture
def shop(migrated_db: str, tributary_home: Path) -> Callable[..., Path]:
    def _configure(n_tables: int = 1, **kwargs: Any) -> Path:
        apply_paths([write_config(tributary_home, n_tables, partitioned=True, **kwargs)])
        return tributary_home

    return _configure


def land(home: Path, table: int, load: list[dict] | None = None, cdc: list[dict] | None = None) -> None:
    folder = DmsFolder(home / f"staging/shop/t{table}")
    folder._load_counter = len(list(folder.root.glob("LOAD*")))
    folder._cdc_counter = len(list(folder.root.glob("2026*")))
    if load:
        folder.load(load)
    if cdc:
        folder.cdc(cdc)
    register_all(home)


def partitions(glue: Any, table: str = "t1") -> dict[tuple[str, ...], str]:
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName="raw_shop", TableName=table)
    return {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for page in pages for p in page["Partitions"]}


def test_first_commit_registers_the_table_as_hudi_sync_does(glue: Any, shop: Callable[..., Path]) -> None:
    home = shop(1)
    land(home, 1, load=rows(range(10), ts=1))
    result = process_cadence("fast")
    assert result.failed == []
    instant = completed_commits(home / "lake/shop/t1")[-1]["instant"]

    table = glue.get_table(DatabaseName="raw_shop", Name="t1")["Table"]
    location = "file://" + str((home / "lake/shop/t1").resolve())
    sd = table["StorageDescriptor"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert sd["InputFormat"] == "org.apache.hudi.hadoop.HoodieParquetInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sd["SerdeInfo"]["Parameters"] == {
        "hoodie.query.as.ro.table": "false",
        "path": location,
        "serialization.format": "1",
    }
    assert sd["Location"] == location
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [(m, "string") for m in META] + [
        ("id", "bigint"),
        ("ts", "bigint"),
        ("amount", "double"),
    ]
    assert [(c["Name"], c["Type"]) for c in table["PartitionKeys"]] == [("region", "string")]
    params = table["Parameters"]
    assert params["EXTERNAL"] == "TRUE" and params["spark.sql.sources.provider"] == "hudi"
    assert params["last_commit_time_sync"] == instant
    assert (
        params["spark.sql.sources.schema.numPartCols"] == "1"
        and params["spark.sql.sources.schema.partCol.0"] == "region"
    )
    spark = json.loads(params["spark.sql.sources.schema.part.0"])
    assert [f["name"] for f in spark["fields"]] == [*META, "id", "ts", "amount", "region"]
    assert {f["name"]: f["type"] for f in spark["fields"]}["id"] == "long"
    assert partitions(glue) == {("eu",): f"{location}/region=eu", ("us",): f"{location}/region=us"}
    record = get_record("shop.t1")
    assert record is not None and record.status == "synced" and record.synced_instant == instant
    assert record.partitions == 2 and record.columns == 8


def test_nothing_changed_writes_nothing_and_evolution_reaches_the_catalog(glue: Any, shop: Callable[..., Path]) -> None:
    home = shop(1)
    land(home, 1, load=rows(range(10), ts=1))
    process_cadence("fast")
    versions = len(glue.get_table_versions(DatabaseName="raw_shop", TableName="t1")["TableVersions"])

    again = process_cadence("fast")
    assert again.tables["shop.t1"].status == "idle"
    assert len(glue.get_table_versions(DatabaseName="raw_shop", TableName="t1")["TableVersions"]) == versions

    # a new column and a new partition arrive in one CDC file
    new = [{"Op": "I", "id": 50, "ts": 3, "amount": 5.0, "region": "apac", "note": "hello"}]
    land(home, 1, cdc=new)
    result = process_cadence("fast")
    assert result.failed == []
    table = glue.get_table(DatabaseName="raw_shop", Name="t1")["Table"]
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names == [*META, "id", "ts", "amount", "note"]
    assert ("apac",) in partitions(glue)
    assert table["Parameters"]["last_commit_time_sync"] == completed_commits(home / "lake/shop/t1")[-1]["instant"]
    assert get_record("shop.t1").partitions == 3  # type: ignore[union-attr]


def test_a_column_missing_from_the_table_schema_is_never_dropped(glue: Any, shop: Callable[..., Path]) -> None:
    home = shop(1)
    land(home, 1, load=rows(range(4), ts=1))
    process_cadence("fast")
    table = glue.get_table(DatabaseName="raw_shop", Name="t1")["Table"]
    sd = table["StorageDescriptor"]
    sd["Columns"].append({"Name": "legacy", "Type": "string"})  # e.g. added by an analyst or an old schema
    glue.update_table(
        DatabaseName="raw_shop",
        TableInput={k: table[k] for k in ("Name", "TableType", "PartitionKeys", "Parameters")}
        | {"StorageDescriptor": sd},
    )
    land(home, 1, cdc=[{"Op": "U", "id": 1, "ts": 2, "amount": 9.0, "region": "eu"}])
    assert process_cadence("fast").failed == []
    columns = glue.get_table(DatabaseName="raw_shop", Name="t1")["Table"]["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns][-1] == "legacy"


def test_catalog_outage_loses_nothing_and_the_next_run_finishes_the_sync(
    glue: Any, shop: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port

    home = shop(1)
    land(home, 1, load=rows(range(6), ts=1))
    port = free_port()
    down = f"http://127.0.0.1:{port}"  # nothing listens here yet: the catalog is down
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", down)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()

    failed = process_cadence("fast")
    outcome = failed.tables["shop.t1"]
    assert outcome.status == "failed" and "catalog sync of raw_shop.t1 failed" in (outcome.error or "")
    commits = completed_commits(home / "lake/shop/t1")
    assert len(commits) == 1
    with session_scope() as s:
        assert {f.status for f in s.scalars(select(CdcFileRow))} == {"processed"}
        alerts = [a.message for a in s.scalars(select(AlertOutboxRow))]
    assert any("catalog sync" in json.dumps(m) for m in alerts)
    record = get_record("shop.t1")
    assert record is not None and record.status == "failed" and record.synced_instant is None

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()  # the catalog is back (moto's state lives in this process)
    try:
        again = process_cadence("fast")
        assert again.tables["shop.t1"].status == "idle" and again.failed == []
        assert len(completed_commits(home / "lake/shop/t1")) == 1  # no file applied twice
        catalog = boto3.client("glue", endpoint_url=down, region_name="us-east-1")
        table = catalog.get_table(DatabaseName="raw_shop", Name="t1")["Table"]
        assert table["Parameters"]["last_commit_time_sync"] == commits[0]["instant"]
        assert set(partitions(catalog)) == {("eu",), ("us",)}
        assert get_record("shop.t1").status == "synced"  # type: ignore[union-attr]
    finally:
        server.stop()


def test_a_sync_that_stops_half_way_is_finished_by_the_next_run(
    glue: Any, shop: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table is created, then adding partitions fails: the recorded commit does not move, and
    the next run (no new files) adds the partitions and records the commit."""
    from tributary.catalog import glue as glue_module

    home = shop(1)
    land(home, 1, load=rows(range(6), ts=1))
    real = glue_module.GlueCatalog.add_partitions

    def broken(self: Any, parts: Any) -> int:
        raise glue_module.CatalogError("simulated: the connection dropped while adding partitions")

    monkeypatch.setattr(glue_module.GlueCatalog, "add_partitions", broken)
    assert process_cadence("fast").tables["shop.t1"].status == "failed"
    table = glue.get_table(DatabaseName="raw_shop", Name="t1")["Table"]
    assert "last_commit_time_sync" not in table["Parameters"] and partitions(glue) == {}

    monkeypatch.setattr(glue_module.GlueCatalog, "add_partitions", real)
    assert process_cadence("fast").failed == []
    assert set(partitions(glue)) == {("eu",), ("us",)}
    assert get_record("shop.t1").status == "synced"  # type: ignore[union-attr]
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CdcFileRow).where(CdcFileRow.status != "processed")) == 0


def test_catalog_none_opts_out(glue: Any, migrated_db: str, tributary_home: Path) -> None:
    extra = {
        "source_schema": "shop",
        "source_table": "quiet",
        "staging_prefix": "staging/shop/quiet",
        "target_uri": "lake/shop/quiet",
        "database_name": "Raw_Shop",  # not a catalog name, allowed: nothing is registered
        "table_name": "Quiet",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": "fast",
        "catalog": "none",
    }
    apply_paths([write_config(tributary_home, 0, extra_tables=[extra])])
    DmsFolder(tributary_home / "staging/shop/quiet").load(rows(range(3), ts=1))
    register_all(tributary_home)
    assert process_cadence("fast").failed == []
    assert glue.get_databases()["DatabaseList"] == []
    assert get_record("shop.quiet") is None
    assert load_db_config().tables["shop.quiet"].catalog.value == "none"


def table_rows(out: str, word: str) -> list[str]:
    """Rows of the printed rich table that hold ``word`` (log lines may share stdout)."""
    return [line for line in out.splitlines() if line.startswith("│") and word in line]


def test_cli_registers_existing_tables_and_shows_their_state(
    glue: Any, shop: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import run_cli

    home = shop(2)
    for t in (1, 2):
        land(home, t, load=rows(range(5), ts=1))
    monkeypatch.setenv("TRIBUTARY_CATALOG_SYNC", "off")  # tables written before the catalog was on
    get_settings.cache_clear()
    assert process_cadence("fast").failed == []
    assert glue.get_databases()["DatabaseList"] == []
    code, out, _ = run_cli("catalog", "status")
    assert code == 0 and len(table_rows(out, "behind")) == 2

    code, out, err = run_cli("catalog", "sync")
    assert code == 0, err
    assert len(table_rows(out, "created")) == 2
    assert {t["Name"] for t in glue.get_tables(DatabaseName="raw_shop")["TableList"]} == {"t1", "t2"}
    code, out, _ = run_cli("catalog", "status", "--table", "shop.t1")
    assert code == 0 and len(table_rows(out, "in step")) == 1 and not table_rows(out, "shop.t2")
    code, out, _ = run_cli("catalog", "sync", "--table", "shop.t2")
    assert code == 0 and len(table_rows(out, "unchanged")) == 1

    code, _, err = run_cli("catalog", "sync", "--table", "shop.nope")
    assert code != 0 and "raw table 'shop.nope' is not configured" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("field", "value"),
    [("database_name", "RawShop"), ("table_name", "_t1"), ("table_name", "Orders")],
)
def test_a_name_the_catalog_cannot_hold_is_a_config_error(
    field: str, value: str, tributary_home: Path, migrated_db: str
) -> None:
    from tests.conftest import run_cli

    extra = {
        "source_schema": "shop",
        "source_table": "bad",
        "staging_prefix": "staging/shop/bad",
        "target_uri": "lake/shop/bad",
        "database_name": "raw_shop",
        "table_name": "bad",
        "record_key_fields": ["id"],
        "refresh_cadence": "fast",
        field: value,
    }
    path = write_config(tributary_home, 0, extra_tables=[extra])
    code, out, err = run_cli("config", "validate", str(path))
    text = out + err
    assert code != 0
    assert f"raw_tables row 'shop.bad' field '{field}': {value!r} is not a valid Glue/Athena name" in text
    assert "Traceback" not in text


def test_partitions_are_added_in_batches_of_100_and_again_is_harmless(glue: Any) -> None:
    import pyarrow as pa

    from tributary.catalog import definition as ddl
    from tributary.catalog.glue import GlueCatalog

    catalog = GlueCatalog("raw_many", "events", glue)
    catalog.ensure_database()
    schema = ddl.with_meta_columns(pa.schema([("id", pa.int64()), ("day", pa.string())]))
    catalog.create_table(ddl.table_input("events", "s3://lake/events", schema, ["day"], None))
    sd = catalog.get_table()["StorageDescriptor"]  # type: ignore[index]
    days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 10) for d in range(1, 29)][:250]
    parts = [ddl.partition_input(sd, f"s3://lake/events/day={d}", [d]) for d in days]
    calls: list[int] = []
    real = glue.batch_create_partition

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["PartitionInputList"]))
        return real(**kwargs)

    glue.batch_create_partition = counting
    assert catalog.add_partitions(parts) == 250
    assert calls == [100, 100, 50]
    assert catalog.add_partitions(parts[:120]) == 120  # already there: not an error
    assert len(catalog.all_partition_values()) == 250
    assert catalog.existing_partition_values([[days[0]], ["1999-01-01"]]) == {(days[0],)}


def test_the_ops_page_state_shows_the_catalog_entry(glue: Any, shop: Callable[..., Path]) -> None:
    """The table page's catalog slot, read inside the page's own session (on SQLite a second
    session would wait for the lock)."""
    from tributary.ops.detail import catalog_state

    home = shop(2)
    land(home, 1, load=rows(range(3), ts=1))
    assert process_cadence("fast").failed == []
    with session_scope() as s:
        one, two = catalog_state(s, "shop.t1"), catalog_state(s, "shop.t2")
    assert (one["state"], one["name"]) == ("in step", "raw_shop.t1")
    assert one["synced_instant"] == get_record("shop.t1").synced_instant  # type: ignore[union-attr]
    assert one["synced_instant"] == one["latest_instant"] and one["error"] is None
    assert two["state"] == "no commit yet"
