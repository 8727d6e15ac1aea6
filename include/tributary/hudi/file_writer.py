"""Write the base files of a plan: carry over kept rows, add the incoming ones, one stat per file.

Each file group of a :class:`~tributary.hudi.planner.WritePlan` becomes one new base file (its
marker first). :meth:`FileWriter.write` writes several files at once in threads; each file is
written by :meth:`FileWriter.write_file` alone.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tributary.errors import HudiError
from tributary.hudi import schema as sch
from tributary.hudi.base_file import (
    BLOOM_THREAD_MIN_KEYS,
    constant_text,
    mostly_distinct,
    new_bloom,
    prefixed_texts,
    write_base_file,
)
from tributary.hudi.bloom import DynamicBloomFilter
from tributary.hudi.dictionaries import (
    concat_sharing,
    dictionary_columns,
    share_dictionaries,
)
from tributary.hudi.instants import PendingWrite
from tributary.hudi.locate import KeyLocator
from tributary.hudi.markers import IOType
from tributary.hudi.options import META_COLUMNS
from tributary.hudi.planner import KEY, PART, FilePlan

if TYPE_CHECKING:
    from tributary.hudi.table import HudiTable

logger = logging.getLogger(__name__)

REWRITTEN_META = ("_hoodie_partition_path", "_hoodie_file_name")
"""Meta columns a rewrite does not read from the old file: they are set anew."""
PLAIN_META = ("_hoodie_record_key", "_hoodie_commit_seqno")
"""Meta columns a rewrite reads as plain strings, however the old file encoded them."""
REUSE_BLOOM_MAX_GONE = 0.1
"""Rebuild a rewritten file's bloom filter when more than this share of its keys left it."""


def write_threads() -> int:
    """Base files of one commit written at the same time, as Hudi's Spark tasks write a commit's
    files (setting ``write_threads``). Measured on this 2-core machine, idle (load average
    0.6-1.5), 1M-row table in 9 file groups, 1 thread -> 2: upsert 1k keys 1.02-1.09 s -> 0.78-0.85
    s, upsert 100k 1.00-1.05 -> 0.71-0.78 s, delete 1k 0.87-0.90 -> 0.56-0.63 s; an earlier
    measurement on a machine loaded 9-14 by other work found 2 threads 5-40% slower."""
    from tributary.settings import get_settings

    return get_settings().write_threads


@dataclass(frozen=True)
class WriteStat:
    """What writing one base file did (Hudi's ``HoodieWriteStat``)."""

    file_id: str
    partition: str
    path: str
    prev_commit: str | None  # instant of the rewritten slice; None for a new file group
    rows_written: int
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    size_bytes: int
    elapsed_ms: int

    def to_hudi(self) -> dict[str, Any]:
        """The stat as commit metadata holds it (``partitionToWriteStats`` items)."""
        rewrite = self.prev_commit is not None
        return {
            "fileId": self.file_id,
            "path": self.path,
            "cdcStats": None,
            "prevCommit": self.prev_commit if rewrite else "null",
            "numWrites": self.rows_written,
            "numDeletes": self.rows_deleted,
            "numUpdateWrites": self.rows_updated,
            "numInserts": self.rows_inserted,
            "totalWriteBytes": self.size_bytes,
            "totalWriteErrors": 0,
            "tempPath": None,
            "partitionPath": self.partition,
            "totalLogRecords": 0,
            "totalLogFilesCompacted": 0,
            "totalLogSizeCompacted": 0,
            "totalUpdatedRecordsCompacted": 0,
            "totalLogBlocks": 0,
            "totalCorruptLogBlock": 0,
            "totalRollbackBlocks": 0,
            "fileSizeInBytes": self.size_bytes,
            "minEventTime": None,
            "maxEventTime": None,
            "runtimeStats": {
                "totalScanTime": 0,
                "totalUpsertTime": self.elapsed_ms if rewrite else 0,
                "totalCreateTime": 0 if rewrite else self.elapsed_ms,
            },
        }


def stats_by_partition(stats: list[WriteStat]) -> dict[str, list[dict[str, Any]]]:
    """``partitionToWriteStats`` of commit metadata."""
    out: dict[str, list[dict[str, Any]]] = {}
    for s in stats:
        out.setdefault(s.partition, []).append(s.to_hudi())
    return out


class _Part(NamedTuple):
    """Rows of a new base file from one source, with their meta columns."""

    data: pa.Table
    commit_time: pa.Array | pa.ChunkedArray
    seqno: pa.Array | pa.ChunkedArray
    keys: pa.Array | pa.ChunkedArray


class FileWriter:
    """Writes the base files of one write instant with the table's new ``schema``."""

    def __init__(self, table: HudiTable, pending: PendingWrite, schema: pa.Schema, locator: KeyLocator) -> None:
        self.table = table
        self.storage = table.storage
        self.pending = pending
        self.instant = pending.instant
        self.schema = schema
        self.locator = locator
        self.avro_meta = sch.avro_schema_json(schema, table.options.table_name, with_meta=True)
        self._bloom_pool: ThreadPoolExecutor | None = None
        self._bloom_beside = True
        self._new_file_plain: tuple[str, ...] | None = None
        self._seq_text = pa.array([], pa.string())
        self._pool_lock = threading.Lock()

    def write(self, plans: list[FilePlan]) -> list[WriteStat]:
        """Write every planned file group (task numbers follow the order of ``plans``), up to
        :func:`write_threads` at a time: Parquet encoding and compression release the GIL."""
        threads = min(write_threads(), len(plans))
        # one file at a time, or fewer files than threads: a file's bloom filter is hashed beside
        # its encoding; else the other files keep the cores busy and each thread hashes its own
        # file's keys (measured on the 1M-row load, 9 files on 2 threads: 0.73 -> 0.67 s, medians
        # of 14 fresh processes; fewer threads also leave the allocator fewer heaps of fresh memory)
        self._bloom_beside = threads <= 1 or len(plans) < write_threads()
        self._new_file_plain = self._plain_of_new_files(plans)
        most = max((p.num_updates + p.num_inserts for p in plans), default=0)
        self._seq_text = pc.cast(pa.array(np.arange(most, dtype=np.int64)), pa.string())
        try:
            if threads <= 1:
                stats = [self.write_file(task, plan) for task, plan in enumerate(plans)]
            else:
                stats = self._write_parallel(plans, threads)
            for plan in plans:
                self.table.ensure_partition_metadata(plan.partition, self.instant)
            return stats
        finally:
            if self._bloom_pool is not None:
                self._bloom_pool.shutdown(wait=True, cancel_futures=True)
                self._bloom_pool = None

    def _plain_of_new_files(self, plans: list[FilePlan]) -> tuple[str, ...] | None:
        """The mostly-distinct columns of this commit's new file groups, sampled once from the
        largest one's rows: they are slices of the same incoming rows (a rewrite samples its own
        file, whose kept rows may differ). None for fewer than two new file groups."""
        new = [p for p in plans if p.base is None and p.inserts]
        if len(new) < 2:
            return None
        rows = max(new, key=lambda p: p.num_inserts).inserts[0]
        return mostly_distinct(sch.conform(rows.drop_columns([KEY, PART]), self.schema, "incoming rows"))

    def _write_parallel(self, plans: list[FilePlan], threads: int) -> list[WriteStat]:
        """Every file written by a pool of ``threads``; the first failure cancels the files not
        started and is raised once the running ones ended (no file is written after it returns,
        so a rollback finds every file by its marker)."""
        if self._bloom_beside:
            self._pool(threads)
        pool = ThreadPoolExecutor(threads, thread_name_prefix="base-file")
        # the largest files first (task numbers keep the plans' order): a small file last fills a
        # gap instead of leaving a large one to run alone at the end
        tasks = sorted(enumerate(plans), key=lambda tp: -self._rows_to_write(tp[1]))
        futures = {task: pool.submit(self.write_file, task, plan) for task, plan in tasks}
        try:
            return [futures[task].result() for task in range(len(plans))]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _rows_to_write(self, plan: FilePlan) -> int:
        """About the rows of ``plan``'s new file (the base file's rows, its footer already read
        while locating keys, plus the incoming ones)."""
        kept = self.table.footer(plan.base).num_rows if plan.base is not None else 0
        return kept + plan.num_updates + plan.num_inserts

    def _pool(self, threads: int = 1) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._bloom_pool is None:
                self._bloom_pool = ThreadPoolExecutor(threads, thread_name_prefix="bloom")
            return self._bloom_pool

    def write_file(self, task: int, plan: FilePlan) -> WriteStat:
        """Write the new base file of one file group: its marker, then the file."""
        start = time.monotonic()
        name = f"{plan.file_id}_{task}-1-0_{self.instant}.parquet"
        path = f"{plan.partition}/{name}" if plan.partition else name
        parts: list[_Part] = []
        bloom: DynamicBloomFilter | None = None
        if plan.base is not None:
            kept, bloom = self._carry_over(plan)
            parts.append(kept)
        incoming = [*plan.updates, *plan.inserts]
        file_keys = pa.chunked_array(
            [c for p in parts for c in _chunks(p.keys)] + [c for t in incoming for c in _chunks(t.column(KEY))],
            pa.string(),
        )
        pending: DynamicBloomFilter | Future[DynamicBloomFilter] | None = bloom
        if bloom is None and len(file_keys) >= BLOOM_THREAD_MIN_KEYS:
            # hash the keys in a thread while the rest of the file is put together and encoded,
            # or here when other files' threads keep the cores busy
            pending = self._pool().submit(new_bloom, file_keys) if self._bloom_beside else new_bloom(file_keys)
        parts.extend(self._incoming(task, incoming, plain_commit_time=plan.base is not None))
        if plan.base is not None:
            # one dictionary per column for the kept rows (their row groups may each have had
            # one), which the incoming values join
            kept_data, new_data = share_dictionaries(parts[0].data, [p.data for p in parts[1:]])
            parts = [p._replace(data=d) for p, d in zip(parts, [kept_data, *new_data], strict=True)]
        data = pa.concat_tables([p.data for p in parts]) if len(parts) > 1 else parts[0].data
        if plan.base is None:  # one commit time: a one-entry dictionary, no string per row to hash
            commit_time: pa.Array | pa.ChunkedArray = constant_text(self.instant, data.num_rows)
        else:
            commit_time = concat_sharing(parts[0].commit_time, [p.commit_time for p in parts[1:]])
        seqnos = pa.chunked_array([c for p in parts for c in _chunks(p.seqno)], pa.string())
        self.pending.mark(path, IOType.MERGE if plan.base else IOType.CREATE)
        size = write_base_file(
            self.storage,
            path,
            data,
            commit_time,
            seqnos,
            file_keys,
            plan.partition,
            avro_schema_json=self.avro_meta,
            bloom=pending,
            plain=self._new_file_plain if plan.base is None else None,
        )
        return WriteStat(
            file_id=plan.file_id,
            partition=plan.partition,
            path=path,
            prev_commit=plan.base.instant if plan.base else None,
            rows_written=data.num_rows,
            rows_inserted=plan.num_inserts,
            rows_updated=plan.num_updates,
            rows_deleted=plan.num_deletes,
            size_bytes=size,
            elapsed_ms=int((time.monotonic() - start) * 1000),
        )

    def _carry_over(self, plan: FilePlan) -> tuple[_Part, DynamicBloomFilter | None]:
        """The rows of the base file that stay, and its bloom filter when it can be reused."""
        assert plan.base is not None
        old, located_mask = self._read_base(plan)
        old_rows = old.num_rows
        if located_mask is None and plan.remove_keys:
            rm = pa.chunked_array(plan.remove_keys, pa.string()).combine_chunks()
            located_mask = pc.is_in(old.column("_hoodie_record_key"), value_set=rm)
        if located_mask is not None:
            # one plain mask: a chunked one laid out unlike the table takes a slow path
            old = old.filter(_chunks_combined(pc.invert(located_mask)))
        # keys gone for good (deleted / moved out); updated-in-place keys come back
        gone = old_rows - old.num_rows - plan.num_updates
        footer = self.table.footer(plan.base)
        bloom: DynamicBloomFilter | None = None
        if footer.bloom_text and gone <= REUSE_BLOOM_MAX_GONE * max(1, old_rows):
            # the old filter already holds every carried-over and updated key: add the
            # inserts only (a bloom filter may hold extra keys; it only answers "maybe")
            bloom = footer.bloom()
            if bloom is not None and plan.inserts:
                bloom.add_keys(pa.chunked_array([i.column(KEY) for i in plan.inserts], pa.string()))
        meta = [c for c in META_COLUMNS if c in old.column_names]
        kept_data = old.drop_columns(meta)
        data = sch.conform(kept_data, self.schema, f"{plan.base.path}")  # dictionaries stay encoded
        kept = _Part(
            data,
            old.column("_hoodie_commit_time"),
            old.column("_hoodie_commit_seqno"),
            old.column("_hoodie_record_key"),
        )
        return kept, bloom

    def _incoming(self, task: int, incoming: list[pa.Table], plain_commit_time: bool) -> list[_Part]:
        """Incoming rows (updates, then inserts) with their commit time (plain strings to join a
        rewritten file's dictionary, else a one-entry dictionary) and sequence numbers."""
        parts = []
        seq = 0
        for t in incoming:
            n = t.num_rows
            data = sch.conform(t.drop_columns([KEY, PART]), self.schema, "incoming rows")
            seqno = prefixed_texts(f"{self.instant}_{task}_", self._numbers(seq, n))
            seq += n
            if plain_commit_time:
                commit_time: pa.Array = pa.repeat(pa.scalar(self.instant, pa.string()), n)
            else:
                commit_time = constant_text(self.instant, n)
            parts.append(_Part(data, commit_time, seqno, t.column(KEY)))
        return parts

    def _numbers(self, start: int, n: int) -> pa.Array:
        """``start .. start + n - 1`` as text: a slice of the numbers every file of the commit
        shares (each file's sequence numbers count from 0), printed once."""
        if start + n <= len(self._seq_text):
            return self._seq_text.slice(start, n)
        return pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())

    def _read_base(self, plan: FilePlan) -> tuple[pa.Table, pa.Array | pa.ChunkedArray | None]:
        """The plan's base file, and the mask of its rows to drop when locating already has it.

        The partition path and file name columns are not read: the new file gets its own.
        """
        assert plan.base is not None
        path = plan.base.path
        names = [f.name for f in self.table.footer(plan.base).schema]
        columns = [n for n in names if n not in REWRITTEN_META]
        located = self.locator.take(path)
        if located is None or not plan.remove_keys:
            return self._read_kept(path, columns), None
        # every key located in a file is removed from it (deleted, updated or moved), each once:
        # the masks agree (checked by distinct keys when the counts do not show it)
        if sum(len(r) for r in plan.remove_keys) != len(located.hits):
            rm = pa.chunked_array(plan.remove_keys, pa.string())
            if pc.count_distinct(rm).as_py() != pc.count_distinct(located.hits).as_py():
                return self._read_kept(path, columns), None
        if located.file_keys is None:
            return self._read_kept(path, columns), located.mask
        old = self._read_kept(path, [n for n in columns if n != "_hoodie_record_key"])
        if old.num_rows != len(located.file_keys):
            raise HudiError(f"{self.storage.full_uri(path)} changed while this commit was writing")
        return old.append_column("_hoodie_record_key", located.file_keys), located.mask

    def _read_kept(self, path: str, columns: list[str]) -> pa.Table:
        """``columns`` of a base file, its dictionary-encoded string columns as Arrow dictionaries
        (see :mod:`tributary.hudi.dictionaries`)."""
        try:
            with self.storage.open_input(path) as f:
                metadata = pq.read_metadata(f)
                # the key and sequence number columns leave as plain strings (other writers may
                # have dictionary-encoded them): they join the incoming keys and sequence numbers
                as_dictionary = dictionary_columns(metadata, [c for c in columns if c not in PLAIN_META])
                return pq.ParquetFile(f, metadata=metadata, read_dictionary=as_dictionary).read(columns=columns)
        except (OSError, pa.ArrowException) as exc:
            raise HudiError(f"{self.storage.full_uri(path)}: cannot read base file: {exc}") from exc


def _chunks(col: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """The chunks of a column (no copy: the Parquet writer takes a row group in many chunks)."""
    return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]


def _chunks_combined(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
