"""`tributary cdc apply` whatever arrives (issue 16 findings 1, 4, 5, 9): touched and re-uploaded
files, late files below the checkpoint's floor, batching and arrival order, late loads after
deletes, reload generations, typed CSV precombine values, decimal changes the writer refuses."""

from __future__ import annotations

import os
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tests.cdc_factory import DmsFolder, completed_commits, hudi_snapshot
from tributary.cdc import CdcOptions, apply_pending
from tributary.cli.main import main
from tributary.errors import CdcFileError

OPTS = CdcOptions("t", ("id",), "ts")


def _rows(target: str, cols: tuple[str, ...] = ("id", "ts", "v")) -> list[dict]:
    return sorted(hudi_snapshot(target, list(cols)).to_pylist(), key=lambda r: r["id"])


def _touch(path: Path) -> None:
    later = time.time_ns() + 5 * 10**9
    os.utime(path, ns=(later, later))


def test_touched_load_file_is_not_a_reload(tmp_path: Path) -> None:
    """Finding 1: the same content with a new mtime registers nothing and replaces nothing."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    load = dms.load([{"id": 1, "ts": 1, "v": "a"}, {"id": 2, "ts": 1, "v": "b"}])
    dms.cdc([{"Op": "I", "id": 3, "ts": 2, "v": "c"}])
    apply_pending(str(dms.root), target, OPTS)
    _touch(load)
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.files == () and result.instant is None and not result.refused
    assert [r["id"] for r in _rows(target)] == [1, 2, 3]


def test_reupload_with_other_content_is_refused_naming_both_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 5: a CDC file re-uploaded with new content is neither skipped silently nor applied."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    cdc = dms.cdc([{"Op": "U", "id": 1, "ts": 2, "v": "b"}])
    args = ["cdc", "apply", "--source", str(dms.root), "--target", target, "--record-key", "id", "--precombine", "ts"]
    assert main(args) == 0
    capsys.readouterr()
    DmsFolder._write(cdc, [{"Op": "U", "id": 1, "ts": 3, "v": "EVIL", "extra": 1}], "parquet", None, True)
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "files=0" in captured.out and "refused=1" in captured.out
    assert cdc.name in captured.err and "re-uploaded with other content" in captured.err
    assert captured.err.count("sha256") == 2  # both versions named
    assert _rows(target) == [{"id": 1, "ts": 2, "v": "b"}]


def test_late_file_below_the_floor_is_applied(tmp_path: Path) -> None:
    """Finding 4: after more CDC files than the checkpoint keeps inline, a late file that sorts
    among them is applied (it used to report files=0)."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    opts = CdcOptions("t", ("id",), "ts", recent_files_kept=3)
    paths = [dms.cdc([{"Op": "I", "id": n, "ts": n, "v": f"r{n}"}]) for n in range(1, 9)]
    held = tmp_path / "held"
    held.mkdir()
    shutil.move(paths[1], held / paths[1].name)  # the 2nd file is late
    for _ in range(3):
        apply_pending(str(dms.root), target, opts, max_files=3)
    shutil.move(held / paths[1].name, paths[1])
    result = apply_pending(str(dms.root), target, opts)
    assert result.files == (paths[1].name,)
    assert [r["id"] for r in _rows(target)] == list(range(1, 9))


def _two_files(dms: DmsFolder) -> tuple[Path, Path]:
    first = dms.cdc([{"Op": "U", "id": 1, "ts": 30, "v": "newest"}])
    second = dms.cdc([{"Op": "U", "id": 1, "ts": 20, "v": "older"}])
    return first, second


def test_batching_does_not_change_the_result(tmp_path: Path) -> None:
    """Finding 5: two files in one run or in two runs keep the change with the greater precombine."""
    results = []
    for split in (False, True):
        dms, target = DmsFolder(tmp_path / f"src{split}"), str(tmp_path / "lake" / f"t{split}")
        dms.load([{"id": 1, "ts": 1, "v": "load"}])
        _two_files(dms)
        if split:
            apply_pending(str(dms.root), target, OPTS, max_files=2)
        apply_pending(str(dms.root), target, OPTS)
        results.append(_rows(target))
    assert results[0] == results[1] == [{"id": 1, "ts": 30, "v": "newest"}]


def test_arrival_order_does_not_change_the_result(tmp_path: Path) -> None:
    """The newer change (by precombine) arrives first; the older one arrives late in a later run."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "load"}, {"id": 2, "ts": 1, "v": "two"}])
    first = dms.cdc([{"Op": "U", "id": 1, "ts": 10, "v": "first"}])
    second = dms.cdc([{"Op": "U", "id": 1, "ts": 30, "v": "newest"}, {"Op": "D", "id": 2, "ts": 30, "v": "two"}])
    held = tmp_path / "held"
    held.mkdir()
    shutil.move(first, held / first.name)
    apply_pending(str(dms.root), target, OPTS)
    shutil.move(held / first.name, first)
    late = apply_pending(str(dms.root), target, OPTS)
    assert late.files == (first.name,)
    assert _rows(target) == [{"id": 1, "ts": 30, "v": "newest"}]
    del second


def test_late_load_file_does_not_bring_back_deleted_rows(tmp_path: Path) -> None:
    """Finding 5: a late full-load file does not resurrect a row CDC deleted, nor undo updates."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    late = dms.load([{"id": 2, "ts": 1, "v": "b"}, {"id": 3, "ts": 1, "v": "c"}])
    dms.cdc([{"Op": "D", "id": 2, "ts": 5, "v": "b"}, {"Op": "U", "id": 3, "ts": 5, "v": "c2"}])
    held = tmp_path / "held"
    held.mkdir()
    shutil.move(late, held / late.name)
    apply_pending(str(dms.root), target, OPTS)
    shutil.move(held / late.name, late)
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.files == (late.name,) and not result.reload
    assert _rows(target) == [{"id": 1, "ts": 1, "v": "a"}, {"id": 3, "ts": 5, "v": "c2"}]


def test_rewritten_first_load_file_is_a_reload_generation(tmp_path: Path) -> None:
    """A new generation (LOAD00000001 rewritten, with its other files) replaces the table in one
    commit; CDC files after it apply; a CDC file older than the reload arriving late is dropped."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}], counter=1)
    dms.load([{"id": 2, "ts": 1, "v": "b"}], counter=2)
    old_cdc = dms.cdc([{"Op": "I", "id": 9, "ts": 5, "v": "gone-before-reload"}])
    held = tmp_path / "held"
    held.mkdir()
    shutil.move(old_cdc, held / old_cdc.name)
    apply_pending(str(dms.root), target, OPTS)
    dms.load([{"id": 1, "ts": 100, "v": "a2"}, {"id": 5, "ts": 100, "v": "e"}], counter=1)
    dms.load([{"id": 6, "ts": 100, "v": "f"}], counter=2)
    dms.cdc([{"Op": "U", "id": 5, "ts": 110, "v": "e2"}])
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.reload and len(result.files) == 3
    assert [(r["id"], r["v"]) for r in _rows(target)] == [(1, "a2"), (5, "e2"), (6, "f")]
    shutil.move(held / old_cdc.name, old_cdc)
    apply_pending(str(dms.root), target, OPTS)
    assert [(r["id"], r["v"]) for r in _rows(target)] == [(1, "a2"), (5, "e2"), (6, "f")]


def test_reload_file_rewritten_after_its_stale_predecessor_was_seen_joins_the_generation(tmp_path: Path) -> None:
    """A reload rewrites LOAD1 and LOAD2 of three; the first run sees the new LOAD1 beside the old
    LOAD2 and LOAD3 (stale leftovers, dated before the generation); the new LOAD2 arriving later
    joins the generation instead of being refused as a re-upload, and old LOAD3 stays out."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    for n in (1, 2, 3):
        dms.load([{"id": n, "ts": n, "v": "old"}], counter=n)
    dms.cdc([{"Op": "U", "id": 3, "ts": 5, "v": "old2"}])
    dms.load([{"id": 1, "ts": 10, "v": "new"}], counter=1)
    first = apply_pending(str(dms.root), target, OPTS)
    assert _rows(target) == [{"id": 1, "ts": 10, "v": "new"}] and not first.refused
    dms.load([{"id": 2, "ts": 10, "v": "new"}], counter=2)
    second = apply_pending(str(dms.root), target, OPTS)
    assert second.files == ("LOAD00000002.parquet",) and not second.refused and not second.reload
    assert _rows(target) == [{"id": 1, "ts": 10, "v": "new"}, {"id": 2, "ts": 10, "v": "new"}]


def test_reload_file_arriving_before_its_first_file_joins_then_the_generation_replaces(tmp_path: Path) -> None:
    """The whole first generation applied; the reload's LOAD2 arrives before its LOAD1: it is dated
    after the generation (not refused), and the reload's LOAD1 then replaces the table, keeping it."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    for n in (1, 2, 3):
        dms.load([{"id": n, "ts": n, "v": "old"}], counter=n)
    apply_pending(str(dms.root), target, OPTS)
    dms.load([{"id": 2, "ts": 10, "v": "new"}], counter=2)
    early = apply_pending(str(dms.root), target, OPTS)
    assert early.files == ("LOAD00000002.parquet",) and not early.refused
    dms.load([{"id": 1, "ts": 10, "v": "new"}], counter=1)
    assert apply_pending(str(dms.root), target, OPTS).reload
    assert _rows(target) == [{"id": 1, "ts": 10, "v": "new"}, {"id": 2, "ts": 10, "v": "new"}]


def test_load_files_rewritten_with_rows_older_than_the_generation_are_refused(tmp_path: Path) -> None:
    """A stray copy of an older load put back under an applied LOAD name (LOAD2, or LOAD1 of the
    earlier generation with other content) is refused, naming both versions; the table stays."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "old"}], counter=1)
    dms.load([{"id": 2, "ts": 2, "v": "old"}], counter=2)
    apply_pending(str(dms.root), target, OPTS)
    dms.load([{"id": 1, "ts": 10, "v": "new"}], counter=1)
    dms.load([{"id": 2, "ts": 10, "v": "new"}], counter=2)
    assert apply_pending(str(dms.root), target, OPTS).reload
    table = _rows(target)
    dms.load([{"id": 2, "ts": 3, "v": "stray"}], counter=2)
    dms.load([{"id": 1, "ts": 1, "v": "stray"}, {"id": 7, "ts": 1, "v": "stray"}], counter=1)
    result = apply_pending(str(dms.root), target, OPTS)
    assert sorted(r.path for r in result.refused) == ["LOAD00000001.parquet", "LOAD00000002.parquet"]
    assert all("dated before the current full-load generation" in r.message for r in result.refused)
    assert all(r.message.count("sha256") == 2 for r in result.refused)
    assert result.instant is None and _rows(target) == table


def test_reload_with_an_empty_first_file_empties_the_table(tmp_path: Path) -> None:
    """A reload of an empty source table (LOAD00000001 with no rows) replaces the table with no rows;
    the stored rows are not kept as if they were newer than an undated generation."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    schema = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("v", pa.string())])
    dms.load([{"id": 1, "ts": 1, "v": "a"}], counter=1, schema=schema)
    apply_pending(str(dms.root), target, OPTS)
    dms.load([], counter=1, schema=schema.with_metadata({"generation": "2"}))
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.reload and result.files == ("LOAD00000001.parquet",)
    assert _rows(target) == []


def test_rebuild_replaces_the_table_with_every_file(tmp_path: Path) -> None:
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}])
    dms.cdc([{"Op": "I", "id": 2, "ts": 2, "v": "b"}])
    apply_pending(str(dms.root), target, OPTS)
    result = apply_pending(str(dms.root), target, OPTS, rebuild=True)
    assert result.reload and len(result.files) == 2
    assert [r["id"] for r in _rows(target)] == [1, 2]
    assert len(completed_commits(target)) == 2


def test_csv_precombine_compares_as_typed(tmp_path: Path) -> None:
    """Finding 5: with csv types declared, precombine 10 beats 9 (as text, '9' beat '10')."""
    src, target = tmp_path / "src", str(tmp_path / "lake" / "t")
    src.mkdir()
    (src / "20261123-0000000001.csv").write_text("I,1,10,ten\n")
    (src / "20261123-0000000002.csv").write_text("U,1,9,nine\n")
    opts = CdcOptions("t", ("id",), "ts", csv_columns=("id", "ts", "v"), csv_types=(("id", "int64"), ("ts", "int64")))
    apply_pending(str(src), target, opts)
    assert _rows(target) == [{"id": 1, "ts": 10, "v": "ten"}]


def test_decimal_change_the_writer_refuses_names_the_file(tmp_path: Path) -> None:
    """Finding 9: decimal(10,2) → decimal(12,4) is refused before writing, naming the file."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    narrow = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("amount", pa.decimal128(10, 2))])
    dms.load([{"id": 1, "ts": 1, "amount": Decimal("1.50")}], schema=narrow)
    apply_pending(str(dms.root), target, OPTS)
    wide = pa.schema([("Op", pa.string()), ("id", pa.int64()), ("ts", pa.int64()), ("amount", pa.decimal128(12, 4))])
    bad = dms.cdc([{"Op": "U", "id": 1, "ts": 2, "amount": Decimal("2.1234")}], schema=wide)
    with pytest.raises(CdcFileError) as info:
        apply_pending(str(dms.root), target, OPTS)
    assert info.value.path == bad.name and "amount" in str(info.value)


def test_cdc_file_newer_than_a_reload_that_arrived_before_it_survives_the_reload(tmp_path: Path) -> None:
    """A CDC file written after a reload but applied before the reload's LOAD00000001 arrived is
    applied again by the reload's commit (its changes are not older than the generation)."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "v": "a"}], counter=1)
    apply_pending(str(dms.root), target, OPTS)
    new_load = dms.load([{"id": 1, "ts": 100, "v": "a2"}, {"id": 2, "ts": 100, "v": "b"}], counter=1)
    data = new_load.read_bytes()
    new_load.unlink()
    dms.load([{"id": 1, "ts": 1, "v": "a"}], counter=1)  # the old generation is still in place
    dms.cdc([{"Op": "U", "id": 2, "ts": 110, "v": "b2"}, {"Op": "I", "id": 3, "ts": 120, "v": "c"}])
    apply_pending(str(dms.root), target, OPTS)
    new_load.write_bytes(data)
    assert apply_pending(str(dms.root), target, OPTS).reload
    assert [(r["id"], r["v"]) for r in _rows(target)] == [(1, "a2"), (2, "b2"), (3, "c")]


def test_ledger_segments_are_merged_and_old_ones_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger stays a bounded number of side files however many commits applied files."""
    from tributary.cdc import ledger
    from tributary.cdc.apply import read_checkpoint
    from tributary.hudi import HudiTable

    monkeypatch.setattr(ledger, "MAX_SEGMENTS", 3)
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    for n in range(1, 8):
        dms.cdc([{"Op": "I", "id": n, "ts": n, "v": "x"}])
        apply_pending(str(dms.root), target, OPTS)
    checkpoint = read_checkpoint(HudiTable.open(target))
    assert 1 <= len(checkpoint.segments) <= 3 and len(checkpoint.ledger) == 7
    on_disk = sorted(p.name for p in (Path(target) / ledger.AUX).glob("ledger-*"))
    assert on_disk == sorted(checkpoint.segments)
    assert apply_pending(str(dms.root), target, OPTS).instant is None


def test_data_files_with_other_names_are_reported_not_skipped_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding 5: a copy named with a space or another alphabet is not a DMS name; it is named."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    first = dms.load([{"id": 1, "ts": 1, "v": "a"}])
    shutil.copy(first, dms.root / "LOAD00000001 (1).parquet")
    shutil.copy(first, dms.root / "20261123-0000000001é.parquet")
    (dms.root / "notes.txt").write_text("not data")
    args = ["cdc", "apply", "--source", str(dms.root), "--target", target, "--record-key", "id", "--precombine", "ts"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "ignored LOAD00000001 (1).parquet: not a DMS data file name" in err
    assert "ignored 20261123-0000000001é.parquet" in err and "notes.txt" not in err


def test_late_change_to_a_table_with_nested_columns_is_ordered_against_the_stored_row(tmp_path: Path) -> None:
    """Rows with list<struct> and struct columns: ordering a late change against the stored row
    joins keys and precombine values only (Arrow's hash join refuses nested payload columns; the
    Spark-written sample tables of ../shared found it)."""
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    tags = pa.list_(pa.struct([("k", pa.string()), ("n", pa.int32())]))

    def rows(op: str | None, ts: int, v: str) -> pa.Table:
        cols = {"id": pa.array([1, 2], pa.int64()), "ts": pa.array([ts, ts], pa.int64()), "v": [v, v]}
        cols["tags"] = pa.array([[{"k": v, "n": ts}], []], tags)
        cols["info"] = pa.array([{"a": v}, {"a": None}], pa.struct([("a", pa.string())]))
        table = pa.table(cols)
        return table.add_column(0, "Op", pa.array([op] * 2)) if op else table

    load = rows(None, 1, "load")
    dms.load(load.to_pylist(), schema=load.schema)
    apply_pending(str(dms.root), target, OPTS)
    newest = rows("U", 30, "newest")
    dms.cdc(newest.to_pylist(), schema=newest.schema)
    apply_pending(str(dms.root), target, OPTS)
    older = rows("U", 20, "older")
    late = dms.cdc(older.to_pylist(), schema=older.schema)
    result = apply_pending(str(dms.root), target, OPTS)
    assert result.files == (late.name,)
    got = _rows(target, ("id", "ts", "v", "tags", "info"))
    assert [(r["id"], r["ts"], r["v"], r["tags"], r["info"]) for r in got] == [
        (1, 30, "newest", [{"k": "newest", "n": 30}], {"a": "newest"}),
        (2, 30, "newest", [], {"a": None}),
    ]
