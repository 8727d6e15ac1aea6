"""Spark-written tables for the Spark → embedded → Spark cases: Hudi write options, and one round
of "Spark writes, the embedded engine applies DMS files, Spark reads" checked against the oracle."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.cdc_factory import DmsFolder, Oracle, Row
from tests.conformance.helpers import duplicate_keys, parquet_of, table_rows
from tests.conformance.spark_peer import SparkPeer
from tributary.cdc import CdcOptions, apply_pending
from tributary.errors import UnsupportedTableError


class Index:
    BLOOM = "BLOOM"
    SIMPLE = "SIMPLE"


@dataclass
class SparkTable:
    """One table, written by Spark and by the embedded engine in turns, with its oracle."""

    spark: SparkPeer
    root: Path
    name: str
    keys: tuple[str, ...]
    precombine: str
    schema: pa.Schema
    """The data columns (no ``Op``)."""
    options: dict[str, str]
    """Hudi write options of the first Spark write (key generator, partitioning, index, ...)."""
    cdc_options: CdcOptions
    read_as: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Columns Spark reads back transformed (e.g. a partition column as its path value): how
    the oracle's value reads in Spark."""
    oracle: Oracle = field(init=False)
    dms: DmsFolder = field(init=False)
    spark_writes: int = 0

    def __post_init__(self) -> None:
        self.oracle = Oracle(self.keys, self.precombine)
        self.dms = DmsFolder(self.root / "src")

    @property
    def path(self) -> Path:
        return self.root / "lake" / self.name

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def spark_write(self, rows: Sequence[Row], operation: str = "upsert", **extra: str) -> None:
        """Spark writes ``rows`` (every row an upsert); ``extra`` overrides write options."""
        self.spark_writes += 1
        data = parquet_of(rows, self.schema, self.root / "spark_in" / f"w{self.spark_writes:04d}.parquet")
        options = {**self.options, "hoodie.datasource.write.operation": operation, **extra}
        self.spark.write(self.path, data, options)
        self.oracle.apply_run([rows])

    def embedded_apply(self, changes: Sequence[Row]) -> None:
        """The embedded engine applies one DMS change file (rows with ``Op``).

        A table with a metadata table is refused (the embedded writer cannot keep it in step):
        the error must say how to disable it, and after Spark's next write without it (which
        drops it, as the error says) the file is applied.
        """
        schema = pa.schema([pa.field("Op", pa.string()), *self.schema])
        self.dms.cdc(changes, schema=schema)
        try:
            result = apply_pending(str(self.dms.root), str(self.path), self.cdc_options)
        except UnsupportedTableError as exc:
            assert "metadata table" in str(exc) and "hoodie.metadata.enable=false" in str(exc), str(exc)
            self.options["hoodie.metadata.enable"] = "false"
            self.spark_write([next(iter(self.oracle.state.values()))])
            result = apply_pending(str(self.dms.root), str(self.path), self.cdc_options)
        assert result.instant is not None
        self.oracle.apply_run([changes])

    def assert_spark_reads_oracle(self) -> None:
        """Spark's snapshot equals the oracle, and no record key appears twice."""
        table = self.spark.read(self.path)
        assert duplicate_keys(table) == {}, "record keys that appear more than once (key: count)"
        expected = self.oracle.snapshot(self.columns)
        for row in expected:
            for c, how in self.read_as.items():
                row[c] = None if row[c] is None else how(row[c])
        assert table_rows(table, self.columns, self.keys) == expected


def write_options(
    name: str,
    keys: Sequence[str],
    precombine: str,
    partitions: Sequence[str],
    *,
    keygen: str | None = None,
    hive_style: bool = True,
    index: str = Index.BLOOM,
    metadata: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    options = {
        "hoodie.table.name": name,
        "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
        "hoodie.datasource.write.recordkey.field": ",".join(keys),
        "hoodie.datasource.write.precombine.field": precombine,
        "hoodie.datasource.write.partitionpath.field": ",".join(partitions),
        "hoodie.datasource.write.hive_style_partitioning": str(hive_style).lower(),
        "hoodie.index.type": index,
        "hoodie.metadata.enable": str(metadata).lower(),
        # no bin-packing of inserts into existing small files: there Hudi's merge would hide a
        # key the index missed; in a new file it is a duplicate, as with production-size files
        "hoodie.parquet.small.file.limit": "0",
    }
    if keygen:
        options["hoodie.datasource.write.keygenerator.class"] = f"org.apache.hudi.keygen.{keygen}"
    return {**options, **(extra or {})}
