from __future__ import annotations

from pathlib import Path

import pytest

from tributary.errors import StorageError
from tributary.storage import Storage, hudi_storage_options


def test_local_write_list_delete(tmp_path: Path) -> None:
    s = Storage(str(tmp_path / "root"))
    s.write_text("a/b.txt", "one")
    s.write_text("a/b.txt", "two")  # atomic replace
    s.write_bytes("c.bin", b"\x00\x01")
    assert s.read_text("a/b.txt") == "two"
    assert [e.path for e in s.list_files("", recursive=True)] == ["a/b.txt", "c.bin"]
    assert [e.path for e in s.list_files("a")] == ["a/b.txt"]
    assert s.list_dirs() == ["a"]
    assert not list((tmp_path / "root" / "a").glob(".tmp-*"))
    assert s.create_new("n.txt", b"x") and not s.create_new("n.txt", b"y")
    s.delete("c.bin")
    assert not s.exists("c.bin")
    with pytest.raises(StorageError, match="not found"):
        s.read_bytes("c.bin")
    assert hudi_storage_options(str(tmp_path)) == {}
    assert Storage(f"file://{tmp_path}/root").read_text("a/b.txt") == "two"


def test_bad_scheme() -> None:
    with pytest.raises(StorageError, match="scheme"):
        Storage("gs://bucket/x")


def test_s3_round_trip(aws: str) -> None:
    s = Storage("s3://bucket-t/prefix")
    s.ensure_bucket()
    s.write_text("x/y.txt", "hello")
    assert s.read_text("x/y.txt") == "hello"
    assert [e.path for e in s.list_files("", recursive=True)] == ["x/y.txt"]
    s.delete("x/y.txt")
    assert not s.exists("x/y.txt")
    opts = hudi_storage_options("s3://bucket-t/prefix")
    assert opts["aws_endpoint_url"] == aws and opts["aws_allow_http"] == "true"


def test_local_listing_answers_as_pyarrow_local_filesystem(tmp_path: Path) -> None:
    """Local listings go through os (no pyarrow import for a read-only run): the same files,
    sizes and nanosecond mtimes as pyarrow's LocalFileSystem, links followed, a broken one left out."""
    import pyarrow.fs as pafs

    root = tmp_path / "root"
    (root / "real" / "sub").mkdir(parents=True)
    (root / "real" / "sub" / "a.parquet").write_bytes(b"12345")
    (root / ".hidden").write_text("h")
    (root / "link").symlink_to(root / "real")
    (root / "file_link").symlink_to(root / "real" / "sub" / "a.parquet")
    (root / "broken").symlink_to(root / "nowhere")
    infos = pafs.LocalFileSystem().get_file_info(pafs.FileSelector(str(root), recursive=True))
    expected = sorted((i.path[len(str(root)) + 1 :], i.size, i.mtime_ns) for i in infos if i.type == pafs.FileType.File)
    s = Storage(str(root))
    assert [(e.path, e.size, e.mtime_ns) for e in s.list_files(recursive=True)] == expected
    assert {e.path for e in s.list_files(recursive=True)} >= {"link/sub/a.parquet", "file_link", ".hidden"}
    assert [e.path for e in s.list_files("real")] == []
    assert s.list_dirs() == ["link", "real"] and s.list_dirs("real") == ["real/sub"]
    assert s.list_files("absent", recursive=True) == [] and s.list_dirs("absent") == []
    with pytest.raises(StorageError, match="cannot list"):
        s.list_files(".hidden")
    assert s.is_file("file_link") and s.exists("link") and not s.is_file("link")
    assert not s.exists("broken") and not s.exists(".hidden/below") and not s.exists("absent")
    assert s.size("real/sub/a.parquet") == 5
    with pytest.raises(StorageError, match="cannot read"):
        s.read_bytes("real")
    with pytest.raises(StorageError, match="not found"):
        s.size("absent")
    s.delete("absent")
    with pytest.raises(StorageError, match="not found"):
        s.delete("absent", missing_ok=False)
