"""apply_pending / apply_files end to end: real Hudi tables read back with hudi-rs."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from tests.cdc_factory import DmsFolder, Oracle, completed_commits, hudi_snapshot, snapshot_rows
from tributary.cdc import CdcFile, CdcOptions, apply_files, apply_pending, list_files
from tributary.cdc.checkpoint import applied_files

COLS = ["id", "ts", "region", "name"]
OPTS = CdcOptions("orders", ("id",), "ts", partition_fields=("region",))


def row(op: str | None, id: int, ts: int, region: str = "eu", name: str | None = None) -> dict:
    r = {"id": id, "ts": ts, "region": region, "name": name}
    return r if op is None else {"Op": op, **r}


@pytest.fixture
def dms(tmp_path: Path) -> DmsFolder:
    return DmsFolder(tmp_path / "src")


@pytest.fixture
def target(tmp_path: Path) -> str:
    return str(tmp_path / "lake" / "orders")


def test_load_then_cdc_with_deletes_moves_and_reinserts(dms: DmsFolder, target: str) -> None:
    oracle = Oracle(("id",), "ts")
    f1 = [row(None, 1, 1), row(None, 2, 1), row(None, 3, 1)]
    f2 = [row("U", 1, 2, "us", "moved"), row("D", 2, 2), row("D", 9, 2), row("I", 4, 2)]
    f3 = [row("I", 2, 3, "us", "back"), row("U", 4, 1, "eu", "older-loses"), row("U", 3, 2, "eu", "x")]
    for rows, make in ((f1, dms.load), (f2, dms.cdc), (f3, dms.cdc)):
        make(rows)
    result = apply_pending(str(dms.root), target, OPTS)
    oracle.apply_run([f1, f2, f3])
    assert snapshot_rows(target, COLS, ["id"]) == oracle.snapshot(COLS)
    assert result.files == ("LOAD00000001.parquet", "20261123-0000000001.parquet", "20261123-0000000002.parquet")
    assert (result.inserted, result.updated, result.deleted) == (4, 0, 0)
    assert result.changes == 10 and result.instant

    f4 = [row("D", 1, 5), row("U", 3, 5, "us", "moved-again"), row("D", 77, 5)]
    dms.cdc(f4)
    second = apply_pending(str(dms.root), target, OPTS)
    oracle.apply_run([f4])
    assert snapshot_rows(target, COLS, ["id"]) == oracle.snapshot(COLS)
    assert second.files == ("20261123-0000000003.parquet",)
    assert (second.inserted, second.updated, second.deleted) == (0, 1, 1)
    # a moved key leaves exactly one row, in its new partition
    snap = hudi_snapshot(target, ["id", "region"]).to_pylist()
    assert sorted(r["id"] for r in snap) == sorted(set(r["id"] for r in snap))
    assert {"id": 3, "region": "us"} in snap


def test_second_run_without_new_files_writes_no_commit(dms: DmsFolder, target: str) -> None:
    dms.load([row(None, 1, 1)])
    first = apply_pending(str(dms.root), target, OPTS)
    commits = completed_commits(target)
    again = apply_pending(str(dms.root), target, OPTS)
    assert again.instant is None and again.files == () and again.skipped == first.files
    assert completed_commits(target) == commits
    assert applied_files(commits[-1]["extra"]) == ["LOAD00000001.parquet"]


def test_apply_files_skips_files_already_applied(dms: DmsFolder, target: str) -> None:
    a = dms.cdc([row("I", 1, 1)])
    b = dms.cdc([row("I", 2, 1)])
    files = [CdcFile.local(str(p), str(dms.root)) for p in (a, b)]
    apply_files(target, files[:1], OPTS)
    result = apply_files(target, files, OPTS)
    assert result.files == (files[1].path,) and result.skipped == (files[0].path,)
    assert len(completed_commits(target)) == 2
    assert snapshot_rows(target, ["id"], ["id"]) == [{"id": 1}, {"id": 2}]


def test_new_columns_and_dropped_columns_across_runs(dms: DmsFolder, target: str) -> None:
    dms.cdc([row("I", 1, 1, name="a")])
    apply_pending(str(dms.root), target, OPTS)
    dms.cdc([{"Op": "I", "id": 2, "ts": 2, "region": "eu", "extra": 5}])
    apply_pending(str(dms.root), target, OPTS)
    got = snapshot_rows(target, ["id", "name", "extra"], ["id"])
    assert got == [{"id": 1, "name": "a", "extra": None}, {"id": 2, "name": None, "extra": 5}]


def test_reload_replaces_table_content(dms: DmsFolder, target: str) -> None:
    dms.load([row(None, 1, 1), row(None, 2, 1)])
    dms.cdc([row("I", 3, 2)])
    apply_pending(str(dms.root), target, OPTS)
    # DMS reload: LOAD00000001 rewritten (same name, new content), then new CDC
    load = dms.load([row(None, 2, 10, name="reloaded"), row(None, 5, 10)], counter=1)
    _bump_mtime(load, 1)
    dms.cdc([row("U", 5, 11, name="after")])
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.reload and result.operation == "INSERT_OVERWRITE_TABLE"
    assert result.files == ("LOAD00000001.parquet", "20261123-0000000002.parquet")
    assert snapshot_rows(target, ["id", "name"], ["id"]) == [{"id": 2, "name": "reloaded"}, {"id": 5, "name": "after"}]
    assert apply_pending(str(dms.root), target, OPTS).instant is None


def _bump_mtime(path: Path, seconds: int) -> None:
    os.utime(path, ns=(os.stat(path).st_mtime_ns + seconds * 10**9,) * 2)


def test_reload_landing_over_two_runs_keeps_both_files_and_ignores_stale_ones(dms: DmsFolder, target: str) -> None:
    dms.load([row(None, 1, 1)])
    dms.load([row(None, 2, 1)])
    dms.load([row(None, 3, 1, name="stale")])
    dms.cdc([row("I", 4, 2)])
    apply_pending(str(dms.root), target, OPTS)
    # the reload rewrites LOAD1 now and LOAD2 later; it has no third file (LOAD3 stays, stale)
    _bump_mtime(dms.load([row(None, 1, 10, name="r1")], counter=1), 5)
    first = apply_pending(str(dms.root), target, OPTS)
    assert first.reload and first.files == ("LOAD00000001.parquet",)
    assert snapshot_rows(target, ["id", "name"], ["id"]) == [{"id": 1, "name": "r1"}]
    _bump_mtime(dms.load([row(None, 2, 10, name="r2")], counter=2), 6)
    dms.cdc([row("U", 1, 11, name="after")])
    second = apply_pending(str(dms.root), target, OPTS)
    assert not second.reload and second.files == ("LOAD00000002.parquet", "20261123-0000000002.parquet")
    assert snapshot_rows(target, ["id", "name"], ["id"]) == [{"id": 1, "name": "after"}, {"id": 2, "name": "r2"}]
    assert apply_pending(str(dms.root), target, OPTS).instant is None


def test_historical_mode_appends_every_change_once(dms: DmsFolder, target: str) -> None:
    opts = CdcOptions("orders_history", ("id",), "ts", mode="historical")
    dms.load([row(None, 1, 1)])
    dms.cdc([row("U", 1, 2), row("D", 1, 3)])
    apply_pending(str(dms.root), target, opts)
    dms.cdc([row("I", 1, 4)])
    apply_pending(str(dms.root), target, opts)
    assert apply_pending(str(dms.root), target, opts).instant is None
    snap = sorted(hudi_snapshot(target, ["id", "ts", "Op", "_tributary_change_id"]).to_pylist(), key=lambda r: r["ts"])
    assert [(r["Op"], r["ts"]) for r in snap] == [("I", 1), ("U", 2), ("D", 3), ("I", 4)]
    assert len({r["_tributary_change_id"] for r in snap}) == 4


def test_csv_files_cast_to_existing_table_types(dms: DmsFolder, target: str) -> None:
    opts = CdcOptions("orders", ("id",), "ts", partition_fields=("region",), csv_columns=("id", "ts", "region", "name"))
    dms.load([row(None, 1, 1, name="p")])
    apply_pending(str(dms.root), target, opts)
    dms.cdc([row("U", 1, 2, name=""), row("I", 2, 2, name=None)], fmt="csv", header=False)
    apply_pending(str(dms.root), target, opts)
    snap = hudi_snapshot(target, ["id", "ts", "name"])
    assert snap.schema.field("id").type == pa.int64()
    assert sorted(snap.to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "ts": 2, "name": ""},
        {"id": 2, "ts": 2, "name": None},
    ]


def test_csv_only_table_keeps_text(dms: DmsFolder, target: str) -> None:
    dms.load([row(None, 1, 1)], fmt="csv")
    dms.cdc([row("U", 1, 2, name="x")], fmt="csv")
    apply_pending(str(dms.root), target, OPTS)
    assert hudi_snapshot(target, ["id", "ts", "name"]).to_pylist() == [{"id": "1", "ts": "2", "name": "x"}]


def test_table_version_8_and_date_folders(tmp_path: Path, target: str) -> None:
    dms = DmsFolder(tmp_path / "src", date_folders=True)
    opts = CdcOptions("orders", ("id",), "ts", table_version=8)
    oracle = Oracle(("id",), "ts")
    runs = [[row("I", i, 1) for i in range(5)], [row("U", 1, 2, name="b"), row("D", 2, 2)], [row("I", 2, 3)]]
    for rows in runs:
        dms.cdc(rows)
    assert [f.name for f in list_files(str(dms.root))] == sorted(f.name for f in list_files(str(dms.root)))
    apply_pending(str(dms.root), target, opts)
    oracle.apply_run(runs)
    assert snapshot_rows(target, COLS, ["id"]) == oracle.snapshot(COLS)


def test_checkpoint_survives_a_later_commit_by_another_writer(dms: DmsFolder, target: str) -> None:
    from tributary.hudi import HudiTable

    dms.cdc([row("I", 1, 1)])
    apply_pending(str(dms.root), target, OPTS)
    # another writer commits without Tributary's checkpoint (e.g. a manual fix-up)
    HudiTable.open(target).write(upserts=pa.table({"id": [50], "ts": [1], "region": ["eu"], "name": ["manual"]}))
    dms.cdc([row("I", 2, 2)])
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.files == ("20261123-0000000002.parquet",)
    assert snapshot_rows(target, ["id"], ["id"]) == [{"id": 1}, {"id": 2}, {"id": 50}]


def test_files_that_change_nothing_still_advance_the_checkpoint(dms: DmsFolder, target: str) -> None:
    dms.cdc([row("I", 1, 1)])
    apply_pending(str(dms.root), target, OPTS)
    schema = pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string())])
    dms.cdc([], schema=schema)  # a valid Parquet file without rows
    dms.cdc([{"Op": "D", "id": 42, "ts": 2, "region": "eu"}])  # delete of an absent key: no-op
    result = apply_pending(str(dms.root), target, OPTS)
    assert len(result.files) == 2 and result.instant is not None
    assert (result.inserted, result.updated, result.deleted) == (0, 0, 0)
    assert apply_pending(str(dms.root), target, OPTS).instant is None
    assert snapshot_rows(target, ["id"], ["id"]) == [{"id": 1}]


def test_concurrent_one_shot_runs_cannot_apply_a_file_twice(dms: DmsFolder, target: str) -> None:
    from tributary.errors import CommitConflictError

    dms.cdc([row("I", 1, 1)])
    apply_pending(str(dms.root), target, OPTS)
    dms.cdc([row("U", 1, 2, name="x")])
    inner: list = []

    def other_writer_commits_meanwhile() -> None:
        inner.append(apply_pending(str(dms.root), target, OPTS))

    with pytest.raises(CommitConflictError, match="another writer committed"):
        apply_pending(str(dms.root), target, OPTS, before_complete=other_writer_commits_meanwhile)
    assert inner[0].files == ("20261123-0000000002.parquet",)
    applied = [f for c in completed_commits(target) for f in applied_files(c["extra"])]
    assert applied == ["20261123-0000000001.parquet", "20261123-0000000002.parquet"]
    assert apply_pending(str(dms.root), target, OPTS).instant is None
