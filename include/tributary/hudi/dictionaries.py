"""Carry dictionary-encoded string columns through a write without decoding them.

A DMS Parquet file's low-cardinality text columns pass through a CDC apply untouched (nothing
computes on them): read as dictionaries (see :mod:`tributary.cdc.reader`), they are neither
expanded into a string per row when read nor hashed again when written.

A rewrite reads a base file and writes its kept rows again. Its low-cardinality string columns
are stored as a dictionary page plus indices: read as Arrow dictionaries (``read_dictionary``)
they are not expanded into one string per row, filtering moves integer indices, and the Parquet
writer puts a dictionary array's indices into the new file directly instead of hashing every
string again. The file written is the same Parquet (a dictionary-encoded UTF8/BINARY column; no
Arrow schema is stored, so every reader sees plain strings).

All chunks of a column written share one dictionary: the writer falls back to plain encoding for
the rest of a row group when the dictionary changes between chunks.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DICTIONARY_DECODABLE = frozenset({"PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "RLE", "BIT_PACKED"})
"""Encodings pyarrow decodes straight into a dictionary (not DELTA_BYTE_ARRAY, for one)."""
MAX_DICTIONARY_PAGE_BYTES = 16 * 1024
"""Carry a column as a dictionary only while its dictionary page (compressed) is at most this big.

A big dictionary is a high-cardinality column: the Parquet writer then computes the statistics
of a dictionary array slowly and falls back to plain pages anyway. Measured on a 122,880-row base
file of the peers table (its ``customer`` column: 50,000 distinct values, a 75 KB dictionary
page), read + write of the file: every string column as a dictionary 122 ms, none 93 ms, all but
``customer`` 71 ms (medians of 11, interleaved)."""


def dictionary_columns(metadata: pq.FileMetaData, names: Iterable[str]) -> list[str]:
    """Of ``names``, the top-level string/binary columns with a dictionary page in every row
    group, of at most :data:`MAX_DICTIONARY_PAGE_BYTES`, and only encodings that decode into a
    dictionary."""
    wanted = set(names)
    schema = metadata.schema.to_arrow_schema()
    candidates = {
        f.name for f in schema if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_binary(f.type))
    }
    for r in range(metadata.num_row_groups):
        group = metadata.row_group(r)
        for i in range(group.num_columns):
            col = group.column(i)
            name = col.path_in_schema
            if name in candidates and (
                not col.has_dictionary_page
                or not set(col.encodings) <= DICTIONARY_DECODABLE
                or _dictionary_page_bytes(col) > MAX_DICTIONARY_PAGE_BYTES
            ):
                candidates.discard(name)
    return [n for n in schema.names if n in candidates]


def _dictionary_page_bytes(col: pq.ColumnChunkMetaData) -> int:
    """The compressed size of a column chunk's dictionary page (it precedes the data pages)."""
    start = col.dictionary_page_offset
    return col.data_page_offset - start if start is not None and start > 0 else 0


def share_dictionaries(kept: pa.Table, incoming: list[pa.Table]) -> tuple[pa.Table, list[pa.Table]]:
    """``kept`` and the ``incoming`` tables (same column names, plain strings where ``kept`` has
    dictionaries) with every dictionary column encoded against one dictionary: ``kept``'s values
    first (its indices are reused as they are), then the new values of the incoming rows.
    Incoming dictionary columns are decoded first (the kept rows' dictionary, or plain values,
    is what the file gets)."""
    incoming = [_decoded(t) for t in incoming]
    for name in kept.column_names:
        column = kept.column(name)
        if not pa.types.is_dictionary(column.type):
            continue
        if not _one_dictionary(column):
            column = pa.table({name: column}).unify_dictionaries().column(0)
        first = column.chunks[0] if column.num_chunks else None
        values = first.dictionary if first is not None else pa.array([], column.type.value_type)
        plain = [t.column(name) for t in incoming]
        values = _extended(values, plain)
        index_type = column.type.index_type
        chunks = [pa.DictionaryArray.from_arrays(c.indices, values) for c in column.chunks]
        kept = kept.set_column(kept.column_names.index(name), name, pa.chunked_array(chunks, column.type))
        incoming = [
            t.set_column(t.column_names.index(name), name, _encode(p, values, index_type, column.type))
            for t, p in zip(incoming, plain, strict=True)
        ]
    return kept, incoming


def _decoded(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary columns as plain values."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


def _one_dictionary(column: pa.ChunkedArray) -> bool:
    chunks = column.chunks
    return all(c.dictionary is chunks[0].dictionary or c.dictionary.equals(chunks[0].dictionary) for c in chunks[1:])


def _extended(values: pa.Array, plain: list[pa.ChunkedArray]) -> pa.Array:
    """``values`` followed by the distinct non-null values of ``plain`` it lacks."""
    if not plain or not sum(len(p) for p in plain):
        return values
    new = pc.unique(pa.chunked_array([c for p in plain for c in p.chunks], values.type).drop_null())
    missing = pc.filter(new, pc.invert(pc.is_in(new, value_set=values)))
    return pa.concat_arrays([values, missing.combine_chunks() if isinstance(missing, pa.ChunkedArray) else missing])


def _encode(
    plain: pa.ChunkedArray, values: pa.Array, index_type: pa.DataType, dict_type: pa.DataType
) -> pa.ChunkedArray:
    """``plain`` as indices into ``values`` (which holds every non-null value of it)."""
    chunks = [
        pa.DictionaryArray.from_arrays(pc.index_in(c, value_set=values).cast(index_type), values) for c in plain.chunks
    ]
    return pa.chunked_array(chunks, dict_type)


def concat_sharing(first: pa.Array | pa.ChunkedArray, rest: list[pa.Array | pa.ChunkedArray]) -> pa.ChunkedArray:
    """``first`` then ``rest`` as one column; when ``first`` is a dictionary column, ``rest``
    (plain values) is encoded against its dictionary (see :func:`share_dictionaries`)."""
    kept, others = share_dictionaries(pa.table({"v": first}), [pa.table({"v": r}) for r in rest])
    return pa.chunked_array([c for t in (kept, *others) for c in t.column(0).chunks], kept.column(0).type)
