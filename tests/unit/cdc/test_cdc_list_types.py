"""Lists named ``element`` (standard Parquet, DMS) and ``array`` (Hudi's parquet-avro 2-level
lists, required elements) are one logical type: Avro ``array<["null", T]>``."""

from __future__ import annotations

import pyarrow as pa

from tributary.cdc.files import CdcFile, FileKind
from tributary.cdc.schema import reconcile

SPARK_LIST = pa.list_(pa.field("array", pa.string(), nullable=False))
DMS_LIST = pa.list_(pa.field("element", pa.string()))


def test_standard_lists_match_a_spark_tables_array_lists_and_keep_its_naming() -> None:
    table = pa.schema(
        [
            ("id", pa.int64()),
            ("tags", SPARK_LIST),
            ("m", pa.map_(pa.string(), SPARK_LIST)),
            ("s", pa.struct([pa.field("xs", SPARK_LIST, nullable=False)])),
        ]
    )
    rows = pa.table(
        {
            "Op": ["U"],
            "id": pa.array([1], pa.int64()),
            "tags": pa.array([["a", None]], DMS_LIST),
            "m": pa.array([[("k", ["b"])]], pa.map_(pa.string(), DMS_LIST)),
            "s": pa.array([{"xs": ["c"]}], pa.struct([pa.field("xs", DMS_LIST)])),
        }
    )
    file = CdcFile("cdc/1.parquet", "/x/cdc/1.parquet", 10, 1, FileKind.CDC, "parquet")
    schema = reconcile([(file, rows)], table)
    assert schema.field("tags").type.value_field.name == "array"
    assert schema.field("tags").type.value_field.nullable  # the file's null element fits
    assert schema.field("m").type.item_type.value_field.name == "array"
    assert schema.field("s").type.field("xs").type.value_field.name == "array"
