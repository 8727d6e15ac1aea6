"""Timeline files as Hudi's Java code reads them: cleaner plans and write markers.

Checked against Spark-written tables of Hudi 0.15.0 (v6) and 1.0.2 (v8): both write the
``HoodieCleanerPlan`` into ``.clean.requested`` and ``.clean.inflight`` and direct markers
under ``.hoodie/.temp/<instant>/``, which their marker-based rollback deletes.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.integration.hudi import helpers as rs
from tributary.hudi import HudiTable, TableOptions, avro, avro_schemas
from tributary.hudi import file_writer as writer_mod
from tributary.hudi import instants as instants_mod
from tributary.storage import Storage


def batch(ids: list[int], tag: str) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "p": [f"p{i % 2}" for i in ids], "v": [f"{tag}{i}" for i in ids]})


def make(tmp_path: Path, version: int) -> tuple[str, HudiTable]:
    uri = str(tmp_path / "t")
    opts = TableOptions(
        "t",
        ("id",),
        partition_fields=("p",),
        table_version=version,
        clean_retain_commits=1,
        archive_min_instants=2,
        archive_max_instants=50,
    )
    return uri, HudiTable.create(uri, opts)


def _decode(path: Path) -> tuple[dict, dict]:
    schema, records = avro.read_container(path.read_bytes())
    assert len(records) == 1, path.name
    return schema, records[0]


@pytest.mark.parametrize("version", [6, 8])
def test_clean_instants_carry_cleaner_plan_and_metadata(tmp_path: Path, version: int) -> None:
    _uri, t = make(tmp_path, version)
    first = t.write(batch([0, 1], "a"))
    t.write(batch([0, 1], "b"))
    third = t.write(batch([0, 1], "c"))  # retains `third` and the slices before it: cleans `first`
    old_files = sorted(str(p) for p in (tmp_path / "t").rglob(f"*_{first.instant}.parquet"))
    assert old_files == []
    tl_dir = tmp_path / "t" / t.timeline.dir
    requested = list(tl_dir.glob("*.clean.requested"))
    inflight = list(tl_dir.glob("*.clean.inflight"))
    completed = [p for p in tl_dir.glob("*.clean") if p.is_file()]
    assert len(requested) == len(inflight) == len(completed) == 1
    for path in (requested[0], inflight[0]):
        schema, plan = _decode(path)
        assert schema["name"] == "HoodieCleanerPlan"
        assert plan["earliestInstantToRetain"] == {
            "timestamp": third.instant,
            "action": "commit",
            "state": "COMPLETED",
        }
        assert plan["policy"] == "KEEP_LATEST_COMMITS" and plan["version"] == 2
        planned = sorted(f["filePath"] for files in plan["filePathsToBeDeletedPerPartition"].values() for f in files)
        assert [p.removeprefix("file:") for p in planned] == sorted(
            str(tmp_path / "t" / part / name) for part, names in _deleted(completed[0]).items() for name in names
        )
        assert len(planned) == 2
    schema, meta = _decode(completed[0])
    assert schema == avro_schemas.CLEAN_METADATA
    assert meta["earliestCommitToRetain"] == third.instant and meta["version"] == 2
    if version == 8:  # completed instants carry their completion time in the name
        assert "_" in completed[0].name.split(".")[0]


def _deleted(clean_file: Path) -> dict[str, list[str]]:
    _, meta = _decode(clean_file)
    return {p: m["successDeleteFiles"] for p, m in meta["partitionMetadata"].items()}


@pytest.mark.parametrize("version", [6, 8])
def test_markers_name_every_file_of_a_write_and_go_with_the_commit(
    tmp_path: Path, version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, t = make(tmp_path, version)
    done = t.write(batch([0, 1], "a"))
    assert not (tmp_path / "t" / ".hoodie" / ".temp" / done.instant).exists()  # removed after the commit

    real, calls = writer_mod.write_base_file, []

    def killed_in_second_file(storage: Storage, path: str, *a: object, **k: object) -> int:
        calls.append(path)
        if len(calls) == 2:
            storage.write_bytes(path, b"PAR1 half a file")
            raise SystemExit("kill -9")
        return real(storage, path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_mod, "write_base_file", killed_in_second_file)
    monkeypatch.setattr(instants_mod, "rollback_pending", lambda *a, **k: [])  # a hard kill runs no cleanup
    with pytest.raises(SystemExit):
        HudiTable.open(uri).write(batch([0, 1, 2, 3], "crash"))
    monkeypatch.undo()
    pending = HudiTable.open(uri).timeline.pending()[0].timestamp
    marker_root = tmp_path / "t" / ".hoodie" / ".temp" / pending
    named = sorted(str(p.relative_to(marker_root)) for p in marker_root.rglob("*.marker.*"))
    # an update of an existing file group is a MERGE, as Hudi's merge handle marks it
    assert named == sorted(f"{path}.marker.MERGE" for path in calls)
    assert all((tmp_path / "t" / path).exists() for path in calls)  # the partial file too

    t2 = HudiTable.open(uri)
    assert t2.rollback_pending() == [pending]
    assert not any((tmp_path / "t" / path).exists() for path in calls)
    assert not marker_root.exists()
    rb = [p for p in (tmp_path / "t" / t2.timeline.dir).glob("*.rollback.requested")]
    _, plan = _decode(rb[0])
    planned = sorted(f for r in plan["RollbackRequests"] for f in r["filesToBeDeleted"])
    assert planned == sorted(f"file:{tmp_path / 't' / path}" for path in calls)
    assert [(r["id"], r["v"]) for r in rs.snapshot(uri)] == [(0, "a0"), (1, "a1")]


@pytest.mark.parametrize("version", [6, 8])
def test_standard_lists_continue_a_table_with_required_array_elements(tmp_path: Path, version: int) -> None:
    """A Spark table's lists read as ``list<array: T not null>``; a CDC file's as ``list<element: T>``.

    Verified with Spark: Hudi 0.15/1.0 merge files written with standard 3-level lists (their
    ``HoodieAvroReadSupport`` switches to a 3-level projection for them), while a 3-level list
    whose element keeps the name ``array`` fails Hudi's merge; so files use ``element``.
    """
    import pyarrow.parquet as pq

    spark_list = pa.list_(pa.field("array", pa.string(), nullable=False))
    dms_list = pa.list_(pa.field("element", pa.string()))
    uri, t = make(tmp_path, version)
    t.write(
        pa.table({"id": pa.array([1, 2], pa.int64()), "p": ["p1", "p0"], "tags": pa.array([["a"], ["b"]], spark_list)})
    )
    t.write(
        pa.table(
            {"id": pa.array([2, 4], pa.int64()), "p": ["p0", "p0"], "tags": pa.array([["z", None], None], dms_list)}
        )
    )
    assert t.schema is not None and t.schema.field("tags").type.value_field.nullable
    for path in (tmp_path / "t").rglob("*.parquet"):
        schema = pq.ParquetFile(path).schema
        paths = [schema.column(i).path for i in range(len(schema))]
        assert [p for p in paths if p.startswith("tags.")] == ["tags.list.element"], path.name
    assert [(r["id"], r["tags"]) for r in rs.snapshot(uri)] == [(1, ["a"]), (2, ["z", None]), (4, None)]
