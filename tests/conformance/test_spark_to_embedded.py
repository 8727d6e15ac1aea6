"""Spark → embedded → Spark: Hudi's own writer creates the table, the embedded engine upserts and
deletes, Spark reads it as the oracle says, upserts with a BLOOM index without duplicating a key,
cleans and archives past 30 commits, and the embedded engine continues."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conformance.conftest import Version
from tests.conformance.helpers import active_commits, archived_names
from tests.conformance.spark_peer import SparkPeer
from tests.conformance.spark_tables import Index, SparkTable, write_options
from tributary.cdc import CdcOptions

RICH = pa.schema(
    [
        ("id", pa.string()),
        ("part", pa.string()),
        ("n", pa.int32()),
        ("big", pa.int64()),
        ("price", pa.decimal128(12, 2)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("tags", pa.list_(pa.string())),
        ("addr", pa.struct([("city", pa.string()), ("zip", pa.int32())])),
        ("items", pa.list_(pa.struct([("sku", pa.string()), ("qty", pa.int32())]))),
        ("upd", pa.int64()),
    ]
)
# every UTF-8 byte length mod 4, short ids ("10", "k1") and multi-byte characters
KEYS = [
    "7",
    "10",
    "42",
    "k1",
    "k12",
    "0:x",
    "abcd",
    "abcde",
    "key-0006",
    "key-00007",
    "é",
    "日本",
    "ab日",
    "zzzzzzzzzzzz",
]


def _rich_row(rng: random.Random, key: str, upd: int, op: str | None = None) -> dict:
    row = {
        "id": key,
        "part": "p1" if len(key.encode()) % 2 else "p2",  # stable: Spark's index is not global
        "n": rng.randint(-(2**31), 2**31 - 1),
        "big": rng.randint(-(2**63), 2**63 - 1),
        "price": Decimal(rng.randint(-(10**9), 10**9)) / 100,
        "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=rng.randint(0, 10**13)),
        "day": dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(-1000, 30000)),
        "tags": rng.choice([None, [], ["a"], ["x", "", "yz"]]),  # Hudi's writer refuses null elements
        "addr": rng.choice([None, {"city": f"c{upd}", "zip": rng.randint(0, 99999)}, {"city": None, "zip": None}]),
        "items": rng.choice([None, [], [{"sku": "s1", "qty": 1}, {"sku": "s2", "qty": upd}]]),
        "upd": upd,
    }
    return {"Op": op, **row} if op else row


def _rich_table(spark: SparkPeer, root: Path, tv: int, index: str, metadata: bool) -> SparkTable:
    name = "rich"
    options = write_options(name, ["id"], "upd", ["part"], index=index, metadata=metadata)
    cdc = CdcOptions(name, ("id",), "upd", partition_fields=("part",), table_version=tv)
    return SparkTable(spark, root, name, ("id",), "upd", RICH, options, cdc)


@pytest.mark.parametrize(
    ("index", "metadata"), [(Index.BLOOM, True), (Index.SIMPLE, False)], ids=["bloom-mdt", "simple-nomdt"]
)
def test_rich_types_spark_embedded_spark(
    tmp_path: Path, spark: SparkPeer, version: Version, index: str, metadata: bool
) -> None:
    rng = random.Random(f"{version.table_version}{index}")
    table = _rich_table(spark, tmp_path, version.table_version, index, metadata)
    ids = [*KEYS, *(f"r{i}" for i in range(10))]
    table.spark_write([_rich_row(rng, k, 1) for k in ids], operation="insert")
    table.assert_spark_reads_oracle()
    changes = [_rich_row(rng, k, 2, "U") for k in ["10", "k1", "abcd", "日本", "r3"]]
    changes += [_rich_row(rng, k, 2, "D") for k in ["7", "0:x", "r4"]]
    changes += [_rich_row(rng, k, 2, "I") for k in ["n1", "n22", "n333"]]
    table.embedded_apply(changes)
    table.assert_spark_reads_oracle()
    table.spark_write([_rich_row(rng, k, 3) for k in ["10", "k12", "n22", "r3", "new"]])
    table.assert_spark_reads_oracle()
    table.embedded_apply([_rich_row(rng, k, 4, "U") for k in ["k1", "new", "é"]] + [_rich_row(rng, "42", 4, "D")])
    table.assert_spark_reads_oracle()


KEY_SCHEMA = pa.schema([("id", pa.string()), ("part", pa.string()), ("v", pa.int64()), ("upd", pa.int64())])


def _key_row(key: str, upd: int, op: str | None = None) -> dict:
    row = {"id": key, "part": "p1" if len(key.encode()) % 2 else "p2", "v": upd * 1000 + len(key), "upd": upd}
    return {"Op": op, **row} if op else row


def test_keys_of_every_length_survive_bloom_upserts_and_maintenance(
    tmp_path: Path, spark: SparkPeer, version: Version
) -> None:
    """Every key Spark wrote and the embedded engine rewrote is found by Spark's BLOOM index
    (a missed key would be inserted twice); Spark cleans and archives a timeline of more than 30
    commits, most of them ours, without an error; then the embedded engine continues."""
    tv, rng = version.table_version, random.Random(version.table_version)
    more = [*(str(i) for i in range(10, 40)), *(f"k{i}" for i in range(10)), *("x" * n for n in range(1, 17))]
    keys = list(dict.fromkeys([*KEYS, *more]))
    options = write_options("keys", ["id"], "upd", ["part"], index=Index.BLOOM)
    cdc = CdcOptions("keys", ("id",), "upd", partition_fields=("part",), table_version=tv)
    table = SparkTable(spark, tmp_path, "keys", ("id",), "upd", KEY_SCHEMA, options, cdc)
    table.spark_write([_key_row(k, 1) for k in keys], operation="insert")
    # new keys of every byte length from the embedded engine too (they land in its bloom filters)
    fresh = [*(str(i) for i in range(50, 60)), "n", "n12", "n123", "n1234", "ñ", "新", "ñ新", "0:y"]
    changes = [_key_row(k, 2, "U") for k in keys[::2]] + [_key_row(k, 2, "D") for k in keys[1:12:5]]
    table.embedded_apply(changes + [_key_row(k, 2, "I") for k in fresh])
    table.assert_spark_reads_oracle()
    alive = sorted({r["id"] for r in table.oracle.state.values()})
    table.spark_write([_key_row(k, 3) for k in alive])  # every key again: the index must find each
    table.assert_spark_reads_oracle()
    upd = 3
    for _ in range(24):
        upd += 1
        table.embedded_apply([_key_row(k, upd, "U") for k in rng.sample(alive, 4)])
    maintenance = {
        "hoodie.clean.automatic": "true",
        "hoodie.cleaner.commits.retained": "10",
        "hoodie.keep.min.commits": "20",
        "hoodie.keep.max.commits": "30",
    }
    for _ in range(5):
        upd += 1
        table.spark_write([_key_row(k, upd) for k in rng.sample(alive, 5)], **maintenance)
    assert archived_names(table.path, tv), "Spark archived nothing past 30 commits"
    assert len(active_commits(table.path, tv)) <= 30
    table.assert_spark_reads_oracle()
    table.embedded_apply([_key_row(k, upd + 1, "U") for k in alive[:6]] + [_key_row(alive[-1], upd + 1, "D")])
    table.assert_spark_reads_oracle()
