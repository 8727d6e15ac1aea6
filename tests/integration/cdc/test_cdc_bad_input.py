"""Bad input corpus: each case exits non-zero, names the file and the problem, and leaves the
table exactly as it was (same commits, same hudi-rs snapshot)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cdc_factory import DmsFolder, table_fingerprint, write_csv
from tributary.cli.main import main

CDC_NAME = "20261123-0000000002"


def _args(src: Path, target: Path, *extra: str) -> list[str]:
    return [
        "cdc", "apply", "--source", str(src), "--target", str(target), "--record-key", "id",
        "--precombine", "ts", "--partition-fields", "region", *extra,
    ]  # fmt: skip


def _parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path)


def _good(n: int = 1) -> pa.Table:
    return pa.table({"Op": ["I"] * n, "id": list(range(n)), "ts": [1] * n, "region": ["eu"] * n})


def _truncated(p: Path) -> None:
    _parquet(p, _good(200))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 40])


CASES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "truncated parquet": ("parquet", _truncated, "not a readable Parquet file"),
    "garbage parquet": ("parquet", lambda p: p.write_bytes(b"PAR1garbagePAR1"), "not a readable Parquet file"),
    "empty file": ("parquet", lambda p: p.write_bytes(b""), "empty file"),
    "unknown op": (
        "parquet",
        lambda p: _parquet(p, _good().set_column(0, "Op", pa.array(["X"]))),
        "unknown Op value 'X'",
    ),
    "lower-case op": ("parquet", lambda p: _parquet(p, _good().set_column(0, "Op", pa.array(["u"]))), "unknown Op"),
    "null key": (
        "parquet",
        lambda p: _parquet(p, _good(2).set_column(1, "id", pa.array([1, None], pa.int64()))),
        "row 2: null record key value in column id",
    ),
    "missing key column": (
        "parquet",
        lambda p: _parquet(p, _good().drop_columns(["id"])),
        "missing record key column id",
    ),
    "missing precombine column": (
        "parquet",
        lambda p: _parquet(p, _good().drop_columns(["ts"])),
        "missing precombine column ts",
    ),
    "missing partition column": (
        "parquet",
        lambda p: _parquet(p, _good().drop_columns(["region"])),
        "missing partition column region",
    ),
    "incompatible type change": (
        "parquet",
        lambda p: _parquet(p, _good().set_column(2, "ts", pa.array(["late"]))),
        "column ts: type string is incompatible with int64",
    ),
    "csv wrong column count": ("csv", lambda p: p.write_text("I,5,1\n"), "row 1 has 3 columns; expected 4"),
    "csv ragged row": ("csv", lambda p: p.write_text("I,5,1,eu\nI,6,1,eu,extra\n"), "not a valid CSV file"),
    "csv value of wrong type": (
        "csv",
        lambda p: p.write_text("I,abc,1,eu,\n"),
        "column id: value 'abc' cannot be read as int64",
    ),
    "csv not utf-8": ("csv", lambda p: p.write_bytes(b"I,5,1,eu,\xff\xfe\n"), "UTF-8"),
}


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, Path]:
    src, target = tmp_path / "src", tmp_path / "lake" / "t"
    DmsFolder(src).cdc([{"Op": "I", "id": 100, "ts": 1, "region": "eu"}])
    assert main(_args(src, target)) == 0
    return src, target


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_refused_and_table_unchanged(
    case: str, table: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    src, target = table
    fmt, make, message = CASES[case]
    # a good file sorts before the bad one: it must not be applied either
    good = src / "20261123-00000000015.parquet"
    _parquet(good, pa.table({"Op": ["U"], "id": [100], "ts": [2], "region": ["us"]}))
    make(src / f"{CDC_NAME}.{fmt}")
    before = table_fingerprint(target)
    capsys.readouterr()
    code = main(_args(src, target, "--columns", "id,ts,region,name"))
    err = capsys.readouterr().err
    assert code != 0
    assert f"{CDC_NAME}.{fmt}" in err and message in " ".join(err.split()), err
    assert "Traceback" not in err
    assert table_fingerprint(target) == before
    # once the bad file is quarantined (moved away), the good one applies
    (src / f"{CDC_NAME}.{fmt}").unlink()
    assert main(_args(src, target)) == 0
    assert table_fingerprint(target)[0] == before[0] + 1


def test_mismatched_table_options_refused(table: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    src, target = table
    DmsFolder(src).cdc([{"Op": "I", "id": 5, "ts": 1, "region": "eu"}])
    before = table_fingerprint(target)
    capsys.readouterr()
    args = _args(src, target)
    args[args.index("ts")] = "region"  # another precombine field
    assert main(args) != 0
    assert "precombine" in capsys.readouterr().err
    assert table_fingerprint(target) == before


def test_real_process_prints_message_without_traceback(table: tuple[Path, Path]) -> None:
    src, target = table
    (src / f"{CDC_NAME}.parquet").write_bytes(b"not parquet at all")
    before = table_fingerprint(target)
    proc = subprocess.run(
        [sys.executable, "-m", "tributary.cli.main", *_args(src, target)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert f"{CDC_NAME}.parquet" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert table_fingerprint(target) == before


def test_csv_helper_roundtrip(tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", [{"a": None, "b": ""}], ["a", "b"], header=False)
    assert (tmp_path / "x.csv").read_text() == ',""\n'
