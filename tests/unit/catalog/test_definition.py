"""The Glue table definition: Hive types as Hudi's HiveSchemaUtil writes them, columns that only
grow, partition values as MultiPartKeysValueExtractor reads them, and the Spark engine's hive
sync options stating the same contract."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tributary.catalog import definition as ddl
from tributary.config.table_options import RawTableOptions
from tributary.spark.options import hudi_options


@pytest.mark.parametrize(
    ("arrow", "hive"),
    [
        (pa.bool_(), "boolean"),
        (pa.int32(), "int"),
        (pa.int64(), "bigint"),
        (pa.float32(), "float"),
        (pa.float64(), "double"),
        (pa.string(), "string"),
        (pa.binary(), "binary"),
        (pa.date32(), "date"),
        (pa.decimal128(10, 2), "decimal(10,2)"),
        (pa.timestamp("us", tz="UTC"), "timestamp"),
        (pa.timestamp("ms"), "bigint"),  # TIMESTAMP_MILLIS is a plain INT64 to Hudi's sync
        (pa.time64("us"), "bigint"),
        (pa.list_(pa.int64()), "array<bigint>"),
        (pa.map_(pa.string(), pa.float64()), "map<string,double>"),
        (pa.struct([("a", pa.int32()), ("b-c", pa.string())]), "struct<a:int,b_c:string>"),
    ],
)
def test_hive_types(arrow: pa.DataType, hive: str) -> None:
    assert ddl.hive_type(arrow) == hive


def test_table_input_puts_meta_columns_first_and_partitions_apart() -> None:
    schema = ddl.with_meta_columns(pa.schema([("id", pa.int64()), ("day", pa.string()), ("v", pa.float64())]))
    table = ddl.table_input("orders", "s3://lake/orders", schema, ["day"], "20261201000000000")
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    assert names[:5] == list(ddl.META_COLUMNS) and names[5:] == ["id", "v"]
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "string", "Comment": ""}]
    assert table["Parameters"]["last_commit_time_sync"] == "20261201000000000"
    spark = json.loads(table["Parameters"]["spark.sql.sources.schema.part.0"])
    assert [f["name"] for f in spark["fields"]][-1] == "day"  # partition columns last, as Spark orders them
    assert (
        ddl.table_input("orders", "s3://lake/orders", schema, ["day"], None)["Parameters"].get("last_commit_time_sync")
        is None
    )


def test_a_long_schema_is_split_in_4000_character_parts() -> None:
    schema = pa.schema([(f"column_with_a_long_name_{i:04d}", pa.string()) for i in range(200)])
    props = ddl.spark_properties(schema, [])
    parts = int(props["spark.sql.sources.schema.numParts"])
    assert parts > 1
    text = "".join(props[f"spark.sql.sources.schema.part.{i}"] for i in range(parts))
    assert len(json.loads(text)["fields"]) == 200
    assert all(len(props[f"spark.sql.sources.schema.part.{i}"]) <= 4000 for i in range(parts))


def test_columns_are_never_dropped_and_widen_only_as_hudi_allows() -> None:
    existing = [{"Name": "a", "Type": "int"}, {"Name": "gone", "Type": "string"}, {"Name": "b", "Type": "float"}]
    wanted = [ddl.Column("a", "bigint"), ddl.Column("b", "string"), ddl.Column("c", "date")]
    merged = ddl.merge_columns(existing, wanted)
    assert [(c.name, c.type) for c in merged] == [("a", "bigint"), ("gone", "string"), ("b", "float"), ("c", "date")]


def test_an_unchanged_table_needs_no_update() -> None:
    schema = ddl.with_meta_columns(pa.schema([("id", pa.int64())]))
    table = ddl.table_input("t", "s3://lake/t", schema, [], "1")
    assert ddl.updated_table_input(table, schema, [], "1") is None
    assert ddl.updated_table_input(table, schema, [], "2") is not None
    wider = ddl.with_meta_columns(pa.schema([("id", pa.int64()), ("note", pa.string())]))
    update = ddl.updated_table_input(table, wider, [], None)
    assert update is not None and update["Parameters"]["last_commit_time_sync"] == "1"
    assert [c["Name"] for c in update["StorageDescriptor"]["Columns"]][-1] == "note"


@pytest.mark.parametrize(
    ("path", "fields", "values"),
    [
        ("region=eu", ["region"], ["eu"]),
        ("2026/11", ["y", "m"], ["2026", "11"]),
        ("a=1/b=x=y", ["a", "b"], ["1", "x=y"]),
    ],
)
def test_partition_values(path: str, fields: list[str], values: list[str]) -> None:
    assert ddl.partition_values(path, fields) == values


def test_a_partition_path_of_the_wrong_depth_is_refused() -> None:
    with pytest.raises(ValueError, match="does not have 2 level"):
        ddl.partition_values("region=eu", ["region", "day"])


def _table(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "table_name": "orders",
        "database_name": "raw",
        "record_key_fields": ["id"],
        "partition_fields": ["region"],
        "catalog": "glue",
        "options": RawTableOptions().model_dump(mode="json"),  # the typed options a RawTable dump carries
    }
    return {**base, **changes}


def test_spark_hive_sync_states_the_same_definition() -> None:
    opts = hudi_options(_table(), "upsert")
    assert opts["hoodie.datasource.hive_sync.support_timestamp"] == "true"  # timestamp-micros → timestamp
    assert opts["hoodie.datasource.hive_sync.sync_as_datasource"] == "true"  # the Spark properties
    assert opts["hoodie.datasource.hive_sync.create_managed_table"] == "false"  # EXTERNAL_TABLE
    assert opts["hoodie.datasource.hive_sync.omit_metadata_fields"] == "false"  # the five meta columns
    assert opts["hoodie.datasource.hive_sync.partition_extractor_class"].endswith("MultiPartKeysValueExtractor")
    assert opts["hoodie.datasource.hive_sync.partition_fields"] == "region"


def test_spark_hive_sync_honours_catalog_none() -> None:
    assert "hoodie.datasource.hive_sync.enable" not in hudi_options(_table(catalog="none"), "upsert")
