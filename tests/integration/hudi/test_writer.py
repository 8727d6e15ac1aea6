"""The writer against hudi-rs: snapshot, time travel, incremental, for v6/v8 and every layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.integration.hudi import helpers as rs
from tributary.errors import HudiError, SchemaEvolutionError, TableConfigMismatchError
from tributary.hudi import HudiTable, TableOptions, WriteOperation

LAYOUTS = {
    "hive": dict(partition_fields=("region",), hive_style_partitioning=True),
    "nonhive": dict(partition_fields=("region",), hive_style_partitioning=False),
    "nonpartitioned": dict(partition_fields=()),
    "complex": dict(partition_fields=("region", "day"), record_key_fields=("id", "sub")),
}


def rows(ids: list[int], version: str = "v1", region: str | None = None) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "sub": pa.array(["s"] * len(ids)),
            "region": pa.array([region or ("eu" if i % 2 else "us") for i in ids]),
            "day": pa.array([i % 3 for i in ids], pa.int16()),
            "value": pa.array([f"{version}-{i}" for i in ids]),
            "ts": pa.array([1_700_000_000_000_000 + i for i in ids], pa.timestamp("ns", tz="UTC")),
        }
    )


def opts(version: int, layout: str, **kw: object) -> TableOptions:
    base = dict(table_name="orders", record_key_fields=("id",), precombine_field="ts", table_version=version)
    base.update(LAYOUTS[layout])
    base.update(kw)
    return TableOptions(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [6, 8])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_commits_read_by_hudi_rs(tmp_path: Path, version: int, layout: str) -> None:
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(version, layout))
    r1 = t.write(rows([1, 2, 3, 4]), operation=WriteOperation.INSERT, extra_metadata={"tributary.cp": "1"})
    r2 = t.write(rows([2, 5], "v2"), deletes=rows([3]).select(["id", "sub"]))
    r3 = t.write(deletes=rows([1, 99]).select(["id", "sub"]), operation=WriteOperation.DELETE)
    assert (r1.inserted, r2.inserted, r2.updated, r2.deleted, r3.deleted) == (4, 1, 1, 1, 1)

    snap = rs.snapshot(uri)
    assert [(r["id"], r["value"]) for r in snap] == [(2, "v2-2"), (4, "v1-4"), (5, "v2-5")]
    assert {r["_hoodie_commit_time"] for r in snap if r["id"] == 4} == {r1.instant}
    assert all(r["day"] == r["id"] % 3 and isinstance(r["day"], int) for r in snap)
    key = "id:2,sub:s" if layout == "complex" else "2"
    assert [r["_hoodie_record_key"] for r in snap if r["id"] == 2] == [key]
    part = {"hive": "region=us", "nonhive": "us", "nonpartitioned": "", "complex": "region=us/day=2"}[layout]
    assert [r["_hoodie_partition_path"] for r in snap if r["id"] == 2] == [part]

    assert [r["id"] for r in rs.as_of(uri, r1.instant)] == [1, 2, 3, 4]
    assert [(r["id"], r["value"]) for r in rs.as_of(uri, r2.instant)] == [
        (1, "v1-1"),
        (2, "v2-2"),
        (4, "v1-4"),
        (5, "v2-5"),
    ]
    start, mid = (r1.instant, r2.instant) if version == 6 else (r1.completion_time, r2.completion_time)
    inc = rs.incremental(uri, start, mid)
    assert sorted(r["id"] for r in inc) == [2, 5]

    timeline = rs.table(uri).get_timeline().get_completed_commits()
    assert [i.timestamp for i in timeline] == [r1.instant, r2.instant, r3.instant]
    commits = t.completed_commits()
    assert [c.operation for c in commits] == ["INSERT", "UPSERT", "DELETE"]
    assert commits[0].extra_metadata["tributary.cp"] == "1"
    if version == 8:
        assert all(c.completion_time and c.completion_time > c.instant for c in commits)
        assert not list((tmp_path / "t" / ".hoodie").glob("*.commit"))
    reopened = HudiTable.open(uri)
    assert reopened.options == t.options
    assert reopened.schema is not None and reopened.schema.field("day").type == pa.int32()


def test_partition_move_is_global(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "hive"))
    t.write(rows([1, 2]))
    r = t.write(rows([1], "moved", region="ap"))
    assert (r.updated, r.inserted) == (1, 0)
    snap = rs.snapshot(uri)
    assert [(x["id"], x["region"], x["_hoodie_partition_path"]) for x in snap] == [
        (1, "ap", "region=ap"),
        (2, "us", "region=us"),
    ]


def test_input_errors(tmp_path: Path) -> None:
    t = HudiTable.create(str(tmp_path / "t"), opts(6, "hive"))
    with pytest.raises(HudiError, match="duplicate record key"):
        t.write(rows([1, 1]))
    with pytest.raises(HudiError, match="both upserts and deletes"):
        t.write(rows([1, 2]), deletes=rows([2]).select(["id"]))
    with pytest.raises(HudiError, match="null or empty record key"):
        t.write(pa.table({"id": pa.array([None], pa.int64()), "region": ["eu"]}))
    assert t.completed_commits() == []


def test_checkpoint_only_commit_and_open_or_create(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    t = HudiTable.open_or_create(uri, opts(8, "hive"))
    t.write(rows([1]))
    r = t.write(extra_metadata={"tributary.checkpoint": "file-7"})
    assert r.instant and r.files_written == 0
    assert HudiTable.open(uri).latest_extra_metadata()["tributary.checkpoint"] == "file-7"
    assert len(rs.snapshot(uri)) == 1
    assert t.write(allow_empty=False).instant is None
    with pytest.raises(TableConfigMismatchError, match=r"hoodie\.table.partition.fields"):
        HudiTable.open_or_create(uri, opts(8, "nonpartitioned"))
    with pytest.raises(TableConfigMismatchError, match=r"hoodie\.table.version"):
        HudiTable.open_or_create(uri, opts(6, "hive"))


@pytest.mark.parametrize("version", [6, 8])
def test_insert_overwrite_table(tmp_path: Path, version: int) -> None:
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(version, "hive"))
    r1 = t.write(rows([1, 2, 3]))
    r2 = t.write(rows([7, 8], "new"), operation=WriteOperation.INSERT_OVERWRITE_TABLE)
    assert r2.files_replaced == 2
    assert [x["id"] for x in rs.snapshot(uri)] == [7, 8]
    assert [x["id"] for x in rs.as_of(uri, r1.instant)] == [1, 2, 3]
    assert t.completed_commits()[-1].action == "replacecommit"
    hoodie = tmp_path / "t" / ".hoodie"
    requested = next(hoodie.rglob(f"{r2.instant}.replacecommit.requested"))
    assert requested.read_bytes()[:4] == b"Obj\x01"  # Avro HoodieRequestedReplaceMetadata in v6 and v8
    completed = [p for p in hoodie.rglob(f"{r2.instant}*.replacecommit") if "requested" not in p.name]
    assert completed[0].read_bytes()[:1] == (b"O" if version == 8 else b"{")  # Avro (v8) or JSON (v6)


@pytest.mark.parametrize("version", [6, 8])
def test_schema_evolution(tmp_path: Path, version: int) -> None:
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(version, "nonpartitioned"))
    t.write(
        pa.table(
            {
                "id": pa.array([1, 2], pa.int64()),
                "n": pa.array([1, 2], pa.int32()),
                "f": pa.array([0.5, 1.5], pa.float32()),
            }
        )
    )
    t.write(
        pa.table(
            {
                "id": pa.array([3], pa.int64()),
                "n": pa.array([2**40], pa.int64()),
                "f": pa.array([2.25], pa.float64()),
                "extra": ["x"],
            }
        )
    )
    snap = rs.snapshot(uri)
    assert [(r["id"], r["n"], r["f"], r["extra"]) for r in snap] == [
        (1, 1, 0.5, None),
        (2, 2, 1.5, None),
        (3, 2**40, 2.25, "x"),
    ]
    assert t.schema.field("n").type == pa.int64() and t.schema.field("f").type == pa.float64()
    with pytest.raises(SchemaEvolutionError, match="'extra'"):
        t.write(pa.table({"id": pa.array([4], pa.int64()), "extra": pa.array([1.0])}))
    with pytest.raises(SchemaEvolutionError, match="'n'"):
        t.write(pa.table({"id": pa.array([4], pa.int64()), "n": pa.array(["text"])}))
    assert len(t.completed_commits()) == 2


def test_value_types_round_trip(tmp_path: Path) -> None:
    import datetime
    import decimal

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, TableOptions("ty", ("id",), table_version=8))
    t.write(
        pa.table(
            {
                "id": pa.array([1], pa.int8()),
                "naive": pa.array([datetime.datetime(2024, 1, 1, 12, 0, 0, 123456)], pa.timestamp("ns")),
                "dec": pa.array([decimal.Decimal("12345.67")], pa.decimal128(10, 2)),
                "d": pa.array([datetime.date(2024, 1, 2)]),
                "s": pa.array([{"a": 1, "b": [1, 2]}]),
                "m": pa.array([[("k", 1.0)]], pa.map_(pa.string(), pa.float64())),
                "bin": pa.array([b"x"]),
                "u16": pa.array([65535], pa.uint16()),
            }
        )
    )
    (row,) = rs.data(rs.snapshot(uri))
    assert row["id"] == 1 and row["u16"] == 65535
    assert row["naive"] == datetime.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
    assert row["dec"] == decimal.Decimal("12345.67") and row["d"] == datetime.date(2024, 1, 2)
    assert row["s"] == {"a": 1, "b": [1, 2]} and row["m"] == [("k", 1.0)] and row["bin"] == b"x"
    assert t.schema is not None and t.schema.field("naive").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize("path", ["located keys and mask", "mask only", "probe again"])
def test_rewrite_drops_located_rows_whichever_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """The rewrite reuses what locating the keys read (key column, row mask) or reads and probes
    again; every way gives the same table, moved keys and deletes included."""
    from tributary.hudi import base_file, file_writer, locate

    if path == "mask only":
        monkeypatch.setattr(locate, "LOCATED_KEYS_MAX_BYTES", 0)
    elif path == "probe again":
        monkeypatch.setattr(
            file_writer.FileWriter,
            "_read_base",
            lambda self, plan: (base_file.read_table(self.storage, plan.base.path), None),
        )
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "hive"))
    t.write(rows(list(range(200))), operation=WriteOperation.INSERT)
    r = t.write(rows([3, 4, 150, 300], "v2"), deletes=rows([5, 6, 7, 999]).select(["id", "sub"]))
    assert (r.updated, r.inserted, r.deleted) == (3, 1, 3)
    r = t.write(rows([8], "moved", region="ap"), deletes=rows([9]).select(["id", "sub"]))
    assert (r.updated, r.deleted) == (1, 1)
    snap = rs.snapshot(uri)
    ids = [x["id"] for x in snap]
    assert ids == sorted(set(range(200)) - {5, 6, 7, 9} | {300}, key=str)
    by_id = {x["id"]: x for x in snap}
    assert [by_id[i]["value"] for i in (3, 4, 150, 300, 8, 10)] == [
        "v2-3",
        "v2-4",
        "v2-150",
        "v2-300",
        "moved-8",
        "v1-10",
    ]
    assert by_id[8]["_hoodie_partition_path"] == "region=ap"


def test_upsert_of_a_key_held_twice(tmp_path: Path) -> None:
    """INSERT may write a key twice; an upsert then replaces every copy (the join path)."""
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned"))
    t.write(rows([1, 2]), operation=WriteOperation.INSERT)
    t.write(rows([1]), operation=WriteOperation.INSERT)
    assert [x["id"] for x in rs.snapshot(uri)] == [1, 1, 2]
    r = t.write(rows([1, 3], "v2"))
    assert (r.updated, r.inserted) == (2, 1)
    snap = rs.snapshot(uri)
    assert sorted((x["id"], x["value"]) for x in snap) == [(1, "v2-1"), (1, "v2-1"), (2, "v1-2"), (3, "v2-3")]
    r = t.write(deletes=rows([1]).select(["id", "sub"]), operation=WriteOperation.DELETE)
    assert r.deleted == 2
    assert [(x["id"], x["value"]) for x in rs.snapshot(uri)] == [(2, "v1-2"), (3, "v2-3")]


@pytest.mark.parametrize("version", [6, 8])
def test_one_listing_of_the_table_files_per_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """Schema, key lookup and clean share one listing of the table's files; the listing followed
    through the commit and clean equals a fresh one."""
    from tributary.hudi.file_index import FileIndex
    from tributary.storage import Storage

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(version, "hive", clean_retain_commits=2))
    for i in range(3):
        t.write(rows([1, 2, 3], f"v{i}"))
    listings: list[str] = []
    real = Storage.list_files

    def counted(self: Storage, rel: str = "", recursive: bool = False) -> list:
        if rel == "" and recursive:
            listings.append(rel)
        return real(self, rel, recursive)

    monkeypatch.setattr(Storage, "list_files", counted)
    t = HudiTable.open(uri, clean_retain_commits=2)
    assert t.schema is not None
    r = t.write(rows([2, 3, 4], "v9"), deletes=rows([1]).select(["id", "sub"]))  # cleans old slices too
    assert (r.updated, r.inserted, r.deleted) == (2, 1, 1)
    assert len(listings) == 1
    followed = t.file_index()
    assert len(listings) == 1
    fresh = FileIndex(t.storage, t.timeline)
    assert sorted(f.path for f in followed.files) == sorted(f.path for f in fresh.files)
    assert [g.slices for g in followed.live_groups()] == [g.slices for g in fresh.live_groups()]
    assert [(x["id"], x["value"]) for x in rs.snapshot(uri)] == [(2, "v9-2"), (3, "v9-3"), (4, "v9-4")]


@pytest.mark.parametrize("threads", [1, 3])
def test_file_groups_written_in_threads_match_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """A first write sized by the record estimate (40 rows of 1024 B per 40 KB file) makes several
    file groups; written by several threads they hold the same rows, the task numbers of the plan
    order, and an update rewrites each of them."""
    from tributary.settings import get_settings

    monkeypatch.setenv("TRIBUTARY_WRITE_THREADS", str(threads))
    get_settings.cache_clear()
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned", target_file_size_bytes=40 * 1024, small_file_limit_bytes=0))
    r1 = t.write(rows(list(range(200))))
    assert r1.files_written == 5 and r1.inserted == 200
    tokens = sorted(s.path.split("_")[1] for s in r1.write_stats)
    assert tokens == [f"{i}-1-0" for i in range(5)]
    r2 = t.write(rows(list(range(0, 200, 10)), "v2"))
    assert (r2.updated, r2.files_written) == (20, 5)
    snap = rs.snapshot(uri)
    assert len(snap) == 200 and len({r["_hoodie_file_name"] for r in snap}) == 5
    assert sorted((r["id"], r["value"]) for r in snap if r["id"] % 10 == 0) == [
        (i, f"v2-{i}") for i in range(0, 200, 10)
    ]


def test_rewrite_carries_dictionary_columns_as_plain_strings(tmp_path: Path) -> None:
    """A rewrite reads the kept rows' dictionary-encoded strings as dictionaries and writes them
    back encoded against one dictionary: values, nulls, new values and commit times survive, and
    readers see plain string columns (no Arrow schema in the footer)."""
    import pyarrow.parquet as pq

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(8, "nonpartitioned"))
    statuses = ["open", "paid", None]
    first = rows(list(range(3000))).append_column("status", pa.array([statuses[i % 3] for i in range(3000)]))
    r1 = t.write(first, operation=WriteOperation.INSERT)
    update = rows([1, 2, 4, 3001], "v2").append_column("status", pa.array(["returned", None, "open", "new"]))
    r2 = t.write(update, deletes=rows([5, 6]).select(["id", "sub"]))
    assert (r2.updated, r2.inserted, r2.deleted) == (3, 1, 2)
    by_id = {r["id"]: r for r in rs.snapshot(uri)}
    assert len(by_id) == 2999 and 5 not in by_id and 6 not in by_id
    assert [by_id[i]["status"] for i in (0, 1, 2, 3, 4, 3001, 2999)] == [
        "open",
        "returned",
        None,
        "open",
        "open",
        "new",
        None,
    ]
    assert {by_id[i]["_hoodie_commit_time"] for i in (0, 3, 2999)} == {r1.instant}
    assert {by_id[i]["_hoodie_commit_time"] for i in (1, 2, 4, 3001)} == {r2.instant}
    (newest,) = [p for p in (tmp_path / "t").glob("*.parquet") if r2.instant in p.name]
    table = pq.read_table(newest)
    assert table.schema.field("status").type == pa.string()
    assert table.schema.field("_hoodie_commit_time").type == pa.string()
    group = pq.read_metadata(newest).row_group(0)
    status = next(group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema == "status")
    assert status.has_dictionary_page and "RLE_DICTIONARY" in status.encodings
    # incoming strings of another type, and incoming rows without the column, meet the dictionary
    wide = rows([7, 3002], "v3").append_column("status", pa.array(["paid", "wide"], pa.large_string()))
    t.write(wide)
    t.write(rows([8, 3003], "v4"))
    by_id = {r["id"]: r for r in rs.snapshot(uri)}
    assert [by_id[i]["status"] for i in (7, 3002, 8, 3003, 1, 0)] == ["paid", "wide", None, None, "returned", "open"]


def test_rewrite_of_a_file_with_dictionary_encoded_keys(tmp_path: Path) -> None:
    """A base file another writer wrote with every column dictionary-encoded (record keys and
    sequence numbers too) is rewritten: those meta columns are read as plain strings."""
    import pyarrow.parquet as pq

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned"))
    t.write(rows(list(range(50))), operation=WriteOperation.INSERT)
    (path,) = (tmp_path / "t").glob("*.parquet")
    md = pq.read_metadata(path)
    table = pq.read_table(path)
    with pq.ParquetWriter(path, table.schema, use_dictionary=True, store_schema=False) as w:
        w.write_table(table)
        w.add_key_value_metadata({k.decode(): v.decode() for k, v in (md.metadata or {}).items()})
    group = pq.read_metadata(path).row_group(0)
    assert all(group.column(i).has_dictionary_page for i in range(group.num_columns))
    r = t.write(rows([1, 2, 60], "v2"), deletes=rows([3]).select(["id", "sub"]))
    assert (r.updated, r.inserted, r.deleted) == (2, 1, 1)
    by_id = {x["id"]: x for x in rs.snapshot(uri)}
    assert len(by_id) == 50 and [by_id[i]["value"] for i in (0, 1, 2, 60)] == ["v1-0", "v2-1", "v2-2", "v2-60"]
    assert by_id[0]["_hoodie_commit_seqno"] != by_id[1]["_hoodie_commit_seqno"]


def test_rewrite_keeps_one_dictionary_across_row_groups(tmp_path: Path) -> None:
    """A base file whose row groups each have their own dictionary is rewritten (deletes only)
    with one dictionary per column: a dictionary changing between chunks would make the Parquet
    writer fall back to plain values (about 30 bytes a row for this column instead of a bit)."""
    import pyarrow.parquet as pq

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(8, "nonpartitioned"))
    n = 4000
    words = [f"a rather long status value number {i // (n // 4)}" for i in range(n)]
    t.write(rows(list(range(n))).append_column("status", pa.array(words)), operation=WriteOperation.INSERT)
    (path,) = (tmp_path / "t").glob("*.parquet")
    md = pq.read_metadata(path)
    table = pq.read_table(path)
    with pq.ParquetWriter(path, table.schema, use_dictionary=True, store_schema=False) as w:
        w.write_table(table, row_group_size=n // 2)  # two row groups, two values each
        w.add_key_value_metadata({k.decode(): v.decode() for k, v in (md.metadata or {}).items()})
    r = t.write(deletes=rows([1, 2]).select(["id", "sub"]), operation=WriteOperation.DELETE)
    assert r.deleted == 2
    (newest,) = [p for p in (tmp_path / "t").glob("*.parquet") if r.instant in p.name]
    group = pq.read_metadata(newest).row_group(0)
    status = next(group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema == "status")
    assert status.total_uncompressed_size < n
    assert pq.read_table(newest).column("status").to_pylist() == words[:1] + words[3:]


def test_threads_start_the_largest_file_groups_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool takes the file groups by size, largest first (a small one last fills a gap rather
    than a large one running alone at the end); task numbers still follow the plan order."""
    from tributary.hudi import file_writer
    from tributary.settings import get_settings

    submitted: list[tuple[int, int]] = []

    class Recording(file_writer.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if getattr(fn, "__name__", "") == "write_file":
                task, plan = args
                submitted.append((task, plan.num_updates + plan.num_inserts))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(file_writer, "ThreadPoolExecutor", Recording)
    monkeypatch.setenv("TRIBUTARY_WRITE_THREADS", "2")
    get_settings.cache_clear()
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned", target_file_size_bytes=40 * 1024, small_file_limit_bytes=0))
    result = t.write(rows(list(range(215))))
    sizes = [n for _, n in submitted]
    assert sorted(sizes) == sorted([40] * 5 + [15]) and sizes == sorted(sizes, reverse=True)
    by_token = {s.path.split("_")[1]: s.rows_written for s in result.write_stats}
    assert {f"{task}-1-0": n for task, n in submitted} == by_token
    assert len(rs.snapshot(uri)) == 215


def test_locating_in_threads_finds_what_one_thread_finds(tmp_path: Path) -> None:
    """Files searched side by side give the same (file, keys) pairs, in file order, and keep the
    same rows and key columns for the rewrite as a search one file at a time."""
    from tributary.hudi.locate import KeyLocator

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned", target_file_size_bytes=40 * 1024, small_file_limit_bytes=0))
    t.write(rows(list(range(200))))
    files = t.file_index().latest_files()
    assert len(files) == 5
    keys = pa.array([str(i) for i in (*range(0, 200, 7), 999, 1234)])
    one, many = KeyLocator(t.storage, t.footer, 1), KeyLocator(t.storage, t.footer, 3)
    found_one, found_many = one.locate(files, keys), many.locate(files, keys)
    assert [(bf.path, hits.to_pylist()) for bf, hits in found_one] == [
        (bf.path, hits.to_pylist()) for bf, hits in found_many
    ]
    assert sorted(k for _, hits in found_many for k in hits.to_pylist()) == sorted(str(i) for i in range(0, 200, 7))
    for bf in files:
        a, b = one.take(bf.path), many.take(bf.path)
        assert a is not None and b is not None
        assert a.mask.equals(b.mask) and a.file_keys is not None and b.file_keys is not None
        assert a.file_keys.equals(b.file_keys)


@pytest.mark.parametrize(("ids", "threads", "where"), [(200, 2, "base-file"), (30, 2, "bloom"), (200, 1, "bloom")])
def test_bloom_filters_hashed_beside_the_encoding_only_for_fewer_files_than_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ids: int, threads: int, where: str
) -> None:
    """With as many files as threads, each file's thread hashes its own keys (the other files
    keep the cores busy); a single file, or files written one at a time, have their filter
    hashed in a thread beside the encoding."""
    import threading

    from tributary.hudi import file_writer
    from tributary.settings import get_settings

    hashed_in: list[str] = []
    real_new_bloom = file_writer.new_bloom

    def recording_new_bloom(keys: pa.ChunkedArray) -> object:
        hashed_in.append(threading.current_thread().name)
        return real_new_bloom(keys)

    monkeypatch.setattr(file_writer, "new_bloom", recording_new_bloom)
    monkeypatch.setattr(file_writer, "BLOOM_THREAD_MIN_KEYS", 1)
    monkeypatch.setenv("TRIBUTARY_WRITE_THREADS", str(threads))
    get_settings.cache_clear()
    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned", target_file_size_bytes=40 * 1024, small_file_limit_bytes=0))
    result = t.write(rows(list(range(ids))))
    assert len(hashed_in) == result.files_written and all(name.startswith(where) for name in hashed_in)
    assert len(rs.snapshot(uri)) == ids


def test_new_file_groups_share_one_dictionary_decision_and_count_their_own_sequence(tmp_path: Path) -> None:
    """The new file groups of one commit are slices of the same rows: one sample, from the
    largest, decides which columns skip the dictionary for all of them (``id`` and ``value``,
    distinct there, not ``region``), even the 15-row remainder whose ``value`` repeats (sampled
    on its own it would keep a dictionary); each file numbers its rows from 0 under its task."""
    import pyarrow.parquet as pq

    uri = str(tmp_path / "t")
    t = HudiTable.create(uri, opts(6, "nonpartitioned", target_file_size_bytes=40 * 1024, small_file_limit_bytes=0))
    data = rows(list(range(215)))
    repeated = pa.array([v if i < 200 else "same" for i, v in enumerate(data.column("value").to_pylist())])
    result = t.write(data.set_column(data.schema.get_field_index("value"), "value", repeated))
    assert result.files_written == 6
    for stat in result.write_stats:
        path = tmp_path / "t" / stat.path
        md = pq.read_metadata(path).row_group(0)
        dictionary = {md.column(i).path_in_schema: md.column(i).has_dictionary_page for i in range(md.num_columns)}
        assert (dictionary["id"], dictionary["value"], dictionary["region"]) == (False, False, True), stat.path
        seqnos = pq.read_table(path, columns=["_hoodie_commit_seqno"]).column(0).to_pylist()
        task = stat.path.split("_")[1].split("-")[0]
        assert seqnos == [f"{result.instant}_{task}_{i}" for i in range(stat.rows_written)]
