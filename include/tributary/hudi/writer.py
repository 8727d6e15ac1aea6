"""One Copy-on-Write commit: check the input, evolve the schema, plan, write, commit atomically.

Order of a commit (a reader never sees half of one), as :mod:`instants` runs it: requested →
inflight → per base file its marker, then the file (new names, invisible until committed) →
``before_complete`` → completed instant (the last file written) → markers removed. Any failure
before the completed instant rolls the instant back (its files deleted, a rollback instant
written). The parts: :mod:`locate` finds the stored keys, :mod:`planner` decides the file
groups, :mod:`file_writer` writes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tributary.errors import HudiError
from tributary.hudi import instants
from tributary.hudi import schema as sch
from tributary.hudi.file_index import FileIndex
from tributary.hudi.file_writer import FileWriter, WriteStat, stats_by_partition, write_threads
from tributary.hudi.keys import partition_paths, record_keys
from tributary.hudi.locate import KeyLocator
from tributary.hudi.options import WriteOperation
from tributary.hudi.planner import KEY, PART, FileSizing, PlanInput, WritePlan, lookup_keys, plan_write
from tributary.hudi.uniqueness import record_keys_distinct

if TYPE_CHECKING:
    from tributary.hudi.table import HudiTable

logger = logging.getLogger(__name__)


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
    write_stats: tuple[WriteStat, ...] = ()


@dataclass(frozen=True)
class WriteInput:
    """A write's rows, checked: upserts with KEY and PART columns, deletes as unique KEYs."""

    operation: WriteOperation
    upserts: pa.Table | None
    deletes: pa.Table | None

    @property
    def empty(self) -> bool:
        return (self.upserts is None or self.upserts.num_rows == 0) and (
            self.deletes is None or self.deletes.num_rows == 0
        )


class InputChecker:
    """Checks and keys the rows of one write to ``table_name``."""

    def __init__(self, table: HudiTable) -> None:
        self.opts = table.options
        self.name = table.options.table_name

    def _keyed(self, data: pa.Table | None, what: str) -> pa.Table | None:
        if data is None:
            return None
        if not isinstance(data, pa.Table):
            raise HudiError(f"{what} for table {self.name!r} must be a pyarrow.Table")
        # the key and partition columns are computed on: plain values; the rest may stay encoded
        plain = {*self.opts.record_key_fields, *self.opts.partition_fields}
        data = sch.normalize_table(data, f"{what} for table {self.name!r}", plain)
        return data.append_column(KEY, record_keys(data, self.opts, what))

    def _check_operation(self, upserts: pa.Table | None, deletes: pa.Table | None, op: WriteOperation) -> None:
        if op == WriteOperation.DELETE and upserts is not None and upserts.num_rows:
            raise HudiError(f"table {self.name!r}: operation DELETE takes `deletes`, not `upserts`")
        if op == WriteOperation.INSERT_OVERWRITE_TABLE and deletes is not None and deletes.num_rows:
            raise HudiError(f"table {self.name!r}: INSERT_OVERWRITE_TABLE takes no `deletes`")

    def _check_keys(self, ups: pa.Table, dels: pa.Table | None, op: WriteOperation) -> None:
        if op != WriteOperation.INSERT and not record_keys_distinct(ups, ups.column(KEY), self.opts.record_key_fields):
            n_unique = len(pc.unique(ups.column(KEY)))
            raise HudiError(
                f"upserts for table {self.name!r} contain {ups.num_rows - n_unique} duplicate "
                "record key(s); deduplicate by key (keep the latest by the precombine field) before writing"
            )
        if dels is not None and dels.num_rows:
            both = pc.sum(pc.cast(pc.is_in(ups.column(KEY), value_set=dels.column(KEY)), pa.int64())).as_py()
            if both:
                raise HudiError(
                    f"table {self.name!r}: {both} record key(s) appear in both upserts and deletes of "
                    "one write; keep only the latest change per key"
                )

    def check(self, upserts: pa.Table | None, deletes: pa.Table | None, operation: WriteOperation) -> WriteInput:
        op = WriteOperation(operation)
        self._check_operation(upserts, deletes, op)
        ups = self._keyed(upserts, "upserts")
        dels = self._keyed(deletes, "deletes")
        if dels is not None:
            dels = pa.table({KEY: pc.unique(dels.column(KEY).combine_chunks())})
        if ups is not None:
            ups = ups.append_column(PART, partition_paths(ups, self.opts, "upserts"))
            self._check_keys(ups, dels, op)
        return WriteInput(op, ups, dels)


def check_extra_metadata(extra_metadata: Mapping[str, str] | None) -> dict[str, str]:
    extra = {str(k): str(v) for k, v in (extra_metadata or {}).items()}
    if "schema" in extra:
        raise HudiError("extra_metadata must not use the key 'schema' (Hudi keeps the table schema there)")
    return extra


class CommitWriter:
    """Executes one write against ``table`` whose file slices are ``index`` (use through
    :meth:`HudiTable.write`)."""

    def __init__(self, table: HudiTable, index: FileIndex) -> None:
        self.table = table
        self.index = index
        self.opts = table.options
        self.storage = table.storage
        self.timeline = table.timeline

    def run(
        self,
        upserts: pa.Table | None,
        deletes: pa.Table | None,
        operation: WriteOperation,
        extra_metadata: Mapping[str, str] | None,
        before_complete: Callable[[], None] | None,
        allow_empty: bool,
    ) -> CommitResult:
        inp = InputChecker(self.table).check(upserts, deletes, operation)
        extra = check_extra_metadata(extra_metadata)
        schema = self._new_schema(inp)
        if inp.empty and inp.operation != WriteOperation.INSERT_OVERWRITE_TABLE and not allow_empty:
            return CommitResult(None, inp.operation)
        if schema is not None:
            extra = {"schema": sch.avro_schema_json(schema, self.opts.table_name), **extra}
        pending = instants.start_write(self.storage, self.timeline, inp.operation)
        try:
            plan, stats = self._plan_and_write(inp, schema, pending)
            metadata = self._metadata(inp.operation, stats, plan, extra)
            if before_complete is not None:
                before_complete()
            done = pending.complete(metadata)
        except BaseException:
            pending.abort()
            raise
        pending.clear_markers()
        return CommitResult(
            instant=pending.instant,
            operation=inp.operation,
            inserted=plan.inserted,
            updated=plan.updated,
            deleted=plan.deleted,
            files_written=len(stats),
            files_replaced=sum(len(v) for v in plan.replaced.values()),
            bytes_written=sum(s.size_bytes for s in stats),
            completion_time=done.completion,
            write_stats=tuple(stats),
        )

    def _new_schema(self, inp: WriteInput) -> pa.Schema | None:
        """The table's schema after this write (evolved by the upserts' columns)."""
        old_schema = self.table.schema_of(self.index)
        if inp.upserts is None:
            return old_schema
        incoming = sch.value_schema(pa.schema([f for f in inp.upserts.schema if f.name not in (KEY, PART)]))
        return sch.evolve(old_schema, incoming, self.opts.table_name)

    def _plan_and_write(
        self, inp: WriteInput, schema: pa.Schema | None, pending: instants.PendingWrite
    ) -> tuple[WritePlan, list[WriteStat]]:
        slices = self.index.latest_files()
        locator = KeyLocator(self.storage, self.table.footer, write_threads())
        located = locator.locate(slices, lookup_keys(inp.upserts, inp.deletes, inp.operation))
        plan = plan_write(
            PlanInput(
                operation=inp.operation,
                upserts=inp.upserts,
                deletes=inp.deletes,
                slices=slices,
                located=located,
                sizing=FileSizing(
                    self.opts.target_file_size_bytes,
                    self.opts.small_file_limit_bytes,
                    self.opts.record_size_estimate_bytes,
                ),
                stored_record_bytes=lambda: locator.stored_record_bytes(slices),
            )
        )
        if not plan.files:
            return plan, []
        if schema is None:  # rows to write come with a schema
            raise HudiError(f"table {self.opts.table_name!r}: no schema for the rows to write")
        return plan, FileWriter(self.table, pending, schema, locator).write(plan.files)

    @staticmethod
    def _metadata(
        operation: WriteOperation, stats: list[WriteStat], plan: WritePlan, extra: dict[str, str]
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "partitionToWriteStats": stats_by_partition(stats),
            "compacted": False,
            "extraMetadata": extra,
            "operationType": operation.value,
        }
        if instants.WriteAction.of(operation) == instants.WriteAction.REPLACE_COMMIT:
            metadata["partitionToReplaceFileIds"] = plan.replaced
        return metadata
