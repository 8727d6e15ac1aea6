"""Base files' Parquet options: the two per-row-distinct meta columns are delta-encoded, every
other leaf (nested ones included) keeps its dictionary, and the values read back unchanged."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.hudi.base_file import parquet_options


def test_meta_key_columns_delta_encoded_other_leaves_keep_dictionaries(tmp_path: Path) -> None:
    n = 1000
    table = pa.table(
        {
            "_hoodie_commit_seqno": [f"20261201120000000_0_{i}" for i in range(n)],
            "_hoodie_record_key": [str(i) for i in range(n)],
            "status": ["open", "paid"] * (n // 2),
            "tags": [["a", "b"]] * n,
            "point": [{"x": i % 3, "label": "p"} for i in range(n)],
        }
    )
    path = tmp_path / "f.parquet"
    pq.write_table(table, path, **parquet_options(table.schema))
    md = pq.read_metadata(path).row_group(0)
    columns = {md.column(i).path_in_schema: md.column(i) for i in range(md.num_columns)}
    encodings = {path: c.encodings for path, c in columns.items()}
    for meta in ("_hoodie_commit_seqno", "_hoodie_record_key"):
        assert "DELTA_BYTE_ARRAY" in encodings[meta] and not columns[meta].has_dictionary_page
    for leaf in ("status", "tags.list.element", "point.x", "point.label"):
        assert "RLE_DICTIONARY" in encodings[leaf], leaf
    assert pq.read_table(path).equals(table)


def test_tables_without_meta_columns_get_the_plain_options() -> None:
    opts = parquet_options(pa.schema([("a", pa.int64())]))
    assert "column_encoding" not in opts and "use_dictionary" not in opts
