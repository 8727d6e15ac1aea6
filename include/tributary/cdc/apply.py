"""Apply CDC files to one Hudi table in one commit, exactly once.

:func:`apply_files` is what a file processor calls with the files it holds for a table (it skips
files the table's checkpoint says are applied, so a retry after a crash cannot apply one twice);
:func:`apply_pending` lists a source folder first (the one-shot command). Every file is read and
checked before anything is written, so bad input leaves the table as it was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from tributary.cdc.checkpoint import K_VERSION, Checkpoint
from tributary.cdc.files import CdcFile, list_files, sort_files
from tributary.cdc.merge import PlanOperation, WritePlan, plan
from tributary.cdc.options import CHANGE_ID_COLUMN, OP_COLUMN, CdcOptions
from tributary.cdc.reader import read_file
from tributary.cdc.schema import data_schema
from tributary.errors import CdcFileError, CommitConflictError, HudiError

if TYPE_CHECKING:
    from tributary.hudi import HudiTable, TableOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    """What one apply did to one table (no commit when ``instant`` is None)."""

    table: str
    files: tuple[str, ...] = ()
    """Files applied by this commit, in DMS order (paths relative to the source)."""
    skipped: tuple[str, ...] = ()
    """Files given that the table had applied already."""
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    changes: int = 0
    """Change rows read from the files."""
    instant: str | None = None
    operation: str | None = None
    reload: bool = False
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        """The one line the command prints."""
        return (
            f"{self.table}: files={len(self.files)} inserted={self.inserted} updated={self.updated} "
            f"deleted={self.deleted} instant={self.instant or '-'}" + (" (reload)" if self.reload else "")
        )


def table_options(options: CdcOptions) -> TableOptions:
    """The Hudi writer's options for a CDC table."""
    from tributary.hudi import TableOptions

    return TableOptions(
        table_name=options.table_name,
        record_key_fields=options.hudi_record_key_fields,
        precombine_field=options.precombine_field,
        partition_fields=options.partition_fields,
        hive_style_partitioning=options.hive_style_partitioning,
        table_version=options.table_version,
        database_name=options.database_name,
    )


def default_table_name(target: str) -> str:
    """A Hudi table name from the target's last path segment (``raw/orders`` → ``orders``)."""
    name = PurePosixPath(target.rstrip("/").split("://", 1)[-1]).name
    name = re.sub(r"[^A-Za-z0-9_]", "_", name) or "table"
    return name if re.match(r"[A-Za-z_]", name) else f"t_{name}"


def read_checkpoint(table: HudiTable | None, latest: Mapping[str, str] | None = None) -> Checkpoint:
    """The checkpoint of the newest completed commit that carries one (empty without one).

    Usually the latest commit (``latest``: its extraMetadata, when the caller read it already);
    when another writer (Spark, a maintenance job) committed after Tributary, the active
    timeline is searched back for Tributary's last checkpoint.
    """
    if table is None:
        return Checkpoint()
    if latest is None:
        latest = table.latest_extra_metadata()
    if K_VERSION in latest:
        return Checkpoint.from_metadata(latest)
    for commit in reversed(table.completed_commits()):
        if K_VERSION in commit.extra_metadata:
            log.info("checkpoint of %s found in commit %s", table, commit.instant)
            return Checkpoint.from_metadata(commit.extra_metadata)
    return Checkpoint()


def _open(target: str, options: CdcOptions) -> HudiTable | None:
    from tributary.hudi import HudiTable

    if not HudiTable.exists(target):
        return None
    return HudiTable.open_or_create(target, table_options(options))


def apply_files(
    target: str,
    files: Sequence[CdcFile],
    options: CdcOptions,
    *,
    reload: bool | None = None,
    before_complete: Callable[[], None] | None = None,
) -> ApplyResult:
    """Apply ``files`` (those not applied yet) to the table at ``target`` in one commit.

    ``reload`` None detects a DMS reload from the checkpoint (see :meth:`Checkpoint.is_reload`);
    True/False forces it. Raises :class:`~tributary.errors.CdcFileError` for a bad file (nothing
    written), :class:`~tributary.errors.TableConfigMismatchError` when ``options`` disagree with
    the existing table. Writes no commit when every file was applied already.
    """
    from tributary.hudi import HudiTable, WriteOperation

    table = _open(target, options)
    seen = table.latest_extra_metadata() if table is not None else {}
    checkpoint = read_checkpoint(table, seen)
    ordered = sort_files(list(files))
    pending = checkpoint.pending(ordered)
    pending_ids = {f.identity for f in pending}
    skipped = tuple(f.path for f in ordered if f.identity not in pending_ids)
    if not pending:
        log.info("%s: nothing to apply (%d files applied already)", options.table_name, len(skipped))
        return ApplyResult(options.table_name, skipped=skipped)
    is_reload = checkpoint.is_reload(pending) if reload is None else reload
    table_schema = table.schema if table is not None else None
    key_options = table.options if table is not None else table_options(options)
    write_plan = read_and_plan(pending, options, table_schema, reload=is_reload, key_options=key_options)

    advanced = checkpoint.advance(pending, reload=is_reload, keep=options.recent_files_kept)
    extra = advanced.to_metadata(pending, reload=is_reload, mode=options.mode.value)
    if table is None:
        table = HudiTable.open_or_create(target, table_options(options))
    operation = {
        PlanOperation.UPSERT: WriteOperation.UPSERT,
        PlanOperation.INSERT: WriteOperation.INSERT,
        PlanOperation.INSERT_OVERWRITE_TABLE: WriteOperation.INSERT_OVERWRITE_TABLE,
    }[write_plan.operation]
    result = table.write(
        upserts=write_plan.upserts,
        deletes=write_plan.deletes if write_plan.deletes.num_rows else None,
        operation=operation,
        extra_metadata=extra,
        before_complete=_guarded(table, seen, target, before_complete),
        allow_empty=True,
    )
    applied = ApplyResult(
        table=options.table_name,
        files=tuple(f.path for f in pending),
        skipped=skipped,
        inserted=result.inserted,
        updated=result.updated,
        deleted=result.deleted,
        changes=write_plan.changes,
        instant=result.instant,
        operation=operation.value,
        reload=is_reload,
        extra=extra,
    )
    log.info("applied %s", applied.summary())
    return applied


def _guarded(
    table: HudiTable, seen: Mapping[str, str], target: str, before_complete: Callable[[], None] | None
) -> Callable[[], None]:
    """``before_complete`` plus an optimistic check: if another writer completed a commit since
    the checkpoint was read, abort (the writer rolls this instant back) instead of applying the
    same files twice. Callers that hold a lease (the file processor) are fenced already; this
    protects two one-shot commands started on one table."""

    def check() -> None:
        if before_complete is not None:
            before_complete()
        if table.latest_extra_metadata() != seen:
            raise CommitConflictError(
                f"{target}: another writer committed while these files were prepared; nothing was "
                "written by this run, run it again"
            )

    return check


def read_and_plan(
    files: Sequence[CdcFile],
    options: CdcOptions,
    table_schema: pa.Schema | None,
    *,
    reload: bool = False,
    key_options: TableOptions | None = None,
) -> WritePlan:
    """Read every file (raising on the first bad one) and plan the write.

    With ``key_options`` (the table's key generator), every file's record keys and partition
    paths are computed first, so a value Hudi cannot key or place (a colliding composite key, a
    partition value that is a path) fails the file that holds it, before anything is written.
    """
    types = {**options.csv_type_map(), **{f.name: f.type for f in data_schema(table_schema)}}
    batches = [(f, read_file(f, options, types)) for f in files]
    if key_options is not None:
        for f, batch in batches:
            check_keys(f, batch, key_options)
    return plan(batches, options, table_schema, reload=reload)


def check_keys(file: CdcFile, batch: pa.Table, key_options: TableOptions) -> None:
    """Raise CdcFileError naming ``file`` when its rows cannot be keyed or placed in the table."""
    from tributary.hudi.keys import partition_paths, record_keys

    if CHANGE_ID_COLUMN in key_options.record_key_fields and CHANGE_ID_COLUMN not in batch.column_names:
        # historical mode: the change id (added by the plan) is unique and never holds ',' or ':'
        batch = batch.append_column(CHANGE_ID_COLUMN, pa.array([str(i) for i in range(batch.num_rows)]))
    try:
        record_keys(batch, key_options, file.path)
        if OP_COLUMN in batch.column_names:
            batch = batch.filter(pc.not_equal(pc.fill_null(batch.column(OP_COLUMN), ""), "D"))
        partition_paths(batch, key_options, file.path)
    except HudiError as exc:
        raise CdcFileError(file.path, str(exc).removeprefix(f"{file.path}: ")) from exc


def apply_pending(
    source: str,
    target: str,
    options: CdcOptions,
    *,
    max_files: int | None = None,
    before_complete: Callable[[], None] | None = None,
) -> ApplyResult:
    """Apply every DMS file under ``source`` that ``target`` has not applied, in one commit.

    ``max_files`` caps the files of this commit (the rest stay pending for the next call).
    """
    from tributary.hudi import HudiTable

    files = list_files(source)
    if max_files is not None:
        table = HudiTable.open(target) if HudiTable.exists(target) else None
        files = read_checkpoint(table).pending(files)[:max_files]
    return apply_files(target, files, options, before_complete=before_complete)
