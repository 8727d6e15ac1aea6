"""Whether key columns hold every key once, answered cheaply in the common cases.

A full load's keys are unique, and DMS writes them in primary-key order. Hashing a million keys
(``count_distinct``, ``group_by``) costs a large share of a load; an ordered column proves
uniqueness in one vectorised comparison, and an integer-like column (integers, dates,
timestamps) in one numpy sort. Everything else falls back to Arrow's hash of the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Column: TypeAlias = pa.Array | pa.ChunkedArray


def _integer_like(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_duration(t)
    )


def _strictly_increasing(col: Column) -> bool:
    """True when every value is greater than the one before (so no value repeats)."""
    if len(col) < 2:
        return True
    try:
        return bool(pc.all(pc.less(col.slice(0, len(col) - 1), col.slice(1))).as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False  # not orderable here: the hash decides


def distinct_count(col: Column) -> int:
    """How many distinct values ``col`` holds (a null counts as one value)."""
    n = len(col)
    if col.null_count == 0 and _strictly_increasing(col):
        return n
    if col.null_count == 0 and _integer_like(col.type):
        width = pa.int64() if col.type.bit_width == 64 else pa.int32()
        values = np.sort(np.asarray(pc.cast(col, width) if not pa.types.is_integer(col.type) else col))
        return int(np.count_nonzero(np.diff(values))) + 1 if n else 0
    return len(pc.unique(col))


def all_distinct(columns: Sequence[Column]) -> bool:
    """True when no combination of values repeats across the rows of ``columns`` (same length).

    One column is enough to tell when it alone never repeats; otherwise the rows are grouped."""
    if not columns:
        return True
    n = len(columns[0])
    if any(distinct_count(col) == n for col in columns):
        return True
    if len(columns) == 1:
        return False
    names = [f"k{i}" for i in range(len(columns))]
    groups = pa.Table.from_arrays(list(columns), names=names).group_by(names, use_threads=False).aggregate([])
    return groups.num_rows == n


def record_keys_distinct(table: pa.Table, keys: Column, fields: Sequence[str]) -> bool:
    """True when the record keys ``keys`` of ``table``'s rows never repeat.

    A record key of one integer or date field is that value's decimal / ISO text: one-to-one, so
    the field decides (one comparison when it is ordered) without hashing the key strings."""
    if len(fields) == 1 and fields[0] in table.column_names:
        source = table.column(fields[0])
        if pa.types.is_integer(source.type) or pa.types.is_date(source.type):
            return all_distinct([source])
    return all_distinct([keys])
