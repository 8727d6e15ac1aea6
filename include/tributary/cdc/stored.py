"""The stored rows of given record keys (key and precombine columns) from a table's latest
base files, for :class:`tributary.cdc.ordering.Arbiter`."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.errors import CdcError, StorageError
from tributary.settings import get_settings

if TYPE_CHECKING:
    from tributary.hudi import HudiTable
    from tributary.hudi.base_file import BaseFile


def stored_rows(table: HudiTable, keys: pa.Table, key_fields: Sequence[str], precombine: str) -> pa.Table:
    """Rows of ``keys`` as the table holds them: ``key_fields`` + ``precombine`` columns."""
    table.timeline.reload()
    columns = [*key_fields, precombine]
    wanted = keys.group_by(list(key_fields), use_threads=False).aggregate([])
    wanted = pa.Table.from_arrays([wanted.column(k) for k in key_fields], names=list(key_fields))

    def rows_in(base: BaseFile) -> pa.Table | None:
        try:
            with table.storage.open_input(base.path) as stream:
                data = pq.read_table(stream, columns=columns)
        except (StorageError, OSError, pa.ArrowException) as exc:
            raise CdcError(f"{table.uri}: base file {base.path} cannot be read to order late changes: {exc}") from exc
        if data.num_rows == 0 or any(c not in data.column_names for c in columns):
            return None
        typed = [data.column(k).cast(wanted.schema.field(k).type) for k in key_fields]
        data = pa.Table.from_arrays([*typed, data.column(precombine)], names=columns)
        return data.join(wanted, keys=list(key_fields), join_type="left semi", use_threads=False)

    files = table.file_index().latest_files()
    threads = min(get_settings().write_threads, len(files))
    if threads > 1:  # reading and joining release the GIL: the files are searched side by side
        with ThreadPoolExecutor(threads, thread_name_prefix="stored-rows") as pool:
            found = list(pool.map(rows_in, files))
    else:
        found = [rows_in(base) for base in files]
    parts = [p for p in found if p is not None]
    if not parts:
        return pa.Table.from_arrays(
            [pa.array([], wanted.schema.field(k).type) for k in key_fields] + [pa.array([], pa.null())], names=columns
        )
    return pa.concat_tables(parts, promote_options="permissive")


def stored_since(table: HudiTable, precombine: str, floor: pa.Scalar) -> pa.Table:
    """Every stored row (data columns) whose ``precombine`` value is not below ``floor``."""
    import pyarrow.compute as pc

    table.timeline.reload()
    parts: list[pa.Table] = []
    for base in table.file_index().latest_files():
        try:
            with table.storage.open_input(base.path) as stream:
                data = pq.read_table(stream)
        except (StorageError, OSError, pa.ArrowException) as exc:
            raise CdcError(f"{table.uri}: base file {base.path} cannot be read for a reload: {exc}") from exc
        if precombine not in data.column_names or data.num_rows == 0:
            continue
        data = data.select([c for c in data.column_names if not c.startswith("_hoodie_")])
        column = data.column(precombine)
        parts.append(data.filter(pc.fill_null(pc.greater_equal(column, floor.cast(column.type)), False)))
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="permissive")
