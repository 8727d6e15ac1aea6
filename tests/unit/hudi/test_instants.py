"""The write instant lifecycle on a local table folder: requested → inflight → completed, markers,
rollback of a failed write."""

from __future__ import annotations

from pathlib import Path

import pytest

from tributary.hudi import avro_schemas
from tributary.hudi.file_writer import WriteStat
from tributary.hudi.instants import WriteAction, rollback_pending, start_write
from tributary.hudi.markers import IOType, data_files, marker_dir
from tributary.hudi.options import WriteOperation
from tributary.hudi.timeline import COMPLETED, INFLIGHT, Timeline
from tributary.storage import Storage


def timeline_at(tmp_path: Path, version: int) -> tuple[Storage, Timeline]:
    storage = Storage(str(tmp_path / "t"))
    tl = Timeline(storage, version, "t")
    storage.makedirs(tl.dir)
    return storage, tl


def metadata(stats: list[WriteStat]) -> dict[str, object]:
    return {
        "partitionToWriteStats": {s.partition: [s.to_hudi()] for s in stats},
        "compacted": False,
        "extraMetadata": {"k": "v"},
        "operationType": "upsert",
    }


@pytest.mark.parametrize("version", [6, 8])
def test_requested_inflight_completed_then_markers_gone(tmp_path: Path, version: int) -> None:
    storage, tl = timeline_at(tmp_path, version)
    pending = start_write(storage, tl, WriteOperation.UPSERT)
    assert [(i.timestamp, i.state) for i in tl.pending()] == [(pending.instant, INFLIGHT)]
    pending.mark("p=a/f_0-1-0_x.parquet", IOType.CREATE)
    assert data_files(storage, pending.instant) == ["p=a/f_0-1-0_x.parquet"]
    stat = WriteStat("f", "p=a", "p=a/f_0-1-0_x.parquet", None, 3, 3, 0, 0, 100, 5)
    done = pending.complete(metadata([stat]))
    assert done.state == COMPLETED and (done.completion is not None) == (version == 8)
    tl.reload()
    assert tl.pending() == [] and [i.timestamp for i in tl.completed_commits()] == [pending.instant]
    meta = tl.read_metadata(tl.completed_commits()[0])
    (written,) = meta["partitionToWriteStats"]["p=a"]
    assert (written["prevCommit"], written["numInserts"], written["fileSizeInBytes"]) == ("null", 3, 100)
    assert meta["extraMetadata"] == {"k": "v"}
    pending.clear_markers()
    assert not storage.exists(marker_dir(pending.instant))


@pytest.mark.parametrize("version", [6, 8])
def test_abort_deletes_the_marked_files_and_writes_a_rollback(tmp_path: Path, version: int) -> None:
    storage, tl = timeline_at(tmp_path, version)
    pending = start_write(storage, tl, WriteOperation.INSERT_OVERWRITE_TABLE)
    assert pending.action == WriteAction.REPLACE_COMMIT
    for path in ("p=a/f1_0-1-0_x.parquet", "p=b/f2_1-1-0_x.parquet"):
        pending.mark(path, IOType.CREATE)
        storage.write_bytes(path, b"PAR1 partial")
    pending.abort()
    assert not storage.exists("p=a/f1_0-1-0_x.parquet") and not storage.exists("p=b/f2_1-1-0_x.parquet")
    assert not storage.exists(marker_dir(pending.instant))
    tl.reload()
    assert tl.pending() == [] and tl.files_of(pending.instant) == []
    assert [i.action for i in tl.completed()] == ["rollback"]
    assert rollback_pending(storage, tl) == []  # nothing left to roll back


def test_write_action_of_operation() -> None:
    assert WriteAction.of(WriteOperation.INSERT_OVERWRITE_TABLE) == "replacecommit"
    assert {WriteAction.of(op) for op in WriteOperation if op != WriteOperation.INSERT_OVERWRITE_TABLE} == {
        WriteAction.COMMIT
    }


def test_write_stat_as_hudis_write_stat() -> None:
    rewrite = WriteStat("f", "", "f_0-1-0_2.parquet", "1", 10, 2, 3, 1, 500, 7).to_hudi()
    fields = {f["name"] for f in avro_schemas.COMMIT_METADATA["fields"][0]["type"][1]["values"]["items"]["fields"]}
    assert set(rewrite) <= fields  # every key is a field of HoodieWriteStat (the rest stay null)
    assert (rewrite["numWrites"], rewrite["numInserts"], rewrite["numUpdateWrites"], rewrite["numDeletes"]) == (
        10,
        2,
        3,
        1,
    )
    assert rewrite["runtimeStats"] == {"totalScanTime": 0, "totalUpsertTime": 7, "totalCreateTime": 0}
    created = WriteStat("g", "", "g_0-1-0_2.parquet", None, 4, 4, 0, 0, 90, 6).to_hudi()
    assert created["prevCommit"] == "null" and created["runtimeStats"]["totalCreateTime"] == 6
