"""Dictionary columns carried through a rewrite (tributary.hudi.dictionaries)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.hudi.dictionaries import concat_sharing, dictionary_columns, share_dictionaries


def _dict(values: list[str | None], dictionary: list[str]) -> pa.DictionaryArray:
    idx = [None if v is None else dictionary.index(v) for v in values]
    return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), pa.array(dictionary))


def test_share_dictionaries_keeps_values_nulls_and_one_dictionary() -> None:
    # two chunks with different dictionaries (two row groups), then incoming rows with new values and nulls
    kept_col = pa.chunked_array([_dict(["a", "b", None], ["b", "a"]), _dict(["c", "a"], ["a", "c"])])
    kept = pa.table({"s": kept_col, "n": [1, 2, 3, 4, 5]})
    incoming = [
        pa.table({"s": ["z", None, "a"], "n": [6, 7, 8]}),
        pa.table({"s": pa.array([], pa.string()), "n": pa.array([], pa.int64())}),
    ]
    k, inc = share_dictionaries(kept, incoming)
    out = pa.concat_tables([k, *inc])
    assert out.column("s").to_pylist() == ["a", "b", None, "c", "a", "z", None, "a"]
    assert out.column("n").to_pylist() == [1, 2, 3, 4, 5, 6, 7, 8]
    first = out.column("s").chunks[0].dictionary
    assert all(c.dictionary.equals(first) for c in out.column("s").chunks)
    assert sorted(out.column("s").chunks[0].dictionary.to_pylist()) == ["a", "b", "c", "z"]


def test_concat_sharing_plain_first_stays_plain() -> None:
    out = concat_sharing(pa.array(["x"]), [pa.array(["y", "y"])])
    assert out.type == pa.string() and out.to_pylist() == ["x", "y", "y"]
    out = concat_sharing(_dict(["t1", "t1"], ["t1"]), [pa.array(["t2"])])
    assert pa.types.is_dictionary(out.type) and out.to_pylist() == ["t1", "t1", "t2"]


def test_dictionary_columns_skip_delta_encoded_and_non_strings(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    table = pa.table({"low": ["a", "b"] * 50, "keys": [str(i) for i in range(100)], "n": list(range(100))})
    pq.write_table(
        table,
        path,
        use_dictionary=["low", "n"],
        column_encoding={"keys": "DELTA_BYTE_ARRAY"},
        row_group_size=30,
    )
    md = pq.read_metadata(path)
    assert dictionary_columns(md, ["low", "keys", "n"]) == ["low"]
    assert dictionary_columns(md, ["keys", "n"]) == []
    # what it names reads as a dictionary (a DELTA_BYTE_ARRAY column would fail to)
    got = pq.ParquetFile(path, read_dictionary=dictionary_columns(md, ["low"])).read()
    assert (
        pa.types.is_dictionary(got.schema.field("low").type)
        and got.column("low").to_pylist() == table.column("low").to_pylist()
    )


def test_dictionary_columns_skip_a_big_dictionary(tmp_path: Path) -> None:
    """A high-cardinality string column (a dictionary page over the bound) is read as plain
    strings; a small dictionary is still carried."""
    from tributary.hudi.dictionaries import MAX_DICTIONARY_PAGE_BYTES

    path = tmp_path / "f.parquet"
    n = 20_000
    table = pa.table(
        {"low": ["a", "b"] * (n // 2), "many": [f"customer-{i:08d}-{i * 7919 % 104729}" for i in range(n)]}
    )
    pq.write_table(table, path, compression="none")
    md = pq.read_metadata(path)
    many = md.row_group(0).column(1)
    assert many.has_dictionary_page and many.data_page_offset - many.dictionary_page_offset > MAX_DICTIONARY_PAGE_BYTES
    assert dictionary_columns(md, ["low", "many"]) == ["low"]


def test_written_types_keep_pass_through_dictionaries_and_decode_computed_columns() -> None:
    """The writer's input normalisation keeps a text dictionary encoded (its value type
    normalised) unless the column is computed on (``plain``: keys, partition fields); conforming
    to the table schema keeps it too, and the schema the table records is the value types."""
    from tributary.hudi.schema import conform, normalize_table, value_schema

    text = pa.array(["a", "b", "a"]).dictionary_encode()
    table = pa.table(
        {"k": text, "s": text, "wide": text.cast(pa.dictionary(pa.int8(), pa.large_string())), "i": [1, 2, 3]}
    )
    got = normalize_table(table, "rows", plain={"k"})
    assert got.schema.field("k").type == pa.string()
    assert got.schema.field("s").type == pa.dictionary(pa.int32(), pa.string())
    assert got.schema.field("wide").type == pa.dictionary(pa.int8(), pa.string())
    assert value_schema(got.schema) == pa.schema(
        [("k", pa.string()), ("s", pa.string()), ("wide", pa.string()), ("i", pa.int64())]
    )
    target = pa.schema([("i", pa.int64()), ("s", pa.string()), ("k", pa.string()), ("new", pa.string())])
    conformed = conform(got, target, "rows")
    assert conformed.column_names == ["i", "s", "k", "new"]
    assert conformed.schema.field("s").type == pa.dictionary(pa.int32(), pa.string())
    assert conformed.to_pydict() == {"i": [1, 2, 3], "s": ["a", "b", "a"], "k": ["a", "b", "a"], "new": [None] * 3}
    # a dictionary of another value type than the schema's is cast (decoded), not kept
    wide = conform(got, pa.schema([("s", pa.large_string())]), "rows")
    assert wide.schema.field("s").type == pa.large_string() and wide.column("s").to_pylist() == ["a", "b", "a"]
