"""One Copy-on-Write commit: locate keys, plan file groups, write base files, commit atomically.

Order of a commit (a reader never sees half of one):
requested → inflight → per base file its marker, then the file (new names, invisible until
committed) → ``before_complete`` → completed instant (the last file written) → markers removed. Any failure before the completed instant rolls
the instant back (its files deleted, a rollback instant written).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError
from tributary.hudi import markers
from tributary.hudi import schema as sch
from tributary.hudi.base_file import (
    BLOOM_THREAD_MIN_KEYS,
    BaseFile,
    Footer,
    new_bloom,
    new_file_id,
    read_footer,
    read_table,
    write_base_file,
)
from tributary.hudi.bloom import DynamicBloomFilter
from tributary.hudi.file_index import FileIndex
from tributary.hudi.keys import partition_paths, record_keys
from tributary.hudi.markers import IOType
from tributary.hudi.options import META_COLUMNS, TableOptions, WriteOperation
from tributary.hudi.timeline import Timeline
from tributary.hudi.uniqueness import record_keys_distinct

logger = logging.getLogger(__name__)

KEY, PART, FILE = "__tributary_key", "__tributary_part", "__tributary_file"
DEFAULT_RECORD_BYTES = 1024
REWRITTEN_META = ("_hoodie_partition_path", "_hoodie_file_name")
"""Meta columns a rewrite does not read from the old file: they are set anew."""
LOCATED_KEYS_MAX_BYTES = 256 * 2**20
"""Key columns read while locating keys are kept for the rewrite up to this many bytes in total."""
REUSE_BLOOM_MAX_GONE = 0.1
"""Rebuild a rewritten file's bloom filter when more than this share of its keys left it."""


@dataclass(frozen=True)
class CommitResult:
    """Outcome of :meth:`HudiTable.write`."""

    instant: str | None
    operation: WriteOperation
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    files_written: int = 0
    files_replaced: int = 0
    bytes_written: int = 0
    completion_time: str | None = None


@dataclass
class _FilePlan:
    """Changes to one file group (existing when ``base`` is set)."""

    partition: str
    file_id: str
    base: BaseFile | None = None
    remove_keys: list[pa.Array] = field(default_factory=list)  # deleted or updated-in-place or moved out
    updates: list[pa.Table] = field(default_factory=list)  # rows (data + KEY) replacing existing keys
    inserts: list[pa.Table] = field(default_factory=list)
    num_deletes: int = 0


class _KeyProbe:
    """Bloom filter probes of the incoming keys, one file at a time (numpy, see ``KeyHasher``)."""

    def __init__(self, keys: pa.Array) -> None:
        self.keys = keys

    def might_contain(self, bloom: DynamicBloomFilter, mask: pa.Array) -> pa.Array:
        """``mask`` narrowed to the keys ``bloom`` may hold (only the masked keys are hashed)."""
        sel = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), np.bool_))
        cands = self.keys.take(pa.array(sel))
        hit = np.asarray(bloom.might_contain(cands).to_numpy(zero_copy_only=False), np.bool_)
        out = np.zeros(len(self.keys), np.bool_)
        out[sel[hit]] = True
        return pa.array(out, pa.bool_())


class CommitWriter:
    """Executes one write against a table (use through :meth:`HudiTable.write`)."""

    def __init__(self, table: Any) -> None:  # HudiTable
        self.t = table
        self.opts: TableOptions = table.options
        self.storage = table.storage
        self.timeline: Timeline = table.timeline
        # base file path -> (keys located in it, its rows holding them, its key column or None)
        self._located: dict[str, tuple[pa.Array, pa.Array | pa.ChunkedArray, pa.ChunkedArray | None]] = {}
        self._located_bytes = 0
        self._bloom_pool: ThreadPoolExecutor | None = None

    # --- input -------------------------------------------------------------------------------

    def _prepare(self, data: pa.Table | None, what: str) -> pa.Table | None:
        if data is None:
            return None
        if not isinstance(data, pa.Table):
            raise HudiError(f"{what} for table {self.opts.table_name!r} must be a pyarrow.Table")
        data = sch.normalize_table(data, f"{what} for table {self.opts.table_name!r}")
        keys = record_keys(data, self.opts, what)
        return data.append_column(KEY, keys)

    def run(
        self,
        upserts: pa.Table | None,
        deletes: pa.Table | None,
        operation: WriteOperation,
        extra_metadata: Mapping[str, str] | None,
        before_complete: Callable[[], None] | None,
        allow_empty: bool,
    ) -> CommitResult:
        operation = WriteOperation(operation)
        if operation == WriteOperation.DELETE and upserts is not None and upserts.num_rows:
            raise HudiError(f"table {self.opts.table_name!r}: operation DELETE takes `deletes`, not `upserts`")
        if operation == WriteOperation.INSERT_OVERWRITE_TABLE and deletes is not None and deletes.num_rows:
            raise HudiError(f"table {self.opts.table_name!r}: INSERT_OVERWRITE_TABLE takes no `deletes`")
        ups = self._prepare(upserts, "upserts")
        dels = self._prepare(deletes, "deletes")
        if dels is not None:
            dels = pa.table({KEY: pc.unique(dels.column(KEY).combine_chunks())})
        if ups is not None:
            ups = ups.append_column(PART, partition_paths(ups, self.opts, "upserts"))
            if operation != WriteOperation.INSERT and not record_keys_distinct(
                ups, ups.column(KEY), self.opts.record_key_fields
            ):
                n_unique = len(pc.unique(ups.column(KEY)))
                raise HudiError(
                    f"upserts for table {self.opts.table_name!r} contain {ups.num_rows - n_unique} duplicate "
                    "record key(s); deduplicate by key (keep the latest by the precombine field) before writing"
                )
            if dels is not None and dels.num_rows:
                both = pc.sum(pc.cast(pc.is_in(ups.column(KEY), value_set=dels.column(KEY)), pa.int64())).as_py()
                if both:
                    raise HudiError(
                        f"table {self.opts.table_name!r}: {both} record key(s) appear in both upserts and deletes of "
                        "one write; keep only the latest change per key"
                    )
        extra = {str(k): str(v) for k, v in (extra_metadata or {}).items()}
        if "schema" in extra:
            raise HudiError("extra_metadata must not use the key 'schema' (Hudi keeps the table schema there)")

        old_schema = self.t.schema
        new_schema = old_schema
        if ups is not None:
            incoming = pa.schema([f for f in ups.schema if f.name not in (KEY, PART)])
            new_schema = sch.evolve(old_schema, incoming, self.opts.table_name)
        empty_input = (ups is None or ups.num_rows == 0) and (dels is None or dels.num_rows == 0)
        if empty_input and operation != WriteOperation.INSERT_OVERWRITE_TABLE and not allow_empty:
            return CommitResult(None, operation)
        index = FileIndex(self.storage, self.timeline)
        instant = self.timeline.new_time()
        action = "replacecommit" if operation == WriteOperation.INSERT_OVERWRITE_TABLE else "commit"
        self.schema = new_schema
        self.instant = instant
        avro_json = sch.avro_schema_json(new_schema, self.opts.table_name) if new_schema is not None else None
        extra_all = {"schema": avro_json} if avro_json else {}
        extra_all.update(extra)

        # requested + inflight first: from here on a crash leaves a pending instant to roll back
        if action == "replacecommit":
            self.timeline.write_requested(instant, action, self.timeline.requested_replace_payload(operation.value, {}))
        else:
            self.timeline.write_requested(instant, action)
        inflight = {
            "partitionToWriteStats": {},
            "compacted": False,
            "extraMetadata": {},
            "operationType": operation.value,
        }
        if action == "replacecommit":
            inflight["partitionToReplaceFileIds"] = {}
        self.timeline.write_inflight(instant, action, self.timeline.commit_payload(inflight, action))
        try:
            plans, counts, replaced = self._plan(index, ups, dels, operation)
            stats, nbytes = self._execute(plans)
            metadata: dict[str, Any] = {
                "partitionToWriteStats": stats,
                "compacted": False,
                "extraMetadata": extra_all,
                "operationType": operation.value,
            }
            if action == "replacecommit":
                metadata["partitionToReplaceFileIds"] = replaced
            if before_complete is not None:
                before_complete()
            done = self.timeline.write_completed(instant, action, self.timeline.commit_payload(metadata, action))
        except BaseException:
            logger.exception("write to %s failed before commit %s completed; rolling back", self.storage.uri, instant)
            from tributary.hudi.maintenance import rollback_pending

            try:
                self.timeline.reload()
                rollback_pending(self.storage, self.timeline)
            except Exception:  # the next write retries the rollback
                logger.exception("rollback of %s on %s failed; the next write will retry it", instant, self.storage.uri)
            raise
        markers.delete(self.storage, instant)  # as Hudi's post-commit: the instant is complete
        files_written = sum(len(v) for v in stats.values())
        n_replaced = sum(len(v) for v in replaced.values())
        return CommitResult(
            instant=instant,
            operation=operation,
            inserted=counts["inserted"],
            updated=counts["updated"],
            deleted=counts["deleted"],
            files_written=files_written,
            files_replaced=n_replaced,
            bytes_written=nbytes,
            completion_time=done.completion,
        )

    # --- planning ------------------------------------------------------------------------------

    def _footer(self, bf: BaseFile) -> Footer:
        cache = self.t._footer_cache
        if bf.path not in cache:
            cache[bf.path] = read_footer(self.storage, bf.path)
        return cache[bf.path]

    def _locate(self, files: list[BaseFile], keys: pa.Array) -> list[tuple[BaseFile, pa.Array]]:
        """(file, keys found in it) for every file holding some of ``keys``."""
        found: list[tuple[BaseFile, pa.Array]] = []
        if len(keys) == 0:
            return found
        probe = _KeyProbe(keys)
        for bf in files:
            footer = self._footer(bf)
            if footer.num_rows == 0:
                continue
            if footer.min_key is not None and footer.max_key is not None:
                mask = pc.and_(pc.greater_equal(keys, footer.min_key), pc.less_equal(keys, footer.max_key))
                n = pc.sum(pc.cast(mask, pa.int64())).as_py() or 0
                if n == 0:
                    continue
            else:
                mask = pa.repeat(pa.scalar(True), len(keys))
                n = len(keys)
            if footer.bloom_text and n * 30 < footer.num_rows:
                bloom = footer.bloom()
                assert bloom is not None
                mask = probe.might_contain(bloom, mask)
                if not pc.any(mask).as_py():
                    continue
            cands = pc.filter(keys, mask)
            file_keys = read_table(self.storage, bf.path, ["_hoodie_record_key"]).column(0)
            # hash the smaller side (the candidates), probe the file's keys
            in_file = pc.is_in(file_keys, value_set=cands)
            hits = pc.filter(file_keys, in_file).combine_chunks()
            if len(hits):
                found.append((bf, hits))
                # the rewrite of this file drops exactly these rows: keep the mask (and, within a
                # budget, the key column) so it neither reads the keys again nor probes them again
                keep_keys = self._located_bytes + file_keys.nbytes <= LOCATED_KEYS_MAX_BYTES
                if keep_keys:
                    self._located_bytes += file_keys.nbytes
                self._located[bf.path] = (hits, in_file, file_keys if keep_keys else None)
        return found

    def _plan(
        self, index: FileIndex, ups: pa.Table | None, dels: pa.Table | None, op: WriteOperation
    ) -> tuple[list[_FilePlan], dict[str, int], dict[str, list[str]]]:
        counts = {"inserted": 0, "updated": 0, "deleted": 0}
        plans: dict[tuple[str, str], _FilePlan] = {}
        replaced: dict[str, list[str]] = {}
        latest = index.latest_files()
        if op == WriteOperation.INSERT_OVERWRITE_TABLE:
            for bf in latest:
                replaced.setdefault(bf.partition, []).append(bf.file_id)
            if ups is not None and ups.num_rows:
                counts["inserted"] = ups.num_rows
                self._assign_inserts(plans, ups, [], {})
            return list(plans.values()), counts, replaced

        lookup_parts: list[pa.Array] = []
        if ups is not None and op != WriteOperation.INSERT:
            lookup_parts.append(ups.column(KEY).combine_chunks())
        if dels is not None:
            lookup_parts.append(dels.column(KEY).combine_chunks())
        keys = (
            pa.chunked_array(lookup_parts, pa.string()).combine_chunks() if lookup_parts else pa.array([], pa.string())
        )
        located = self._locate(latest, keys)
        # key -> located file (its index in `located`)
        files = [bf for bf, _ in located]
        loc = pa.table(
            {
                KEY: pa.chunked_array([hits for _, hits in located], pa.string()),
                FILE: pa.chunked_array(
                    [pa.array(np.full(len(hits), i, np.int32)) for i, (_, hits) in enumerate(located)], pa.int32()
                ),
            }
        )

        def plan_for(bf: BaseFile) -> _FilePlan:
            k = (bf.partition, bf.file_id)
            if k not in plans:
                plans[k] = _FilePlan(bf.partition, bf.file_id, base=bf)
            return plans[k]

        if dels is not None and dels.num_rows and loc.num_rows:
            # the inner join of the (unique) delete keys with the located keys
            d = loc.filter(pc.is_in(loc.column(KEY), value_set=dels.column(KEY)))
            counts["deleted"] = d.num_rows
            for i, grp in _group_files(d):
                p = plan_for(files[i])
                p.remove_keys.append(grp.column(KEY).combine_chunks())
                p.num_deletes += grp.num_rows
        insert_rows: pa.Table | None = None
        if ups is not None and ups.num_rows:
            if op == WriteOperation.INSERT or loc.num_rows == 0:
                insert_rows = ups
                counts["inserted"] = ups.num_rows
            else:
                existing, new = self._split_located(ups, loc)
                counts["updated"] = existing.num_rows
                counts["inserted"] = new.num_rows
                moved_parts: list[pa.Table] = []
                for i, grp in _group_files(existing):
                    bf = files[i]
                    p = plan_for(bf)
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
                insert_rows = pa.concat_tables([new, *moved_parts]) if moved_parts else new
        if insert_rows is not None and insert_rows.num_rows:
            self._assign_inserts(plans, insert_rows, latest, {bf.path: bf for bf in files})
        return list(plans.values()), counts, replaced

    @staticmethod
    def _split_located(ups: pa.Table, loc: pa.Table) -> tuple[pa.Table, pa.Table]:
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

    def _record_size(self, latest: list[BaseFile], sample: pa.Table) -> float:
        rows = size = 0
        for bf in latest[-20:]:
            footer = self._footer(bf)
            if footer.num_rows:
                # the bloom filter (~430 KB of footer) does not grow with the rows
                rows += footer.num_rows
                size += max(0, bf.size - len(footer.bloom_text or b""))
        if rows:
            return max(1.0, size / rows)
        if sample.num_rows:
            # Parquet compresses; in-memory bytes per row overestimate, which keeps files under target
            return max(1.0, sample.nbytes / sample.num_rows / 2)
        return DEFAULT_RECORD_BYTES

    def _assign_inserts(
        self, plans: dict[tuple[str, str], _FilePlan], rows: pa.Table, latest: list[BaseFile], by_path: dict
    ) -> None:
        """Pack inserts into small files of their partition, then into new file groups."""
        target, small = self.opts.target_file_size_bytes, self.opts.small_file_limit_bytes
        rec = self._record_size(latest, rows)
        per_file = max(1, int(target // rec))
        by_part: dict[str, list[BaseFile]] = {}
        for bf in latest:
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
                key = (bf.partition, bf.file_id)
                p = plans.get(key) or _FilePlan(bf.partition, bf.file_id, base=bf)
                plans[key] = p
                p.inserts.append(grp.slice(offset, take))
                offset += take
            while offset < n:
                take = min(per_file, n - offset)
                fid = new_file_id()
                plans[(part, fid)] = _FilePlan(part, fid, inserts=[grp.slice(offset, take)])
                offset += take

    # --- execution -----------------------------------------------------------------------------

    def _read_base(self, plan: _FilePlan) -> tuple[pa.Table, pa.Array | pa.ChunkedArray | None]:
        """The plan's base file, and the mask of its rows to drop when ``_locate`` already has it.

        The partition path and file name columns are not read: the new file gets its own.
        """
        assert plan.base is not None
        path = plan.base.path
        names = [f.name for f in self._footer(plan.base).schema]
        columns = [n for n in names if n not in REWRITTEN_META]
        located = self._located.pop(path, None)
        if located is None or not plan.remove_keys:
            return read_table(self.storage, path, columns), None
        hits, mask, file_keys = located
        # every key located in a file is removed from it (deleted, updated or moved), each once:
        # the masks agree (checked by distinct keys when the counts do not show it)
        if sum(len(r) for r in plan.remove_keys) != len(hits):
            rm = pa.chunked_array(plan.remove_keys, pa.string())
            if pc.count_distinct(rm).as_py() != pc.count_distinct(hits).as_py():
                return read_table(self.storage, path, columns), None
        if file_keys is None:
            return read_table(self.storage, path, columns), mask
        old = read_table(self.storage, path, [n for n in columns if n != "_hoodie_record_key"])
        if old.num_rows != len(file_keys):
            raise HudiError(f"{self.storage.full_uri(path)} changed while this commit was writing")
        return old.append_column("_hoodie_record_key", file_keys), mask

    def _pool(self) -> ThreadPoolExecutor:
        if self._bloom_pool is None:
            self._bloom_pool = ThreadPoolExecutor(1, thread_name_prefix="bloom")
        return self._bloom_pool

    def _execute(self, plans: list[_FilePlan]) -> tuple[dict[str, list[dict[str, Any]]], int]:
        try:
            return self._write_files(plans)
        finally:
            if self._bloom_pool is not None:
                self._bloom_pool.shutdown(wait=True, cancel_futures=True)
                self._bloom_pool = None

    def _write_files(self, plans: list[_FilePlan]) -> tuple[dict[str, list[dict[str, Any]]], int]:
        stats: dict[str, list[dict[str, Any]]] = {}
        total = 0
        partitions_written = set()
        schema = self.schema
        avro_meta = sch.avro_schema_json(schema, self.opts.table_name, with_meta=True)
        for task, plan in enumerate(sorted(plans, key=lambda p: (p.partition, p.file_id))):
            start = time.monotonic()
            token = f"{task}-1-0"
            name = f"{plan.file_id}_{token}_{self.instant}.parquet"
            path = f"{plan.partition}/{name}" if plan.partition else name
            new_parts: list[tuple[pa.Table, pa.Array, pa.Array, pa.Array]] = []
            num_updates = sum(u.num_rows for u in plan.updates)
            num_inserts = sum(i.num_rows for i in plan.inserts)
            bloom: DynamicBloomFilter | None = None
            if plan.base is not None:
                old, located_mask = self._read_base(plan)
                old_rows = old.num_rows
                if located_mask is None and plan.remove_keys:
                    rm = pa.chunked_array(plan.remove_keys, pa.string()).combine_chunks()
                    located_mask = pc.is_in(old.column("_hoodie_record_key"), value_set=rm)
                if located_mask is not None:
                    # one plain mask: a chunked one laid out unlike the table takes a slow path
                    old = old.filter(_chunks_combined(pc.invert(located_mask)))
                # keys gone for good (deleted / moved out); updated-in-place keys come back
                gone = old_rows - old.num_rows - num_updates
                footer = self._footer(plan.base)
                if footer.bloom_text and gone <= REUSE_BLOOM_MAX_GONE * max(1, old_rows):
                    # the old filter already holds every carried-over and updated key: add the
                    # inserts only (a bloom filter may hold extra keys; it only answers "maybe")
                    bloom = footer.bloom()
                    if bloom is not None and plan.inserts:
                        bloom.add_keys(pa.chunked_array([i.column(KEY) for i in plan.inserts], pa.string()))
                meta = [c for c in META_COLUMNS if c in old.column_names]
                data = sch.conform(old.drop_columns(meta), schema, f"{plan.base.path}")
                new_parts.append(
                    (
                        data,
                        old.column("_hoodie_commit_time"),
                        old.column("_hoodie_commit_seqno"),
                        old.column("_hoodie_record_key"),
                    )
                )
            incoming = [*plan.updates, *plan.inserts]
            file_keys = pa.chunked_array(
                [c for p in new_parts for c in _chunks(p[3])] + [c for t in incoming for c in _chunks(t.column(KEY))],
                pa.string(),
            )
            pending: DynamicBloomFilter | Future[DynamicBloomFilter] | None = bloom
            if bloom is None and len(file_keys) >= BLOOM_THREAD_MIN_KEYS:
                # hash the keys in a thread while the rest of the file is put together and encoded
                pending = self._pool().submit(new_bloom, file_keys)
            seq = 0
            for t in incoming:
                n = t.num_rows
                keys = t.column(KEY)
                data = sch.conform(t.drop_columns([KEY, PART]), schema, "incoming rows")
                seqno = pc.binary_join_element_wise(
                    pa.scalar(f"{self.instant}_{task}_"),
                    pc.cast(pa.array(np.arange(seq, seq + n, dtype=np.int64)), pa.string()),
                    "",
                )
                seq += n
                new_parts.append((data, pa.repeat(pa.scalar(self.instant, pa.string()), n), seqno, keys))
            data = pa.concat_tables([p[0] for p in new_parts]) if len(new_parts) > 1 else new_parts[0][0]
            commit_time = pa.chunked_array([c for p in new_parts for c in _chunks(p[1])], pa.string())
            seqnos = pa.chunked_array([c for p in new_parts for c in _chunks(p[2])], pa.string())
            markers.create(self.storage, self.instant, path, IOType.MERGE if plan.base else IOType.CREATE)
            size = write_base_file(
                self.storage,
                path,
                data,
                commit_time,
                seqnos,
                file_keys,
                plan.partition,
                avro_schema_json=avro_meta,
                bloom=pending,
            )
            if plan.partition not in partitions_written:
                self.t._ensure_partition_metadata(plan.partition, self.instant)
                partitions_written.add(plan.partition)
            total += size
            elapsed = int((time.monotonic() - start) * 1000)
            stats.setdefault(plan.partition, []).append(
                {
                    "fileId": plan.file_id,
                    "path": path,
                    "cdcStats": None,
                    "prevCommit": plan.base.instant if plan.base else "null",
                    "numWrites": data.num_rows,
                    "numDeletes": plan.num_deletes,
                    "numUpdateWrites": num_updates,
                    "numInserts": num_inserts,
                    "totalWriteBytes": size,
                    "totalWriteErrors": 0,
                    "tempPath": None,
                    "partitionPath": plan.partition,
                    "totalLogRecords": 0,
                    "totalLogFilesCompacted": 0,
                    "totalLogSizeCompacted": 0,
                    "totalUpdatedRecordsCompacted": 0,
                    "totalLogBlocks": 0,
                    "totalCorruptLogBlock": 0,
                    "totalRollbackBlocks": 0,
                    "fileSizeInBytes": size,
                    "minEventTime": None,
                    "maxEventTime": None,
                    "runtimeStats": {
                        "totalScanTime": 0,
                        "totalUpsertTime": elapsed if plan.base else 0,
                        "totalCreateTime": 0 if plan.base else elapsed,
                    },
                }
            )
        return stats, total


def _chunks(col: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """The chunks of a column (no copy: the Parquet writer takes a row group in many chunks)."""
    return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]


def _chunks_combined(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


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
    out = []
    col = table.column(column)
    for v in sorted(values):
        out.append((v, table.filter(pc.equal(col, v))))
    return out
