"""Continuing Spark-written tables: appends stay readable, Spark's commits stay time-travelable."""

from __future__ import annotations

import decimal
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import HUDI_FIXTURES, needs_shared_samples
from tests.integration.hudi import helpers as rs
from tributary.errors import UnsupportedTableError
from tributary.hudi import HudiTable

pytestmark = [needs_shared_samples]

SPARK = HUDI_FIXTURES / "spark-written"
COW = ["v6_complexkeygen_hivestyle", "v6_nonpartitioned", "v6_simplekeygen_nonhivestyle",
       "v8_complexkeygen_hivestyle", "v8_simplekeygen_nonhivestyle"]  # fmt: skip


def unzip(name: str, tmp_path: Path) -> str:
    dest = tmp_path / "fixture"
    with zipfile.ZipFile(SPARK / f"sample_table__{name}.zip") as zf:
        zf.extractall(dest)
    return str(next(p for p in dest.iterdir() if p.is_dir() and p.name != "__MACOSX"))


@pytest.mark.parametrize("name", COW)
def test_append_to_spark_table(tmp_path: Path, name: str) -> None:
    uri = unzip(f"cow__{name}", tmp_path)
    spark_commits = [i.timestamp for i in rs.table(uri).get_timeline().get_completed_commits()]
    spark_views = {ts: rs.data(rs.as_of(uri, ts)) for ts in spark_commits}
    before = rs.data(rs.snapshot(uri))
    t = HudiTable.open(uri)
    schema = t.schema
    keyf = list(t.options.record_key_fields)
    upd = dict(before[0], intField=-1)
    gone = before[1]
    in_existing = dict(before[2], id=100, name="Zed")  # same partition values as an existing row
    new_part = dict(before[3], id=101, name="Yan")
    if t.options.partition_fields:
        new_part[t.options.partition_fields[0]] = 77
    r = t.write(
        pa.Table.from_pylist([upd, in_existing, new_part], schema=schema),
        deletes=pa.Table.from_pylist([gone], schema=schema).select(keyf),
    )
    assert (r.updated, r.inserted, r.deleted) == (1, 2, 1)

    after = {x["id"]: x for x in rs.data(rs.snapshot(uri))}
    assert gone["id"] not in after
    assert after[upd["id"]]["intField"] == -1
    assert after[100]["name"] == "Zed" and after[101]["name"] == "Yan"
    # nested, decimal, timestamp values intact for carried-over and updated rows
    for row in before:
        if row["id"] == gone["id"]:
            continue
        got = after[row["id"]]
        for col in ("decimalField", "timestampField", "structField", "arrayField", "mapField", "dateField"):
            assert got[col] == row[col], (row["id"], col)
    assert isinstance(after[upd["id"]]["decimalField"], decimal.Decimal)
    # Spark's commits stay readable by time travel
    for ts, view in spark_views.items():
        assert rs.data(rs.as_of(uri, ts)) == view
    commits = [i.timestamp for i in rs.table(uri).get_timeline().get_completed_commits()]
    assert commits[:-1] == spark_commits and commits[-1] == r.instant


@pytest.mark.parametrize("name", ["v6_empty", "v8_empty"])
def test_first_write_to_empty_spark_table(tmp_path: Path, name: str) -> None:
    uri = unzip(f"cow__{name}", tmp_path)
    t = HudiTable.open(uri)
    t.write(
        pa.table({"id": pa.array([1, 2], pa.int32()), "name": ["a", "b"], "longField": pa.array([1, 1], pa.int64())})
    )
    assert [x["id"] for x in rs.snapshot(uri)] == [1, 2]


@pytest.mark.parametrize(
    ("zipname", "match"),
    [
        ("mor__parquet__v6_nonpartitioned", "MERGE_ON_READ"),
        ("mor__parquet__v6_simplekeygen_nonhivestyle", "MERGE_ON_READ"),
        ("cow__v6_simplekeygen_hivestyle_no_metafields", "populate.meta.fields=false"),
        ("cow__v8_simplekeygen_hivestyle_no_metafields", "populate.meta.fields=false"),
    ],
)
def test_unsupported_fixtures_refused(tmp_path: Path, zipname: str, match: str) -> None:
    uri = unzip(zipname, tmp_path)
    with pytest.raises(UnsupportedTableError, match=match) as info:
        HudiTable.open(uri)
    assert "glue" in str(info.value)  # says what to do
