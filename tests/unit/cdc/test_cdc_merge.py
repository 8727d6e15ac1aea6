"""Merge planning: winners per key, deletes, reloads, schema reconciliation, historical ids."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from tributary.cdc.files import CdcFile, FileKind
from tributary.cdc.merge import plan
from tributary.cdc.options import CdcOptions
from tributary.errors import CdcFileError
from tributary.modes import WriteOperationType

OPTS = CdcOptions("t", ("id",), "ts", partition_fields=("region",))


def _f(n: int, kind: FileKind = FileKind.CDC) -> CdcFile:
    name = f"LOAD{n:08X}.parquet" if kind is FileKind.LOAD else f"20261123-{n:010d}.parquet"
    return CdcFile(name, "/x/" + name, 10, 1000 + n, kind, "parquet")


def _t(rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: r["id"])


def test_greatest_precombine_wins_regardless_of_file_order() -> None:
    b1 = _t([{"Op": "U", "id": 1, "ts": 5, "region": "a", "v": "late"}])
    b2 = _t([{"Op": "U", "id": 1, "ts": 3, "region": "a", "v": "early"}])
    p = plan([(_f(1), b1), (_f(2), b2)], OPTS, None)
    assert p.operation is WriteOperationType.UPSERT
    assert _rows(p.upserts) == [{"id": 1, "ts": 5, "region": "a", "v": "late"}]
    assert p.deletes.num_rows == 0 and p.changes == 2


def test_ties_broken_by_file_then_row_order() -> None:
    b1 = _t(
        [
            {"Op": "I", "id": 1, "ts": 1, "region": "a", "v": "f1r1"},
            {"Op": "U", "id": 1, "ts": 1, "region": "a", "v": "f1r2"},
        ]
    )
    b2 = _t(
        [
            {"Op": "U", "id": 1, "ts": 1, "region": "a", "v": "f2r1"},
            {"Op": "U", "id": 2, "ts": 1, "region": "a", "v": "x"},
        ]
    )
    p = plan([(_f(1), b1), (_f(2), b2)], OPTS, None)
    assert [r["v"] for r in _rows(p.upserts)] == ["f2r1", "x"]
    p = plan([(_f(1), b1)], OPTS, None)
    assert [r["v"] for r in _rows(p.upserts)] == ["f1r2"]


def test_without_precombine_last_change_wins() -> None:
    opts = CdcOptions("t", ("id",))
    b = _t([{"Op": "U", "id": 1, "v": 9}, {"Op": "U", "id": 1, "v": 2}])
    assert _rows(plan([(_f(1), b)], opts, None).upserts) == [{"id": 1, "v": 2}]


def test_delete_then_reinsert_and_insert_then_delete() -> None:
    b = _t(
        [
            {"Op": "I", "id": 1, "ts": 1, "region": "a"},
            {"Op": "D", "id": 1, "ts": 2, "region": "a"},
            {"Op": "I", "id": 1, "ts": 3, "region": "b"},
            {"Op": "I", "id": 2, "ts": 1, "region": "a"},
            {"Op": "D", "id": 2, "ts": 2, "region": "a"},
            {"Op": "D", "id": 3, "ts": 2, "region": None},
        ]
    )
    p = plan([(_f(1), b)], OPTS, None)
    assert _rows(p.upserts) == [{"id": 1, "ts": 3, "region": "b"}]
    assert [r["id"] for r in _rows(p.deletes)] == [2, 3]
    assert set(p.upserts.column("id").to_pylist()).isdisjoint(p.deletes.column("id").to_pylist())


def test_partition_move_leaves_one_row_in_new_partition() -> None:
    b = _t([{"Op": "I", "id": 1, "ts": 1, "region": "a"}, {"Op": "U", "id": 1, "ts": 2, "region": "b"}])
    assert _rows(plan([(_f(1), b)], OPTS, None).upserts) == [{"id": 1, "ts": 2, "region": "b"}]


def test_composite_keys() -> None:
    opts = CdcOptions("t", ("a", "b"), "ts")
    b = _t(
        [{"a": 1, "b": "x", "ts": 1, "v": 1}, {"a": 1, "b": "y", "ts": 1, "v": 2}, {"a": 1, "b": "x", "ts": 2, "v": 3}]
    )
    p = plan([(_f(1), b.add_column(0, "Op", pa.array(["I", "I", "U"])))], opts, None)
    assert sorted(p.upserts.to_pylist(), key=lambda r: r["b"]) == [
        {"a": 1, "b": "x", "ts": 2, "v": 3},
        {"a": 1, "b": "y", "ts": 1, "v": 2},
    ]


def test_reload_overwrites_and_drops_deletes() -> None:
    load = _t([{"id": 1, "ts": 1, "region": "a"}, {"id": 2, "ts": 1, "region": "a"}]).add_column(
        0, "Op", pa.array(["I", "I"])
    )
    cdc = _t([{"Op": "D", "id": 2, "ts": 2, "region": "a"}])
    p = plan([(_f(1, FileKind.LOAD), load), (_f(2), cdc)], OPTS, None, reload=True)
    assert p.operation is WriteOperationType.INSERT_OVERWRITE_TABLE
    assert _rows(p.upserts) == [{"id": 1, "ts": 1, "region": "a"}]
    assert p.deletes.num_rows == 0


def test_new_column_added_missing_column_kept_as_null_and_widening() -> None:
    table_schema = pa.schema([("id", pa.int32()), ("ts", pa.int64()), ("region", pa.string()), ("gone", pa.string())])
    b1 = _t(
        [{"Op": "I", "id": 1, "ts": 1, "region": "a", "new": 1.5}],
        pa.schema(
            [
                ("Op", pa.string()),
                ("id", pa.int32()),
                ("ts", pa.int32()),
                ("region", pa.string()),
                ("new", pa.float32()),
            ]
        ),
    )
    b2 = _t(
        [{"Op": "I", "id": 2, "ts": 1, "region": "a", "new": 7}],
        pa.schema(
            [("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string()), ("new", pa.int64())]
        ),
    )
    p = plan([(_f(1), b1), (_f(2), b2)], OPTS, table_schema)
    assert p.upserts.schema.names == ["id", "ts", "region", "gone", "new"]
    assert p.upserts.schema.field("id").type == pa.int64()
    assert p.upserts.schema.field("ts").type == pa.int64()
    assert p.upserts.schema.field("new").type == pa.float64()
    assert _rows(p.upserts) == [
        {"id": 1, "ts": 1, "region": "a", "gone": None, "new": 1.5},
        {"id": 2, "ts": 1, "region": "a", "gone": None, "new": 7.0},
    ]


def test_timestamps_normalised_to_utc_micros() -> None:
    # the writer stores naive timestamps as UTC instants, so a naive column matches a UTC table column
    s = pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.timestamp("ns"))])
    b = pa.table({"Op": ["I"], "id": [1], "ts": pa.array([1_000_000_000], pa.timestamp("ns"))}, schema=s)
    p = plan([(_f(1), b)], CdcOptions("t", ("id",), "ts"), None)
    assert p.upserts.schema.field("ts").type == pa.timestamp("us", "UTC")
    table_schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("us", "UTC"))])
    p = plan([(_f(1), b)], CdcOptions("t", ("id",), "ts"), table_schema)
    assert p.upserts.column("ts").to_pylist()[0].timestamp() == 1.0


def test_incompatible_type_change_names_file_and_column() -> None:
    b1 = _t([{"Op": "I", "id": 1, "ts": 1, "region": "a", "v": 1}])
    b2 = _t([{"Op": "I", "id": 2, "ts": 1, "region": "a", "v": "text"}])
    with pytest.raises(
        CdcFileError,
        match=r"20261123-0000000002.parquet: column v: type string is incompatible with int64 \(from 20261123-0000000001.parquet\)",
    ):
        plan([(_f(1), b1), (_f(2), b2)], OPTS, None)
    table_schema = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string()), ("v", pa.bool_())])
    with pytest.raises(CdcFileError, match=r"column v: type int64 is incompatible with bool \(from the table\)"):
        plan([(_f(1), b1)], OPTS, table_schema)


def test_existing_op_column_in_table_is_kept() -> None:
    table_schema = pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string())])
    b = _t([{"Op": "U", "id": 1, "ts": 1, "region": "a"}])
    assert plan([(_f(1), b)], OPTS, table_schema).upserts.to_pylist() == [{"Op": "U", "id": 1, "ts": 1, "region": "a"}]


def test_historical_keeps_every_change_with_unique_ids() -> None:
    opts = CdcOptions("t", ("id",), "ts", mode="historical")
    load = _t([{"id": 1, "ts": 1}]).add_column(0, "Op", pa.array(["I"]))
    cdc = _t([{"Op": "U", "id": 1, "ts": 2}, {"Op": "D", "id": 1, "ts": 3}])
    p = plan([(_f(1, FileKind.LOAD), load), (_f(2), cdc)], opts, None)
    assert p.operation is WriteOperationType.INSERT
    assert p.upserts.to_pylist() == [
        {"Op": "I", "id": 1, "ts": 1, "_tributary_change_id": "LOAD00000001.parquet@1001#0"},
        {"Op": "U", "id": 1, "ts": 2, "_tributary_change_id": "20261123-0000000002.parquet#0"},
        {"Op": "D", "id": 1, "ts": 3, "_tributary_change_id": "20261123-0000000002.parquet#1"},
    ]
    assert opts.hudi_record_key_fields == ("id", "_tributary_change_id")


def test_empty_batches_plan_an_empty_write() -> None:
    b = _t([], pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string())]))
    p = plan([(_f(1), b)], OPTS, None)
    assert p.upserts.num_rows == 0 and p.deletes.num_rows == 0 and p.upserts.schema.names == ["id", "ts", "region"]


def test_unorderable_precombine_is_a_clear_error() -> None:
    from tributary.errors import CdcError

    b = pa.table({"Op": ["I", "U"], "id": [1, 1], "ts": [[1], [2]]})
    with pytest.raises(CdcError, match=r"cannot be compared \(id: int64, ts: list<item: int64>\)"):
        plan([(_f(1), b)], CdcOptions("t", ("id",), "ts"), None)


@pytest.mark.parametrize("seed", range(6))
def test_winners_equal_a_row_by_row_oracle(seed: int) -> None:
    """Random files with repeated keys and precombine ties (and, for some seeds, no repeats at
    all, the full-load shortcut): the plan keeps, per key, the greatest (ts, file, row), in order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    unique = seed % 2 == 0
    batches, best = [], {}
    next_id = 0
    for n in range(1, 4):
        size = 40
        if unique:
            ids = list(range(next_id, next_id + size))
            next_id += size
        else:
            ids = rng.integers(0, 30, size).tolist()
        ts = rng.integers(0, 4, size).tolist()
        rows = [
            {"Op": "U", "id": i, "ts": t, "region": "a", "v": f"f{n}r{r}"}
            for r, (i, t) in enumerate(zip(ids, ts, strict=True))
        ]
        for r, row in enumerate(rows):
            rank = (row["ts"], n, r)
            if row["id"] not in best or rank > best[row["id"]][0]:
                best[row["id"]] = (rank, row["v"])
        batches.append((_f(n), _t(rows)))
    p = plan(batches, OPTS, None)
    got = p.upserts.to_pylist()
    assert {r["id"]: r["v"] for r in got} == {k: v for k, (_, v) in best.items()}
    assert len(got) == len(best)
    # winners keep the order of the changes they came from
    order = [(int(r["v"][1]), int(r["v"][3:])) for r in got]  # (file, row) of each winner
    assert order == sorted(order)


@pytest.mark.parametrize("encoded_first", [True, False])
def test_a_column_encoded_in_one_file_and_plain_in_another_plans_as_text(encoded_first: bool) -> None:
    """A Parquet file's dictionary column (see the reader) and a CSV file's plain text column meet
    in one write: every value is planned, with one type for the column."""
    encoded = pa.array(["open", "paid"]).dictionary_encode()
    load = pa.table({"Op": ["I", "I"], "id": [1, 2], "ts": [1, 1], "region": ["a", "a"], "status": encoded})
    changes = _t(
        [
            {"Op": "U", "id": 2, "ts": 2, "region": "a", "status": "closed"},
            {"Op": "I", "id": 3, "ts": 2, "region": "a", "status": None},
        ]
    )
    batches = [load, changes] if encoded_first else [changes, load]
    p = plan([(_f(i + 1), b) for i, b in enumerate(batches)], OPTS, None)
    assert {r["id"]: r["status"] for r in p.upserts.to_pylist()} == {1: "open", 2: "closed", 3: None}
    assert p.upserts.schema.field("status").type == pa.string()


def test_one_encoded_file_plans_its_column_still_encoded() -> None:
    encoded = pa.array(["open", "paid", "open"]).dictionary_encode()
    load = pa.table({"Op": ["I"] * 3, "id": [1, 2, 3], "ts": [1, 1, 1], "region": ["a"] * 3, "status": encoded})
    p = plan([(_f(1, FileKind.LOAD), load)], OPTS, None)
    assert p.upserts.schema.field("status").type == encoded.type
    assert p.upserts.column("status").to_pylist() == ["open", "paid", "open"]
