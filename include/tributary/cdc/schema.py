"""Type reconciliation: one schema for a table and every pending file.

Rules: the table's columns keep their order and come first; a column seen first in a later file
is appended as nullable; a column a file lacks is null in its rows. Two types of one column
unify when equal, or by widening (smaller to larger integers, integers or float32 to float64,
timestamp units to microseconds, dates, decimals to the wider precision and scale). Anything
else is a :class:`~tributary.errors.CdcFileError` naming the file and column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from tributary.cdc.files import CdcFile
from tributary.cdc.options import CHANGE_ID_COLUMN, OP_COLUMN
from tributary.errors import CdcFileError
from tributary.hudi.schema import is_encoded, nullable_nested

META_PREFIX = "_hoodie_"
_INT_ORDER = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
_UINT_FIT = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64()}


def _norm(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(typ):
        return _norm(typ.value_type)
    if pa.types.is_nested(typ):
        # list element names (``element``, Spark's ``array``) and nested nullability do not make
        # two types differ: the table's own naming is kept (the first seen: the table's)
        return nullable_nested(typ)
    if typ in _UINT_FIT:
        return _UINT_FIT[typ]
    if pa.types.is_timestamp(typ):
        # the writer stores naive timestamps as UTC instants (hudi-rs cannot read Avro's
        # local-timestamp), so a naive column in a later file matches the table's UTC column
        return pa.timestamp("us", typ.tz or "UTC")
    if pa.types.is_date64(typ):
        return pa.date32()
    if pa.types.is_float16(typ):
        return pa.float32()
    return typ


def unify(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The common type of ``a`` and ``b`` by widening, or None when they are incompatible."""
    a, b = _norm(a), _norm(b)
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if a in _INT_ORDER and b in _INT_ORDER:
        return max(a, b, key=_INT_ORDER.index)
    if (pa.types.is_floating(a) or a in _INT_ORDER) and (pa.types.is_floating(b) or b in _INT_ORDER):
        return pa.float64()
    if pa.types.is_decimal(a) and pa.types.is_decimal(b):
        scale = max(a.scale, b.scale)
        digits = max(a.precision - a.scale, b.precision - b.scale)
        if digits + scale <= 38:
            return pa.decimal128(digits + scale, scale)
    return None


def _table_accepts(stored: pa.DataType, new: pa.DataType) -> bool:
    """Whether the writer can store ``new`` in a column of type ``stored`` (the writer's rule)."""
    from tributary.errors import SchemaEvolutionError
    from tributary.hudi.schema import evolve

    try:
        evolve(pa.schema([pa.field("c", stored)]), pa.schema([pa.field("c", new)]), "check")
    except SchemaEvolutionError:
        return False
    return True


def data_schema(schema: pa.Schema | None) -> pa.Schema:
    """A table schema without Hudi's meta columns."""
    if schema is None:
        return pa.schema([])
    return pa.schema([f for f in schema if not f.name.startswith(META_PREFIX)])


def reconcile(batches: Sequence[tuple[CdcFile, pa.Table]], table_schema: pa.Schema | None) -> pa.Schema:
    """The schema all ``batches`` are cast to before planning (without ``Op``)."""
    fields: dict[str, pa.DataType] = {
        f.name: _norm(f.type) for f in data_schema(table_schema) if f.name not in (OP_COLUMN, CHANGE_ID_COLUMN)
    }
    origin = dict.fromkeys(fields, "the table")
    stored = dict(fields)
    for file, table in batches:
        for field in table.schema:
            if field.name == OP_COLUMN:
                continue
            if field.name not in fields:
                fields[field.name] = _norm(field.type)
                origin[field.name] = file.path
                continue
            common = unify(fields[field.name], field.type)
            if common is None:
                raise CdcFileError(
                    file.path,
                    f"column {field.name}: type {field.type} is incompatible with {fields[field.name]} "
                    f"(from {origin[field.name]})",
                )
            if stored.get(field.name) is not None and not _table_accepts(stored[field.name], common):
                raise CdcFileError(
                    file.path,
                    f"column {field.name}: type {field.type} would change the table's column from "
                    f"{stored[field.name]} to {common}, which the Hudi table cannot take (only int→long and "
                    "float→double widen a stored column); cast the column in the source to "
                    f"{stored[field.name]}, or rebuild the table with the new type",
                )
            fields[field.name] = common
    return pa.schema([pa.field(name, typ, nullable=True) for name, typ in fields.items()])


def conform(file: CdcFile, table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``Op`` first, then exactly ``schema``'s columns (missing ones null); a
    dictionary column of the schema's type stays encoded (see :func:`harmonised`)."""
    columns = [table.column(OP_COLUMN)]
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type and not is_encoded(column.type, field.type):
                try:
                    column = column.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise CdcFileError(
                        file.path, f"column {field.name}: cannot convert {column.type} to {field.type}: {exc}"
                    ) from exc
        else:
            column = pa.nulls(table.num_rows, field.type)
        columns.append(column)
    fields = [pa.field(f.name, c.type, True) for f, c in zip(schema, columns[1:], strict=True)]
    return pa.Table.from_arrays(columns, schema=pa.schema([pa.field(OP_COLUMN, pa.string()), *fields]))


def harmonised(parts: list[pa.Table]) -> list[pa.Table]:
    """``parts`` (same column names) with one type per column: a column some parts hold as a
    dictionary and others plain is decoded in every part (Arrow concatenates equal types only)."""
    if len(parts) < 2:
        return parts
    out = list(parts)
    for i, name in enumerate(parts[0].column_names):
        types = {p.schema.field(i).type for p in parts}
        if len(types) > 1:
            plain = next(t.value_type if pa.types.is_dictionary(t) else t for t in types)
            out = [p.set_column(i, name, p.column(i).cast(plain)) for p in out]
    return out


def order_like(table: pa.Table, table_schema: pa.Schema | None) -> pa.Table:
    """``table`` with the existing table's columns in the table's order, new columns after."""
    existing = [n for n in data_schema(table_schema).names if n in table.column_names]
    rest = [n for n in table.column_names if n not in existing]
    return table.select(existing + rest)
