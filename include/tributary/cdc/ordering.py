"""Order a batch's winning changes against what the table already holds (current mode).

Within a batch :func:`tributary.cdc.merge.current_winners` keeps one change per key: the greatest
precombine value, then the latest DMS file. Across batches the same rule must hold whatever
the arrival order, so each winner is compared with its rivals before it is written:

- the stored row of the key (read from the table's latest base files), whose file order is the
  checkpoint's watermark: a late file loses a tie against it, a newer file wins it;
- the key's delete marker (:mod:`tributary.cdc.ledger`), with its own file order: a late change
  older than a delete does not bring the row back;
- after a reload, the generation's smallest precombine value: older changes predate it.

A batch whose every change is newer than anything applied (``max_order``) skips the lookups.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from tributary.cdc.ledger import AT_COLUMN, ORDER_COLUMN
from tributary.cdc.options import OP_COLUMN
from tributary.errors import CdcError

log = logging.getLogger(__name__)

_RIVAL = "__tributary_rival"
_RIVAL_ORDER = "__tributary_rival_order"
_MINE = "__tributary_mine"
_MINE_ORDER = "__tributary_mine_order"
_ROW = "__tributary_row"


def _plain(order: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A file order column as plain strings (a batch carries it dictionary-encoded)."""
    return order.cast(pa.string()) if pa.types.is_dictionary(order.type) else order


def encode_value(value: pa.Scalar | None) -> str:
    """A precombine value as checkpoint text (typed: Arrow IPC, base64); "" for none."""
    if value is None or not value.is_valid:
        return ""
    sink = pa.BufferOutputStream()
    table = pa.table({"v": pa.array([value.as_py()], value.type)})
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def decode_value(text: str) -> pa.Scalar | None:
    if not text:
        return None
    try:
        return ipc.open_stream(base64.b64decode(text)).read_all().column(0)[0]
    except (ValueError, pa.ArrowException) as exc:
        raise CdcError(f"checkpoint precombine value is corrupt: {exc}") from exc


StoredLookup = Callable[[pa.Table], pa.Table]
"""Keys (record key columns) → stored rows of those keys (record key columns + precombine)."""


@dataclass
class Arbiter:
    """Settles one batch's winners against stored rows, delete markers and a reload floor."""

    keys: tuple[str, ...]
    precombine: str
    watermark: str
    stored: StoredLookup | None
    markers: pa.Table | None
    max_order: pa.Scalar | None
    reload_floor: pa.Scalar | None
    new_markers: pa.Table | None = field(default=None, init=False)
    new_max_order: pa.Scalar | None = field(default=None, init=False)

    def settle(self, winners: pa.Table) -> pa.Table:
        if winners.num_rows == 0:
            self.new_markers, self.new_max_order = self.markers, self.max_order
            return winners
        values = winners.column(self.precombine)
        self.new_max_order = _max(values, self.max_order)
        if self.reload_floor is not None:
            current = pc.greater_equal(values, _cast(self.reload_floor, values.type))
            if not pc.all(current).as_py():  # a load's rows all pass: no copy of them
                winners = winners.filter(current)
        nothing_stored = self.stored is None and (self.markers is None or self.markers.num_rows == 0)
        newer = nothing_stored or (
            self.max_order is not None
            and bool(pc.all(pc.greater(winners.column(self.precombine), _cast(self.max_order, values.type))).as_py())
        )
        if not newer:
            if self.stored is not None:
                stored = self.stored(winners.select(list(self.keys)))
                order = pa.array([self.watermark] * stored.num_rows, pa.string())
                winners = self._beat(winners, stored.append_column(ORDER_COLUMN, order))
            if self.markers is not None and self.markers.num_rows:
                winners = self._beat(winners, self.markers.select([*self.keys, self.precombine, ORDER_COLUMN]))
        self.new_markers = self._mark(winners)
        return winners

    def _beat(self, winners: pa.Table, rivals: pa.Table) -> pa.Table:
        """The winners greater than their rival in (precombine, file order), or without one."""
        if rivals.num_rows == 0:
            return winners
        types = winners.schema
        cols = [rivals.column(k).cast(types.field(k).type) for k in self.keys]
        try:
            rival_value = rivals.column(self.precombine).cast(types.field(self.precombine).type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise CdcError(f"precombine field {self.precombine}: stored values cannot be compared: {exc}") from exc
        rivals = pa.Table.from_arrays(
            [*cols, rival_value, rivals.column(ORDER_COLUMN)], names=[*self.keys, _RIVAL, _RIVAL_ORDER]
        )
        # join the keys and ordering columns only: Acero's hash join refuses nested non-key
        # columns (lists, structs), which data rows may hold
        mine = pa.Table.from_arrays(
            [
                *(winners.column(k) for k in self.keys),
                winners.column(self.precombine),
                _plain(winners.column(ORDER_COLUMN)),
                pa.array(range(winners.num_rows), pa.int64()),
            ],
            names=[*self.keys, _MINE, _MINE_ORDER, _ROW],
        )
        joined = mine.join(rivals, keys=list(self.keys), join_type="left outer", use_threads=False)
        value, theirs = joined.column(_MINE), joined.column(_RIVAL)
        wins = pc.or_kleene(
            pc.is_null(theirs),
            pc.or_kleene(
                pc.greater(value, theirs),
                pc.and_kleene(
                    pc.equal(value, theirs), pc.greater(joined.column(_MINE_ORDER), joined.column(_RIVAL_ORDER))
                ),
            ),
        )
        won = joined.filter(pc.fill_null(wins, False)).column(_ROW)
        kept = winners.take(won.take(pc.sort_indices(won)))  # in the winners' own order
        dropped = winners.num_rows - kept.num_rows
        if dropped:
            log.info("%d late change(s) lost to newer stored rows or deletes", dropped)
        return kept

    def _mark(self, winners: pa.Table) -> pa.Table | None:
        """Markers after this batch: kept deletes replace their key's marker; upserted keys lose it."""
        cols = [*self.keys, self.precombine, ORDER_COLUMN]
        deletes = winners.filter(pc.equal(winners.column(OP_COLUMN), "D")).select(cols)
        order_at = deletes.schema.get_field_index(ORDER_COLUMN)
        deletes = deletes.set_column(order_at, ORDER_COLUMN, _plain(deletes.column(ORDER_COLUMN)))
        deletes = deletes.append_column(AT_COLUMN, pa.array([time.time_ns()] * deletes.num_rows, pa.int64()))
        old = self.markers
        if old is not None and old.num_rows:
            touched = winners.select(list(self.keys))
            old = old.join(touched, keys=list(self.keys), join_type="left anti", use_threads=False)
            old = old.select([*cols, AT_COLUMN])
            typed = [*(deletes.schema.field(c).type for c in cols), pa.int64()]
            old = pa.Table.from_arrays(
                [old.column(c).cast(t) for c, t in zip(old.column_names, typed, strict=True)], schema=deletes.schema
            )
            deletes = pa.concat_tables([old, deletes])
        return deletes if deletes.num_rows else None


def _cast(value: pa.Scalar, typ: pa.DataType) -> pa.Scalar:
    try:
        return value.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise CdcError(f"precombine value {value} cannot be compared with type {typ}: {exc}") from exc


def _max(values: pa.ChunkedArray, previous: pa.Scalar | None) -> pa.Scalar | None:
    best = pc.max(values)
    if previous is None or not previous.is_valid:
        return best if best.is_valid else None
    if not best.is_valid:
        return previous
    previous = _cast(previous, values.type)
    return best if pc.greater(best, previous).as_py() else previous
