"""DMS CDC semantics (DMS-CDC-FORMAT.md) as Spark DataFrame transformations.

The same rules as the local engine (:mod:`tributary.cdc.merge`), written for Spark:

- every pending file of a table is read on its own, with ``Op`` normalised as the first column
  (``I`` when a full-load file has none), a file ordinal (DMS order) and a row ordinal (file
  order: ``monotonically_increasing_id`` grows with the file offset within one file);
- one schema for all files: the existing table's columns first, new columns appended as
  nullable, types widened (integers, integer/float to double, decimals); anything else is a
  :class:`~tributary.errors.CdcFileError` naming the file and column;
- current-snapshot mode: per record key the winner is the greatest precombine value, then the
  latest file, then the latest row (``row_number`` over a window); a winning ``D`` is a delete,
  ``I``/``U`` an upsert. Both go to Hudi in one upsert (one commit, never half applied): deletes
  are rows with ``_hoodie_is_deleted`` true. A reload makes the winners the whole table
  (``insert_overwrite_table``, deletes dropped);
- historical mode: every change is a row, keeping ``Op``, keyed by the change id
  ``<file>#<row>`` (``<path>@<mtime_ns>`` for full-load files, as the local engine does).

Only the standard library and pyspark (imported lazily) are used: this module ships to Glue.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

from tributary.errors import CdcFileError
from tributary.modes import WriteOperationType
from tributary.spark.options import CHANGE_ID_COLUMN, DELETE_FLAG, OP_COLUMN, historical, table_options

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

log = logging.getLogger(__name__)

FILE_ORD = "__tributary_file"
ROW_ORD = "__tributary_row"
PREFIX = "__tributary_prefix"
_RANK = "__tributary_rank"
INTERNAL = (FILE_ORD, ROW_ORD, PREFIX)
VALID_OPS = ("I", "U", "D")
META_PREFIX = "_hoodie_"


@dataclass(frozen=True)
class FileSpec:
    """One pending CDC file as the job receives it (``path`` relative to the table's staging)."""

    uri: str
    path: str
    kind: str  # load | cdc
    format: str  # parquet | csv
    order_key: str = ""
    size: int = 0
    mtime_ns: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileSpec:
        return cls(
            uri=str(data["uri"]),
            path=str(data["path"]),
            kind=str(data["kind"]),
            format=str(data["format"]),
            order_key=str(data.get("order_key") or ""),
            size=int(data.get("size") or 0),
            mtime_ns=int(data.get("mtime_ns") or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "path": self.path,
            "kind": self.kind,
            "format": self.format,
            "order_key": self.order_key,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
        }

    @property
    def change_id_prefix(self) -> str:
        return f"{self.path}@{self.mtime_ns}" if self.kind == "load" else self.path


@dataclass(frozen=True)
class SparkPlan:
    """What to write for one table: one DataFrame, written by one datasource write."""

    operation: WriteOperationType
    rows: DataFrame
    """The rows of the write. An upsert's rows carry :data:`DELETE_FLAG` (true: the key is
    deleted, the upsert is one commit with both); a reload and historical mode have no deletes."""
    changes: DataFrame
    """Every change read (after conforming), for counting."""

    @property
    def upserts(self) -> DataFrame:
        """The rows written as upserts (or inserts), without the delete flag."""
        from pyspark.sql import functions as F

        if DELETE_FLAG not in self.rows.columns:
            return self.rows
        return self.rows.where(~F.col(DELETE_FLAG)).drop(DELETE_FLAG)

    @property
    def deletes(self) -> DataFrame:
        """The rows whose keys the write deletes, without the delete flag."""
        from pyspark.sql import functions as F

        if DELETE_FLAG not in self.rows.columns:
            return self.rows.limit(0)
        return self.rows.where(F.col(DELETE_FLAG)).drop(DELETE_FLAG)


# -- reading ----------------------------------------------------------------------------------


def _csv_reader(spark: SparkSession, delimiter: str) -> Any:
    return (
        spark.read.option("sep", delimiter)
        .option("multiLine", "true")  # quoted values may span lines; one file is one split
        .option("escape", '"')  # RFC 4180: a quote inside a quoted value is doubled
        .option("unescapedQuoteHandling", "STOP_AT_CLOSING_QUOTE")
        .option("mode", "FAILFAST")
        # DMS: an unquoted empty field is null, a quoted empty field the empty string
        .option("nullValue", "\u0001tributary-null")
        .option("emptyValue", "")
    )


def _null_value_as_null(df: DataFrame, null_value: str) -> DataFrame:
    """DMS's ``csvNullValue``: a field equal to it (quoted or not) is null, an empty field (quoted
    or not) the empty string; Spark's own ``nullValue`` would read an unquoted empty field as null."""
    from pyspark.sql import functions as F

    def fixed(name: str) -> Any:
        col = F.col(f"`{name}`")
        return F.when(col == F.lit(null_value), F.lit(None)).otherwise(F.coalesce(col, F.lit(""))).alias(name)

    return df.select(*[fixed(name) for name in df.columns])


def _first_row(spark: SparkSession, file: FileSpec, delimiter: str) -> list[str]:
    """The first CSV record (a quoted value may span lines)."""
    rows = _csv_reader(spark, delimiter).option("header", "false").csv(file.uri).limit(1).collect()
    if not rows:
        raise CdcFileError(file.path, "empty file (0 bytes)")
    return ["" if v is None else str(v) for v in rows[0]]


def _read_csv(spark: SparkSession, file: FileSpec, table: Mapping[str, Any]) -> DataFrame:
    from pyspark.sql.types import StringType, StructField, StructType

    options = table_options(table)
    delimiter = str(options["csv_delimiter"])
    expected = list(table["csv_columns"]) if table.get("csv_columns") else None
    header_opt = options["csv_header"]
    first = _first_row(spark, file, delimiter)
    if header_opt is None:
        has_header = expected is None or first in (expected, [OP_COLUMN, *expected])
    else:
        has_header = bool(header_opt)
    if has_header:
        names = first
    elif expected is None:
        raise CdcFileError(file.path, "CSV has no header and no column names were given (csv_columns)")
    elif len(first) == len(expected):
        names = expected
    elif len(first) == len(expected) + 1:
        names = [OP_COLUMN, *expected]
    else:
        raise CdcFileError(
            file.path, f"CSV row 1 has {len(first)} columns; expected {len(expected)} (or {len(expected) + 1} with Op)"
        )
    if len(set(names)) != len(names) or not all(names):
        raise CdcFileError(file.path, f"CSV header has empty or duplicate column names: {names}")
    schema = StructType([StructField(n, StringType(), True) for n in names])
    reader = _csv_reader(spark, delimiter).schema(schema).option("header", str(has_header).lower())
    df = reader.csv(file.uri)
    null_value = options["csv_null_value"]
    return df if null_value is None else _null_value_as_null(df, str(null_value))


#: ``options.csv_types`` names (validated at config load) as Spark SQL types; decimal(p,s) as is
_CSV_TYPES = {
    "string": "string",
    "int32": "int",
    "int": "int",
    "int64": "bigint",
    "long": "bigint",
    "bigint": "bigint",
    "float": "float",
    "double": "double",
    "float64": "double",
    "bool": "boolean",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def typed_csv(file: FileSpec, df: DataFrame, types: Sequence[tuple[str, str]]) -> DataFrame:
    """CSV text columns the table does not have yet, typed by ``options.csv_types`` as the local
    engine types them: an empty value is null, any other value that does not convert is a
    :class:`CdcFileError` naming the file, column and value."""
    from pyspark.sql import functions as F

    casts: dict[str, Any] = {}
    bad = []
    for column, name in types:
        if column not in df.columns or column == OP_COLUMN:
            continue
        sql_type = _CSV_TYPES.get(name.strip().lower(), name.strip().lower())
        text = F.col(f"`{column}`")
        value = F.when(text == "", F.lit(None)).otherwise(text).cast(sql_type)
        casts[column] = value
        bad.append((F.when(value.isNull() & (text != ""), text), column, sql_type))
    if not casts:
        return df
    first = df.select(*[c.alias(f"_bad{i}") for i, (c, _, _) in enumerate(bad)]).where(
        reduce(lambda a, b: a | b, [c.isNotNull() for c, _, _ in bad])
    )
    row = first.limit(1).collect()
    if row:
        index, value = next((i, v) for i, v in enumerate(row[0]) if v is not None)
        _, column, sql_type = bad[index]
        raise CdcFileError(file.path, f"column {column}: value {value!r} cannot be read as {sql_type}")
    return df.select(*[casts[c].alias(c) if c in casts else F.col(f"`{c}`") for c in df.columns])


def read_file(spark: SparkSession, file: FileSpec, table: Mapping[str, Any]) -> DataFrame:
    """The rows of ``file``: ``Op`` first (checked to be text), the data columns, the row ordinal."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    try:
        df = spark.read.parquet(file.uri) if file.format == "parquet" else _read_csv(spark, file, table)
    except CdcFileError:
        raise
    except Exception as exc:  # AnalysisException, Py4J errors: unreadable, truncated, missing
        raise CdcFileError(file.path, f"cannot be read: {str(exc).splitlines()[0][:500]}") from exc
    names = df.columns
    if len(set(names)) != len(names):
        raise CdcFileError(file.path, f"duplicate column names: {names}")
    for reserved in (CHANGE_ID_COLUMN, DELETE_FLAG):
        if reserved in names:
            raise CdcFileError(file.path, f"column {reserved} is reserved")
    df = df.withColumn(ROW_ORD, F.monotonically_increasing_id())
    if OP_COLUMN in names:
        if not isinstance(df.schema[OP_COLUMN].dataType, StringType):
            raise CdcFileError(
                file.path, f"column {OP_COLUMN} has type {df.schema[OP_COLUMN].dataType.simpleString()}; expected text"
            )
        op = F.col(OP_COLUMN)
    else:
        op = F.lit("I")
    data = [c for c in names if c != OP_COLUMN]
    required = [
        *((k, "record key") for k in table["record_key_fields"]),
        *(((table["precombine_field"], "precombine"),) if table.get("precombine_field") else ()),
        *((p, "partition") for p in table.get("partition_fields") or ()),
    ]
    for column, what in required:
        if column not in data:
            raise CdcFileError(file.path, f"missing {what} column {column}")
    return df.select(op.alias(OP_COLUMN), *[F.col(f"`{c}`") for c in data], ROW_ORD)


# -- schema -----------------------------------------------------------------------------------


def _norm(typ: DataType) -> DataType:
    from pyspark.sql.types import TimestampNTZType, TimestampType

    return TimestampType() if isinstance(typ, TimestampNTZType) else typ


def unify(a: DataType, b: DataType) -> DataType | None:
    """The common type of ``a`` and ``b`` by widening, or None when incompatible."""
    from pyspark.sql import types as T

    a, b = _norm(a), _norm(b)
    if a == b:
        return a
    if isinstance(a, T.NullType):
        return b
    if isinstance(b, T.NullType):
        return a
    ints = [T.ByteType, T.ShortType, T.IntegerType, T.LongType]

    def rank(t: DataType) -> int:
        return next((i for i, c in enumerate(ints) if isinstance(t, c)), -1)

    if rank(a) >= 0 and rank(b) >= 0:
        return a if rank(a) >= rank(b) else b
    numeric = (T.FloatType, T.DoubleType)
    if (isinstance(a, numeric) or rank(a) >= 0) and (isinstance(b, numeric) or rank(b) >= 0):
        return T.DoubleType()
    if isinstance(a, T.DecimalType) and isinstance(b, T.DecimalType):
        scale = max(a.scale, b.scale)
        digits = max(a.precision - a.scale, b.precision - b.scale)
        if digits + scale <= 38:
            return T.DecimalType(digits + scale, scale)
    return None


def reconcile(
    files: Sequence[tuple[FileSpec, DataFrame]], table_schema: StructType | None = None
) -> list[tuple[str, DataType]]:
    """The columns (without ``Op``) every file is conformed to, in table-then-first-seen order."""
    fields: dict[str, DataType] = {}
    origin: dict[str, str] = {}
    for field in table_schema.fields if table_schema is not None else []:
        if field.name.startswith(META_PREFIX) or field.name in (OP_COLUMN, CHANGE_ID_COLUMN):
            continue
        fields[field.name] = _norm(field.dataType)
        origin[field.name] = "the table"
    for file, df in files:
        for field in df.schema.fields:
            if field.name in (OP_COLUMN, *INTERNAL):
                continue
            if field.name not in fields:
                fields[field.name] = _norm(field.dataType)
                origin[field.name] = file.path
                continue
            common = unify(fields[field.name], field.dataType)
            if common is None:
                raise CdcFileError(
                    file.path,
                    f"column {field.name}: type {field.dataType.simpleString()} is incompatible with "
                    f"{fields[field.name].simpleString()} (from {origin[field.name]})",
                )
            fields[field.name] = common
    return list(fields.items())


def conform(file_ord: int, file: FileSpec, df: DataFrame, columns: Sequence[tuple[str, DataType]]) -> DataFrame:
    from pyspark.sql import functions as F

    present = set(df.columns)
    cols = [F.col(OP_COLUMN)]
    for name, typ in columns:
        if name in present:
            col = F.col(f"`{name}`")
            cols.append((col if df.schema[name].dataType == typ else col.cast(typ)).alias(name))
        else:
            cols.append(F.lit(None).cast(typ).alias(name))
    cols += [F.lit(file_ord).alias(FILE_ORD), F.col(ROW_ORD), F.lit(file.change_id_prefix).alias(PREFIX)]
    return df.select(*cols)


# -- checks -----------------------------------------------------------------------------------


def check_rows(combined: DataFrame, files: Sequence[FileSpec], table: Mapping[str, Any]) -> None:
    """One pass over the changes: unknown ``Op``, null keys or precombine values, empty keys."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    keys = list(table["record_key_fields"])
    precombine = table.get("precombine_field")
    problems = [
        (F.col(OP_COLUMN).isNull() | ~F.col(OP_COLUMN).isin(*VALID_OPS), "unknown Op value"),
        *((F.col(f"`{k}`").isNull(), f"null record key value in column {k}") for k in keys),
    ]
    if precombine:
        problems.append((F.col(f"`{precombine}`").isNull(), f"null precombine value in column {precombine}"))
    if len(keys) == 1 and not historical(table) and isinstance(combined.schema[keys[0]].dataType, StringType):
        problems.append((F.col(f"`{keys[0]}`") == "", f"empty record key value in column {keys[0]}"))
    reason = F.coalesce(*[F.when(cond, F.lit(text)) for cond, text in problems])
    bad = (
        combined.select(reason.alias("reason"), F.col(OP_COLUMN), FILE_ORD, ROW_ORD)
        .where(F.col("reason").isNotNull())
        .orderBy(FILE_ORD, ROW_ORD)
        .limit(1)
        .collect()
    )
    if bad:
        row = bad[0]
        detail = (
            f"{row['reason']} {row[OP_COLUMN]!r} (expected I, U or D)"
            if row["reason"] == "unknown Op value"
            else row["reason"]
        )
        raise CdcFileError(files[row[FILE_ORD]].path, detail)


# -- planning ---------------------------------------------------------------------------------


def union_files(
    spark: SparkSession,
    files: Sequence[FileSpec],
    table: Mapping[str, Any],
    table_schema: StructType | None = None,
) -> tuple[DataFrame, list[tuple[str, DataType]]]:
    """Every change of ``files`` (given in DMS order) with file and row ordinals, conformed."""
    read = [(f, read_file(spark, f, table)) for f in files]
    types = table_options(table)["csv_types"]
    if types:
        have = set(table_schema.fieldNames()) if table_schema is not None else set()
        new_types = [(str(c), str(t)) for c, t in types if c not in have]
        read = [(f, typed_csv(f, df, new_types) if f.format == "csv" else df) for f, df in read]
    columns = reconcile(read, table_schema)
    parts = [conform(i, f, df, columns) for i, (f, df) in enumerate(read)]
    if not parts:
        raise ValueError("no files to plan")
    combined = reduce(lambda a, b: a.unionByName(b), parts)
    check_rows(combined, files, table)
    return combined, columns


def plan_table(
    spark: SparkSession,
    files: Sequence[FileSpec],
    table: Mapping[str, Any],
    *,
    reload: bool = False,
    table_schema: StructType | None = None,
) -> SparkPlan:
    """Plan the write of ``files`` (in DMS order) to ``table`` (a ``RawTable`` as JSON)."""
    combined, columns = union_files(spark, files, table, table_schema)
    data = [n for n, _ in columns]
    if historical(table):
        return _plan_historical(combined, data)
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = [F.col(f"`{k}`") for k in table["record_key_fields"]]
    precombine = table.get("precombine_field")
    order = [*([F.col(f"`{precombine}`").desc()] if precombine else []), F.col(FILE_ORD).desc(), F.col(ROW_ORD).desc()]
    window = Window.partitionBy(*keys).orderBy(*order)
    winners = combined.withColumn(_RANK, F.row_number().over(window)).where(F.col(_RANK) == 1)
    keep_op = table_schema is not None and OP_COLUMN in table_schema.fieldNames()
    out = [*([OP_COLUMN] if keep_op else []), *data]
    is_delete = F.col(OP_COLUMN) == "D"
    selected = [F.col(f"`{c}`") for c in out]
    if reload:  # the winners are the table's content: deleted keys are simply not in it
        return SparkPlan(
            WriteOperationType.INSERT_OVERWRITE_TABLE, winners.where(~is_delete).select(*selected), combined
        )
    rows = winners.select(*selected, is_delete.alias(DELETE_FLAG))
    return SparkPlan(WriteOperationType.UPSERT, rows, combined)


def _plan_historical(combined: DataFrame, data: list[str]) -> SparkPlan:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    row_in_file = F.row_number().over(Window.partitionBy(FILE_ORD).orderBy(ROW_ORD)) - 1
    change_id = F.concat(F.col(PREFIX), F.lit("#"), row_in_file.cast("string"))
    rows = combined.withColumn(CHANGE_ID_COLUMN, change_id).select(
        OP_COLUMN, *[F.col(f"`{c}`") for c in data], CHANGE_ID_COLUMN
    )
    return SparkPlan(WriteOperationType.INSERT, rows, combined)
