"""Key uniqueness checks: every shortcut agrees with counting distinct values the plain way."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tributary.hudi.uniqueness import all_distinct, distinct_count, record_keys_distinct

RNG = np.random.default_rng(3)


def _plain(col: pa.Array) -> int:
    return len(set(col.to_pylist()))


@pytest.mark.parametrize(
    "col",
    [
        pa.array(np.arange(1000)),  # ordered: the one-comparison path
        pa.array(RNG.permutation(1000)),  # shuffled integers: the numpy sort path
        pa.array(RNG.integers(0, 300, 1000)),  # shuffled with repeats
        pa.array(RNG.integers(0, 50, 1000).astype(np.int8)),
        pa.array([5, 5]),
        pa.array([3, 1, 2, 1], pa.uint64()),
        pa.array([dt.date(2026, 1, d) for d in (3, 1, 3)]),
        pa.array([1, 3, 1], pa.timestamp("us", tz="UTC")),
        pa.array([1000, 3000, 1000], pa.timestamp("ns")),
        pa.array([1, None, None, 2]),  # nulls: one value
        pa.array([None, 1, 2]),
        pa.array(["b", "a", "b"]),
        pa.array(["a", "b", "c"]),
        pa.array([1.0, float("nan"), 1.0]),
        pa.array([], pa.int64()),
        pa.array([7]),
        pa.chunked_array([pa.array([3, 1]), pa.array([2, 3])]),
        pa.chunked_array([pa.array(["x", "y"]), pa.array(["z"])]),
    ],
)
def test_distinct_count_equals_plain_count(col: pa.Array | pa.ChunkedArray) -> None:
    assert distinct_count(col) == _plain(col if isinstance(col, pa.Array) else col.combine_chunks())


def test_large_shuffled_string_keys() -> None:
    keys = pc.cast(pa.array(RNG.permutation(100_000)), pa.string())
    assert distinct_count(keys) == 100_000
    assert not all_distinct([pa.concat_arrays([keys, keys.slice(5, 1)])])


def test_all_distinct_over_several_columns() -> None:
    a = pa.array([1, 1, 2, 2])
    assert all_distinct([a, pa.array(["x", "y", "x", "y"])])  # each pair once, no column alone unique
    assert not all_distinct([a, pa.array(["x", "x", "x", "y"])])  # (1, x) twice
    assert all_distinct([a, pa.array([4, 3, 2, 1])])  # the second column alone decides
    assert not all_distinct([a, pa.array([None, None, 2, 1])])  # (1, null) twice
    assert all_distinct([])


def test_record_keys_distinct_follows_an_integer_or_date_field_else_the_keys() -> None:
    t = pa.table({"id": [3, 1, 3], "d": [dt.date(2026, 1, 1)] * 3, "s": ["a", "b", "c"]})
    keys = pc.cast(t.column("id"), pa.string())
    assert not record_keys_distinct(t, keys, ("id",))
    assert record_keys_distinct(t.slice(0, 2), keys.slice(0, 2), ("id",))
    assert not record_keys_distinct(t, pc.cast(t.column("d"), pa.string()), ("d",))
    assert record_keys_distinct(t, t.column("s"), ("s",))
    # several fields: the composite keys decide
    assert not record_keys_distinct(t, pa.array(["k", "k", "j"]), ("id", "s"))
