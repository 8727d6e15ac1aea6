"""Timeline and table config of embedded-written tables, as Hudi's own Java code meets them.

Each case runs for table version 6 on Hudi 0.15.0 and version 8 on Hudi 1.0.2:
markers (Spark's rollback of our crashed write), cleaner plans and Hudi's archive formats
(Spark's archived-timeline reader and its own archiver on top of ours), event-time ordering in
``hoodie.properties`` (a Spark upsert honours the precombine field), and standard-named lists
continuing a Spark table whose lists are parquet-avro's 2-level ``array`` lists.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conformance.conftest import Version
from tests.conformance.spark_peer import SparkPeer
from tributary.hudi import HudiTable, TableOptions, WriteOperation
from tributary.hudi import file_writer as writer_mod
from tributary.hudi import instants as instants_mod
from tributary.storage import Storage

SCHEMA = pa.schema([("id", pa.int64()), ("p", pa.string()), ("v", pa.string()), ("ts", pa.int64())])


def rows(ids: list[int], tag: str, ts: int) -> pa.Table:
    return pa.table(
        {"id": ids, "p": [f"p{i % 2}" for i in ids], "v": [f"{tag}{i}" for i in ids], "ts": [ts] * len(ids)},
        schema=SCHEMA,
    )


def spark_options(**extra: str) -> dict[str, str]:
    return {
        "hoodie.table.name": "t",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "p",
        "hoodie.datasource.write.operation": "upsert",
        "hoodie.metadata.enable": "false",
        **extra,
    }


def spark_upsert(spark: SparkPeer, tmp_path: Path, uri: str, data: pa.Table, **extra: str) -> None:
    src = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}.parquet"
    pq.write_table(data, src)
    spark.write(uri, src, spark_options(**extra))


def snapshot(spark: SparkPeer, uri: str) -> list[tuple]:
    return sorted((r["id"], r["v"], r["ts"]) for r in spark.read(uri, columns=["id", "v", "ts"]).to_pylist())


def create(tmp_path: Path, version: Version, **kw: int) -> tuple[str, HudiTable]:
    uri = str(tmp_path / "t")
    opts = TableOptions(
        "t",
        ("id",),
        precombine_field="ts",
        partition_fields=("p",),
        hive_style_partitioning=False,
        table_version=version.table_version,
        **kw,  # type: ignore[arg-type]
    )
    return uri, HudiTable.create(uri, opts)


def test_spark_rolls_back_our_killed_write_by_its_markers(
    tmp_path: Path, spark: SparkPeer, version: Version, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, t = create(tmp_path, version)
    t.write(rows([0, 1, 2, 3], "a", 1))
    real, calls = writer_mod.write_base_file, []

    def killed(storage: Storage, path: str, *a: object, **k: object) -> int:
        calls.append(path)
        if len(calls) == 2:
            storage.write_bytes(path, b"PAR1 half written")
            raise SystemExit("kill -9")
        return real(storage, path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_mod, "write_base_file", killed)
    monkeypatch.setattr(instants_mod, "rollback_pending", lambda *a, **k: [])  # a hard kill cleans nothing up
    with pytest.raises(SystemExit):
        HudiTable.open(uri).write(rows([0, 1, 4, 5], "crash", 9))
    monkeypatch.undo()
    assert len(calls) == 2 and all((tmp_path / "t" / c).exists() for c in calls)

    spark_upsert(spark, tmp_path, uri, rows([6], "spark", 5))  # Hudi rolls the failed write back first
    assert not any((tmp_path / "t" / c).exists() for c in calls)
    expected = [(i, f"a{i}", 1) for i in range(4)] + [(6, "spark6", 5)]
    assert snapshot(spark, uri) == expected
    HudiTable.open(uri).write(rows([7], "ours", 5))  # and we continue the table
    assert snapshot(spark, uri) == [*expected, (7, "ours7", 5)]


def test_our_cleans_and_archive_meet_sparks_archiver(tmp_path: Path, spark: SparkPeer, version: Version) -> None:
    uri, t = create(tmp_path, version, clean_retain_commits=2, archive_min_instants=3, archive_max_instants=4)
    t.write(rows([0, 1, 2], "old", 1))
    t.write(rows([5, 6], "new", 2), operation=WriteOperation.INSERT_OVERWRITE_TABLE)
    written = [t.write(rows([5, 10 + n], f"u{n}-", 10 + n)).instant for n in range(6)]
    active = {c.instant for c in t.completed_commits()}
    ours_archived = [w for w in written if w not in active]
    assert ours_archived
    table = f"arch_v{version.table_version}"
    spark.sql(f"create table {table} using hudi location '{uri}'")
    listed = spark.sql(
        f"call show_archived_commits(table => '{table}', limit => 100, "
        "start_ts => '20000101000000000', end_ts => '29991231000000000')"
    )
    assert set(ours_archived) <= {r["commit_time"] for r in listed}
    expected = [(5, "u5-5", 15), (6, "new6", 2)] + [(10 + n, f"u{n}-{10 + n}", 10 + n) for n in range(6)]
    assert snapshot(spark, uri) == expected
    keep = {"hoodie.cleaner.commits.retained": "2", "hoodie.keep.min.commits": "3", "hoodie.keep.max.commits": "4"}
    for n in range(4):  # Spark cleans and archives our cleans and commits (fails on a bad plan)
        spark_upsert(spark, tmp_path, uri, rows([20 + n], "spark", 50), **keep)
    expected += [(20 + n, f"spark{20 + n}", 50) for n in range(4)]
    assert snapshot(spark, uri) == expected
    again = HudiTable.open(uri, clean_retain_commits=2, archive_min_instants=3, archive_max_instants=4)
    for n in range(3):
        again.write(rows([30 + n], "z", 60))
    assert snapshot(spark, uri) == [*expected, *((30 + n, f"z{30 + n}", 60) for n in range(3))]


def test_spark_upsert_honours_the_precombine_of_our_table(tmp_path: Path, spark: SparkPeer, version: Version) -> None:
    uri, t = create(tmp_path, version)
    t.write(rows([1, 2], "stored", 5))
    # no payload or merge-mode option: the table's properties decide, as on Hudi's own table
    spark_upsert(spark, tmp_path, uri, pa.concat_tables([rows([1], "older", 3), rows([2], "newer", 7)]))
    assert snapshot(spark, uri) == [(1, "stored1", 5), (2, "newer2", 7)]


def test_standard_lists_continue_a_spark_table_of_array_lists(
    tmp_path: Path, spark: SparkPeer, version: Version
) -> None:
    from tributary.cdc.files import CdcFile, FileKind
    from tributary.cdc.schema import reconcile

    uri = str(tmp_path / "t")
    tags = pa.list_(pa.field("element", pa.string()))
    schema = pa.schema([("id", pa.int64()), ("p", pa.string()), ("ts", pa.int64()), ("tags", tags)])
    first = pa.table({"id": [1, 2], "p": ["p0", "p0"], "ts": [1, 1], "tags": [["a"], ["b", "c"]]}, schema=schema)
    src = tmp_path / "first.parquet"
    pq.write_table(first, src)
    spark.write(uri, src, spark_options(), mode="overwrite")  # Hudi writes 2-level `array` lists
    t = HudiTable.open(uri)
    assert t.schema is not None
    assert t.schema.field("tags").type.value_field.name == "array"
    cdc = pa.table({"Op": ["U", "I"], "id": [2, 3], "p": ["p0", "p0"], "ts": [2, 2], "tags": [["z", "w"], None]})
    cdc = cdc.cast(pa.schema([("Op", pa.string()), *schema]))
    file = CdcFile("cdc/1.parquet", str(tmp_path / "cdc.parquet"), 1, 1, FileKind.CDC, "parquet")
    assert reconcile([(file, cdc)], t.schema).field("tags").type.value_field.name == "array"
    t.write(cdc.drop_columns(["Op"]))
    got = sorted((r["id"], r["tags"]) for r in spark.read(uri, columns=["id", "tags"]).to_pylist())
    assert got == [(1, ["a"]), (2, ["z", "w"]), (3, None)]
    # Hudi's merge reads our (3-level) file back when Spark updates a row in it
    later = pa.table({"id": [3, 4], "p": ["p0", "p0"], "ts": [3, 3], "tags": [["q"], ["r"]]}, schema=schema)
    pq.write_table(later, tmp_path / "later.parquet")
    spark.write(uri, tmp_path / "later.parquet", spark_options())
    got = sorted((r["id"], r["tags"]) for r in spark.read(uri, columns=["id", "tags"]).to_pylist())
    assert got == [(1, ["a"]), (2, ["z", "w"]), (3, ["q"]), (4, ["r"])]
