"""The Glue table definition of a Hudi Copy-on-Write table, as Hudi's own hive/glue sync writes it.

Hudi's ``HiveSyncTool`` with ``AWSGlueCatalogSyncClient`` (``hoodie.datasource.hive_sync.*``)
creates an ``EXTERNAL_TABLE`` whose storage descriptor names Hudi's input format, Hive's Parquet
output format and serde, lists every column of the table's Parquet schema (the five ``_hoodie``
meta columns first) except the partition fields, which become partition keys. Column types follow
``HiveSchemaUtil.convertField`` with ``support_timestamp`` on (timestamp-micros → ``timestamp``).
Table parameters carry ``EXTERNAL``, the Spark datasource properties
(``SparkDataSourceTableUtils``: provider ``hudi``, the Spark schema in 4000-character parts,
partition column names) and ``last_commit_time_sync``; the serde parameters carry ``path``,
``hoodie.query.as.ro.table`` and ``serialization.format``. A partition's storage descriptor is
the table's with the partition folder as location.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tributary.hudi.options import META_COLUMNS

INPUT_FORMAT = "org.apache.hudi.hadoop.HoodieParquetInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TABLE_TYPE = "EXTERNAL_TABLE"
LAST_COMMIT_TIME_SYNC = "last_commit_time_sync"
"""Table parameter Hudi's sync reads to find what changed since (HoodieSyncClient)."""
METADATA_LISTING = "hudi.metadata-listing-enabled"
"""Athena reads file listings from Hudi's metadata table when TRUE (the embedded writer keeps none)."""
SCHEMA_PART_LENGTH = 4000
"""hoodie.datasource.hive_sync.schema_string_length_threshold's default."""
#: widenings Hudi's sync applies to an existing column (HiveSchemaUtil.isSchemaTypeUpdateAllowed)
ALLOWED_WIDENINGS = {("int", "bigint"), ("float", "double")}


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    def as_glue(self) -> dict[str, str]:
        return {"Name": self.name, "Type": self.type, "Comment": ""}


def hive_type(t: pa.DataType) -> str:
    """The Hive type Hudi's sync writes for a column stored as Arrow type ``t`` in Parquet."""
    simple = (
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_date, "date"),
        (pa.types.is_float32, "float"),
        (pa.types.is_float64, "double"),
        (pa.types.is_string, "string"),
        (pa.types.is_large_string, "string"),
        (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
        (pa.types.is_fixed_size_binary, "binary"),
        (pa.types.is_time, "bigint"),
    )
    for test, name in simple:
        if test(t):
            return name
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        # Parquet TIMESTAMP_MICROS → timestamp; TIMESTAMP_MILLIS is a plain INT64 to Hudi's sync
        return "timestamp" if t.unit in ("us", "ns") else "bigint"
    if pa.types.is_integer(t):
        return "bigint" if t.bit_width == 64 or (pa.types.is_unsigned_integer(t) and t.bit_width == 32) else "int"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array<{hive_type(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{hive_type(t.key_type)},{hive_type(t.item_type)}>"
    if pa.types.is_struct(t):
        inner = ",".join(f"{f.name}:{hive_type(f.type)}" for f in t)
        return f"struct<{inner}>".replace("-", "_")
    raise TypeError(f"no Hive type for Arrow type {t}")


def _spark_type(t: pa.DataType) -> Any:
    """The Spark SQL type (JSON form) Spark reads for a Parquet column of Arrow type ``t``."""
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return {"type": "array", "elementType": _spark_type(t.value_type), "containsNull": True}
    if pa.types.is_map(t):
        return {
            "type": "map",
            "keyType": _spark_type(t.key_type),
            "valueType": _spark_type(t.item_type),
            "valueContainsNull": True,
        }
    if pa.types.is_struct(t):
        return {"type": "struct", "fields": [_spark_field(f.name, f.type) for f in t]}
    name = hive_type(t)
    return {"int": "integer", "bigint": "long"}.get(name, name)


def _spark_field(name: str, t: pa.DataType) -> dict[str, Any]:
    return {"name": name, "type": _spark_type(t), "nullable": True, "metadata": {}}


def with_meta_columns(data_schema: pa.Schema) -> pa.Schema:
    """The table's full schema: the five ``_hoodie`` string meta columns, then the data columns."""
    meta = [pa.field(name, pa.string(), True) for name in META_COLUMNS]
    return pa.schema(meta + [f for f in data_schema if f.name not in META_COLUMNS])


def table_columns(schema: pa.Schema, partition_fields: Sequence[str]) -> tuple[list[Column], list[Column]]:
    """(data columns, partition keys) of the full ``schema``; a partition field missing from the
    schema is a ``string`` key, as in Hudi's ``getPartitionKeyType``."""
    types = {f.name: hive_type(f.type) for f in schema}
    data = [Column(f.name, types[f.name]) for f in schema if f.name not in partition_fields]
    keys = [Column(p, types.get(p, "string")) for p in partition_fields]
    return data, keys


def spark_properties(schema: pa.Schema, partition_fields: Sequence[str]) -> dict[str, str]:
    """Spark datasource table properties: Spark reads the table as a Hudi table through them."""
    ordered = [f for f in schema if f.name not in partition_fields] + [f for f in schema if f.name in partition_fields]
    text = json.dumps(
        {"type": "struct", "fields": [_spark_field(f.name, f.type) for f in ordered]}, separators=(",", ":")
    )
    parts = [text[i : i + SCHEMA_PART_LENGTH] for i in range(0, len(text), SCHEMA_PART_LENGTH)]
    props = {"spark.sql.sources.provider": "hudi", "spark.sql.sources.schema.numParts": str(len(parts))}
    props.update({f"spark.sql.sources.schema.part.{i}": part for i, part in enumerate(parts)})
    if partition_fields:
        props["spark.sql.sources.schema.numPartCols"] = str(len(partition_fields))
        props.update({f"spark.sql.sources.schema.partCol.{i}": p for i, p in enumerate(partition_fields)})
    return props


def storage_descriptor(location: str, columns: Sequence[Column]) -> dict[str, Any]:
    return {
        "Columns": [c.as_glue() for c in columns],
        "Location": location,
        "InputFormat": INPUT_FORMAT,
        "OutputFormat": OUTPUT_FORMAT,
        "SerdeInfo": {
            "SerializationLibrary": SERDE,
            "Parameters": {"hoodie.query.as.ro.table": "false", "path": location, "serialization.format": "1"},
        },
    }


def table_input(
    name: str, location: str, schema: pa.Schema, partition_fields: Sequence[str], instant: str | None
) -> dict[str, Any]:
    """The Glue ``TableInput`` of a new table: ``schema`` is the full schema (meta columns first);
    ``instant`` None leaves ``last_commit_time_sync`` out (set once the partitions are in)."""
    data, keys = table_columns(schema, partition_fields)
    params = {"EXTERNAL": "TRUE", METADATA_LISTING: "FALSE"}
    if instant is not None:
        params[LAST_COMMIT_TIME_SYNC] = instant
    params.update(spark_properties(schema, partition_fields))
    return {
        "Name": name,
        "TableType": TABLE_TYPE,
        "Parameters": params,
        "PartitionKeys": [k.as_glue() for k in keys],
        "StorageDescriptor": storage_descriptor(location, data),
    }


def merge_columns(existing: Sequence[Mapping[str, Any]], wanted: Sequence[Column]) -> list[Column]:
    """The catalog's columns after a schema change: every existing column stays, in its place
    (a column is never dropped: old partitions and readers still name it); a type widens only
    as Hudi's sync allows; new columns are appended in the table's order."""
    wanted_types = {c.name: c.type for c in wanted}
    out: list[Column] = []
    for col in existing:
        name, old = str(col["Name"]), str(col.get("Type", "string"))
        new = wanted_types.get(name, old)
        out.append(Column(name, new if new == old or (old, new) in ALLOWED_WIDENINGS else old))
    known = {c.name for c in out}
    out.extend(c for c in wanted if c.name not in known)
    return out


def updated_table_input(
    current: Mapping[str, Any], schema: pa.Schema, partition_fields: Sequence[str], instant: str | None
) -> dict[str, Any] | None:
    """The ``TableInput`` that brings ``current`` (a Glue ``Table``) to ``schema`` and records
    ``instant`` as synced (None: leave the marker); None when nothing would change."""
    data, _ = table_columns(schema, partition_fields)
    sd = dict(current["StorageDescriptor"])
    columns = merge_columns(sd.get("Columns", []), data)
    params = dict(current.get("Parameters") or {})
    new_params = {**params, **spark_properties(schema, partition_fields)}
    if instant is not None:
        new_params[LAST_COMMIT_TIME_SYNC] = instant
    if [c.as_glue() for c in columns] == _plain_columns(sd.get("Columns", [])) and new_params == params:
        return None
    sd["Columns"] = [c.as_glue() for c in columns]
    out = {k: current[k] for k in ("Name", "TableType", "PartitionKeys") if k in current}
    out.update({"StorageDescriptor": sd, "Parameters": new_params})
    return out


def _plain_columns(columns: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"Name": c["Name"], "Type": c.get("Type", ""), "Comment": c.get("Comment", "")} for c in columns]


def partition_values(partition_path: str, partition_fields: Sequence[str]) -> list[str]:
    """Values of a partition folder (``a=1/b=2`` or ``1/2``), as Hudi's
    ``MultiPartKeysValueExtractor`` reads them."""
    parts = partition_path.split("/")
    if len(parts) != len(partition_fields):
        raise ValueError(f"partition path {partition_path!r} does not have {len(partition_fields)} level(s)")
    return [p.split("=", 1)[1] if "=" in p else p for p in parts]


def partition_input(table_sd: Mapping[str, Any], location: str, values: Sequence[str]) -> dict[str, Any]:
    """A partition: the table's storage descriptor with the partition folder as location."""
    sd = {k: v for k, v in table_sd.items()}
    sd["Location"] = location
    return {"Values": list(values), "StorageDescriptor": sd}
