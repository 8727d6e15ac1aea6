"""``raw_tables[].options``: one frozen, typed model, translated once per engine.

Every key a table may set is a field here, validated when the config loads, so a bad option is a
config error naming the row (``raw_tables <table_id>``) and the field (``options.<key>``), never
a surprise in a run. Keys:

- CSV reading (both engines): ``csv_delimiter``, ``csv_null_value``, ``csv_header`` and
  ``csv_types`` (types of CSV columns new to the table);
- retention (both engines): ``cleaner_commits_retained`` and the archival bounds
  ``archive_min_commits`` / ``archive_max_commits`` (Hudi's ``hoodie.keep.min/max.commits``);
- file sizing (both engines, Hudi's rule): ``target_file_size_bytes``, ``small_file_limit_bytes``
  (0: inserts never go into existing files) and ``record_size_estimate_bytes``; sizes are bytes,
  as in Hudi's own keys;
- ``delete_markers_hours`` (local engine: how long deletes are remembered against late changes);
- Merge-on-Read compaction (Spark engine): ``compaction_delta_commits``;
- catalog: ``hive_sync`` (``false``: the table is not registered after a run, on either engine);
- Hudi pass-through: any other ``hoodie.*`` key, a string handed to the Spark engine's writer
  as given (:data:`RESERVED_HUDI_KEYS` are refused: Tributary derives them from the row).

Hudi spellings of typed options (:data:`HUDI_ALIASES`, e.g. ``hoodie.cleaner.commits.retained``)
are accepted and read as the typed option, so both engines and the maintenance cleaner see one
value. The JSON form (``model_dump(mode="json")``) carries every typed option with its value and
the pass-through keys flat; it validates back to the same model (the Spark job reads it on the
cluster without pydantic: :mod:`tributary.spark.options`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

if TYPE_CHECKING:
    from tributary.cdc.options import CdcOptions
    from tributary.config.models import RawTable

DEFAULT_CLEANER_COMMITS_RETAINED = 10
#: Hudi's defaults for hoodie.keep.min.commits / hoodie.keep.max.commits
DEFAULT_ARCHIVE_MIN_COMMITS = 20
DEFAULT_ARCHIVE_MAX_COMMITS = 30
DEFAULT_COMPACTION_DELTA_COMMITS = 5
DEFAULT_DELETE_MARKERS_HOURS = 168.0
"""A week; as :data:`tributary.cdc.options.DEFAULT_DELETE_MARKERS_HOURS` (not imported: it loads pyarrow)."""
#: Hudi's defaults for hoodie.parquet.max.file.size, hoodie.parquet.small.file.limit and
#: hoodie.copyonwrite.record.size.estimate (the same in tributary.cdc.options and hudi.options)
DEFAULT_TARGET_FILE_SIZE_BYTES = 120 * 1024 * 1024
DEFAULT_SMALL_FILE_LIMIT_BYTES = 100 * 1024 * 1024
DEFAULT_RECORD_SIZE_ESTIMATE_BYTES = 1024
#: the largest target accepted (1 TiB), and Hudi's int bound of the record size estimate
MAX_TARGET_FILE_SIZE_BYTES = 1 << 40
MAX_RECORD_SIZE_ESTIMATE_BYTES = (1 << 31) - 1

HUDI_PREFIX = "hoodie."
_HUDI_KEY = re.compile(r"^hoodie\.[A-Za-z0-9_.-]+$")

HUDI_ALIASES: dict[str, str] = {
    "hoodie.cleaner.commits.retained": "cleaner_commits_retained",
    "hoodie.keep.min.commits": "archive_min_commits",
    "hoodie.keep.max.commits": "archive_max_commits",
    "hoodie.compact.inline.max.delta.commits": "compaction_delta_commits",
    "hoodie.parquet.max.file.size": "target_file_size_bytes",
    "hoodie.parquet.small.file.limit": "small_file_limit_bytes",
    "hoodie.copyonwrite.record.size.estimate": "record_size_estimate_bytes",
}
"""Hudi's spelling → the typed option it sets (older configs and the maintenance DAG used these)."""

_ROW = "set the raw_tables row's {} instead"
RESERVED_HUDI_KEYS: dict[str, str] = {
    "hoodie.table.name": _ROW.format("table_name"),
    "hoodie.datasource.write.table.name": _ROW.format("table_name"),
    "hoodie.datasource.write.table.type": _ROW.format("table_type"),
    "hoodie.table.type": _ROW.format("table_type"),
    "hoodie.datasource.write.recordkey.field": _ROW.format("record_key_fields"),
    "hoodie.table.recordkey.fields": _ROW.format("record_key_fields"),
    "hoodie.datasource.write.partitionpath.field": _ROW.format("partition_fields"),
    "hoodie.table.partition.fields": _ROW.format("partition_fields"),
    "hoodie.datasource.write.hive_style_partitioning": _ROW.format("hive_style_partitioning"),
    "hoodie.datasource.write.precombine.field": _ROW.format("precombine_field"),
    "hoodie.table.precombine.field": _ROW.format("precombine_field"),
    "hoodie.payload.ordering.field": _ROW.format("precombine_field"),
    "hoodie.write.table.version": _ROW.format("table_version"),
    "hoodie.table.version": _ROW.format("table_version"),
    "hoodie.datasource.write.keygenerator.class": "the key generator follows record_key_fields and partition_fields",
    "hoodie.datasource.write.keygenerator.type": "the key generator follows record_key_fields and partition_fields",
    "hoodie.datasource.write.operation": "Tributary picks the operation per run (upsert, or a reload's overwrite)",
    "hoodie.datasource.write.payload.class": "both engines merge by event time (the latest precombine value wins)",
    "hoodie.record.merge.mode": "both engines merge by event time (the latest precombine value wins)",
    "hoodie.write.schema": "the written schema follows the CDC files",
    "hoodie.datasource.write.commitmeta.key.prefix": "the commit must carry Tributary's checkpoint",
    "hoodie.table.timeline.timezone": "both engines write UTC instants",
    "hoodie.index.type": "a key whose partition changes must leave one row (Tributary sets the index)",
    "hoodie.simple.index.update.partition.path": "a key whose partition changes must leave one row",
    "hoodie.cleaner.policy": "both engines clean KEEP_LATEST_COMMITS; set cleaner_commits_retained",
    "hoodie.datasource.hive_sync.enable": "set options.hive_sync, or the row's catalog",
    "hoodie.datasource.hive_sync.database": _ROW.format("database_name"),
    "hoodie.datasource.hive_sync.table": _ROW.format("table_name"),
}
"""``hoodie.*`` keys a table may not set, with what to do instead. Every other ``hoodie.*`` key
is passed to the Spark engine's writer last, so it overrides Tributary's tuning defaults (the
metadata table, compaction, hive sync details, parallelism, file sizes)."""


class _Extra:
    """An extra (non-field) key with its value, so the value check can name the key."""

    __slots__ = ("key", "value")

    def __init__(self, key: str, value: Any) -> None:
        self.key, self.value = key, value


def _pass_through(item: Any) -> str:
    """The value of a ``hoodie.*`` pass-through key; refuses unknown and reserved keys."""
    if not isinstance(item, _Extra):  # re-validating a model instance's own extras
        if not isinstance(item, str):
            raise ValueError("a Hudi setting is passed to Hudi as text; quote the value")
        return item
    key, value = item.key, item.value
    if key in HUDI_ALIASES:
        raise ValueError(f"sets the same option as options.{HUDI_ALIASES[key]}; keep one of the two")
    if not key.startswith(HUDI_PREFIX):
        raise ValueError(
            f"unknown option {key!r}; use one of {', '.join(RawTableOptions.model_fields)}, "
            "or a Hudi setting (a key starting with 'hoodie.')"
        )
    if not _HUDI_KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a Hudi setting name (letters, digits, '_', '-' and '.')")
    if key in RESERVED_HUDI_KEYS:
        raise ValueError(f"Tributary sets {key} itself: {RESERVED_HUDI_KEYS[key]}")
    if not isinstance(value, str):
        raise ValueError(f"a Hudi setting is passed to Hudi as text; quote the value (e.g. '{value}')")
    return value


HudiValue = Annotated[str, BeforeValidator(_pass_through)]


def _check_csv_text(value: str, what: str) -> None:
    if any(c in value for c in '"\r\n'):
        raise ValueError(f"{what} must not contain a quote or a line break")


class RawTableOptions(BaseModel):
    """The options of one raw table (``raw_tables[].options``), typed; see the module docstring."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=False)
    __pydantic_extra__: dict[str, HudiValue] = Field(init=False)

    # -- CSV reading (both engines) -------------------------------------------------------------
    csv_delimiter: str = ","
    """The field separator of CSV files (DMS ``csvDelimiter``): one character."""
    csv_null_value: str | None = Field(default=None, min_length=1)
    """The text DMS writes for null (``csvNullValue``); quoted or not, it reads as null. An
    unquoted empty field is null too, a quoted empty field the empty string."""
    csv_header: bool | None = None
    """true: every CSV file starts with a header; false: none does; unset: a first row equal to
    the column names is a header."""
    csv_types: tuple[tuple[str, str], ...] = ()
    """``col=type,...``: types of CSV columns new to the table (so precombine values compare as
    numbers or times, not text)."""

    # -- retention (both engines, and the maintenance cleaner) ---------------------------------
    cleaner_commits_retained: int = Field(default=DEFAULT_CLEANER_COMMITS_RETAINED, ge=1, le=10_000)
    archive_min_commits: int = Field(default=DEFAULT_ARCHIVE_MIN_COMMITS, ge=2)
    """Default: the larger of 20 and cleaner_commits_retained + 1 (Hudi requires more)."""
    archive_max_commits: int = Field(default=DEFAULT_ARCHIVE_MAX_COMMITS, ge=3)
    """Default: the larger of 30 and archive_min_commits + 10."""

    # -- file sizing (both engines; bytes, as Hudi's keys) -------------------------------------
    target_file_size_bytes: int = Field(default=DEFAULT_TARGET_FILE_SIZE_BYTES, ge=1, le=MAX_TARGET_FILE_SIZE_BYTES)
    """``hoodie.parquet.max.file.size``: new file groups take this many bytes of rows (by the record
    size), and small files are filled up to it. Larger: fewer files, but an update rewrites more."""
    small_file_limit_bytes: int = Field(default=DEFAULT_SMALL_FILE_LIMIT_BYTES, ge=0)
    """``hoodie.parquet.small.file.limit``: a file under this size takes inserts (rewritten with
    them) before a new file group opens; 0 turns packing off (inserts only write new files).
    Default: the lower of 100 MiB and 5/6 of the target (Hudi's ratio, 100 MiB / 120 MiB)."""
    record_size_estimate_bytes: int = Field(
        default=DEFAULT_RECORD_SIZE_ESTIMATE_BYTES, ge=1, le=MAX_RECORD_SIZE_ESTIMATE_BYTES, validate_default=True
    )
    """``hoodie.copyonwrite.record.size.estimate``: bytes per row until the table holds rows, so it
    sizes a table's first write (target / estimate rows per file group)."""

    # -- local engine ---------------------------------------------------------------------------
    delete_markers_hours: float = Field(default=DEFAULT_DELETE_MARKERS_HOURS, gt=0, allow_inf_nan=False)

    # -- Spark engine ---------------------------------------------------------------------------
    compaction_delta_commits: int = Field(default=DEFAULT_COMPACTION_DELTA_COMMITS, ge=1, le=1000)
    """Merge-on-Read: compact inline after this many delta commits."""

    # -- catalog (both engines) -----------------------------------------------------------------
    hive_sync: bool = True
    """false: the table is not registered in the data catalog after a run (catalog: none also
    relaxes the name rules)."""

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        """Hudi spellings → typed options; derived archival bounds; extras carry their key."""
        if data is None:
            return {}
        if isinstance(data, RawTableOptions):
            return data
        if not isinstance(data, dict):
            raise ValueError("options is a mapping of option names to values (see the README's table options)")
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = HUDI_ALIASES.get(key)
            if name is not None and name not in data:
                out[name] = value
            elif key in cls.model_fields:
                out[key] = value
            else:
                out[key] = _Extra(str(key), value)
        _derive_archival(out)
        _derive_small_file_limit(out)
        return out

    @field_validator("csv_delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"{value!r}: the delimiter is one character (DMS csvDelimiter), e.g. '|'")
        _check_csv_text(value, "the delimiter")
        return value

    @field_validator("csv_null_value")
    @classmethod
    def _null_value(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            _check_csv_text(value, "the null value")
            delimiter = info.data.get("csv_delimiter", ",")
            if delimiter in value:
                raise ValueError(f"contains the delimiter {delimiter!r}, so DMS would have to quote it")
        return value

    @field_validator("csv_types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        if value in ("", [], ()):
            return ()  # no pyarrow import for the common case (config load, DAG parsing)
        from tributary.cdc.options import parse_type_list
        from tributary.errors import CdcError

        if isinstance(value, list | tuple):  # the JSON form: [[column, type], ...]
            if not all(isinstance(p, list | tuple) and len(p) == 2 for p in value):
                raise ValueError("write column=type pairs, e.g. 'id=int64,ts=timestamp'")
            value = ",".join(f"{c}={t}" for c, t in value)
        if not isinstance(value, str):
            raise ValueError("write column=type pairs, e.g. 'id=int64,ts=timestamp'")
        try:
            return parse_type_list(value, "csv_types")
        except CdcError as exc:
            raise ValueError(str(exc).removeprefix("csv_types: ")) from None

    @field_validator("archive_min_commits")
    @classmethod
    def _archive_min(cls, value: int, info: ValidationInfo) -> int:
        retained = info.data.get("cleaner_commits_retained")
        if retained is not None and value <= retained:
            raise ValueError(
                f"{value} must be greater than cleaner_commits_retained ({retained}): Hudi archives only "
                "commits the cleaner no longer needs; raise it or leave it unset"
            )
        return value

    @field_validator("archive_max_commits")
    @classmethod
    def _archive_max(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("archive_min_commits")
        if low is not None and value <= low:
            raise ValueError(f"{value} must be greater than archive_min_commits ({low}); raise it or leave it unset")
        return value

    @field_validator("small_file_limit_bytes")
    @classmethod
    def _small_limit(cls, value: int, info: ValidationInfo) -> int:
        target = info.data.get("target_file_size_bytes")
        if target is not None and value >= target:
            raise ValueError(
                f"{value} must be less than target_file_size_bytes ({target}): a file of the target size is "
                "full; lower it (hoodie.parquet.small.file.limit), or set 0 to turn small-file packing off"
            )
        return value

    @field_validator("record_size_estimate_bytes")
    @classmethod
    def _record_estimate(cls, value: int, info: ValidationInfo) -> int:
        target = info.data.get("target_file_size_bytes")
        if target is not None and value > target:
            raise ValueError(
                f"{value} must not exceed target_file_size_bytes ({target}): a file group holds target / "
                "estimate rows; lower it (hoodie.copyonwrite.record.size.estimate) or raise the target"
            )
        return value

    @property
    def hudi_settings(self) -> dict[str, str]:
        """The ``hoodie.*`` pass-through keys (Spark engine only)."""
        return dict(self.__pydantic_extra__ or {})


def _derive_archival(out: dict[str, Any]) -> None:
    """Unset archival bounds follow the retention, so a long retention needs no other setting."""
    try:
        retained = int(out.get("cleaner_commits_retained", DEFAULT_CLEANER_COMMITS_RETAINED))
    except (TypeError, ValueError, OverflowError):
        return  # the field check reports it
    if "archive_min_commits" not in out:
        out["archive_min_commits"] = max(DEFAULT_ARCHIVE_MIN_COMMITS, retained + 1)
    try:
        low = int(out["archive_min_commits"])
    except (TypeError, ValueError, OverflowError):
        return
    if "archive_max_commits" not in out:
        out["archive_max_commits"] = max(DEFAULT_ARCHIVE_MAX_COMMITS, low + 10)


def _derive_small_file_limit(out: dict[str, Any]) -> None:
    """An unset small file limit follows a target below Hudi's default (Hudi's 100:120 ratio)."""
    if "small_file_limit_bytes" in out or "target_file_size_bytes" not in out:
        return
    try:
        target = int(out["target_file_size_bytes"])
    except (TypeError, ValueError, OverflowError):
        return  # the field check reports it
    from tributary.cdc.options import small_file_limit_for  # only here: it loads pyarrow

    out["small_file_limit_bytes"] = small_file_limit_for(target)


def cdc_options(table: RawTable) -> CdcOptions:
    """The local engine's options for a configured raw table (the one translation)."""
    from tributary.cdc.options import CdcOptions, StorageMode
    from tributary.config.models import FileFormat

    opts = table.options
    return CdcOptions(
        table_name=table.table_name,
        database_name=table.database_name,
        record_key_fields=table.record_key_fields,
        precombine_field=table.precombine_field,
        partition_fields=table.partition_fields,
        mode=StorageMode(table.storage_mode.value),
        table_version=table.table_version,
        hive_style_partitioning=table.hive_style_partitioning,
        csv_columns=table.csv_columns if table.file_format is FileFormat.CSV else None,
        csv_header=opts.csv_header,
        csv_null_value=opts.csv_null_value,
        csv_delimiter=opts.csv_delimiter,
        csv_types=opts.csv_types,
        delete_markers_hours=opts.delete_markers_hours,
        clean_retain_commits=opts.cleaner_commits_retained,
        archive_min_instants=opts.archive_min_commits,
        archive_max_instants=opts.archive_max_commits,
        target_file_size_bytes=opts.target_file_size_bytes,
        small_file_limit_bytes=opts.small_file_limit_bytes,
        record_size_estimate_bytes=opts.record_size_estimate_bytes,
    )
