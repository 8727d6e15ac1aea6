"""The write planner on its own: file slices and located keys in, a typed plan out (no files)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pyarrow as pa
import pytest

from tributary.hudi.base_file import BaseFile
from tributary.hudi.options import WriteOperation
from tributary.hudi.planner import (
    KEY,
    PART,
    FileSizing,
    PlanInput,
    WritePlan,
    lookup_keys,
    plan_write,
)

MB = 2**20
SIZING = FileSizing(target_bytes=120 * MB, small_file_bytes=100 * MB)


def upserts(keys: Sequence[str], part: str | Sequence[str] = "p=a") -> pa.Table:
    parts = [part] * len(keys) if isinstance(part, str) else list(part)
    return pa.table({"v": pa.array(range(len(keys)), pa.int64()), KEY: pa.array(keys), PART: pa.array(parts)})


def deletes(keys: Sequence[str]) -> pa.Table:
    return pa.table({KEY: pa.array(keys, pa.string())})


def base(part: str, fid: str, size: int = 10 * MB) -> BaseFile:
    return BaseFile(part, fid, "0-1-0", "20260101000000000", size)


def ids() -> itertools.count[int]:
    return itertools.count()


def plan(
    op: WriteOperation,
    ups: pa.Table | None = None,
    dels: pa.Table | None = None,
    slices: Sequence[BaseFile] = (),
    located: Sequence[tuple[BaseFile, list[str]]] = (),
    stored: float | None = 1000.0,
    sizing: FileSizing = SIZING,
) -> WritePlan:
    counter = ids()
    return plan_write(
        PlanInput(
            operation=op,
            upserts=ups,
            deletes=dels,
            slices=slices,
            located=[(bf, pa.array(keys, pa.string())) for bf, keys in located],
            sizing=sizing,
            stored_record_bytes=lambda: stored,
            new_file_id=lambda: f"new{next(counter)}",
        )
    )


def keys_of(tables: list[pa.Table]) -> list[str]:
    return [k for t in tables for k in t.column(KEY).to_pylist()]


def test_updates_go_to_their_file_and_new_keys_fill_the_small_file() -> None:
    f1, f2 = base("p=a", "f1"), base("p=a", "f2", size=110 * MB)  # f2 is not small
    p = plan(WriteOperation.UPSERT, upserts(["k1", "k2", "k9"]), slices=[f1, f2], located=[(f1, ["k1", "k2"])])
    assert (p.updated, p.inserted, p.deleted) == (2, 1, 0)
    assert [(x.partition, x.file_id) for x in p.files] == [("p=a", "f1")]
    (only,) = p.files
    assert only.base == f1 and keys_of(only.updates) == ["k1", "k2"] and keys_of(only.inserts) == ["k9"]
    assert [r.to_pylist() for r in only.remove_keys] == [["k1", "k2"]]
    assert p.rewritten == [only] and p.created == [] and p.replaced == {}


def test_a_key_moving_partition_leaves_its_file_and_is_inserted_in_the_new_one() -> None:
    f1 = base("p=a", "f1", size=110 * MB)
    p = plan(WriteOperation.UPSERT, upserts(["k1", "k2"], ["p=a", "p=b"]), slices=[f1], located=[(f1, ["k1", "k2"])])
    assert (p.updated, p.inserted) == (2, 0)
    old, new = p.files
    assert old.file_id == "f1" and keys_of(old.updates) == ["k1"]
    assert [r.to_pylist() for r in old.remove_keys] == [["k1", "k2"]]
    assert (new.partition, new.file_id, new.base) == ("p=b", "new0", None) and keys_of(new.inserts) == ["k2"]


def test_deletes_count_only_located_keys() -> None:
    f1, f2 = base("p=a", "f1"), base("p=b", "f2")
    p = plan(
        WriteOperation.UPSERT,
        dels=deletes(["k1", "k5", "gone"]),
        slices=[f1, f2],
        located=[(f1, ["k1"]), (f2, ["k5"])],
    )
    assert p.deleted == 2 and [(x.file_id, x.num_deletes) for x in p.files] == [("f1", 1), ("f2", 1)]
    assert [x.remove_keys[0].to_pylist() for x in p.files] == [["k1"], ["k5"]]
    assert all(not x.updates and not x.inserts for x in p.files)


def test_inserts_split_at_the_target_file_size() -> None:
    sizing = FileSizing(target_bytes=3000, small_file_bytes=0)  # 3 records of 1000 bytes per file
    p = plan(WriteOperation.INSERT, upserts([f"k{i}" for i in range(7)]), stored=1000.0, sizing=sizing)
    assert [(x.file_id, x.num_inserts) for x in p.files] == [("new0", 3), ("new1", 3), ("new2", 1)]
    assert p.inserted == 7 and p.created == p.files


def test_small_files_are_filled_smallest_first_up_to_the_target() -> None:
    sizing = FileSizing(target_bytes=10_000, small_file_bytes=9_000)
    small, smaller, full = base("p=a", "s", 8_000), base("p=a", "t", 7_000), base("p=a", "f", 9_500)
    p = plan(
        WriteOperation.INSERT,
        upserts([f"k{i}" for i in range(8)]),
        slices=[small, smaller, full],
        stored=1000.0,
        sizing=sizing,
    )
    # room: t 3 records, s 2 records, f none (not small); the rest go to a new file group
    assert [(x.file_id, x.num_inserts) for x in p.files] == [("new0", 3), ("s", 2), ("t", 3)]
    assert keys_of(p.files[2].inserts) == ["k0", "k1", "k2"]


def test_overwrite_replaces_every_slice_and_reads_no_stored_size() -> None:
    f1, f2 = base("p=a", "f1"), base("p=b", "f2")
    asked: list[int] = []

    def stored() -> float:
        asked.append(1)
        return 1.0

    p = plan_write(
        PlanInput(
            WriteOperation.INSERT_OVERWRITE_TABLE,
            upserts(["k1"], "p=c"),
            None,
            [f1, f2],
            [],
            SIZING,
            stored_record_bytes=stored,
            new_file_id=lambda: "n",
        )
    )
    assert p.replaced == {"p=a": ["f1"], "p=b": ["f2"]}
    assert [(x.partition, x.file_id, x.num_inserts) for x in p.files] == [("p=c", "n", 1)]
    assert asked == [] and p.inserted == 1


def test_no_inserts_no_stored_size() -> None:
    f1 = base("p=a", "f1")
    p = plan_write(
        PlanInput(
            WriteOperation.UPSERT,
            upserts(["k1"]),
            None,
            [f1],
            [(f1, pa.array(["k1"]))],
            SIZING,
            stored_record_bytes=lambda: pytest.fail("the stored record size is read only to pack inserts"),
        )
    )
    assert p.updated == 1 and p.inserted == 0


def test_a_key_held_by_two_files_updates_both() -> None:
    f1, f2 = base("p=a", "f1"), base("p=a", "f2")
    p = plan(WriteOperation.UPSERT, upserts(["k1", "k2"]), slices=[f1, f2], located=[(f1, ["k1"]), (f2, ["k1"])])
    assert (p.updated, p.inserted) == (2, 1)
    assert [(x.file_id, keys_of(x.updates)) for x in p.files] == [("f1", ["k1"]), ("f2", ["k1"])]
    assert keys_of(p.files[0].inserts) == ["k2"]  # the new key fills the first small file


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (WriteOperation.UPSERT, ["u1", "u2", "d1"]),
        (WriteOperation.INSERT, ["d1"]),
        (WriteOperation.INSERT_OVERWRITE_TABLE, []),
    ],
)
def test_lookup_keys(op: WriteOperation, expected: list[str]) -> None:
    assert lookup_keys(upserts(["u1", "u2"]), deletes(["d1"]), op).to_pylist() == expected


def test_first_write_sized_by_the_record_estimate_as_hudi() -> None:
    """Nothing stored yet: Hudi's 1024-byte estimate (hoodie.copyonwrite.record.size.estimate) sizes
    the file groups, whatever the rows' in-memory size: target 10,240 B -> 10 records per file."""
    sizing = FileSizing(target_bytes=10 * 1024, small_file_bytes=0)
    p = plan(WriteOperation.INSERT_OVERWRITE_TABLE, upserts([f"k{i}" for i in range(25)]), stored=None, sizing=sizing)
    assert [x.num_inserts for x in p.files] == [10, 10, 5]
    bigger = FileSizing(target_bytes=10 * 1024, small_file_bytes=0, record_bytes_estimate=2048)
    p = plan(WriteOperation.UPSERT, upserts([f"k{i}" for i in range(25)]), stored=None, sizing=bigger)
    assert [x.num_inserts for x in p.files] == [5, 5, 5, 5, 5]
