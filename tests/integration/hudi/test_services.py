"""Rollback of failed writes, lease fencing, cleaning, archiving, small files, S3."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.integration.hudi import helpers as rs
from tributary.hudi import HudiTable, TableOptions, WriteOperation
from tributary.hudi import instants as instants_mod
from tributary.hudi.timeline import Timeline
from tributary.storage import Storage


def batch(ids: range | list[int], tag: str = "a") -> pa.Table:
    ids = list(ids)
    return pa.table({"id": pa.array(ids, pa.int64()), "p": [i % 2 for i in ids], "v": [f"{tag}{i}" for i in ids]})


def make(tmp_path: Path, version: int = 6, **kw: object) -> tuple[str, HudiTable]:
    uri = str(tmp_path / "t")
    opts = TableOptions("t", ("id",), partition_fields=("p",), table_version=version, **kw)  # type: ignore[arg-type]
    return uri, HudiTable.create(uri, opts)


class Boom(Exception):
    pass


@pytest.mark.parametrize("version", [6, 8])
def test_before_complete_failure_rolls_back(tmp_path: Path, version: int) -> None:
    uri, t = make(tmp_path, version)
    t.write(batch(range(4)))

    def lost_lease() -> None:
        raise Boom("lease lost")

    with pytest.raises(Boom):
        t.write(batch([1, 9], "b"), before_complete=lost_lease)
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(0, "a0"), (1, "a1"), (2, "a2"), (3, "a3")]
    tl = Timeline(Storage(uri), version, "t")
    assert [i.action for i in tl.completed()] == ["commit", "rollback"]
    assert tl.pending() == []
    parquet = sorted(p.name for p in (tmp_path / "t").rglob("*.parquet"))
    assert len(parquet) == 2  # the failed instant's files are gone


@pytest.mark.parametrize("version", [6, 8])
def test_crashed_writer_rolled_back_before_next_write(
    tmp_path: Path, version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, t = make(tmp_path, version)
    t.write(batch(range(4)))

    def killed() -> None:
        raise SystemExit("kill -9")

    # a hard kill runs no cleanup: disable the in-process rollback for this write
    monkeypatch.setattr(instants_mod, "rollback_pending", lambda *a, **k: [])
    with pytest.raises(SystemExit):
        HudiTable.open(uri).write(batch([1, 9], "b"), before_complete=killed)
    monkeypatch.undo()
    t2 = HudiTable.open(uri)
    pending = t2.timeline.pending()
    assert [p.action for p in pending] == ["commit"]
    assert list((tmp_path / "t").rglob(f"*_{pending[0].timestamp}.parquet"))  # its files exist
    assert len(rs.snapshot(uri)) == 4  # readers ignore the pending instant
    t2.write(batch([9], "c"))  # rolls back first
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)][-1] == (9, "c9")
    assert len(rs.snapshot(uri)) == 5
    assert not list((tmp_path / "t").rglob(f"*_{pending[0].timestamp}.parquet"))
    assert "rollback" in [i.action for i in t2.timeline.completed()]


@pytest.mark.parametrize("version", [6, 8])
def test_cleaning_keeps_last_commits_and_archive_bounds_timeline(tmp_path: Path, version: int) -> None:
    uri, t = make(tmp_path, version, clean_retain_commits=3, archive_min_instants=4, archive_max_instants=6)
    results = [t.write(batch([0, 1], f"r{n}-")) for n in range(12)]
    # one file group per partition: slices of the 3 retained commits + the newest before them (as Hudi)
    for part in ("p=0", "p=1"):
        slices = sorted((tmp_path / "t" / part).glob("*.parquet"))
        assert len(slices) == 4, part
    for r in results[-3:]:
        assert {x["v"] for x in rs.as_of(uri, r.instant)} == {f"r{results.index(r)}-0", f"r{results.index(r)}-1"}
    assert [(x["id"], x["v"]) for x in rs.snapshot(uri)] == [(0, "r11-0"), (1, "r11-1")]
    active = [i for i in t.timeline.instants if i.is_completed]
    # Hudi's archiver bounds each of commits, cleans and rollbacks by the max on its own
    for action in ("commit", "clean"):
        assert 4 <= len([i for i in active if i.action == action]) <= 6, action
    archived = Storage(uri).list_files(t.timeline.archive_dir)
    assert archived
    assert any(i.action == "clean" for i in [*t.timeline.instants])
    assert len(rs.table(uri).get_timeline().get_completed_commits()) >= 3


def test_small_file_packing(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    opts = TableOptions("t", ("id",), target_file_size_bytes=1_000_000, small_file_limit_bytes=800_000)
    t = HudiTable.create(uri, opts)
    t.write(batch(range(100)), operation=WriteOperation.INSERT)
    first = list((tmp_path / "t").glob("*.parquet"))
    assert len(first) == 1
    r = t.write(batch(range(100, 200)), operation=WriteOperation.INSERT)
    # the small file absorbed the inserts: same file group, new slice
    assert r.files_written == 1
    groups = {p.name.split("_")[0] for p in (tmp_path / "t").glob("*.parquet")}
    assert len(groups) == 1
    big = t.write(batch(range(1000, 121000)), operation=WriteOperation.INSERT)
    assert big.files_written >= 2  # split by target size
    assert len(rs.snapshot(uri)) == 200 + 120000


def test_s3_table_read_by_hudi_rs(aws: str) -> None:
    uri = "s3://lake/raw/orders"
    Storage(uri).ensure_bucket()
    t = HudiTable.create(uri, TableOptions("orders", ("id",), partition_fields=("p",)))
    t.write(batch(range(5)))
    t.write(batch([2], "z"), deletes=batch([3]).select(["id"]))
    assert HudiTable.exists(uri)
    snap = rs.snapshot(uri)
    assert [(r["id"], r["v"]) for r in snap] == [(0, "a0"), (1, "a1"), (2, "z2"), (4, "a4")]
    again = HudiTable.open(uri)
    assert len(again.completed_commits()) == 2


def test_footer_of_rewritten_files_covers_their_keys(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from tributary.hudi.bloom import DynamicBloomFilter

    uri, t = make(tmp_path)
    t.write(batch(range(200)))
    t.write(batch([3, 500, 501], "u"))  # update + inserts: filter reused, inserts added
    t.write(deletes=batch(range(0, 200, 2)).select(["id"]), operation=WriteOperation.DELETE)  # >10% gone: rebuilt
    t.write(batch([7], "w"))
    for path in (tmp_path / "t").rglob("*.parquet"):
        md = pq.read_metadata(path).metadata
        keys = pq.read_table(path, columns=["_hoodie_record_key"]).column(0)
        bloom = DynamicBloomFilter.from_footer(md[b"org.apache.hudi.bloomfilter"])
        assert all(bloom.might_contain(keys).to_pylist()), path.name
        assert md[b"hoodie_min_record_key"].decode() == min(keys.to_pylist())
        assert md[b"hoodie_max_record_key"].decode() == max(keys.to_pylist())
    latest = [
        p
        for p in (tmp_path / "t").rglob("*.parquet")
        if p.name.endswith(f"_{t.completed_commits()[2].instant}.parquet")
    ]
    for path in latest:  # the rebuilt filters are exactly what Spark would write for these rows
        keys = pq.read_table(path, columns=["_hoodie_record_key"]).column(0)
        fresh = DynamicBloomFilter()
        fresh.add_keys(keys)
        assert pq.read_metadata(path).metadata[b"org.apache.hudi.bloomfilter"] == fresh.to_footer().encode()
    assert len(rs.snapshot(uri)) == 200 - 100 + 2
