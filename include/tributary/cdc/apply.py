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
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

from tributary.cdc.checkpoint import K_VERSION, Checkpoint, applied_files
from tributary.cdc.files import CdcFile, FileKind, list_source, sort_files
from tributary.cdc.generations import Refusal, admit_loads, generation_floor, sort_out
from tributary.cdc.ledger import forget, read_ledger, read_markers, write_markers, write_segments
from tributary.cdc.options import CHANGE_ID_COLUMN, OP_COLUMN, CdcOptions
from tributary.errors import CdcFileError, CommitConflictError, HudiError

if TYPE_CHECKING:
    import pyarrow as pa

    from tributary.cdc.merge import WritePlan
    from tributary.cdc.ordering import Arbiter
    from tributary.hudi import HudiTable, TableOptions
    from tributary.hudi.table import CommitInfo
    from tributary.hudi.writer import CommitResult
    from tributary.modes import WriteOperationType

# The engine (pyarrow, merge planning, ordering, reading, the Hudi writer) is imported by the
# functions that use it: a run with nothing pending answers before loading it (start-up time).

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    """What one apply did to one table (no commit when ``instant`` is None)."""

    table: str
    files: tuple[str, ...] = ()
    """Files applied by this commit, in DMS order (paths relative to the source)."""
    skipped: tuple[str, ...] = ()
    """Files given that the table had applied already."""
    refused: tuple[Refusal, ...] = ()
    """Files re-uploaded with other content under an applied name (not applied)."""
    ignored: tuple[str, ...] = ()
    """Data files under the source whose names are not DMS names (not applied, reported)."""
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    changes: int = 0
    """Change rows read from the files."""
    instant: str | None = None
    operation: str | None = None
    reload: bool = False
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    digests: dict[str, str] = field(default_factory=dict, repr=False)
    """Content digest of each applied file (what the ledger records)."""

    def summary(self) -> str:
        """The one line the command prints."""
        return (
            f"{self.table}: files={len(self.files)} inserted={self.inserted} updated={self.updated} "
            f"deleted={self.deleted} instant={self.instant or '-'}"
            + (" (reload)" if self.reload else "")
            + (f" refused={len(self.refused)}" if self.refused else "")
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
        clean_retain_commits=options.clean_retain_commits,
        archive_min_instants=options.archive_min_instants,
        archive_max_instants=options.archive_max_instants,
        target_file_size_bytes=options.target_file_size_bytes,
        small_file_limit_bytes=options.small_file_limit,
        record_size_estimate_bytes=options.record_size_estimate_bytes,
    )


def default_table_name(target: str) -> str:
    """A Hudi table name from the target's last path segment (``raw/orders`` → ``orders``)."""
    name = PurePosixPath(target.rstrip("/").split("://", 1)[-1]).name
    name = re.sub(r"[^A-Za-z0-9_]", "_", name) or "table"
    return name if re.match(r"[A-Za-z_]", name) else f"t_{name}"


class CommitLog(Protocol):
    """What reading a table's checkpoint needs of it: the embedded writer's ``HudiTable`` and the
    Spark engine's ``TableTimeline`` both provide it."""

    uri: str

    def completed_commits(self) -> list[CommitInfo]: ...

    def latest_extra_metadata(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class CheckpointRead:
    """A table's checkpoint and the newest commit's extraMetadata it was read at: what a table
    run reads ONCE and hands to reconcile and to :func:`apply_files` (whose optimistic check
    compares the table's newest commit against ``latest`` before completing its own)."""

    checkpoint: Checkpoint
    latest: Mapping[str, str]


def applied_by(table: CommitLog) -> dict[str, str]:
    """File path → the instant of the newest commit whose checkpoint says it applied the file."""
    by_path: dict[str, str] = {}
    for commit in reversed(table.completed_commits()):
        for path in applied_files(commit.extra_metadata):
            by_path.setdefault(path, commit.instant)
    return by_path


def read_checkpoint_at(table: CommitLog | None) -> CheckpointRead:
    """The checkpoint of ``table`` (None: no table yet) with the metadata it was read at."""
    if table is None:
        return CheckpointRead(Checkpoint(), {})
    latest = table.latest_extra_metadata()
    return CheckpointRead(read_checkpoint(table, latest), latest)


def read_checkpoint(table: CommitLog | None, latest: Mapping[str, str] | None = None) -> Checkpoint:
    """The checkpoint of the newest completed commit that carries one (empty without one).

    Usually the latest commit (``latest``: its extraMetadata, when the caller read it already);
    when another writer (Spark, a maintenance job) committed after Tributary, the active
    timeline is searched back for Tributary's last checkpoint.
    """
    if table is None:
        return Checkpoint()
    if latest is None:
        latest = table.latest_extra_metadata()
    found = Checkpoint()
    if K_VERSION in latest:
        found = Checkpoint.from_metadata(latest)
    else:
        for commit in reversed(table.completed_commits()):
            if K_VERSION in commit.extra_metadata:
                log.info("checkpoint of %s found in commit %s", table, commit.instant)
                found = Checkpoint.from_metadata(commit.extra_metadata)
                break
    if found.segments:
        found = replace(found, ledger=read_ledger(table.uri, found.segments))
    return found


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
    rebuild: bool = False,
    max_files: int | None = None,
    before_complete: Callable[[], None] | None = None,
    checkpoint_read: CheckpointRead | None = None,
) -> ApplyResult:
    """Apply ``files`` (those not applied yet) to the table at ``target`` in one commit.

    ``reload`` None detects a new full-load generation (``LOAD00000001`` with new content);
    True/False forces it. ``rebuild`` replaces the table with every file given (an operator's
    reload). Re-uploads with other content are refused (``ApplyResult.refused``). Raises
    CdcFileError for a bad file (nothing written), TableConfigMismatchError when ``options``
    disagree with the table. No commit when nothing is pending. ``checkpoint_read``: the
    checkpoint as the caller read it already (under its lease); None: read here."""
    table = _open(target, options)
    known = checkpoint_read if checkpoint_read is not None else read_checkpoint_at(table)
    seen, checkpoint = known.latest, known.checkpoint
    sorting = sort_out(checkpoint, sort_files(list(files)), rebuild=rebuild)
    pending = sorting.pending[:max_files] if max_files is not None else sorting.pending
    if not pending:
        log.info("%s: nothing to apply (%d files applied already)", options.table_name, len(sorting.skipped))
        return ApplyResult(options.table_name, skipped=sorting.skipped, refused=sorting.refused)
    from tributary.cdc.merge import plan

    table_schema = table.schema if table is not None else None
    batches, refused = admit_loads(read_batches(pending, options, table_schema), sorting, options, checkpoint)
    refusals = (*sorting.refused, *refused)
    if not batches:
        return ApplyResult(options.table_name, skipped=sorting.skipped, refused=refusals)
    pending = [f for f, _ in batches]
    is_reload = rebuild or (any(f.path in sorting.reloads for f in pending) if reload is None else reload)
    _check_all_keys(batches, table.options if table is not None else table_options(options))
    floor = None if rebuild else generation_floor(batches, options, checkpoint)
    overwrite = rebuild or is_reload or (floor is not None and table is not None and _has_loads(checkpoint))
    arbiter = _arbiter(table, checkpoint, options, batches, floor, overwrite=overwrite, rebuild=rebuild)
    planned = list(batches)
    if overwrite and not rebuild and arbiter is not None and table is not None and floor is not None:
        # a generation dated by its rows keeps what is stored from after it; an empty one cannot tell
        planned = [*_survivors(table, floor, options), *batches]
    write_plan = plan(planned, options, table_schema, reload=overwrite, settle=arbiter.settle if arbiter else None)
    advanced = _advance(target, checkpoint, batches, arbiter, options, reload=is_reload or floor is not None)
    extra = advanced.to_metadata(pending, reload=overwrite, mode=options.mode.value)
    operation, result = _commit(table, target, options, write_plan, extra, seen, before_complete)
    forget(target, {*checkpoint.segments, checkpoint.markers} - {*advanced.segments, advanced.markers, ""})
    applied = replace(
        _committed(options.table_name, pending, result),
        skipped=sorting.skipped,
        refused=refusals,
        changes=write_plan.changes,
        operation=operation.value,
        reload=overwrite,
        extra=extra,
    )
    log.info("applied %s", applied.summary())
    return applied


def _check_all_keys(batches: Sequence[tuple[CdcFile, pa.Table]], key_options: TableOptions) -> None:
    for f, batch in batches:
        check_keys(f, batch, key_options)


def _committed(table_name: str, pending: Sequence[CdcFile], result: CommitResult) -> ApplyResult:
    """The files a commit applied, with its counts."""
    return ApplyResult(
        table_name,
        tuple(f.path for f in pending),
        inserted=result.inserted,
        updated=result.updated,
        deleted=result.deleted,
        instant=result.instant,
        digests={f.path: f.digest for f in pending},
    )


def read_batches(
    files: Sequence[CdcFile], options: CdcOptions, table_schema: pa.Schema | None
) -> list[tuple[CdcFile, pa.Table]]:
    """Every file read (raising on the first bad one), each with its content digest set."""
    from tributary.cdc.reader import read_versioned
    from tributary.cdc.schema import data_schema

    types = {**options.csv_type_map(), **{f.name: f.type for f in data_schema(table_schema)}}
    out = []
    for f in files:
        data, digest = read_versioned(f, options, types)
        out.append((replace(f, digest=digest), data))
    return out


def _has_loads(checkpoint: Checkpoint) -> bool:
    """Whether a full load was applied: then a first file of a full load starts a new generation
    (the earlier one's first file was rewritten before it was seen); without one it is a late
    first load, upserted (a late single load file never replaces a table)."""
    return bool(checkpoint.generation or checkpoint.loads) or any(
        v.kind is FileKind.LOAD for v in checkpoint.ledger.values()
    )


def _arbiter(
    table: HudiTable | None,
    checkpoint: Checkpoint,
    options: CdcOptions,
    batches: Sequence[tuple[CdcFile, pa.Table]],
    floor: pa.Scalar | None,
    *,
    overwrite: bool,
    rebuild: bool,
) -> Arbiter | None:
    """Orders this batch against the table's rows, delete markers and generation floor (current
    mode with a precombine field; without one, arrival order decides)."""
    import pyarrow.compute as pc

    from tributary.cdc.ordering import Arbiter, decode_value
    from tributary.cdc.stored import stored_rows

    field_name = options.precombine_field
    if options.historical or not field_name:
        return None
    keys = tuple(options.record_key_fields)
    if rebuild:
        loads = [t.column(field_name) for f, t in batches if f.load_counter == 1 and t.num_rows]
        return Arbiter(keys, field_name, "", None, None, None, pc.min(loads[0]) if loads else None)
    top = max([checkpoint.watermark, *(v.order_key for v in checkpoint.ledger.values())], default="")
    stored = None
    if table is not None and not overwrite:
        hudi_table = table

        def stored(wanted: pa.Table) -> pa.Table:
            return stored_rows(hudi_table, wanted, keys, field_name)

    return Arbiter(
        keys,
        field_name,
        top,
        stored,
        read_markers(table.uri, checkpoint.markers) if table is not None else None,
        decode_value(checkpoint.max_order),
        floor if floor is not None else decode_value(checkpoint.reload_floor),
    )


def _survivors(table: HudiTable, floor: pa.Scalar, options: CdcOptions) -> list[tuple[CdcFile, pa.Table]]:
    """Rows the table holds that are not older than a new generation (CDC files after the reload
    that arrived before its first file): the generation's overwrite keeps them, ordered first
    (they lose a tie against the generation's files)."""
    import pyarrow as pa

    from tributary.cdc.stored import stored_since

    assert options.precombine_field
    rows = stored_since(table, options.precombine_field, floor)
    if rows.num_rows == 0:
        return []
    rows = rows.add_column(0, OP_COLUMN, pa.array(["U"] * rows.num_rows, pa.string()))
    log.info("%s: %d stored row(s) newer than the new generation are kept", options.table_name, rows.num_rows)
    # a stand-in ordered before every DMS file; never recorded as applied
    return [(CdcFile("LOAD00000000.parquet", table.uri, 0, 0, FileKind.LOAD, "parquet"), rows)]


def _max_values(batches: Sequence[tuple[CdcFile, pa.Table]], options: CdcOptions) -> dict[str, str]:
    import pyarrow.compute as pc

    from tributary.cdc.ordering import encode_value

    name = options.precombine_field
    if not name:
        return {}
    return {f.path: encode_value(pc.max(t.column(name))) for f, t in batches if name in t.column_names}


def _advance(
    target: str,
    checkpoint: Checkpoint,
    batches: Sequence[tuple[CdcFile, pa.Table]],
    arbiter: Arbiter | None,
    options: CdcOptions,
    *,
    reload: bool,
) -> Checkpoint:
    """The checkpoint of this commit, its ledger segment and delete markers written."""
    from tributary.cdc.ordering import encode_value

    pending = [f for f, _ in batches]
    advanced = checkpoint.advance(pending, reload=reload, keep=options.recent_files_kept)
    segments = write_segments(target, checkpoint.segments, checkpoint.ledger, pending, _max_values(batches, options))
    legacy_floor = checkpoint.legacy_floor if checkpoint.segments else checkpoint.floor
    advanced = replace(advanced, segments=segments, legacy_floor=legacy_floor)
    if arbiter is not None:
        return replace(
            advanced,
            markers=write_markers(target, arbiter.new_markers, options.delete_markers_hours),
            max_order=encode_value(arbiter.new_max_order),
            reload_floor=encode_value(arbiter.reload_floor),
        )
    return replace(advanced, markers="") if reload else advanced


def _commit(
    table: HudiTable | None,
    target: str,
    options: CdcOptions,
    write_plan: WritePlan,
    extra: Mapping[str, str],
    seen: Mapping[str, str],
    before_complete: Callable[[], None] | None,
) -> tuple[WriteOperationType, CommitResult]:
    """Write the planned commit (creating the table on its first commit)."""
    from tributary.hudi import HudiTable

    if table is None:
        table = HudiTable.open_or_create(target, table_options(options))
    operation = write_plan.operation
    result = table.write(
        upserts=write_plan.upserts,
        deletes=write_plan.deletes if write_plan.deletes.num_rows else None,
        operation=operation,
        extra_metadata=extra,
        before_complete=_guarded(table, seen, target, before_complete),
        allow_empty=True,
    )
    return operation, result


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
    from tributary.cdc.merge import plan
    from tributary.cdc.reader import read_file
    from tributary.cdc.schema import data_schema

    types = {**options.csv_type_map(), **{f.name: f.type for f in data_schema(table_schema)}}
    batches = [(f, read_file(f, options, types)) for f in files]
    if key_options is not None:
        for f, batch in batches:
            check_keys(f, batch, key_options)
    return plan(batches, options, table_schema, reload=reload)


def check_keys(file: CdcFile, batch: pa.Table, key_options: TableOptions) -> None:
    """Raise CdcFileError naming ``file`` when its rows cannot be keyed or placed in the table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tributary.hudi.keys import check_record_keys, partition_paths

    if CHANGE_ID_COLUMN in key_options.record_key_fields and CHANGE_ID_COLUMN not in batch.column_names:
        # historical mode: the change id (added by the plan) is unique and never holds ',' or ':'
        batch = batch.append_column(CHANGE_ID_COLUMN, pa.array([str(i) for i in range(batch.num_rows)]))
    try:
        check_record_keys(batch, key_options, file.path)
        if not key_options.partition_fields:
            return  # no partition path to check
        if OP_COLUMN in batch.column_names:
            kept = pc.not_equal(pc.fill_null(batch.column(OP_COLUMN), ""), "D")
            if not pc.all(kept).as_py():  # a load or inserts/updates only: no copy of the rows
                batch = batch.filter(kept)
        partition_paths(batch, key_options, file.path)
    except HudiError as exc:
        raise CdcFileError(file.path, str(exc).removeprefix(f"{file.path}: ")) from exc


def apply_pending(
    source: str,
    target: str,
    options: CdcOptions,
    *,
    max_files: int | None = None,
    rebuild: bool = False,
    before_complete: Callable[[], None] | None = None,
) -> ApplyResult:
    """Apply every DMS file under ``source`` that ``target`` has not applied, in one commit.

    ``max_files`` caps the files of this commit (the rest stay pending for the next call);
    ``rebuild`` replaces the table with every file under ``source`` (a reload).
    """
    files, ignored = list_source(source)
    result = apply_files(target, files, options, rebuild=rebuild, max_files=max_files, before_complete=before_complete)
    return replace(result, ignored=tuple(ignored))
