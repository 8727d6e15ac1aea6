"""`tributary cdc apply`: the summary line, reruns, S3 sources, continuing a Spark-written table."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from tests.cdc_factory import DmsFolder, completed_commits, hudi_snapshot
from tests.conftest import HUDI_FIXTURES, needs_shared_samples
from tributary.cli.main import main


def _apply(src: str, target: str, *extra: str) -> list[str]:
    return ["cdc", "apply", "--source", src, "--target", target, "--record-key", "id", *extra]


def test_run_twice_second_run_writes_no_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dms, target = DmsFolder(tmp_path / "src"), str(tmp_path / "lake" / "t")
    dms.load([{"id": 1, "ts": 1, "name": "a"}, {"id": 2, "ts": 1, "name": "b"}])
    dms.cdc([{"Op": "U", "id": 1, "ts": 2, "name": "a2"}, {"Op": "D", "id": 2, "ts": 2, "name": "b"}])
    assert main(_apply(str(dms.root), target, "--precombine", "ts")) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("t: files=2 inserted=1 updated=0 deleted=0 instant=2")
    commits = completed_commits(target)
    assert main(_apply(str(dms.root), target, "--precombine", "ts")) == 0
    assert capsys.readouterr().out.strip() == "t: files=0 inserted=0 updated=0 deleted=0 instant=-"
    assert completed_commits(target) == commits
    dms.cdc([{"Op": "I", "id": 2, "ts": 3, "name": "b2"}])
    assert main(_apply(str(dms.root), target, "--precombine", "ts", "--max-files", "5")) == 0
    assert "files=1 inserted=1 updated=0 deleted=0" in capsys.readouterr().out
    assert sorted(hudi_snapshot(target, ["id", "name"]).to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "name": "a2"},
        {"id": 2, "name": "b2"},
    ]


def test_headerless_csv_with_columns_and_v8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, target = tmp_path / "src", str(tmp_path / "lake" / "csv_t")
    src.mkdir()
    (src / "LOAD00000001.csv").write_text(
        "1,2026-11-23 10:00:00.000000,eu,alice\n2,2026-11-23 10:00:00.000000,eu,bob\n"
    )
    (src / "20261123-1100000000.csv").write_text(
        'U,1,2026-11-23 11:00:00.000000,us,alice\nD,2,2026-11-23 11:00:01.000000,eu,bob\nI,3,2026-11-23 11:00:02.000000,eu,""\n'
    )
    args = _apply(str(src), target, "--precombine", "ts", "--partition-fields", "region", "--table-version", "8")
    args += ["--columns", "id,ts,region,name", "--no-hive-style", "--table-name", "csv_t"]
    assert main(args) == 0
    assert "files=2 inserted=2" in capsys.readouterr().out
    rows = sorted(hudi_snapshot(target, ["id", "region", "name"]).to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": "1", "region": "us", "name": "alice"}, {"id": "3", "region": "eu", "name": ""}]
    assert (Path(target) / "us").is_dir()  # not hive-style


def test_csv_types_give_a_new_table_typed_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, target = tmp_path / "src", str(tmp_path / "lake" / "typed")
    src.mkdir()
    (src / "20261123-1100000000.csv").write_text("Op,id,ts,amount\nI,1,2026-11-23 11:00:00.5,12.50\nU,1,9,3\n")
    args = _apply(str(src), target, "--precombine", "ts", "--csv-types", "id=int64,amount=decimal(10,2),ts=string")
    assert main(args) == 0, capsys.readouterr().err
    snap = hudi_snapshot(target, ["id", "ts", "amount"])
    assert snap.schema.field("id").type == pa.int64() and snap.schema.field("amount").type == pa.decimal128(10, 2)
    assert [(r["id"], r["ts"], str(r["amount"])) for r in snap.to_pylist()] == [(1, "9", "3.00")]
    assert main(_apply(str(src), target, "--csv-types", "id")) != 0
    assert "is not column=type" in capsys.readouterr().err


def test_invalid_options_exit_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "src").mkdir()
    assert main(_apply(str(tmp_path / "src"), str(tmp_path / "t"), "--table-version", "7")) != 0
    assert "table version must be 6 or 8" in capsys.readouterr().err
    assert main(_apply(str(tmp_path / "nope"), str(tmp_path / "t"))) != 0
    assert "does not exist" in capsys.readouterr().err


def test_source_on_s3(aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=aws)
    s3.create_bucket(Bucket="staging")
    local = DmsFolder(tmp_path / "src", date_folders=True)
    local.load([{"id": 1, "ts": 1}])
    local.cdc([{"Op": "U", "id": 1, "ts": 2}])
    for path in sorted(p for p in local.root.rglob("*") if p.is_file()):
        s3.upload_file(str(path), "staging", "dms/sales/orders/" + path.relative_to(local.root).as_posix())
    target = str(tmp_path / "lake" / "orders")
    assert main(_apply("s3://staging/dms/sales/orders", target, "--precombine", "ts")) == 0
    assert "files=2 inserted=1" in capsys.readouterr().out
    assert hudi_snapshot(target, ["id", "ts"]).to_pylist() == [{"id": 1, "ts": 2}]
    assert main(_apply("s3://staging/dms/sales/orders/", target, "--precombine", "ts")) == 0
    assert "files=0" in capsys.readouterr().out
    # the table on S3 too
    s3.create_bucket(Bucket="lake")
    assert main(_apply("s3://staging/dms/sales/orders", "s3://lake/raw/orders", "--precombine", "ts")) == 0
    assert "orders: files=2 inserted=1" in capsys.readouterr().out
    assert hudi_snapshot("s3://lake/raw/orders", ["id", "ts"]).to_pylist() == [{"id": 1, "ts": 2}]
    assert main(_apply("s3://staging/dms/sales/orders", "s3://lake/raw/orders", "--precombine", "ts")) == 0
    assert "files=0" in capsys.readouterr().out


@needs_shared_samples
@pytest.mark.parametrize(
    "fixture", ["sample_table__cow__v6_nonpartitioned", "sample_table__cow__v8_simplekeygen_nonhivestyle"]
)
def test_continues_spark_written_table(fixture: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(HUDI_FIXTURES / "spark-written" / f"{fixture}.zip") as zf:
        zf.extractall(tmp_path / "fx")
    (target,) = [p for p in (tmp_path / "fx").iterdir() if p.is_dir() and p.name != "__MACOSX"]
    before = hudi_snapshot(target)
    spark_commits = len(completed_commits(target))
    props = (target / ".hoodie" / "hoodie.properties").read_text()
    partitioned = "hoodie.table.partition.fields=byteField" in props
    schema = pa.schema([("Op", pa.string()), ("id", pa.int32()), ("name", pa.string()), ("longField", pa.int64())])
    extra_cols = {}
    if partitioned:
        schema = schema.append(pa.field("byteField", pa.int32()))
        extra_cols = {r["id"]: {"byteField": r["byteField"]} for r in before.select(["id", "byteField"]).to_pylist()}
    dms = DmsFolder(tmp_path / "src")
    ids = sorted(before.column("id").to_pylist())
    upd, dele = ids[0], ids[1]
    dms.cdc(
        [
            {"Op": "U", "id": upd, "name": "updated", "longField": 10**12, **extra_cols.get(upd, {})},
            {"Op": "D", "id": dele, "name": None, "longField": 10**12, **extra_cols.get(dele, {})},
            {"Op": "I", "id": 99, "name": "new", "longField": 10**12, **({"byteField": 1} if partitioned else {})},
        ],
        schema=schema,
    )
    args = _apply(str(dms.root), str(target), "--precombine", "longField", "--table-name", target.name)
    if partitioned:
        args += ["--partition-fields", "byteField", "--no-hive-style"]
    if "v8" in fixture:
        args += ["--table-version", "8"]
    assert main(args) == 0, capsys.readouterr().err
    assert "files=1 inserted=1 updated=1 deleted=1" in capsys.readouterr().out
    after = {r["id"]: r for r in hudi_snapshot(target).to_pylist()}
    assert sorted(after) == sorted([i for i in ids if i != dele] + [99])
    assert after[upd]["name"] == "updated" and after[99]["name"] == "new"
    untouched = [i for i in ids if i not in (upd, dele)]
    old = {r["id"]: r for r in before.to_pylist()}
    for i in untouched:
        assert after[i] == old[i]  # Spark rows (structs, maps, decimals) carried over unchanged
    assert len(completed_commits(target)) == spark_commits + 1
    assert main(args) == 0 and "files=0" in capsys.readouterr().out


def _file_groups(target: str) -> int:
    return len({p.name.split("_")[0] for p in Path(target).rglob("*.parquet") if ".hoodie" not in p.parts})


def test_file_sizing_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--target-file-size-bytes / --record-size-estimate-bytes size the first write (100 rows per
    file group: 250 rows make 3), --small-file-limit-bytes 0 makes later inserts open a new one;
    without the flags, Hudi's defaults: one file group that takes the inserts."""
    dms = DmsFolder(tmp_path / "src")
    dms.load([{"id": i, "ts": 1, "name": f"n{i}"} for i in range(250)])
    sized, plain = str(tmp_path / "lake" / "sized"), str(tmp_path / "lake" / "plain")
    flags = ["--target-file-size-bytes", "100000", "--record-size-estimate-bytes", "1000"]
    flags += ["--small-file-limit-bytes", "0"]
    assert main(_apply(str(dms.root), sized, "--precombine", "ts", *flags)) == 0
    assert main(_apply(str(dms.root), plain, "--precombine", "ts")) == 0
    assert (_file_groups(sized), _file_groups(plain)) == (3, 1)
    dms.cdc([{"Op": "I", "id": 1000 + i, "ts": 2, "name": "new"} for i in range(50)])
    assert main(_apply(str(dms.root), sized, "--precombine", "ts", *flags)) == 0
    assert main(_apply(str(dms.root), plain, "--precombine", "ts")) == 0
    assert (_file_groups(sized), _file_groups(plain)) == (4, 1)
    assert hudi_snapshot(sized, ["id"]).num_rows == hudi_snapshot(plain, ["id"]).num_rows == 300
    capsys.readouterr()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--target-file-size-bytes", "0"], "--target-file-size-bytes"),
        (["--small-file-limit-bytes", "-1"], "--small-file-limit-bytes"),
        (["--target-file-size-bytes", "1000", "--small-file-limit-bytes", "1000"], "small_file_limit_bytes (1000)"),
        (["--target-file-size-bytes", "1000"], "record_size_estimate_bytes (1024) must be > 0 and at most"),
    ],
)
def test_file_sizing_flags_refuse_what_hudi_cannot_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    dms = DmsFolder(tmp_path / "src")
    dms.load([{"id": 1, "ts": 1, "name": "a"}])
    target = tmp_path / "lake" / "t"
    assert main(_apply(str(dms.root), str(target), "--precombine", "ts", *flags)) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not target.exists()
