"""The ledger's segments: gzipped JSON now, Parquet as tables written before still hold."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tributary.cdc import ledger
from tributary.cdc.files import CdcFile, FileKind
from tributary.errors import CdcError


def _file(path: str, size: int, digest: str) -> CdcFile:
    kind = FileKind.LOAD if path.startswith("LOAD") else FileKind.CDC
    return CdcFile(path, f"/src/{path}", size, 1_700_000_000_123_456_789, kind, "parquet", digest)


def _legacy_segment(target: Path, name: str, rows: list[dict[str, object]]) -> None:
    """A segment as Tributary wrote it before (Parquet, these columns)."""
    schema = pa.schema(
        [
            ("path", pa.string()),
            ("kind", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("digest", pa.string()),
            ("order_key", pa.string()),
            ("max_value", pa.string()),
        ]
    )
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink)
    (target / ledger.AUX).mkdir(parents=True, exist_ok=True)
    (target / ledger.AUX / name).write_bytes(sink.getvalue())


def test_json_segment_round_trip_and_a_later_segment_wins(tmp_path: Path) -> None:
    target = str(tmp_path)
    first = ledger.write_segments(target, (), {}, [_file("LOAD00000001.parquet", 10, "sha256:aa")], {})
    assert first[0].endswith(".json.gz")
    both = ledger.write_segments(
        target,
        first,
        {},
        [_file("LOAD00000001.parquet", 11, "sha256:bb"), _file("20261123-0000000001.parquet", 5, "sha256:cc")],
        {"20261123-0000000001.parquet": "AAAA"},
    )
    read = ledger.read_ledger(target, both)
    assert read["LOAD00000001.parquet"].size == 11 and read["LOAD00000001.parquet"].digest == "sha256:bb"
    cdc = read["20261123-0000000001.parquet"]
    assert (cdc.kind, cdc.mtime_ns, cdc.max_value) == (FileKind.CDC, 1_700_000_000_123_456_789, "AAAA")
    assert cdc.order_key == _file("20261123-0000000001.parquet", 5, "").order_key


def test_parquet_segments_of_older_tables_are_read_and_merged_into_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = str(tmp_path)
    old = {
        "path": "LOAD00000001.parquet",
        "kind": "load",
        "size": 7,
        "mtime_ns": 42,
        "digest": "sha256:old",
        "order_key": "0|0000000000000001|LOAD00000001.parquet",
        "max_value": "",
    }
    _legacy_segment(tmp_path, "ledger-1-a.parquet", [old])
    known = ledger.read_ledger(target, ["ledger-1-a.parquet"])
    assert known["LOAD00000001.parquet"] == ledger.Version(7, 42, "sha256:old", FileKind.LOAD, old["order_key"])
    monkeypatch.setattr(ledger, "MAX_SEGMENTS", 1)
    merged = ledger.write_segments(
        target, ("ledger-1-a.parquet",), known, [_file("20261123-0000000002.parquet", 3, "sha256:new")], {}
    )
    assert len(merged) == 1 and merged[0].endswith(".json.gz")
    assert set(ledger.read_ledger(target, merged)) == {"LOAD00000001.parquet", "20261123-0000000002.parquet"}


@pytest.mark.parametrize("content", [b"not gzip", b"\x1f\x8b\x08\x00broken", None])
def test_unreadable_segment_names_itself_and_what_to_do(tmp_path: Path, content: bytes | None) -> None:
    import gzip

    (tmp_path / ledger.AUX).mkdir(parents=True)
    name = "ledger-2-b.json.gz"
    data = content if content is not None else gzip.compress(b'{"format": "something else", "rows": []}')
    (tmp_path / ledger.AUX / name).write_bytes(data)
    expected = re.escape(f"{ledger.AUX}/{name} named by the latest commit cannot be read") + ".*restore"
    with pytest.raises(CdcError, match=expected):
        ledger.read_ledger(str(tmp_path), [name])


def test_missing_segment_names_itself(tmp_path: Path) -> None:
    with pytest.raises(CdcError, match=re.escape("ledger-3-c.json.gz named by the latest commit cannot be read")):
        ledger.read_ledger(str(tmp_path), ["ledger-3-c.json.gz"])
