"""Record keys and partition paths, formatted as Hudi's key generators do.

Simple key: the value as text. Complex key: ``f1:v1,f2:v2`` with ``__null__`` / ``__empty__``
for null / empty values. Partition path: values joined by ``/``, ``field=value`` when
hive-style, ``__HIVE_DEFAULT_PARTITION__`` for null or empty values.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError
from tributary.hudi.options import TableOptions

NULL_KEY = "__null__"
EMPTY_KEY = "__empty__"
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def _as_text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    t = col.type
    if pa.types.is_string(t):
        return col
    if pa.types.is_timestamp(t):
        # Java formats epoch micros for timestamp keys; keep it stable and sortable
        return pc.cast(pc.cast(col, pa.int64()), pa.string())
    if pa.types.is_binary(t):
        raise HudiError("binary columns cannot be record key or partition fields")
    if pa.types.is_nested(t):
        raise HudiError(f"nested column type {t} cannot be a record key or partition field")
    return pc.cast(col, pa.string())


def record_keys(table: pa.Table, opts: TableOptions, what: str) -> pa.ChunkedArray:
    """The ``_hoodie_record_key`` of every row; raises HudiError on null/empty simple keys."""
    missing = [f for f in opts.record_key_fields if f not in table.column_names]
    if missing:
        raise HudiError(f"{what}: record key column(s) {missing} missing for table {opts.table_name!r}")
    if len(opts.record_key_fields) == 1 and opts.keygen_type != "COMPLEX":
        name = opts.record_key_fields[0]
        keys = _as_text(table.column(name))
        bad = pc.sum(pc.cast(pc.or_kleene(pc.is_null(keys), pc.equal(keys, "")), pa.int64())).as_py() or 0
        if bad:
            raise HudiError(
                f"{what}: {bad} row(s) have a null or empty record key {name!r} for table {opts.table_name!r}; "
                "every row needs a key"
            )
        return keys if isinstance(keys, pa.ChunkedArray) else pa.chunked_array([keys])
    parts: list[pa.ChunkedArray | pa.Array | str] = []
    all_null = None
    for i, name in enumerate(opts.record_key_fields):
        v = _as_text(table.column(name))
        isnull = pc.is_null(v)
        all_null = isnull if all_null is None else pc.and_(all_null, isnull)
        v = pc.if_else(pc.equal(pc.fill_null(v, NULL_KEY), ""), EMPTY_KEY, pc.fill_null(v, NULL_KEY))
        parts.append(("," if i else "") + f"{name}:")
        parts.append(v)
    if all_null is not None and pc.any(all_null).as_py():
        raise HudiError(f"{what}: rows with all record key fields null for table {opts.table_name!r}")
    parts = [pa.repeat(pa.scalar(p), table.num_rows) if isinstance(p, str) else p for p in parts]
    keys = pc.binary_join_element_wise(*parts, "")
    return keys if isinstance(keys, pa.ChunkedArray) else pa.chunked_array([keys])


def partition_paths(table: pa.Table, opts: TableOptions, what: str) -> pa.ChunkedArray:
    """The ``_hoodie_partition_path`` of every row ("" when not partitioned)."""
    n = table.num_rows
    if not opts.partition_fields:
        return pa.chunked_array([pa.repeat(pa.scalar("", pa.string()), n)])
    missing = [f for f in opts.partition_fields if f not in table.column_names]
    if missing:
        raise HudiError(f"{what}: partition column(s) {missing} missing for table {opts.table_name!r}")
    parts: list[pa.ChunkedArray | pa.Array] = []
    for i, name in enumerate(opts.partition_fields):
        v = _as_text(table.column(name))
        v = pc.fill_null(v, DEFAULT_PARTITION)
        v = pc.if_else(pc.equal(v, ""), DEFAULT_PARTITION, v)
        prefix = ("/" if i else "") + (f"{name}=" if opts.hive_style_partitioning else "")
        if prefix:
            parts.append(pa.repeat(pa.scalar(prefix), n))
        parts.append(v)
    out = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "")
    return out if isinstance(out, pa.ChunkedArray) else pa.chunked_array([out])
