"""Dictionary-encoded input (as a DMS Parquet file's text columns are read) written by the writer:
the same table, the same Parquet and the same schema as from plain text, read back by hudi-rs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.hudi import helpers as rs
from tests.integration.hudi.test_writer import opts, rows
from tributary.errors import SchemaEvolutionError
from tributary.hudi import HudiTable, WriteOperation


def encoded(table: pa.Table, *names: str) -> pa.Table:
    """``table`` with those of the ``names`` columns it has dictionary-encoded (int8 indices for
    ``sub``: any index width is input the writer takes)."""
    for name in (n for n in names if n in table.column_names):
        i = table.column_names.index(name)
        col = table.column(name).dictionary_encode()
        if name == "sub":
            col = col.cast(pa.dictionary(pa.int8(), col.type.value_type))
        table = table.set_column(i, name, col)
    return table


def with_status(table: pa.Table, statuses: list[str | None]) -> pa.Table:
    n = table.num_rows
    return table.append_column("status", pa.array([statuses[i % len(statuses)] for i in range(n)]))


def _file_schemas(root: Path) -> set[tuple[tuple[str, ...], ...]]:
    """The Parquet schema of every base file (physical and logical types, as Java reads them)."""
    return {
        tuple(
            (c.path, c.physical_type, str(c.logical_type), c.converted_type, str(c.max_definition_level))
            for c in pq.read_metadata(p).schema
        )
        for p in root.rglob("*.parquet")
    }


def _table_schema(table: HudiTable) -> dict:
    return dict(json.loads(table.latest_extra_metadata()["schema"]))


@pytest.mark.parametrize("layout", ["hive", "complex"])
def test_encoded_columns_write_the_table_plain_text_writes(tmp_path: Path, layout: str) -> None:
    """Keys (``sub``), partition values (``region``) and pass-through text (``value``,
    ``status``) come dictionary-encoded: the snapshot, each file's Parquet schema and the table's
    Avro schema equal those of a table written from the same rows as plain text, through an
    insert, a rewrite with new and null values and a delete."""
    plain_uri, coded_uri = tmp_path / "plain", tmp_path / "coded"
    tables = {u: HudiTable.create(str(u), opts(8, layout)) for u in (plain_uri, coded_uri)}
    first = with_status(rows(list(range(400))), ["open", "paid", None])
    update = with_status(rows([1, 2, 3, 401], "v2", region="eu"), ["returned", None, "open", "new"])
    deletes = rows([5, 6]).select(["id", "sub"])
    for uri, t in tables.items():
        code = (lambda x: encoded(x, "sub", "region", "value", "status")) if uri == coded_uri else (lambda x: x)
        t.write(code(first), operation=WriteOperation.INSERT)
        r = t.write(code(update), deletes=code(deletes))
        assert (r.updated, r.inserted, r.deleted) == (3, 1, 2)
    plain, coded = rs.snapshot(str(plain_uri)), rs.snapshot(str(coded_uri))
    assert len(coded) == 399 and rs.data(coded) == rs.data(plain)
    assert [r["_hoodie_record_key"] for r in coded] == [r["_hoodie_record_key"] for r in plain]
    assert [r["_hoodie_partition_path"] for r in coded] == [r["_hoodie_partition_path"] for r in plain]
    expected = {1: "returned", 2: None, 3: "open", 401: "new", 4: "paid"}
    assert {r["id"]: r["status"] for r in coded if r["id"] in expected} == expected
    assert _file_schemas(coded_uri) == _file_schemas(plain_uri)
    (schema,) = _file_schemas(coded_uri)
    assert ("status", "BYTE_ARRAY", "String", "UTF8", "1") in schema
    assert _table_schema(tables[coded_uri]) == _table_schema(tables[plain_uri])
    assert tables[coded_uri].schema.field("status").type == pa.string()


def test_new_files_keep_the_encoding_and_a_rewrite_the_kept_dictionary(tmp_path: Path) -> None:
    """A new file written from encoded input stores its column dictionary-encoded with the
    input's values; a rewrite with encoded incoming values keeps one dictionary per column."""
    uri = tmp_path / "t"
    t = HudiTable.create(str(uri), opts(6, "nonpartitioned"))
    t.write(encoded(with_status(rows(list(range(3000))), ["open", "paid"]), "status"), operation=WriteOperation.INSERT)
    r = t.write(encoded(with_status(rows([7, 3001], "v2"), ["new", None]), "status"))
    (newest,) = [p for p in uri.glob("*.parquet") if r.instant in p.name]
    group = pq.read_metadata(newest).row_group(0)
    status = next(group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema == "status")
    assert status.has_dictionary_page and set(status.encodings) == {"PLAIN", "RLE", "RLE_DICTIONARY"}
    values = pq.read_table(newest).column("status").to_pylist()
    assert len(values) == 3001 and values.count("open") == 1500 and values.count("new") == 1
    assert values.count(None) == 1


def test_an_encoded_column_that_changes_type_is_refused(tmp_path: Path) -> None:
    t = HudiTable.create(str(tmp_path / "t"), opts(6, "nonpartitioned"))
    t.write(pa.table({"id": pa.array([1], pa.int64()), "n": pa.array([1], pa.int64())}))
    with pytest.raises(SchemaEvolutionError, match="'n'"):
        t.write(encoded(pa.table({"id": pa.array([2], pa.int64()), "n": ["text"]}), "n"))
    t.write(encoded(pa.table({"id": pa.array([3], pa.int64()), "s": ["new column"]}), "s"))
    assert t.schema.field("s").type == pa.string()
    assert [(r["id"], r["s"]) for r in rs.snapshot(str(tmp_path / "t"))] == [(1, None), (3, "new column")]
