"""Reading the checkpoint of tables Spark wrote (Hudi's own fixtures: COW v6/v8, MOR v6)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import HUDI_FIXTURES, needs_shared_samples
from tributary.cdc.apply import read_checkpoint
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import CdcFile, FileKind
from tributary.errors import UnsupportedTableError
from tributary.hudi import HudiTable
from tributary.spark.timeline import TableTimeline

pytestmark = [needs_shared_samples]

SPARK = HUDI_FIXTURES / "spark-written"


def _unzip(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / "fixture"
    with zipfile.ZipFile(SPARK / f"sample_table__{name}.zip") as zf:
        zf.extractall(dest)
    return next(p for p in dest.iterdir() if p.is_dir() and p.name != "__MACOSX")


def _completed_writes(root: Path) -> list[str]:
    """Requested times of the completed commit-like instant files, read from the names."""
    out = []
    for folder in (root / ".hoodie", root / ".hoodie" / "timeline"):
        for path in folder.glob("*") if folder.is_dir() else []:
            stem, _, action = path.name.partition(".")
            if action in ("commit", "deltacommit", "replacecommit"):
                out.append(stem.split("_")[0])
    return sorted(out)


@pytest.mark.parametrize(
    "name",
    ["cow__v6_nonpartitioned", "cow__v8_complexkeygen_hivestyle", "mor__parquet__v6_simplekeygen_nonhivestyle"],
)
def test_spark_written_timelines_are_read_without_a_checkpoint(tmp_path: Path, name: str) -> None:
    root = _unzip(name, tmp_path)
    timeline = TableTimeline.open(str(root))
    assert timeline is not None
    expected = _completed_writes(root)
    assert expected, "the fixture has completed writes"
    assert [c.instant for c in timeline.completed_commits()] == expected
    assert timeline.latest_instant() == expected[-1]
    assert read_checkpoint(timeline).empty and timeline.applied_by() == {}
    assert TableTimeline.open(str(tmp_path / "nothing-here")) is None


def test_merge_on_read_is_read_here_though_the_embedded_writer_refuses_it(tmp_path: Path) -> None:
    root = _unzip("mor__parquet__v6_nonpartitioned", tmp_path)
    with pytest.raises(UnsupportedTableError):
        HudiTable.open(str(root))
    timeline = TableTimeline.open(str(root))
    assert timeline is not None and {c.action for c in timeline.completed_commits()} == {"deltacommit"}


def test_a_checkpoint_after_spark_commits_is_found_on_a_v8_timeline(tmp_path: Path) -> None:
    root = _unzip("cow__v8_complexkeygen_hivestyle", tmp_path)
    table = HudiTable.open(str(root))
    spark_instants = _completed_writes(root)
    files = [
        CdcFile("20261123-0000000001.parquet", "s3://b/20261123-0000000001.parquet", 1, 1, FileKind.CDC, "parquet")
    ]
    meta = Checkpoint().advance(files, reload=False, keep=8).to_metadata(files, reload=False, mode="current")
    # a commit of Tributary's after Spark's (an empty one: the files had no rows)
    result = table.write(upserts=pa.Table.from_pylist([], schema=table.schema), extra_metadata=meta)
    assert result.instant is not None

    timeline = TableTimeline.open(str(root))
    assert timeline is not None
    checkpoint = read_checkpoint(timeline)
    assert checkpoint.is_applied(files[0]) and checkpoint.files_total == 1
    assert timeline.applied_by() == {files[0].path: result.instant}
    assert timeline.latest_instant() == result.instant > spark_instants[-1]
