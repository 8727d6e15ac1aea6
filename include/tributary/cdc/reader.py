"""Read one DMS file (Parquet or CSV) into an Arrow table with a normalised ``Op`` column.

Every problem with a file raises :class:`~tributary.errors.CdcFileError` naming the file (its
path relative to the source) and the reason, so a caller can quarantine exactly that file.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from tributary.cdc.files import CdcFile, digest_bytes, open_input
from tributary.cdc.options import CHANGE_ID_COLUMN, OP_COLUMN, CdcOptions
from tributary.errors import CdcFileError

log = logging.getLogger(__name__)

VALID_OPS = ("I", "U", "D")
DIGEST_THREAD_MIN_BYTES = 1 << 20
"""Hash a file's content in a thread beside its decoding from this size (SHA-256 of 1 MB takes
about 0.5 ms: below it a thread costs more than it saves)."""


def read_file(file: CdcFile, options: CdcOptions, table_types: Mapping[str, pa.DataType] | None = None) -> pa.Table:
    """The rows of ``file`` in file order, with ``Op`` in ``I``/``U``/``D`` (``I`` when absent).

    ``table_types`` are the existing table's column types: CSV text is cast to them. Checks that
    the record key, precombine and partition columns exist and that keys and precombine values
    are not null.
    """
    return read_versioned(file, options, table_types)[0]


def read_versioned(
    file: CdcFile, options: CdcOptions, table_types: Mapping[str, pa.DataType] | None = None
) -> tuple[pa.Table, str]:
    """:func:`read_file` plus the content digest of the bytes read (the file's identity)."""
    if file.size == 0:
        raise CdcFileError(file.path, "empty file (0 bytes)")
    try:
        with open_input(file.uri) as stream:
            raw = stream.read_buffer()
    except OSError as exc:
        raise CdcFileError(file.path, f"cannot be read: {exc}") from exc
    if not raw.size:
        raise CdcFileError(file.path, "empty file (0 bytes)")
    # hashlib releases the GIL: a large file's digest costs no time next to its decoding
    pool = ThreadPoolExecutor(1, thread_name_prefix="digest") if raw.size >= DIGEST_THREAD_MIN_BYTES else None
    try:
        digest = pool.submit(digest_bytes, raw) if pool is not None else None
        if file.format == "parquet":
            table = _read_parquet(file, raw, options)
        else:
            table = _read_csv(file, raw, options, table_types)
        return _normalise(file, table, options), digest.result() if digest is not None else digest_bytes(raw)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _read_parquet(file: CdcFile, raw: pa.Buffer, options: CdcOptions) -> pa.Table:
    """The file's rows; its small-dictionary text columns that only pass through to the table
    (not ``options.computed_columns``) as Arrow dictionaries.

    DMS writes Parquet dictionary-encoded. Decoding such a column means a string per row in
    buffers grown by doubling; kept encoded, the base file writer also takes its indices as they
    are. Measured on the 1M-row load of ``bench peers`` (3 such columns): reading 73 -> 47 ms,
    the table 111 -> 91 MB, the load 0.65 -> 0.54 s (medians of 12 fresh processes)."""
    import pyarrow.parquet as pq

    from tributary.hudi.dictionaries import dictionary_columns

    try:
        metadata = pq.read_metadata(pa.BufferReader(raw))
        names = [n for n in metadata.schema.names if n not in options.computed_columns]
        encoded = dictionary_columns(metadata, names)
        return pq.ParquetFile(pa.BufferReader(raw), metadata=metadata, read_dictionary=encoded).read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CdcFileError(file.path, f"not a readable Parquet file (truncated or corrupt?): {exc}") from exc


def _first_row(file: CdcFile, raw: pa.Buffer, delimiter: str) -> list[str]:
    """The first CSV record (a quoted value may span lines), from the file's first 64 KiB."""
    chunk = raw.slice(0, min(raw.size, 1 << 16)).to_pybytes()
    if raw.size > len(chunk) and b"\n" in chunk:
        chunk = chunk[: chunk.rfind(b"\n") + 1]  # whole lines: never a split UTF-8 character
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CdcFileError(file.path, f"not UTF-8 text: {exc}") from exc
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _read_csv(
    file: CdcFile, raw: pa.Buffer, options: CdcOptions, table_types: Mapping[str, pa.DataType] | None
) -> pa.Table:
    from pyarrow import csv as pacsv

    first = _first_row(file, raw, options.csv_delimiter)
    expected = options.csv_columns
    if options.csv_header is None:
        has_header = expected is None or first in (list(expected), [OP_COLUMN, *expected])
    else:
        has_header = options.csv_header
    if has_header:
        names = first
    elif expected is None:
        raise CdcFileError(file.path, "CSV has no header and no column names were given (--columns)")
    elif len(first) == len(expected):
        names = list(expected)
    elif len(first) == len(expected) + 1:
        names = [OP_COLUMN, *expected]
    else:
        raise CdcFileError(
            file.path,
            f"CSV row 1 has {len(first)} columns; expected {len(expected)} (or {len(expected) + 1} with Op)",
        )
    if len(set(names)) != len(names) or not all(names):
        raise CdcFileError(file.path, f"CSV header has empty or duplicate column names: {names}")
    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if has_header else 0),
            parse_options=pacsv.ParseOptions(delimiter=options.csv_delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                # DMS with csvNullValue: that text is null, an empty field the empty string
                strings_can_be_null=options.csv_null_value is None,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CdcFileError(file.path, f"not a valid CSV file: {exc}") from exc
    if options.csv_null_value is not None:
        table = _null_value_as_null(table, options.csv_null_value)
    for name, typ in (table_types or {}).items():
        if name in table.column_names and name != OP_COLUMN and not pa.types.is_string(typ):
            idx = table.schema.get_field_index(name)
            table = table.set_column(idx, name, cast_text(file, name, table.column(name), typ))
    return table


def _null_value_as_null(table: pa.Table, null_value: str) -> pa.Table:
    """DMS's ``csvNullValue``: a field equal to ``null_value`` (quoted or not) is null; an empty
    field stays the empty string (the Spark engine reads CSV the same way)."""
    null = pa.scalar(None, pa.string())
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        table = table.set_column(index, name, pc.if_else(pc.equal(column, null_value), null, column))
    return table


def cast_text(file: CdcFile, column: str, values: pa.ChunkedArray, typ: pa.DataType) -> pa.ChunkedArray:
    """Cast CSV text to ``typ``; an empty string is null for non-text types."""
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    try:
        return pc.cast(values, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = next((v for v in values.to_pylist() if v is not None and not _castable(v, typ)), None)
        what = f"value {bad!r}" if bad is not None else "values"
        raise CdcFileError(file.path, f"column {column}: {what} cannot be read as {typ} ({exc})") from exc


def _castable(value: str, typ: pa.DataType) -> bool:
    try:
        pc.cast(pa.array([value]), typ)
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def _plain_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(typ):
        return _plain_type(typ.value_type)
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return pa.string()
    if pa.types.is_large_binary(typ) or pa.types.is_binary_view(typ):
        return pa.binary()
    return typ


def _normalise(file: CdcFile, table: pa.Table, options: CdcOptions) -> pa.Table:
    names = table.column_names
    if len(set(names)) != len(names):
        raise CdcFileError(file.path, f"duplicate column names: {names}")
    if CHANGE_ID_COLUMN in names:
        raise CdcFileError(file.path, f"column {CHANGE_ID_COLUMN} is reserved")
    for i, field in enumerate(table.schema):
        plain = _plain_type(field.type)
        # text that only passes through stays encoded (see _read_parquet)
        passing = pa.types.is_dictionary(field.type) and field.name not in options.computed_columns
        if passing and plain in (pa.string(), pa.binary()):
            plain = pa.dictionary(field.type.index_type, plain)
        if plain != field.type:
            table = table.set_column(i, field.name, table.column(i).cast(plain))
    if OP_COLUMN in names:
        op = table.column(OP_COLUMN)
        if not pa.types.is_string(op.type):
            raise CdcFileError(file.path, f"column {OP_COLUMN} has type {op.type}; expected text I, U or D")
        bad = pc.or_kleene(pc.is_null(op), pc.invert(pc.is_in(op, pa.array(VALID_OPS))))
        bad = pc.fill_null(bad, True)
        if pc.any(bad).as_py():
            row = pc.index(bad, True).as_py()
            raise CdcFileError(
                file.path, f"row {row + 1}: unknown {OP_COLUMN} value {op[row].as_py()!r} (expected I, U or D)"
            )
        table = table.drop_columns([OP_COLUMN])
    else:
        op = pa.chunked_array([pa.repeat(pa.scalar("I", pa.string()), table.num_rows)])
    table = table.add_column(0, OP_COLUMN, op)
    for col, what in [
        *((k, "record key") for k in options.record_key_fields),
        *(((options.precombine_field, "precombine"),) if options.precombine_field else ()),
        *((p, "partition") for p in options.partition_fields),
    ]:
        if col not in table.column_names:
            raise CdcFileError(file.path, f"missing {what} column {col}")
        if what == "partition":
            continue
        nulls = pc.is_null(table.column(col))
        if pc.any(nulls).as_py():
            row = pc.index(nulls, True).as_py()
            raise CdcFileError(file.path, f"row {row + 1}: null {what} value in column {col}")
        if (
            what == "record key"
            and len(options.hudi_record_key_fields) == 1
            and pa.types.is_string(table.column(col).type)
        ):
            empty = pc.equal(table.column(col), "")
            if pc.any(empty).as_py():
                row = pc.index(empty, True).as_py()
                raise CdcFileError(file.path, f"row {row + 1}: empty record key value in column {col}")
    return table
