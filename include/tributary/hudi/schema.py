"""Arrow ⇄ Avro schemas as Spark-Hudi writes them, input normalisation and schema evolution.

Spark records the table schema in every commit's ``extraMetadata.schema``: a record named
``<table>_record`` in namespace ``hoodie.<table>``, every field a nullable union
``["null", T]`` with ``default: null``; nested records are named after their field, in the
namespace of the enclosing record path, and decimals are ``fixed`` named ``fixed``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from typing import Any

import pyarrow as pa

from tributary.errors import SchemaEvolutionError
from tributary.hudi.options import META_COLUMNS

# --- normalisation -----------------------------------------------------------------------------


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The type Tributary writes for ``t``: int8/16→int32, timestamps in µs (naive ones as UTC), no large/dict types."""
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t) or pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint64(t):
        return pa.decimal128(20, 0)
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_timestamp(t):
        # naive timestamps are stored as UTC instants (as Spark does with session time zone UTC):
        # hudi-rs cannot read Avro local-timestamp-micros
        return pa.timestamp("us", tz=t.tz or "UTC")
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return pa.binary()
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time32(t) or pa.types.is_time64(t):
        return pa.time64("us")
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, normalize_type(f.type), True) for f in t])
    if pa.types.is_map(t):
        return pa.map_(normalize_type(t.key_type), normalize_type(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field(t.value_field.name, normalize_type(t.value_type), True))
    if pa.types.is_decimal(t) and t.precision > 38:
        raise SchemaEvolutionError(f"decimal precision {t.precision} > 38 cannot be written")
    return t


def nullable_nested(t: pa.DataType) -> pa.DataType:
    """``t`` with every nested field nullable (map keys stay required), names kept.

    A Spark-written 2-level list has required elements (``list<array: T not null>``); a CDC file's
    list of the same logical type has nullable ones: both are Avro ``array<["null", T]>``. Base
    files are written with Parquet's standard 3-level ``list``/``element`` lists whatever the
    Arrow names: Hudi's ``HoodieAvroReadSupport`` reads a file whose lists are not 2-level
    ``array`` lists with a 3-level projection (``element``), so any other element name in a
    3-level list would make Hudi's merge of that file fail.
    """
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, nullable_nested(f.type), True) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(pa.field(t.value_field.name, nullable_nested(t.value_type), True))
    if pa.types.is_map(t):
        return pa.map_(t.key_type, pa.field(t.item_field.name, nullable_nested(t.item_type), True))
    return t


def normalize_table(table: pa.Table, what: str, plain: Collection[str] = ()) -> pa.Table:
    """Cast ``table`` to the types Tributary writes; reject meta columns and duplicate names.

    A top-level dictionary column of text or bytes stays encoded (see
    :mod:`tributary.hudi.dictionaries`) unless ``plain`` names it."""
    names = table.column_names
    if len(set(names)) != len(names):
        raise SchemaEvolutionError(f"{what}: duplicate column names {sorted({n for n in names if names.count(n) > 1})}")
    meta = [n for n in names if n in META_COLUMNS]
    if meta:
        raise SchemaEvolutionError(f"{what}: incoming data must not contain Hudi meta columns {meta}")
    target = pa.schema([pa.field(f.name, _normalized(f, plain), True) for f in table.schema])
    if target.equals(table.schema, check_metadata=False):
        return table.replace_schema_metadata(None)
    try:
        return table.cast(target, safe=False)  # widening casts, plus ns to us truncation
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaEvolutionError(f"{what}: cannot normalise column types: {exc}") from exc


def _normalized(field: pa.Field, plain: Collection[str]) -> pa.DataType:
    """A column's written type: :func:`normalize_type`, a text or bytes dictionary kept as one."""
    t = normalize_type(field.type)
    if pa.types.is_dictionary(field.type) and field.name not in plain and t in (pa.string(), pa.binary()):
        return pa.dictionary(field.type.index_type, t)
    return t


def is_encoded(column_type: pa.DataType, value_type: pa.DataType) -> bool:
    """Whether a column of ``column_type`` holds ``value_type`` values dictionary-encoded."""
    return pa.types.is_dictionary(column_type) and column_type.value_type.equals(value_type)


def value_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every dictionary field's type replaced by its value type."""
    return pa.schema([f.with_type(normalize_type(f.type)) if pa.types.is_dictionary(f.type) else f for f in schema])


# --- evolution ---------------------------------------------------------------------------------

_WIDENINGS = {
    (pa.int32(), pa.int64()),
    (pa.float32(), pa.float64()),
}


def _widens(old: pa.DataType, new: pa.DataType) -> bool:
    return (old, new) in _WIDENINGS


def _same(a: pa.DataType, b: pa.DataType) -> bool:
    """Types equal up to nullability and list/map child field names (Spark writes ``array``)."""
    if a.equals(b):
        return True
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return a.unit == b.unit and (a.tz is None) == (b.tz is None)
    if pa.types.is_list(a) and pa.types.is_list(b):
        return _same(a.value_type, b.value_type)
    if pa.types.is_map(a) and pa.types.is_map(b):
        return _same(a.key_type, b.key_type) and _same(a.item_type, b.item_type)
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        return len(a) == len(b) and all(
            fa.name == fb.name and _same(fa.type, fb.type) for fa, fb in zip(a, b, strict=True)
        )
    return False


def evolve(table_schema: pa.Schema | None, incoming: pa.Schema, table_name: str) -> pa.Schema:
    """The table schema after writing ``incoming``: added nullable columns, widened types.

    Raises SchemaEvolutionError naming the column for anything else.
    """
    if table_schema is None:
        return pa.schema([pa.field(f.name, f.type, True) for f in incoming])
    fields = list(table_schema)
    by_name = {f.name: i for i, f in enumerate(fields)}
    lower = {f.name.lower(): f.name for f in fields}
    for f in incoming:
        if f.name not in by_name:
            if f.name.lower() in lower:
                raise SchemaEvolutionError(
                    f"table {table_name!r}: column {f.name!r} differs only in case from existing column "
                    f"{lower[f.name.lower()]!r}; rename it in the source"
                )
            fields.append(pa.field(f.name, f.type, True))
            by_name[f.name] = len(fields) - 1
            continue
        old = fields[by_name[f.name]]
        if _same(old.type, f.type) or _widens(f.type, old.type):
            continue
        if _widens(old.type, f.type):
            fields[by_name[f.name]] = pa.field(f.name, f.type, True)
            continue
        raise SchemaEvolutionError(
            f"table {table_name!r}: column {f.name!r} changes type from {old.type} to {f.type}; only new nullable "
            "columns and int→long / float→double widening are supported. Cast the column in the source, or "
            "rewrite the table with INSERT_OVERWRITE_TABLE into a new table"
        )
    return pa.schema(fields)


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """Reorder/cast ``table`` to ``schema``; columns it lacks are filled with nulls. A dictionary
    column of the schema's type stays encoded (the Parquet writer takes its indices)."""
    cols: list[pa.Array | pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    n = table.num_rows
    names = set(table.column_names)
    for f in schema:
        if f.name in names:
            col = table.column(f.name)
            if is_encoded(col.type, f.type):
                f = f.with_type(col.type)
            elif not col.type.equals(f.type):
                try:
                    col = col.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaEvolutionError(f"{what}: column {f.name!r} cannot be cast to {f.type}: {exc}") from exc
            cols.append(col)
        else:
            cols.append(pa.nulls(n, f.type))
        fields.append(f)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields, metadata=schema.metadata))


# --- Arrow -> Avro -----------------------------------------------------------------------------


def _min_bytes_for_precision(precision: int) -> int:
    n = 1
    while math.pow(2.0, 8 * n - 1) < math.pow(10.0, precision):
        n += 1
    return n


def _avro_type(t: pa.DataType, record_name: str, namespace: str) -> Any:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t):
        return "int"
    if pa.types.is_integer(t):
        return "long"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "bytes"
    if pa.types.is_date(t):
        return {"type": "int", "logicalType": "date"}
    if pa.types.is_timestamp(t):
        return {"type": "long", "logicalType": "timestamp-micros" if t.tz else "local-timestamp-micros"}
    if pa.types.is_time(t):
        return {"type": "long", "logicalType": "time-micros"}
    if pa.types.is_decimal(t):
        return {
            "type": "fixed",
            "name": "fixed",
            "namespace": f"{namespace}.{record_name}" if namespace else record_name,
            "size": _min_bytes_for_precision(t.precision),
            "logicalType": "decimal",
            "precision": t.precision,
            "scale": t.scale,
        }
    if pa.types.is_struct(t):
        child_ns = f"{namespace}.{record_name}" if namespace else record_name
        return {
            "type": "record",
            "name": record_name,
            "namespace": namespace,
            "fields": [_avro_field(f, child_ns) for f in t],
        }
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return {"type": "array", "items": ["null", _avro_type(t.value_type, record_name, namespace)]}
    if pa.types.is_map(t):
        return {"type": "map", "values": ["null", _avro_type(t.item_type, record_name, namespace)]}
    raise SchemaEvolutionError(f"type {t} has no Avro equivalent")


def _avro_field(f: pa.Field, namespace: str) -> dict[str, Any]:
    return {"name": f.name, "type": ["null", _avro_type(f.type, f.name, namespace)], "default": None}


def avro_schema(schema: pa.Schema, table_name: str, with_meta: bool = False) -> dict[str, Any]:
    """The Avro schema Spark records for ``schema`` (data columns; meta columns if asked)."""
    ns = f"hoodie.{table_name}"
    name = f"{table_name}_record"
    fields = []
    if with_meta:
        fields = [{"name": m, "type": ["null", "string"], "doc": "", "default": None} for m in META_COLUMNS]
    fields += [_avro_field(f, f"{ns}.{name}") for f in schema if f.name not in META_COLUMNS]
    return {"type": "record", "name": name, "namespace": ns, "fields": fields}


def avro_schema_json(schema: pa.Schema, table_name: str, with_meta: bool = False) -> str:
    return json.dumps(avro_schema(schema, table_name, with_meta), separators=(",", ":"))


# --- Avro -> Arrow -----------------------------------------------------------------------------


def _arrow_type(avro: Any) -> pa.DataType:
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            raise SchemaEvolutionError(f"Avro union {avro} is not a nullable single type")
        return _arrow_type(branches[0])
    if isinstance(avro, str):
        return {
            "boolean": pa.bool_(),
            "int": pa.int32(),
            "long": pa.int64(),
            "float": pa.float32(),
            "double": pa.float64(),
            "string": pa.string(),
            "bytes": pa.binary(),
        }[avro]
    logical = avro.get("logicalType")
    t = avro["type"]
    if logical == "decimal":
        return pa.decimal128(avro["precision"], avro.get("scale", 0))
    if logical == "date":
        return pa.date32()
    if logical in ("timestamp-micros", "timestamp-millis"):
        return pa.timestamp("us", tz="UTC")
    if logical in ("local-timestamp-micros", "local-timestamp-millis"):
        return pa.timestamp("us")
    if logical in ("time-micros", "time-millis"):
        return pa.time64("us")
    if t == "record":
        return pa.struct([pa.field(f["name"], _arrow_type(f["type"]), True) for f in avro["fields"]])
    if t == "array":
        return pa.list_(_arrow_type(avro["items"]))
    if t == "map":
        return pa.map_(pa.string(), _arrow_type(avro["values"]))
    if t == "fixed":
        return pa.binary()
    if t == "enum":
        return pa.string()
    return _arrow_type(t)


def arrow_from_avro(avro: str | dict[str, Any]) -> pa.Schema:
    """Arrow schema of an Avro record schema (data columns only)."""
    data = json.loads(avro) if isinstance(avro, str) else avro
    return pa.schema(
        [pa.field(f["name"], _arrow_type(f["type"]), True) for f in data["fields"] if f["name"] not in META_COLUMNS]
    )


def data_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` without meta columns and without metadata."""
    return pa.schema([f for f in schema if f.name not in META_COLUMNS])


def empty_like(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def is_null_mask(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    import pyarrow.compute as pc  # here: opening a table (a no-op run) needs no compute

    return pc.is_null(col)
