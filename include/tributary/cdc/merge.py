"""Plan one Hudi write from the rows of pending files (pure: Arrow in, Arrow out).

Current-snapshot mode: per record key, the winning change is the one with the greatest
precombine value, ties broken by file order, then row order (without a precombine field, the
last change wins). A winning ``I``/``U`` is an upsert, a winning ``D`` a delete. A reload (new
full load) makes the winners the whole table, deletes dropped.

Historical mode: every change is a row of its own, keeping ``Op``, with a deterministic change
id ``<file>#<row>`` so that each change has a unique record key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.cdc.files import CdcFile, FileKind
from tributary.cdc.ledger import ORDER_COLUMN
from tributary.cdc.options import CHANGE_ID_COLUMN, OP_COLUMN, CdcOptions
from tributary.cdc.schema import conform, harmonised, order_like, reconcile
from tributary.errors import CdcError
from tributary.hudi.uniqueness import all_distinct
from tributary.modes import WriteOperationType

_SEQ = "__tributary_seq"
_RANK = "__tributary_rank"


@dataclass(frozen=True)
class WritePlan:
    """What to hand to the Hudi writer for one commit."""

    operation: WriteOperationType
    upserts: pa.Table
    deletes: pa.Table
    schema: pa.Schema
    """The data schema of the write (the table's columns first, new columns appended)."""
    changes: int
    """Rows read from the files (before dedupe)."""


def change_id_prefix(file: CdcFile) -> str:
    """Unique per file version: a reloaded LOAD file of the same name gets a new prefix."""
    if file.kind is FileKind.LOAD:
        return f"{file.path}@{file.mtime_ns}"
    return file.path


def plan(
    batches: Sequence[tuple[CdcFile, pa.Table]],
    options: CdcOptions,
    table_schema: pa.Schema | None,
    *,
    reload: bool = False,
    settle: Callable[[pa.Table], pa.Table] | None = None,
) -> WritePlan:
    """Plan the write of ``batches`` (files in DMS order, each read by :func:`read_file`).

    ``settle`` filters the winners (with ``Op`` and the file order column) against what the
    table holds (see :class:`tributary.cdc.ordering.Arbiter`)."""
    schema = reconcile(batches, table_schema)
    parts = harmonised([conform(f, t, schema) for f, t in batches])
    changes = sum(p.num_rows for p in parts)
    if options.historical:
        return _plan_historical(batches, parts, schema, changes, table_schema)
    parts = [p.append_column(ORDER_COLUMN, file_order(f, p.num_rows)) for (f, _), p in zip(batches, parts, strict=True)]
    combined = (
        pa.concat_tables(parts)
        if parts
        else pa.Table.from_arrays(
            [pa.array([], pa.string())] + [pa.array([], f.type) for f in schema] + [pa.array([], pa.string())],
            schema=pa.schema([pa.field(OP_COLUMN, pa.string()), *schema, pa.field(ORDER_COLUMN, ORDER_TYPE)]),
        )
    )
    winners = current_winners(combined, options)
    if settle is not None:
        winners = settle(winners)
    winners = winners.drop_columns([ORDER_COLUMN])
    is_delete = pc.equal(winners.column(OP_COLUMN), "D")
    # The change marker is not data, unless the table already keeps it (as HoodieStreamer can).
    keep_op = table_schema is not None and OP_COLUMN in table_schema.names
    if not keep_op:
        winners = winners.drop_columns([OP_COLUMN])
    if pc.any(is_delete).as_py():
        upserts = order_like(winners.filter(pc.invert(is_delete)), table_schema)
        deletes = order_like(winners.filter(is_delete), table_schema)
    else:  # a load or inserts/updates only: no copy of the rows
        upserts = order_like(winners, table_schema)
        deletes = upserts.slice(0, 0)
    schema = upserts.schema
    if reload:
        return WritePlan(WriteOperationType.INSERT_OVERWRITE_TABLE, upserts, deletes.slice(0, 0), schema, changes)
    return WritePlan(WriteOperationType.UPSERT, upserts, deletes, schema, changes)


ORDER_TYPE = pa.dictionary(pa.int32(), pa.string())
"""The file order column of a batch: one value per file, so a dictionary of it (a load's million
rows share one 40-byte value; as plain strings they cost 40 MB and ~0.06 s to build). Readers that
compare it decode the rows they compare (:mod:`tributary.cdc.ordering`)."""


def file_order(file: CdcFile, rows: int) -> pa.DictionaryArray:
    """``file``'s order key on each of its ``rows`` rows."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([file.order_key], pa.string()))


def current_winners(combined: pa.Table, options: CdcOptions) -> pa.Table:
    """One row per record key: greatest precombine, then latest file, then latest row.

    The winners keep the rows' order. When every key occurs once (a full load) every row wins:
    the table is returned as it is, without sorting, grouping or copying it."""
    n = combined.num_rows
    if n == 0:
        return combined
    fields = list(options.record_key_fields)
    try:
        if all_distinct([combined.column(f) for f in fields]):
            return combined
        # sort and group the key and ordering columns only; the rows are taken once, at the end
        seq = pa.array(np.arange(n, dtype=np.int64))
        order: pa.Array = seq
        if options.precombine_field:
            by = pa.table({"p": combined.column(options.precombine_field), _SEQ: seq})
            order = pc.sort_indices(by, sort_keys=[("p", "ascending"), (_SEQ, "ascending")])
        narrow = pa.Table.from_arrays([*(combined.column(f).take(order) for f in fields), seq], names=[*fields, _RANK])
        best = narrow.group_by(fields, use_threads=False).aggregate([(_RANK, "max")])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        keys = [*fields, *([options.precombine_field] if options.precombine_field else [])]
        types = ", ".join(f"{f}: {combined.schema.field(f).type}" for f in keys)
        raise CdcError(
            f"table {options.table_name}: record key / precombine columns cannot be compared ({types}): {exc}"
        ) from exc
    rows = np.sort(np.asarray(order.take(best.column(f"{_RANK}_max"))))
    return combined.take(pa.array(rows))


def _plan_historical(
    batches: Sequence[tuple[CdcFile, pa.Table]],
    parts: list[pa.Table],
    schema: pa.Schema,
    changes: int,
    table_schema: pa.Schema | None,
) -> WritePlan:
    with_ids = []
    for (file, _), part in zip(batches, parts, strict=True):
        prefix = change_id_prefix(file)
        ids = pa.array([f"{prefix}#{i}" for i in range(part.num_rows)], pa.string())
        with_ids.append(part.append_column(CHANGE_ID_COLUMN, ids))
    out_schema = pa.schema([pa.field(OP_COLUMN, pa.string()), *schema, pa.field(CHANGE_ID_COLUMN, pa.string())])
    rows = order_like(pa.concat_tables(with_ids) if with_ids else out_schema.empty_table(), table_schema)
    return WritePlan(WriteOperationType.INSERT, rows, rows.slice(0, 0), rows.schema, changes)
