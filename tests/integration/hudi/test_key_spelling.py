"""A one-field Complex-key table keeps the key spelling its files hold.

Spark's upsert writes a one-field ComplexKeyGenerator key as the bare value; Tributary before
2026-12 (and Hudi's Avro path) wrote ``id:1``. Upserting bare keys into such a table would miss
every stored row and duplicate it, so an existing table keeps its own spelling.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.integration.hudi import helpers as rs
from tributary.hudi import HudiTable, TableOptions


def _rows(ids: list[int], v: str) -> pa.Table:
    return pa.table({"id": ids, "v": [v] * len(ids), "a": ["x"] * len(ids), "b": ["y"] * len(ids)})


@pytest.mark.parametrize("version", [6, 8])
def test_upserts_keep_the_field_named_spelling_of_an_older_table(tmp_path: Path, version: int) -> None:
    uri = str(tmp_path / "t")
    old = TableOptions("t", ("id",), partition_fields=("a", "b"), table_version=version, single_key_field_named=True)
    HudiTable.create(uri, old).write(_rows([1, 2, 3], "old"))
    assert {r["_hoodie_record_key"] for r in rs.snapshot(uri)} == {"id:1", "id:2", "id:3"}

    table = HudiTable.open(uri)
    assert table.options.keygen_type == "COMPLEX" and table.options.single_key_field_named
    table.write(_rows([2, 4], "new"))
    got = rs.snapshot(uri)
    assert sorted((r["id"], r["v"], r["_hoodie_record_key"]) for r in got) == [
        (1, "old", "id:1"),
        (2, "new", "id:2"),
        (3, "old", "id:3"),
        (4, "new", "id:4"),
    ]


def test_a_new_one_field_complex_table_writes_bare_keys_as_spark_does(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    HudiTable.create(uri, TableOptions("t", ("id",), partition_fields=("a", "b"))).write(_rows([1, 2], "v"))
    table = HudiTable.open(uri)
    assert not table.options.single_key_field_named
    table.write(_rows([2], "w"))
    assert sorted((r["id"], r["v"], r["_hoodie_record_key"]) for r in rs.snapshot(uri)) == [
        (1, "v", "1"),
        (2, "w", "2"),
    ]
