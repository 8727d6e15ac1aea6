"""DMS file naming, order and listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tributary.cdc.files import CdcFile, FileKind, classify, list_files, sort_files
from tributary.errors import StorageError


def test_classify_names() -> None:
    assert classify("LOAD00000001.csv") == (FileKind.LOAD, "csv")
    assert classify("LOAD0000000A.parquet") == (FileKind.LOAD, "parquet")
    assert classify("20141029-1134010000.csv") == (FileKind.CDC, "csv")
    assert classify("20141029-1134010000.csv.gz") == (FileKind.CDC, "csv")
    assert classify("_SUCCESS") is None
    assert classify("notes.txt") is None
    assert classify("LOADX.csv") is None


def _touch(root: Path, rel: str, data: bytes = b"x") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_listing_orders_loads_by_hex_counter_then_cdc_by_name(tmp_path: Path) -> None:
    for rel in [
        "2026/11/24/20261124-0000000001.parquet",
        "LOAD0000000A.csv",
        "LOAD00000009.csv",
        "LOAD00000010.csv",
        "2026/11/23/20261123-0000000005.parquet",
        "20261123-0000000002.parquet",
        "_SUCCESS",
        ".hidden/20261123-0000000001.parquet",
        "readme.md",
    ]:
        _touch(tmp_path, rel)
    files = list_files(str(tmp_path))
    assert [f.path for f in files] == [
        "LOAD00000009.csv",
        "LOAD0000000A.csv",
        "LOAD00000010.csv",
        "20261123-0000000002.parquet",
        "2026/11/23/20261123-0000000005.parquet",
        "2026/11/24/20261124-0000000001.parquet",
    ]
    assert files[0].kind is FileKind.LOAD and files[-1].kind is FileKind.CDC
    assert [(f.identity, f.kind) for f in list_files(f"file://{tmp_path}")] == [(f.identity, f.kind) for f in files]


def test_load_identity_includes_size_and_mtime_cdc_identity_is_path(tmp_path: Path) -> None:
    _touch(tmp_path, "LOAD00000001.csv", b"a,b\n")
    _touch(tmp_path, "20261123-0000000001.csv", b"a,b\n")
    load, cdc = list_files(str(tmp_path))
    assert load.identity.startswith("LOAD00000001.csv|4|")
    assert cdc.identity == "20261123-0000000001.csv"
    _touch(tmp_path, "LOAD00000001.csv", b"a,b\n1,2\n")
    assert list_files(str(tmp_path))[0].identity != load.identity


def test_missing_source_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        list_files(str(tmp_path / "nope"))


def test_sort_is_stable_across_folders() -> None:
    def f(path: str, kind: FileKind) -> CdcFile:
        return CdcFile(path, "/" + path, 1, 0, kind, "csv")

    files = [f("b/20260101-1.csv", FileKind.CDC), f("a/20260101-1.csv", FileKind.CDC), f("LOAD2.csv", FileKind.LOAD)]
    assert [x.path for x in sort_files(files)] == ["LOAD2.csv", "a/20260101-1.csv", "b/20260101-1.csv"]
