"""Base files' Parquet options: the two per-row-distinct meta columns are delta-encoded, every
other leaf (nested ones included) keeps its dictionary, and the values read back unchanged; the
meta columns' text builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

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


def test_mostly_distinct_columns_are_written_without_a_dictionary(tmp_path: Path) -> None:
    """A column whose sampled rows are (nearly) all distinct skips the dictionary pyarrow would
    build and abandon; repeating, nested and dictionary columns keep theirs; values read back."""
    from tributary.hudi.base_file import mostly_distinct

    n = 20_000
    table = pa.table(
        {
            "_hoodie_commit_seqno": [f"20261201120000000_0_{i}" for i in range(n)],
            "_hoodie_record_key": [str(i) for i in range(n)],
            "id": list(range(n)),
            "amount": [i * 1.5 for i in range(n)],
            "customer": [f"c-{i * 7919 % 104729}" for i in range(n)],
            "code": [i % 1009 for i in range(n)],
            "status": ["open", "paid"] * (n // 2),
            "tags": [[str(i)] for i in range(n)],
            "region": pa.array(["eu", "us"] * (n // 2)).dictionary_encode(),
        }
    )
    data = table.drop_columns(["_hoodie_commit_seqno", "_hoodie_record_key"])
    assert mostly_distinct(data) == ("id", "amount", "customer")
    path = tmp_path / "f.parquet"
    pq.write_table(table, path, **parquet_options(table.schema, mostly_distinct(data)))
    md = pq.read_metadata(path).row_group(0)
    has_dictionary = {md.column(i).path_in_schema: md.column(i).has_dictionary_page for i in range(md.num_columns)}
    assert [c for c, d in has_dictionary.items() if not d] == [
        "_hoodie_commit_seqno",
        "_hoodie_record_key",
        "id",
        "amount",
        "customer",
    ]
    assert pq.read_table(path).equals(table.set_column(8, "region", table.column("region").cast(pa.string())))


def test_mostly_distinct_leaves_columns_without_a_hash_kernel_alone() -> None:
    """A type Arrow cannot count distinct values of keeps pyarrow's default instead of failing
    the write."""
    from tributary.hudi.base_file import mostly_distinct

    data = pa.table({"view": pa.array([str(i) for i in range(100)], pa.string_view()), "id": list(range(100))})
    assert mostly_distinct(data) == ("id",)


@pytest.mark.parametrize(("start", "n"), [(0, 1200), (7, 100), (95, 10), (3, 0)])
def test_prefixed_texts_equal_arrow_join(start: int, n: int) -> None:
    """Sequence numbers (slices of one array of numbers as text, digit counts changing inside)
    get their prefix as Arrow's join gives it, multi-byte prefix included."""
    from tributary.hudi.base_file import prefixed_texts

    numbers = pc.cast(pa.array(np.arange(0, 1200, dtype=np.int64)), pa.string()).slice(start, n)
    got = prefixed_texts("20261201181704155_é_", numbers)
    assert got.equals(pc.binary_join_element_wise(pa.scalar("20261201181704155_é_"), numbers, ""))
    assert got.type == pa.string() and len(got) == n


def test_prefixed_texts_of_nulls_or_many_lengths_take_arrow_join() -> None:
    from tributary.hudi.base_file import prefixed_texts

    assert prefixed_texts("p", pa.array(["a", None, "bc"])).to_pylist() == ["pa", None, "pbc"]
    assert prefixed_texts("p", pa.array(["a", "bc"], pa.large_string())).to_pylist() == ["pa", "pbc"]
    ragged = pa.array(["x" * (i % 40 + 1) for i in range(200)])
    assert prefixed_texts("p_", ragged).to_pylist() == ["p_" + "x" * (i % 40 + 1) for i in range(200)]


def test_constant_columns_share_read_only_zero_indices() -> None:
    from tributary.hudi.base_file import constant_text

    a, b = constant_text("20261201181704155", 5), constant_text("region=eu", 3)
    assert a.to_pylist() == ["20261201181704155"] * 5 and b.to_pylist() == ["region=eu"] * 3
    assert a.indices.buffers()[1].address == b.indices.buffers()[1].address
    assert constant_text("x", 0).to_pylist() == []


def test_ordered_mostly_distinct_integers_are_delta_packed(tmp_path: Path) -> None:
    """Sorted ids, jittered timestamps (a null among them), dates and small integers counting up
    are written DELTA_BINARY_PACKED and read back equal; full-width random integers stay plain,
    low-cardinality ones keep their dictionary, and text is never packed."""
    from tributary.hudi.base_file import delta_packable, mostly_distinct

    rng = np.random.default_rng(3)
    n = 20_000
    micros = 1_767_225_600_000_000 + np.arange(n) * 1000 + rng.integers(-500, 500, n)
    table = pa.table(
        {
            "id": pa.array(np.arange(n) * 3, pa.int64()),
            "ts": pa.array([None, *micros[1:].tolist()], pa.timestamp("us", "UTC")),
            "day": pa.array(np.arange(n, dtype=np.int32) + 19_000, pa.int32()).cast(pa.date32()),
            "small": pa.array(np.arange(n, dtype=np.int16)),
            "random": pa.array(rng.integers(-(2**62), 2**62, n), pa.int64()),
            "low": pa.array(np.arange(n) % 7, pa.int64()),
            "text": pa.array([f"v{i}" for i in range(n)]),
        }
    )
    plain = mostly_distinct(table)
    assert set(plain) == {"id", "ts", "day", "small", "random", "text"}
    packed = delta_packable(table, plain)
    assert set(packed) == {"id", "ts", "day", "small"}
    path = tmp_path / "f.parquet"
    pq.write_table(table, path, **parquet_options(table.schema, plain, packed))
    group = pq.read_metadata(path).row_group(0)
    encodings = {group.column(i).path_in_schema: set(group.column(i).encodings) for i in range(group.num_columns)}
    assert all("DELTA_BINARY_PACKED" in encodings[c] for c in packed)
    assert "DELTA_BINARY_PACKED" not in encodings["random"] and "RLE_DICTIONARY" in encodings["low"]
    assert pq.read_table(path).equals(table)
