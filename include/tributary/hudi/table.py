"""``HudiTable``: open or create a Copy-on-Write table and write commits to it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tributary.errors import HudiError, StorageError, UnsupportedTableError
from tributary.hudi.options import KeyGenerator, TableOptions, WriteOperation, format_properties, parse_properties
from tributary.hudi.timeline import Instant, Timeline
from tributary.storage import Storage, hudi_storage_options

if TYPE_CHECKING:  # the writer, file index, table services and pyarrow load when a table is written or read
    import pyarrow as pa

    from tributary.hudi.base_file import BaseFile, Footer
    from tributary.hudi.file_index import FileIndex
    from tributary.hudi.writer import CommitResult

logger = logging.getLogger(__name__)

PROPERTIES = ".hoodie/hoodie.properties"


@dataclass(frozen=True)
class CommitInfo:
    """A completed commit on the active timeline."""

    instant: str
    action: str
    operation: str | None
    completion_time: str | None
    extra_metadata: dict[str, str] = field(default_factory=dict)


def extra_metadata(meta: dict[str, Any]) -> dict[str, str]:
    """A commit metadata document's ``extraMetadata`` without null values."""
    return {k: v for k, v in (meta.get("extraMetadata") or {}).items() if v is not None}


def commit_infos(timeline: Timeline, instants: list[Instant]) -> list[CommitInfo]:
    """The completed ``instants`` of ``timeline`` with their operation and extra metadata."""
    out = []
    for inst in instants:
        meta = timeline.read_metadata(inst)
        out.append(
            CommitInfo(inst.timestamp, inst.action, meta.get("operationType"), inst.completion, extra_metadata(meta))
        )
    return out


@dataclass
class _Listing:
    """The table's base files as listed, and the timeline state they belong to."""

    state: tuple[str, ...]
    files: list[BaseFile]
    index: FileIndex | None = None


class HudiTable:
    """A Hudi Copy-on-Write table at ``uri`` (local path or ``s3://``)."""

    def __init__(self, uri: str, options: TableOptions, storage: Storage) -> None:
        self.uri = uri.rstrip("/")
        self.options = options
        self.storage = storage
        self.timeline = Timeline(storage, options.table_version, options.table_name)
        self._footer_cache: dict[str, Footer] = {}
        self._partition_md: set[str] = set()
        self._listing: _Listing | None = None

    # --- construction --------------------------------------------------------------------------

    @staticmethod
    def exists(uri: str, storage_options: dict[str, str] | None = None) -> bool:
        return Storage(uri, storage_options).is_file(PROPERTIES)

    @classmethod
    def create(cls, uri: str, opts: TableOptions, storage_options: dict[str, str] | None = None) -> HudiTable:
        """Create an empty table (writes ``.hoodie/hoodie.properties``); fails if one exists."""
        storage = Storage(uri, storage_options)
        if storage.is_file(PROPERTIES):
            raise HudiError(f"{uri}: a Hudi table already exists here; use HudiTable.open or open_or_create")
        storage.makedirs(".hoodie")
        if opts.table_version == 6:
            storage.makedirs(".hoodie/archived")
        else:
            storage.makedirs(".hoodie/timeline/history")
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        storage.write_text(PROPERTIES, format_properties(opts.to_properties(), stamp))
        logger.info("created Hudi table %s (%s) version %d", opts.table_name, uri, opts.table_version)
        return cls(uri, opts, storage)

    @classmethod
    def open(cls, uri: str, storage_options: dict[str, str] | None = None, **maintenance_opts: int) -> HudiTable:
        """Open an existing table, reading its config from ``hoodie.properties``.

        Refuses Merge-on-Read tables, tables with a metadata table and other unsupported layouts
        with UnsupportedTableError saying what to do. ``maintenance_opts`` override
        clean/archive/file-size options (they are not table properties).
        """
        storage = Storage(uri, storage_options)
        try:
            text = storage.read_text(PROPERTIES)
        except StorageError as exc:
            raise HudiError(f"{uri}: no Hudi table here ({PROPERTIES} not found); create it first") from exc
        props = parse_properties(text)
        opts = TableOptions.from_properties(props, uri, **maintenance_opts)
        if storage.exists(".hoodie/metadata/.hoodie"):
            raise UnsupportedTableError(
                f"{uri}: table {opts.table_name!r} has a metadata table (.hoodie/metadata); the embedded writer "
                "cannot keep it in step. Disable it with Spark (hoodie.metadata.enable=false on the next write) "
                "or use engine 'glue'."
            )
        table = cls(uri, opts, storage)
        if opts.keygen_type in (KeyGenerator.COMPLEX, KeyGenerator.CUSTOM) and len(opts.record_key_fields) == 1:
            return table._keep_key_spelling()
        return table

    def _keep_key_spelling(self) -> HudiTable:
        """One key field under a Complex/Custom generator: Spark's upsert writes the bare value, but
        Hudi's Avro path and Tributary before 2026-12 wrote ``field:value``. An existing table keeps
        the spelling its newest base file holds (footer min and max key), else upserts would miss
        every stored row and duplicate it."""
        latest = self.file_index().latest_files()
        if not latest:
            return self
        footer = self.footer(max(latest, key=lambda b: b.instant))
        prefix = f"{self.options.record_key_fields[0]}:"
        if (
            footer.min_key
            and footer.max_key
            and footer.min_key.startswith(prefix)
            and footer.max_key.startswith(prefix)
        ):
            logger.info("%s keeps its stored key spelling %r...", self, footer.min_key[:40])
            return self.with_options(single_key_field_named=True)
        return self

    @classmethod
    def open_or_create(cls, uri: str, opts: TableOptions, storage_options: dict[str, str] | None = None) -> HudiTable:
        """Open the table at ``uri`` checking it matches ``opts``, or create it with ``opts``."""
        if not cls.exists(uri, storage_options):
            return cls.create(uri, opts, storage_options)
        table = cls.open(
            uri,
            storage_options,
            clean_retain_commits=opts.clean_retain_commits,
            archive_min_instants=opts.archive_min_instants,
            archive_max_instants=opts.archive_max_instants,
            target_file_size_bytes=opts.target_file_size_bytes,
            small_file_limit_bytes=opts.small_file_limit_bytes,
            record_size_estimate_bytes=opts.record_size_estimate_bytes,
        )
        opts.check_matches(table.options, uri)
        return table

    # --- reading -------------------------------------------------------------------------------

    def hudi_storage_options(self) -> dict[str, str]:
        """Options for hudi-rs (``hudi.HudiTable(uri, options)``) to read this table."""
        return hudi_storage_options(self.uri)

    def completed_commits(self) -> list[CommitInfo]:
        self.timeline.reload()
        return commit_infos(self.timeline, self.timeline.completed_commits())

    def latest_extra_metadata(self) -> dict[str, str]:
        """extraMetadata of the latest completed commit ({} if none)."""
        self.timeline.reload()
        commits = self.timeline.completed_commits()
        return extra_metadata(self.timeline.read_metadata(commits[-1])) if commits else {}

    def footer(self, base: BaseFile) -> Footer:
        """The footer of a base file (read once: a base file never changes)."""
        from tributary.hudi.base_file import read_footer

        footer = self._footer_cache.get(base.path)
        if footer is None:
            footer = read_footer(self.storage, base.path)
            self._footer_cache[base.path] = footer
        return footer

    def file_index(self) -> FileIndex:
        """The committed file slices at the timeline's loaded state (``timeline.reload()`` first to
        see others' commits).

        The table's files are listed once and then followed through this table's own commits,
        cleans and archiving; any other change of the timeline lists them again.
        """
        from tributary.hudi.file_index import FileIndex, list_base_files

        state = self.timeline.state()
        if self._listing is None or self._listing.state != state:
            self._listing = _Listing(state, list_base_files(self.storage))
        if self._listing.index is None:
            self._listing.index = FileIndex(self.storage, self.timeline, self._listing.files)
        return self._listing.index

    def _follow(self, added: Sequence[BaseFile] = (), removed: Sequence[str] = ()) -> None:
        """Carry the listing over this table's own change of files (timeline reloaded after it)."""
        if self._listing is None:
            return
        gone = set(removed)
        files = [f for f in self._listing.files if f.path not in gone] + list(added)
        self._listing = _Listing(self.timeline.state(), files)

    @property
    def schema(self) -> pa.Schema | None:
        """Data columns of the table (no meta columns), or None before the first data commit."""
        self.timeline.reload()
        return self.schema_of(self.file_index())

    def schema_of(self, index: FileIndex) -> pa.Schema | None:
        """The table's data columns when its file slices are ``index``."""
        import pyarrow as pa

        from tributary.hudi import schema as sch

        latest = index.latest_files()
        if latest:
            footer = self.footer(max(latest, key=lambda b: b.instant))
            # nested fields nullable: rows written later may hold nulls where a Spark file's
            # 2-level lists have required elements
            return sch.data_schema(
                pa.schema([pa.field(f.name, sch.nullable_nested(f.type), True) for f in footer.schema])
            )
        for inst in reversed(self.timeline.completed_commits()):
            avro_schema = (self.timeline.read_metadata(inst).get("extraMetadata") or {}).get("schema")
            if avro_schema:
                return sch.arrow_from_avro(avro_schema)
        return None

    # --- writing -------------------------------------------------------------------------------

    def write(
        self,
        upserts: pa.Table | None = None,
        deletes: pa.Table | None = None,
        operation: WriteOperation = WriteOperation.UPSERT,
        extra_metadata: Mapping[str, str] | None = None,
        before_complete: Callable[[], None] | None = None,
        allow_empty: bool = True,
    ) -> CommitResult:
        """Write one commit; see the package docs for the semantics of each argument."""
        from tributary.hudi import instants
        from tributary.hudi.base_file import parse_base_file
        from tributary.hudi.writer import CommitWriter

        self.timeline.reload()
        instants.rollback_pending(self.storage, self.timeline)
        index = self.file_index()
        result = CommitWriter(self, index).run(
            upserts, deletes, operation, extra_metadata, before_complete, allow_empty
        )
        if result.instant is not None:
            self.timeline.reload()
            written = [parse_base_file(s.path, s.size_bytes) for s in result.write_stats]
            self._follow(added=[b for b in written if b is not None])
            self._table_services()
        return result

    def rollback_pending(self) -> list[str]:
        """Roll back instants left pending by a crashed writer; returns their times."""
        from tributary.hudi import instants

        self.timeline.reload()
        return instants.rollback_pending(self.storage, self.timeline)

    def _table_services(self) -> None:
        """Clean and archive after a commit; failures are logged, the commit stands."""
        from tributary.hudi import archive, maintenance

        try:
            # the timeline is loaded (write reloaded it); the services' own writes unload it
            deleted = maintenance.clean(self.storage, self.timeline, self.options.clean_retain_commits, self.file_index)
            if deleted:
                self._follow(removed=deleted)
            archived = archive.archive(
                self.timeline,
                self.options.archive_min_instants,
                self.options.archive_max_instants,
                self.options.clean_retain_commits,
            )
            if archived:
                self._follow()
        except Exception:
            logger.exception("cleaning/archiving %s failed; the commit stands, the next write retries", self.uri)

    def ensure_partition_metadata(self, partition: str, instant: str) -> None:
        """Write ``<partition>/.hoodie_partition_metadata`` unless it exists (first write there)."""
        if partition in self._partition_md:
            return
        rel = f"{partition}/.hoodie_partition_metadata" if partition else ".hoodie_partition_metadata"
        if not self.storage.is_file(rel):
            depth = len(partition.split("/")) if partition else 0
            stamp = datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
            self.storage.write_text(
                rel, f"#partition metadata\n#{stamp}\ncommitTime={instant}\npartitionDepth={depth}\n"
            )
        self._partition_md.add(partition)

    def with_options(self, *, single_key_field_named: bool) -> HudiTable:
        """This table with its key spelling option changed (not persisted)."""
        options = replace(self.options, single_key_field_named=single_key_field_named)
        table = HudiTable(self.uri, options, self.storage)
        table._footer_cache = self._footer_cache  # same files: what was read of them holds
        table._listing = self._listing
        return table

    def __repr__(self) -> str:
        return f"HudiTable({self.uri!r}, {self.options.table_name!r}, v{self.options.table_version})"
