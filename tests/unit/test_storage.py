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
