"""Plan one Copy-on-Write write: which file groups are rewritten with which rows, which are new.

Pure: the input is the incoming keyed rows, the table's current file slices, where the incoming
keys were located (:mod:`locate`) and the file sizing; the output is a :class:`WritePlan`. No I/O
happens here (the stored record size is asked of a callback, only when inserts are packed).

Incoming rows carry their record key in :data:`KEY` and, for upserts, their partition path in
:data:`PART`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.hudi.base_file import BaseFile, new_file_id
from tributary.hudi.options import WriteOperation

logger = logging.getLogger(__name__)

KEY, PART, FILE = "__tributary_key", "__tributary_part", "__tributary_file"
DEFAULT_RECORD_BYTES = 1024


@dataclass
class FilePlan:
    """Changes to one file group (existing when ``base`` is set)."""

    partition: str
    file_id: str
    base: BaseFile | None = None
    remove_keys: list[pa.Array] = field(default_factory=list)  # deleted or updated-in-place or moved out
    updates: list[pa.Table] = field(default_factory=list)  # rows (data + KEY) replacing existing keys
    inserts: list[pa.Table] = field(default_factory=list)
    num_deletes: int = 0

    @property
    def num_updates(self) -> int:
        return sum(u.num_rows for u in self.updates)

    @property
    def num_inserts(self) -> int:
        return sum(i.num_rows for i in self.inserts)


@dataclass(frozen=True)
class FileSizing:
    """Target base file size, and the size under which a file takes more inserts."""

    target_bytes: int
    small_file_bytes: int
    record_bytes_estimate: float = DEFAULT_RECORD_BYTES
    """Bytes per record until the table stores rows (Hudi's ``hoodie.copyonwrite.record.size.estimate``)."""


@dataclass(frozen=True)
class PlanInput:
    """What a plan is made of (see the module docs)."""

    operation: WriteOperation
    upserts: pa.Table | None  # data + KEY + PART
    deletes: pa.Table | None  # KEY, unique
    slices: Sequence[BaseFile]  # latest slice of each live file group, by partition and file id
    located: Sequence[tuple[BaseFile, pa.Array]]  # (file, keys of lookup_keys() found in it)
    sizing: FileSizing
    stored_record_bytes: Callable[[], float | None] = lambda: None
    new_file_id: Callable[[], str] = new_file_id


@dataclass(frozen=True)
class WritePlan:
    """The file groups a write produces (by partition and file id) and its counts."""

    files: list[FilePlan]
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    replaced: dict[str, list[str]] = field(default_factory=dict)  # partition -> replaced file ids

    @property
    def rewritten(self) -> list[FilePlan]:
        return [p for p in self.files if p.base is not None]

    @property
    def created(self) -> list[FilePlan]:
        return [p for p in self.files if p.base is None]


def lookup_keys(upserts: pa.Table | None, deletes: pa.Table | None, operation: WriteOperation) -> pa.Array:
    """The keys to locate in the table's files (none for INSERT_OVERWRITE_TABLE; INSERT: deletes)."""
    if operation == WriteOperation.INSERT_OVERWRITE_TABLE:
        return pa.array([], pa.string())
    parts: list[pa.Array] = []
    if upserts is not None and operation != WriteOperation.INSERT:
        parts.append(upserts.column(KEY).combine_chunks())
    if deletes is not None:
        parts.append(deletes.column(KEY).combine_chunks())
    return pa.chunked_array(parts, pa.string()).combine_chunks() if parts else pa.array([], pa.string())


class _Planner:
    def __init__(self, inp: PlanInput) -> None:
        self.inp = inp
        self.plans: dict[tuple[str, str], FilePlan] = {}
        self.counts = {"inserted": 0, "updated": 0, "deleted": 0}

    def plan_for(self, bf: BaseFile) -> FilePlan:
        k = (bf.partition, bf.file_id)
        if k not in self.plans:
            self.plans[k] = FilePlan(bf.partition, bf.file_id, base=bf)
        return self.plans[k]

    def result(self, replaced: dict[str, list[str]] | None = None) -> WritePlan:
        files = sorted(self.plans.values(), key=lambda p: (p.partition, p.file_id))
        return WritePlan(files, replaced=replaced or {}, **self.counts)

    def overwrite(self) -> WritePlan:
        replaced: dict[str, list[str]] = {}
        for bf in self.inp.slices:
            replaced.setdefault(bf.partition, []).append(bf.file_id)
        ups = self.inp.upserts
        if ups is not None and ups.num_rows:
            self.counts["inserted"] = ups.num_rows
            self.pack_inserts(ups, [], None)
        return self.result(replaced)

    def delete(self, loc: pa.Table, files: list[BaseFile]) -> None:
        dels = self.inp.deletes
        if dels is None or not dels.num_rows or not loc.num_rows:
            return
        # the inner join of the (unique) delete keys with the located keys
        d = loc.filter(pc.is_in(loc.column(KEY), value_set=dels.column(KEY)))
        self.counts["deleted"] = d.num_rows
        for i, grp in _group_files(d):
            p = self.plan_for(files[i])
            p.remove_keys.append(grp.column(KEY).combine_chunks())
            p.num_deletes += grp.num_rows

    def update(self, ups: pa.Table, loc: pa.Table, files: list[BaseFile]) -> pa.Table:
        """Plan the updates of located keys; returns the rows to insert (new keys, moved rows)."""
        existing, new = split_located(ups, loc)
        self.counts["updated"] = existing.num_rows
        self.counts["inserted"] = new.num_rows
        moved_parts: list[pa.Table] = []
        for i, grp in _group_files(existing):
            bf = files[i]
            p = self.plan_for(bf)
            same = pc.equal(grp.column(PART), bf.partition)
            if pc.all(same).as_py():  # nothing moves partition: no copies
                in_place, moved = grp.drop_columns([FILE]), grp.slice(0, 0).drop_columns([FILE])
            else:
                in_place = grp.filter(same).drop_columns([FILE])
                moved = grp.filter(pc.invert(same)).drop_columns([FILE])
            p.remove_keys.append(grp.column(KEY).combine_chunks())
            if in_place.num_rows:
                p.updates.append(in_place)
            if moved.num_rows:
                moved_parts.append(moved)
        return pa.concat_tables([new, *moved_parts]) if moved_parts else new

    def upsert(self) -> WritePlan:
        inp = self.inp
        files = [bf for bf, _ in inp.located]
        loc = _located_table(inp.located)
        self.delete(loc, files)
        ups = inp.upserts
        if ups is not None and ups.num_rows:
            if inp.operation == WriteOperation.INSERT or loc.num_rows == 0:
                insert_rows = ups
                self.counts["inserted"] = ups.num_rows
            else:
                insert_rows = self.update(ups, loc, files)
            if insert_rows.num_rows:
                self.pack_inserts(insert_rows, inp.slices, inp.stored_record_bytes())
        return self.result()

    def pack_inserts(self, rows: pa.Table, slices: Sequence[BaseFile], stored: float | None) -> None:
        """Pack inserts into small files of their partition, then into new file groups."""
        target, small = self.inp.sizing.target_bytes, self.inp.sizing.small_file_bytes
        rec = record_size(stored, self.inp.sizing.record_bytes_estimate)
        per_file = max(1, int(target // rec))
        by_part: dict[str, list[BaseFile]] = {}
        for bf in slices:
            by_part.setdefault(bf.partition, []).append(bf)
        for part, grp in _group(rows, PART):
            offset, n = 0, grp.num_rows
            for bf in sorted(by_part.get(part, []), key=lambda b: b.size):
                if offset >= n or bf.size >= small:
                    continue
                room = int((target - bf.size) // rec)
                if room <= 0:
                    continue
                take = min(room, n - offset)
                self.plan_for(bf).inserts.append(grp.slice(offset, take))
                offset += take
            while offset < n:
                take = min(per_file, n - offset)
                fid = self.inp.new_file_id()
                self.plans[(part, fid)] = FilePlan(part, fid, inserts=[grp.slice(offset, take)])
                offset += take


def plan_write(inp: PlanInput) -> WritePlan:
    """The plan of one write (see the module docs)."""
    planner = _Planner(inp)
    if inp.operation == WriteOperation.INSERT_OVERWRITE_TABLE:
        return planner.overwrite()
    return planner.upsert()


def record_size(stored: float | None, estimate: float) -> float:
    """Bytes per record: as stored, else the configured estimate (as Hudi's UpsertPartitioner
    sizes the first write's file groups: 120 MB / 1024 B = 122,880 records each)."""
    return stored if stored is not None else max(1.0, estimate)


def split_located(ups: pa.Table, loc: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(upserts whose key was located, with its file index in FILE; the other upserts)."""
    if pc.count_distinct(loc.column(KEY)).as_py() == loc.num_rows:
        # each key in at most one file: look the keys up, upserts keep their order
        pos = pc.index_in(ups.column(KEY), value_set=loc.column(KEY).combine_chunks())
        row_file = pc.take(loc.column(FILE).combine_chunks(), pos)
        if row_file.null_count == 0:  # all located: no copies
            return ups.append_column(FILE, row_file), ups.slice(0, 0)
        has = pc.is_valid(row_file)
        return ups.filter(has).append_column(FILE, row_file.filter(has)), ups.filter(pc.invert(has))
    # a key in several files (INSERT may write duplicates) updates each: a join repeats its row
    # (on the key only: acero cannot carry nested columns; then take the rows)
    idx = pa.table({KEY: ups.column(KEY), "__row": pa.array(np.arange(ups.num_rows, dtype=np.int64))})
    j = idx.join(loc, KEY, join_type="left outer")
    has = pc.is_valid(j.column(FILE))
    hit = j.filter(has)
    existing = ups.take(hit.column("__row")).append_column(FILE, hit.column(FILE))
    return existing, ups.take(j.filter(pc.invert(has)).column("__row"))


def _located_table(located: Sequence[tuple[BaseFile, pa.Array]]) -> pa.Table:
    """Located keys (KEY) with the index of their file in ``located`` (FILE)."""
    return pa.table(
        {
            KEY: pa.chunked_array([hits for _, hits in located], pa.string()),
            FILE: pa.chunked_array(
                [pa.array(np.full(len(hits), i, np.int32)) for i, (_, hits) in enumerate(located)], pa.int32()
            ),
        }
    )


def _group_files(table: pa.Table) -> list[tuple[int, pa.Table]]:
    """Split ``table`` by its FILE column (file indices, ascending)."""
    col = table.column(FILE)
    values = sorted(pc.unique(col).to_pylist())
    if len(values) == 1:
        return [(values[0], table)]
    return [(v, table.filter(pc.equal(col, v))) for v in values]


def _group(table: pa.Table, column: str) -> list[tuple[str, pa.Table]]:
    """Split ``table`` by the distinct values of a string column (sorted)."""
    values = pc.unique(table.column(column).combine_chunks()).to_pylist()
    if len(values) == 1:
        return [(values[0], table)]
    col = table.column(column)
    return [(v, table.filter(pc.equal(col, v))) for v in sorted(values)]
