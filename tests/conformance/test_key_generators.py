"""Key generators, Spark → embedded → Spark: Spark creates the table with a key generator, the
embedded engine upserts and deletes (its keys and partition paths must be the ones the table's
key generator gives), Spark reads the oracle's rows and upserts every key again with a BLOOM
index without a duplicate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conformance.conftest import Version
from tests.conformance.spark_peer import SparkPeer
from tests.conformance.spark_tables import Index, SparkTable, write_options
from tributary.cdc import CdcOptions

DAY_MS = 86_400_000
TIMESTAMP_KEYGEN = {
    "hoodie.keygen.timebased.timestamp.type": "EPOCHMILLISECONDS",
    "hoodie.keygen.timebased.output.dateformat": "yyyy/MM/dd",
    "hoodie.keygen.timebased.timezone": "UTC",
}
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("seq", pa.int64()),
        ("region", pa.string()),
        ("country", pa.string()),
        ("score", pa.float64()),
        ("event_ms", pa.int64()),
        ("v", pa.int64()),
        ("upd", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Case:
    id: str
    keygen: str
    keys: tuple[str, ...]
    partitions: tuple[str, ...]
    hive_style: bool = True
    index: str = Index.BLOOM
    extra: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("simple-hive", "SimpleKeyGenerator", ("id",), ("region",)),
    Case("simple-plain", "SimpleKeyGenerator", ("id",), ("region",), hive_style=False, index=Index.SIMPLE),
    Case("complex-one-field", "ComplexKeyGenerator", ("id",), ("region",)),
    Case("complex-many-plain", "ComplexKeyGenerator", ("id", "seq"), ("region", "country"), hive_style=False),
    Case("nonpartitioned", "NonpartitionedKeyGenerator", ("id",), ()),
    Case("timestamp-hive", "TimestampBasedKeyGenerator", ("id",), ("event_ms",), extra=TIMESTAMP_KEYGEN),
    # doubles in keys and partition paths are formatted as Java formats them ("1.0E20", "2.5E-5")
    Case("double-key-and-partition", "ComplexKeyGenerator", ("id", "score"), ("score",), hive_style=False),
]
SCORES = [1.0, 0.5, 2.5e-05, 1e20, -3.0, 123456789.125]


def _row(i: int, upd: int, op: str | None = None, *, move: bool = False) -> dict:
    row = {
        "id": ["7", "10", "k1", "0:x", "abcd", "key-05", "é", "日本"][i % 8] + ("" if i < 8 else str(i)),
        "seq": i % 3,
        "region": ["eu", "us"][(i + move) % 2],
        "country": ["de", "fr", "nl"][(i + move) % 3],
        "score": SCORES[i % len(SCORES)],
        "event_ms": 1_767_225_600_000 + (i % 3 + move) * DAY_MS + 12_345,
        "v": upd * 100 + i,
        "upd": upd,
    }
    return {"Op": op, **row} if op else row


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_key_generator_spark_embedded_spark(tmp_path: Path, spark: SparkPeer, version: Version, case: Case) -> None:
    name = case.id.replace("-", "_")
    options = write_options(
        name,
        case.keys,
        "upd",
        case.partitions,
        keygen=case.keygen,
        hive_style=case.hive_style,
        index=case.index,
        extra=case.extra,
    )
    cdc = CdcOptions(
        name,
        case.keys,
        "upd",
        partition_fields=case.partitions,
        hive_style_partitioning=case.hive_style,
        table_version=version.table_version,
    )
    timestamp_keys = case.keygen == "TimestampBasedKeyGenerator"
    read_as = {"event_ms": _timestamp_partition_read(version)} if timestamp_keys else {}
    table = SparkTable(spark, tmp_path, name, case.keys, "upd", SCHEMA, options, cdc, read_as=read_as)
    table.spark_write([_row(i, 1) for i in range(20)], operation="insert")
    table.assert_spark_reads_oracle()
    if timestamp_keys:
        _store_timestamp_keygen(table.path)
    before = _keys_and_paths(spark, table)
    changes = [_row(i, 2, "U") for i in (1, 2, 9)] + [_row(i, 2, "U", move=True) for i in (3, 12)]
    changes += [_row(i, 2, "D") for i in (4, 13)] + [_row(i, 2, "I") for i in (20, 21)]
    table.embedded_apply(changes)
    table.assert_spark_reads_oracle()
    # rows the embedded engine rewrote in place keep the key and partition path Spark gave them
    moved = {_row(i, 0)["id"] for i in (3, 12)} if case.partitions else set()
    after = _keys_and_paths(spark, table)
    assert {k: v for k, v in after.items() if k in before and k not in moved} == {
        k: v for k, v in before.items() if k in after and k not in moved
    }
    # inserted and moved rows: Spark's BLOOM upsert of every key finds each (no duplicate)
    # (each row in its current partition: with a non-global index a partition change is a new row)
    table.spark_write([{**r, "v": r["v"] + 1, "upd": 3} for r in table.oracle.state.values()])
    table.assert_spark_reads_oracle()


def _keys_and_paths(spark: SparkPeer, table: SparkTable) -> dict[str, tuple[str, str]]:
    """id -> (Hudi record key, partition path) as Spark reads them."""
    read = spark.read(table.path, columns=["id", "_hoodie_record_key", "_hoodie_partition_path"])
    return {r["id"]: (r["_hoodie_record_key"], r["_hoodie_partition_path"]) for r in read.to_pylist()}


def _store_timestamp_keygen(path: Path) -> None:
    """Hudi 0.x keeps the timestamp key generator's settings in the writer's options only; the
    table must carry them for another writer to give the same partition paths (the embedded
    engine's refusal says to add them to hoodie.properties). Hudi 1.x stores them itself."""
    props = path / ".hoodie" / "hoodie.properties"
    text = props.read_text()
    missing = [f"{k}={v}\n" for k, v in TIMESTAMP_KEYGEN.items() if f"{k}=" not in text]
    props.write_text(text + "".join(missing))
    (props.parent / ".hoodie.properties.crc").unlink(missing_ok=True)  # Hadoop's local checksum


def _timestamp_partition_read(version: Version) -> Callable[[int], str]:
    """How Spark reads a TimestampBasedKeyGenerator's partition column (seen with Spark-only
    tables): Hudi 0.15 gives the partition path's value, Hudi 1.0.2 the value as text."""
    if version.table_version == 6:
        return lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y/%m/%d")
    return str
