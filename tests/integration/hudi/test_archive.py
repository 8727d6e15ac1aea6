"""Archival follows Hudi's rule and writes Hudi's archive formats (v6 log blocks, v8 LSM layer).

Checked with Spark (Hudi 0.15.0 and 1.0.2): ``HoodieTableMetaClient.getArchivedTimeline()``
lists the instants archived here with their details, and Spark's own archiver keeps appending
to / compacting the archive afterwards without an error.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.hudi import helpers as rs
from tributary.hudi import HudiTable, TableOptions, WriteOperation, avro
from tributary.hudi.archive import instants_to_archive


class Boom(Exception):
    pass


def _boom() -> None:
    raise Boom("lease lost")


def batch(ids: list[int], tag: str) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "p": [f"p{i % 2}" for i in ids], "v": [f"{tag}{i}" for i in ids]})


def make(tmp_path: Path, version: int) -> tuple[str, HudiTable]:
    uri = str(tmp_path / "t")
    opts = TableOptions(
        "t",
        ("id",),
        partition_fields=("p",),
        table_version=version,
        clean_retain_commits=3,
        archive_min_instants=4,
        archive_max_instants=5,
    )
    return uri, HudiTable.create(uri, opts)


@pytest.mark.parametrize("version", [6, 8])
def test_replacecommit_stays_while_its_replaced_files_exist(tmp_path: Path, version: int) -> None:
    uri = str(tmp_path / "t")
    opts = TableOptions(
        "t",
        ("id",),
        partition_fields=("p",),
        table_version=version,
        clean_retain_commits=4,
        archive_min_instants=5,
        archive_max_instants=6,
    )
    t = HudiTable.create(uri, opts)
    t.write(batch([0, 1, 2], "old"))
    t.write(batch([5, 6], "new"), operation=WriteOperation.INSERT_OVERWRITE_TABLE)
    for _ in range(7):  # failed writes: rollbacks fill the timeline; nothing is cleaned (3 commits < 4)
        with pytest.raises(Boom):
            t.write(batch([9], "x"), before_complete=_boom)
    t.write(batch([7], "new"))  # table services run after a commit
    data_files = list((tmp_path / "t").glob("p*/*.parquet"))
    replaced = [p for p in data_files if "old" in pq.read_table(p).column("v")[0].as_py()]
    assert replaced  # the files the replacecommit replaced are still there
    assert [c.action for c in t.completed_commits()] == ["commit", "replacecommit", "commit"]
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(5, "new5"), (6, "new6"), (7, "new7")]
    rollbacks = [i for i in t.timeline.instants if i.action == "rollback" and i.is_completed]
    assert len(rollbacks) == 5  # 7 > max 6: archived down to min 5, on their own


@pytest.mark.parametrize("version", [6, 8])
def test_archival_bounds(tmp_path: Path, version: int) -> None:
    uri, t = make(tmp_path, version)
    t.write(batch([0, 1], "a"))
    t.write(batch([5, 6], "o"), operation=WriteOperation.INSERT_OVERWRITE_TABLE)
    for n in range(6):
        t.write(batch([5], f"u{n}-"))
    commits = t.completed_commits()
    # the replacecommit went once the clean deleted the files it replaced; never the last 3
    assert len(commits) == 4 and all(c.action == "commit" for c in commits)
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(5, "u5-5"), (6, "o6")]
    # a pending write bounds archival at the last commit before it
    t.timeline.write_requested("00000000000000001", "commit")
    assert [i for i in instants_to_archive(t.timeline, 1, 2, 1) if i.action != "clean"] == []


def _log_records(path: Path) -> list[dict]:
    """Decode a Hudi log file of Avro data blocks (the layout HoodieLogFormatReader reads)."""
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        assert data[pos : pos + 6] == b"#HUDI#"
        (length,) = struct.unpack(">q", data[pos + 6 : pos + 14])
        end = pos + 14 + length
        version, block_type, n_header = struct.unpack(">iii", data[pos + 14 : pos + 26])
        assert (version, block_type, n_header) == (1, 3, 1)
        key, size = struct.unpack(">ii", data[pos + 26 : pos + 34])
        assert key == 2
        schema = json.loads(data[pos + 34 : pos + 34 + size])
        body_at = pos + 34 + size
        (clen,) = struct.unpack(">q", data[body_at : body_at + 8])
        body = data[body_at + 8 : body_at + 8 + clen]
        assert struct.unpack(">ii", body[:8])[0] == 3
        at = 8
        for _ in range(struct.unpack(">ii", body[:8])[1]):
            (n,) = struct.unpack(">i", body[at : at + 4])
            out.append(avro.decode_datum(schema, body[at + 4 : at + 4 + n]))
            at += 4 + n
        assert struct.unpack(">i", data[body_at + 8 + clen : body_at + 12 + clen]) == (0,)
        assert struct.unpack(">q", data[end - 8 : end]) == (end - pos - 8,)
        pos = end
    return out


@pytest.mark.parametrize("version", [6, 8])
def test_archived_instants_in_hudis_format(tmp_path: Path, version: int) -> None:
    uri, t = make(tmp_path, version)
    written = [t.write(batch([0, 1], f"r{n}-")).instant for n in range(9)]
    active = {c.instant for c in t.completed_commits()}
    archived = [w for w in written if w not in active]
    assert archived
    history = tmp_path / "t" / t.timeline.archive_dir
    if version == 6:
        records = [r for p in sorted(history.glob(".commits_.archive.*_1-0-1")) for r in _log_records(p)]
        commits = [r for r in records if r["actionType"] == "commit"]
        assert [r["commitTime"] for r in commits] == archived
        assert all(r["actionState"] == "COMPLETED" and r["hoodieCommitMetadata"] for r in commits)
        assert {r["actionType"] for r in records} <= {"commit", "clean"}
    else:
        version_no = (history / "_version_").read_text()
        manifest = json.loads((history / f"manifest_{version_no}").read_text())
        rows = [r for f in manifest["files"] for r in pq.read_table(history / f["fileName"]).to_pylist()]
        assert [r["instantTime"] for r in rows if r["action"] == "commit"] == archived
        for r in rows:
            assert r["completionTime"] and r["version"] == 1
            assert avro.read_container(r["metadata"])[1]
        assert all(f["fileLen"] == (history / f["fileName"]).stat().st_size for f in manifest["files"])
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(0, "r8-0"), (1, "r8-1")]


@pytest.mark.parametrize("version", [6, 8])
def test_files_of_archived_commits_stay_committed_behind_an_old_rollback(tmp_path: Path, version: int) -> None:
    uri, t = make(tmp_path, version)
    t.write(batch([0, 1], "a"))
    with pytest.raises(Boom):  # one early failed write: its rollback outlives the commits after it
        t.write(batch([9], "x"), before_complete=_boom)
    b = t.write(batch([1], "b")).instant  # p1's file group gets its slice from this commit
    for n in range(7):
        t.write(batch([0], f"c{n}-"))
    assert b not in {c.instant for c in t.completed_commits()}  # archived
    assert next(i.action for i in t.timeline.instants if i.is_completed) == "rollback"
    t.write(batch([1, 3], "d"))  # must update id 1 in its file, not insert a second copy
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(0, "c6-0"), (1, "d1"), (3, "d3")]
