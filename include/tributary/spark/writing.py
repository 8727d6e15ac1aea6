"""The Hudi side of the job's table run: the table on storage, the one datasource write, and the
rows that write carries (shipped to the cluster with the job; needs pyspark and Hudi's bundle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tributary.spark.options import DELETE_FLAG, WRITE_SCHEMA_KEY

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def _jvm(spark: SparkSession) -> Any:
    """The py4j view of the driver's JVM (None only before a SparkContext starts)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "no running SparkContext"
    return jvm


def _hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = _jvm(spark)
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def table_exists(spark: SparkSession, target: str) -> bool:
    fs, path = _hadoop_path(spark, f"{target.rstrip('/')}/.hoodie")
    return bool(fs.exists(path))


def latest_instant(spark: SparkSession, target: str) -> str | None:
    """The newest completed commit-like instant on the table's timeline (v6 and v8 layouts)."""
    best: str | None = None
    for folder in (".hoodie", ".hoodie/timeline"):
        fs, path = _hadoop_path(spark, f"{target.rstrip('/')}/{folder}")
        if not fs.exists(path):
            continue
        for status in fs.listStatus(path):
            name = str(status.getPath().getName())
            stem, _, action = name.partition(".")
            if action in ("commit", "deltacommit", "replacecommit"):
                instant = stem.split("_")[0]
                best = max(best or instant, instant)
    return best


def writer_schema(rows: DataFrame, table_name: str) -> str:
    """The Avro schema of ``rows`` as Hudi's Spark writer derives it (record ``<table>_record`` in
    namespace ``hoodie.<table>``), by Hudi's own conversion."""
    jvm = _jvm(rows.sparkSession)
    convert = jvm.org.apache.hudi.AvroConversionUtils.convertStructTypeToAvroSchema
    return str(convert(rows._jdf.schema(), f"{table_name}_record", f"hoodie.{table_name}").toString())


def save_hudi(rows: DataFrame, options: Mapping[str, str], target: str) -> None:
    """The one datasource write of a table in a run (Hudi's Spark bundle must be on the classpath).

    Rows flagged with ``_hoodie_is_deleted`` are written with the flag left out of the written
    schema (``hoodie.write.schema``): Hudi reads the flag from the incoming row to delete its key,
    and the table keeps the columns the embedded engine writes (without the override Hudi adds the
    flag to the table as a column)."""
    opts = dict(options)
    if DELETE_FLAG in rows.columns:
        opts[WRITE_SCHEMA_KEY] = writer_schema(rows.drop(DELETE_FLAG), opts["hoodie.table.name"])
    rows.write.format("hudi").options(**opts).mode("append").save(target)


@dataclass(frozen=True)
class WriteRows:
    """The rows of a table's one write and what they do to the table."""

    rows: DataFrame
    inserted: int
    updated: int
    deleted: int


def _counts(rows: DataFrame, flagged: bool) -> tuple[int, int]:
    """(upserts, deletes) among ``rows``."""
    from pyspark.sql import functions as F

    if not flagged:
        return rows.count(), 0
    counts = {bool(r[0]): int(r[1]) for r in rows.groupBy(F.col(DELETE_FLAG)).count().collect()}
    return counts.get(False, 0), counts.get(True, 0)


def write_rows(rows: DataFrame, existing: DataFrame | None, keys: Sequence[str], upsert: bool) -> WriteRows:
    """The rows to write, with flagged deletes only for keys the table holds, and their counts.

    A delete of a key the table does not hold (DMS: inserted and deleted within the batch, or
    deleted before the table existed) is a no-op, and Hudi would route it to a new file group's
    create handle, which cannot write a row whose delete flag is not in the written schema.
    """
    from pyspark.sql import functions as F

    flagged = DELETE_FLAG in rows.columns
    if flagged and existing is None:  # a new table: nothing to delete, no flag to write
        rows, flagged = rows.where(~F.col(DELETE_FLAG)).drop(DELETE_FLAG), False
    elif flagged and existing is not None:
        held = rows.where(F.col(DELETE_FLAG)).join(existing.select(*keys), list(keys), "left_semi")
        rows = rows.where(~F.col(DELETE_FLAG)).unionByName(held)
    rows = rows.cache()
    upserts, deletes_n = _counts(rows, flagged)
    updated = 0
    if existing is not None and upsert and upserts:
        live = rows.where(~F.col(DELETE_FLAG)) if flagged else rows
        updated = live.join(existing.select(*keys), list(keys), "left_semi").count()
    return WriteRows(rows, upserts - updated, updated, deletes_n)
