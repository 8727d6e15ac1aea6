"""Reading DMS Parquet and CSV files into Arrow with a normalised Op column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tributary.cdc.files import CdcFile
from tributary.cdc.options import CdcOptions
from tributary.cdc.reader import read_file
from tributary.errors import CdcFileError

OPTS = CdcOptions("t", ("id",), "ts")


def _file(path: Path) -> CdcFile:
    return CdcFile.local(str(path), str(path.parent))


def _write(path: Path, text: str) -> CdcFile:
    path.write_text(text)
    return _file(path)


def test_parquet_with_op(tmp_path: Path) -> None:
    p = tmp_path / "20261123-0000000001.parquet"
    pq.write_table(pa.table({"Op": ["I", "U", "D"], "id": [1, 2, 3], "ts": ["a", "b", "c"]}), p)
    t = read_file(_file(p), OPTS)
    assert t.column_names == ["Op", "id", "ts"]
    assert t.column("Op").to_pylist() == ["I", "U", "D"]


def test_load_parquet_without_op_is_insert(tmp_path: Path) -> None:
    p = tmp_path / "LOAD00000001.parquet"
    pq.write_table(
        pa.table({"id": pa.array([1, 2], pa.int32()), "ts": ["a", "b"], "s": pa.array(["x", "y"]).dictionary_encode()}),
        p,
    )
    t = read_file(_file(p), OPTS)
    assert t.column("Op").to_pylist() == ["I", "I"]
    assert t.column("s").to_pylist() == ["x", "y"]


def test_pass_through_text_columns_stay_dictionaries_and_computed_ones_are_plain(tmp_path: Path) -> None:
    """What only passes through to the table is read as a dictionary (DMS writes Parquet
    dictionary-encoded); the key, precombine, partition and Op columns are read as plain text,
    whatever their encoding, and so is a column whose dictionary is too big to pay."""
    p = tmp_path / "20261123-0000000001.parquet"
    n = 20_000
    rows = {
        "Op": ["U", "I"] * (n // 2),
        "id": [f"k{i % 7}" for i in range(n)],  # a text key that repeats: dictionary-encoded in the file
        "ts": [f"t{i % 3}" for i in range(n)],
        "region": ["eu", "us"] * (n // 2),
        "status": ["open", "paid", None, "closed"] * (n // 4),
        "many": [f"customer-{i:08d}-{i * 7919 % 104729}" for i in range(n)],
    }
    pq.write_table(pa.table(rows), p)
    md = pq.read_metadata(p)
    assert all(md.row_group(0).column(i).has_dictionary_page for i in range(md.num_columns))
    opts = CdcOptions("t", ("id",), "ts", partition_fields=("region",))
    t = read_file(_file(p), opts)
    for name in ("Op", "id", "ts", "region", "many"):
        assert t.schema.field(name).type == pa.string(), name
    assert t.schema.field("status").type == pa.dictionary(pa.int32(), pa.string())
    assert t.to_pydict() == rows


def test_csv_headerless_with_columns_op_first_for_cdc_rows(tmp_path: Path) -> None:
    opts = CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "name"))
    cdc = read_file(_write(tmp_path / "20261123-0000000001.csv", 'U,1,t1,alice\nD,2,t2,""\nI,3,t3,\n'), opts)
    assert cdc.to_pylist() == [
        {"Op": "U", "id": "1", "ts": "t1", "name": "alice"},
        {"Op": "D", "id": "2", "ts": "t2", "name": ""},
        {"Op": "I", "id": "3", "ts": "t3", "name": None},
    ]
    load = read_file(_write(tmp_path / "LOAD00000001.csv", "1,t0,bob\n"), opts)
    assert load.to_pylist() == [{"Op": "I", "id": "1", "ts": "t0", "name": "bob"}]


def test_csv_header_is_detected_and_cast_to_table_types(tmp_path: Path) -> None:
    f = _write(tmp_path / "20261123-0000000001.csv", "Op,id,ts,amount,day\nI,1,t1,2.5,2026-11-23\nU,2,t2,,\n")
    types = {"id": pa.int64(), "amount": pa.float64(), "day": pa.date32()}
    t = read_file(f, OPTS, types)
    assert t.schema.field("id").type == pa.int64()
    assert t.column("amount").to_pylist() == [2.5, None]
    assert str(t.column("day")[0]) == "2026-11-23"
    # with configured columns, a header equal to them is still recognised
    t2 = read_file(f, CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "amount", "day")))
    assert t2.num_rows == 2


def test_csv_custom_null_marker(tmp_path: Path) -> None:
    opts = CdcOptions("t", ("id",), "ts", csv_null_value="NULL")
    t = read_file(_write(tmp_path / "20261123-0000000001.csv", "Op,id,ts,name\nI,1,t,NULL\nI,2,t,\n"), opts)
    assert t.column("name").to_pylist() == [None, ""]


def test_csv_delimiter_and_null_value_as_dms_writes_them(tmp_path: Path) -> None:
    """csvDelimiter '|' and csvNullValue '\\N': the marker (quoted or not) is null, an empty
    field (quoted or not) the empty string, a quoted delimiter is data; no header."""
    opts = CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "v"), csv_delimiter="|", csv_null_value="\\N")
    text = 'I|1|t|\\N\nI|2|t|\nI|3|t|""\nI|4|t|"\\N"\nU|5|t|"a|b"\n'
    t = read_file(_write(tmp_path / "20261123-0000000001.csv", text), opts)
    assert t.column_names == ["Op", "id", "ts", "v"]
    assert t.column("v").to_pylist() == [None, "", "", None, "a|b"]
    assert t.column("id").to_pylist() == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("name", "content", "opts", "match"),
    [
        ("20261123-0000000001.csv", "Op,id,ts\nX,1,t\n", OPTS, "row 1: unknown Op value 'X'"),
        ("20261123-0000000001.csv", "Op,id,ts\nI,1,t\nd,2,t\n", OPTS, "row 2: unknown Op value 'd'"),
        ("20261123-0000000001.csv", "Op,id,ts\nI,,t\n", OPTS, "row 1: null record key value in column id"),
        ("20261123-0000000001.csv", "Op,id,ts\nI,1,\n", OPTS, "null precombine value in column ts"),
        ("20261123-0000000001.csv", 'Op,id,ts\nI,"",t\n', OPTS, "row 1: empty record key value in column id"),
        ("20261123-0000000001.csv", "Op,ts\nI,t\n", OPTS, "missing record key column id"),
        ("20261123-0000000001.csv", "Op,id\nI,1\n", OPTS, "missing precombine column ts"),
        ("20261123-0000000001.csv", "Op,id,ts\nI,1,t\nI,2,t,extra\n", OPTS, "not a valid CSV file"),
        ("20261123-0000000001.csv", "", OPTS, "empty file"),
        (
            "20261123-0000000001.csv",
            "I,1\n",
            CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "a", "b")),
            "row 1 has 2 columns; expected 4",
        ),
        ("20261123-0000000001.csv", "I,1,t\n", CdcOptions("t", ("id",), "ts", csv_header=False), "no column names"),
        ("20261123-0000000001.parquet", "PAR1 this is not parquet", OPTS, "not a readable Parquet file"),
    ],
)
def test_bad_files_name_the_file_and_problem(
    tmp_path: Path, name: str, content: str, opts: CdcOptions, match: str
) -> None:
    f = _write(tmp_path / name, content)
    with pytest.raises(CdcFileError, match=match) as info:
        read_file(f, opts)
    assert info.value.path == name
    assert str(info.value).startswith(name)


def test_csv_value_that_does_not_fit_table_type(tmp_path: Path) -> None:
    f = _write(tmp_path / "20261123-0000000001.csv", "Op,id,ts\nI,1,t\nI,abc,t\n")
    with pytest.raises(CdcFileError, match="column id: value 'abc' cannot be read as int64"):
        read_file(f, OPTS, {"id": pa.int64()})


def test_truncated_parquet(tmp_path: Path) -> None:
    p = tmp_path / "20261123-0000000001.parquet"
    pq.write_table(pa.table({"Op": ["I"] * 100, "id": list(range(100)), "ts": ["t"] * 100}), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CdcFileError, match="not a readable Parquet file"):
        read_file(_file(p), OPTS)


def test_op_of_wrong_type(tmp_path: Path) -> None:
    p = tmp_path / "20261123-0000000001.parquet"
    pq.write_table(pa.table({"Op": [1], "id": [1], "ts": ["t"]}), p)
    with pytest.raises(CdcFileError, match="column Op has type int64"):
        read_file(_file(p), OPTS)


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    p = tmp_path / "20261123-0000000001.csv.gz"
    p.write_bytes(gzip.compress(b"Op,id,ts\nI,1,t\n"))
    assert read_file(_file(p), OPTS).num_rows == 1


def test_csv_types_for_new_tables(tmp_path: Path) -> None:
    from tributary.cdc.options import CdcOptions as O

    opts = O("t", ("id",), "ts", csv_types=(("id", "int64"), ("ts", "timestamp"), ("amount", "decimal(10,2)")))
    f = _write(tmp_path / "20261123-0000000001.csv", "Op,id,ts,amount\nI,7,2026-11-23 10:00:00.123456,12.50\n")
    t = read_file(f, opts, opts.csv_type_map())
    assert t.schema.field("ts").type == pa.timestamp("us")
    assert str(t.column("amount")[0]) == "12.50" and t.column("id").to_pylist() == [7]


def test_unknown_csv_type_is_refused() -> None:
    from tributary.errors import CdcError

    with pytest.raises(CdcError, match="unknown type 'varchar'"):
        CdcOptions("t", ("id",), csv_types=(("id", "varchar"),))


def test_csv_quoted_newline_in_first_row(tmp_path: Path) -> None:
    opts = CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "note"))
    t = read_file(_write(tmp_path / "20261123-0000000001.csv", 'I,1,t,"two\nlines"\nU,2,t,x\n'), opts)
    assert t.column("note").to_pylist() == ["two\nlines", "x"]
    assert t.column("Op").to_pylist() == ["I", "U"]


@pytest.mark.parametrize("rows", [100, 200_000])
def test_digest_is_the_sha256_of_the_bytes_whether_hashed_beside_or_after(tmp_path: Path, rows: int) -> None:
    """A file from 1 MB is hashed in a thread while it decodes, a smaller one after: the digest
    is the same SHA-256 of its bytes; a truncated large file still fails as unreadable."""
    import hashlib

    from tributary.cdc.reader import DIGEST_THREAD_MIN_BYTES, read_versioned

    p = tmp_path / "20261123-0000000001.parquet"
    ids = pa.array(range(rows), pa.int64())
    pq.write_table(pa.table({"Op": ["I"] * rows, "id": ids, "ts": pa.compute.cast(ids, pa.string())}), p)
    data = p.read_bytes()
    assert (len(data) >= DIGEST_THREAD_MIN_BYTES) == (rows > 100)
    table, digest = read_versioned(_file(p), OPTS)
    assert table.num_rows == rows and digest == "sha256:" + hashlib.sha256(data).hexdigest()
    p.write_bytes(data[: len(data) - 100])
    with pytest.raises(CdcFileError, match="not a readable Parquet file"):
        read_versioned(_file(p), OPTS)
