"""Options of one raw table as the CDC layer needs them (one frozen object per table)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tributary.errors import CdcError
from tributary.modes import StorageMode

if TYPE_CHECKING:
    import pyarrow as pa

# type name -> pyarrow factory and its arguments (pyarrow is imported only to build a type: the
# options of a run with nothing to apply are checked without it, start-up time)
_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("string",),
    "int32": ("int32",),
    "int": ("int32",),
    "int64": ("int64",),
    "long": ("int64",),
    "bigint": ("int64",),
    "float": ("float32",),
    "double": ("float64",),
    "float64": ("float64",),
    "bool": ("bool_",),
    "boolean": ("bool_",),
    "date": ("date32",),
    "timestamp": ("timestamp", "us"),
}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


def check_type(name: str, what: str) -> tuple[int, int] | None:
    """Raise CdcError unless ``name`` is a type :func:`parse_type` knows; (precision, scale) of
    a decimal, None for the others."""
    key = name.strip().lower()
    if key in _TYPES:
        return None
    match = _DECIMAL.match(key)
    if match and 0 < int(match.group(1)) <= 38 and int(match.group(2)) <= int(match.group(1)):
        return int(match.group(1)), int(match.group(2))
    raise CdcError(f"{what}: unknown type {name!r} (use one of {', '.join(_TYPES)} or decimal(p,s))")


def parse_type(name: str, what: str) -> pa.DataType:
    """A type by name: string, int/int32, long/int64/bigint, float, double, bool, date,
    timestamp (microseconds) or decimal(p,s)."""
    import pyarrow as pa

    decimal = check_type(name, what)
    if decimal is not None:
        return pa.decimal128(*decimal)
    factory, *args = _TYPES[name.strip().lower()]
    built: pa.DataType = getattr(pa, factory)(*args)
    return built


def parse_type_list(value: str | None, what: str) -> tuple[tuple[str, str], ...]:
    """``id=int64,amount=decimal(10,2)`` → ((column, type), ...), each type checked."""
    pairs = []
    for item in re.split(r",(?![^()]*\))", value or ""):
        if item.strip():
            column, sep, name = item.partition("=")
            if not sep or not column.strip():
                raise CdcError(f"{what}: {item.strip()!r} is not column=type (e.g. id=int64,ts=timestamp)")
            check_type(name, f"{what}: column {column.strip()}")
            pairs.append((column.strip(), name.strip()))
    return tuple(pairs)


OP_COLUMN = "Op"
"""The DMS change-operation column (``I``, ``U``, ``D``)."""
CHANGE_ID_COLUMN = "_tributary_change_id"
"""Historical mode: a deterministic unique id per change (``<file identity>#<row>``)."""


DEFAULT_DELETE_MARKERS_HOURS = 168.0
"""A week: how long a delete is remembered against late, older changes (``options.delete_markers_hours``)."""
#: Hudi's file sizing defaults (``options.target_file_size_bytes`` and its neighbours)
DEFAULT_TARGET_FILE_SIZE_BYTES = 120 * 1024 * 1024
DEFAULT_SMALL_FILE_LIMIT_BYTES = 100 * 1024 * 1024
DEFAULT_RECORD_SIZE_ESTIMATE_BYTES = 1024


def small_file_limit_for(target_file_size_bytes: int) -> int:
    """The small file limit when only the target is set: Hudi's default, or for a lower target
    5/6 of it (Hudi's 100 MiB : 120 MiB), so a file of the target size is never small."""
    return max(0, min(DEFAULT_SMALL_FILE_LIMIT_BYTES, target_file_size_bytes * 5 // 6))


@dataclass(frozen=True)
class CdcOptions:
    """How the CDC files of one table are read and applied.

    ``csv_columns`` names the data columns of headerless CSV files in file order, without ``Op``
    (a file with one more column than this has ``Op`` first). ``csv_header`` None means: a first
    row equal to the expected column names is a header, and without ``csv_columns`` every CSV
    file must have one. CSV values are text: an unquoted empty field is null, a quoted empty field
    the empty string; with ``csv_null_value`` (DMS ``csvNullValue``) that text, quoted or not, is
    null and every empty field the empty string. Columns the table already has are cast to the
    table's type, other CSV columns stay strings (or take ``csv_types``).
    """

    table_name: str
    record_key_fields: tuple[str, ...]
    precombine_field: str | None = None
    partition_fields: tuple[str, ...] = ()
    mode: StorageMode = StorageMode.CURRENT
    table_version: int = 6
    hive_style_partitioning: bool = True
    database_name: str = "default"
    csv_columns: tuple[str, ...] | None = None
    csv_header: bool | None = None
    csv_null_value: str | None = None
    csv_delimiter: str = ","
    csv_types: tuple[tuple[str, str], ...] = ()
    """Types of CSV columns the table does not have yet, e.g. ``(("id", "int64"),)``; see
    :func:`parse_type` for the names."""
    recent_files_kept: int = 512
    """How many applied CDC file names the checkpoint keeps inline (for readers of checkpoint
    version 1; the ledger in ``.hoodie/.aux`` keeps every applied file)."""
    delete_markers_hours: float = DEFAULT_DELETE_MARKERS_HOURS
    """How long a delete is remembered so that a late, older change cannot bring the row back."""
    clean_retain_commits: int = 10
    """Commits whose files the cleaner keeps after each write (``options.cleaner_commits_retained``)."""
    archive_min_instants: int = 20
    archive_max_instants: int = 30
    """Archival bounds of the timeline (``options.archive_min_commits`` / ``archive_max_commits``)."""
    target_file_size_bytes: int = DEFAULT_TARGET_FILE_SIZE_BYTES
    small_file_limit_bytes: int | None = DEFAULT_SMALL_FILE_LIMIT_BYTES
    """0: inserts never go into existing files; None: :func:`small_file_limit_for` the target."""
    record_size_estimate_bytes: int = DEFAULT_RECORD_SIZE_ESTIMATE_BYTES
    """File sizing of each write (``options.target_file_size_bytes`` / ``small_file_limit_bytes`` /
    ``record_size_estimate_bytes``, Hudi's ``hoodie.parquet.max.file.size`` /
    ``hoodie.parquet.small.file.limit`` / ``hoodie.copyonwrite.record.size.estimate``)."""

    def __post_init__(self) -> None:
        if not self.record_key_fields or any(not f for f in self.record_key_fields):
            raise CdcError(f"table {self.table_name}: at least one record key field is required")
        if self.table_version not in (6, 8):
            raise CdcError(f"table {self.table_name}: table version must be 6 or 8, not {self.table_version}")
        reserved = {OP_COLUMN, CHANGE_ID_COLUMN}
        for field in (*self.record_key_fields, *self.partition_fields):
            if field in reserved:
                raise CdcError(f"table {self.table_name}: {field} cannot be a key or partition field")
        if self.recent_files_kept < 1:
            raise CdcError(f"table {self.table_name}: recent_files_kept must be positive")
        if not self.delete_markers_hours > 0:
            raise CdcError(f"table {self.table_name}: delete_markers_hours must be positive")
        if self.small_file_limit_bytes is None:
            object.__setattr__(self, "small_file_limit_bytes", small_file_limit_for(self.target_file_size_bytes))
        if not 0 <= self.small_file_limit < self.target_file_size_bytes:
            raise CdcError(
                f"table {self.table_name}: small_file_limit_bytes ({self.small_file_limit_bytes}) must be >= 0 "
                f"and less than target_file_size_bytes ({self.target_file_size_bytes}); 0 turns packing off"
            )
        if not 0 < self.record_size_estimate_bytes <= self.target_file_size_bytes:
            raise CdcError(
                f"table {self.table_name}: record_size_estimate_bytes ({self.record_size_estimate_bytes}) must be "
                f"> 0 and at most target_file_size_bytes ({self.target_file_size_bytes})"
            )
        object.__setattr__(self, "mode", StorageMode(self.mode))
        for column, name in self.csv_types:
            check_type(name, f"table {self.table_name}: CSV type of {column}")

    @property
    def small_file_limit(self) -> int:
        """``small_file_limit_bytes`` as set on construction (never None after it)."""
        return (
            small_file_limit_for(self.target_file_size_bytes)
            if self.small_file_limit_bytes is None
            else self.small_file_limit_bytes
        )

    def csv_type_map(self) -> dict[str, pa.DataType]:
        return {column: parse_type(name, column) for column, name in self.csv_types}

    @property
    def historical(self) -> bool:
        return self.mode is StorageMode.HISTORICAL

    @property
    def hudi_record_key_fields(self) -> tuple[str, ...]:
        """The Hudi table's key: the record key, plus the change id in historical mode."""
        if self.historical:
            return (*self.record_key_fields, CHANGE_ID_COLUMN)
        return self.record_key_fields

    @property
    def computed_columns(self) -> frozenset[str]:
        """The columns applying computes on (``Op``, keys, precombine, partition fields): they are
        read as plain values; every other column only passes through to the table, and may stay
        dictionary-encoded on the way (see :mod:`tributary.hudi.dictionaries`)."""
        precombine = (self.precombine_field,) if self.precombine_field else ()
        return frozenset({OP_COLUMN, CHANGE_ID_COLUMN, *self.record_key_fields, *precombine, *self.partition_fields})

    @property
    def required_columns(self) -> tuple[str, ...]:
        cols = list(self.record_key_fields)
        if self.precombine_field and self.precombine_field not in cols:
            cols.append(self.precombine_field)
        return tuple(cols)
