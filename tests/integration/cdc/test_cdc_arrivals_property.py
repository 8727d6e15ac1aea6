"""Property: any arrival order (after the first full-load file) and batching of a random DMS stream — a full load, CDC files, an
optional reload generation (LOAD files rewritten, fewer or more of them), late files, touched
duplicates — gives the table an oracle computes from the stream alone, as hudi-rs reads it.
A re-upload with new content after everything was applied is refused and changes nothing.

The oracle: for each key the change with the greatest precombine value wins (a ``D`` removes
the row); after a reload only the generation's rows and changes not older than it count. Event
times are unique per change (ties across files depend on arrival: see README)."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cdc_factory import snapshot_rows
from tributary.cdc import CdcOptions, apply_pending

COLS = ["id", "ts", "region", "v"]
LOAD_SCHEMA = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("region", pa.string()), ("v", pa.string())])
CDC_SCHEMA = pa.schema([("Op", pa.string()), *LOAD_SCHEMA])


@dataclass
class Stream:
    """Files in DMS write order: (relative name, rows); a reload rewrites LOAD names."""

    files: list[tuple[str, list[dict]]] = field(default_factory=list)
    reload_ts: int | None = None

    def oracle(self) -> list[dict]:
        best: dict[int, dict] = {}
        generation = self.reload_ts
        for name, rows in self.files:
            if generation is not None and name.startswith("LOAD") and rows and rows[0]["ts"] < generation:
                continue  # the old generation: replaced
            for row in rows:
                if generation is not None and row["ts"] < generation:
                    continue
                if row["id"] not in best or row["ts"] > best[row["id"]]["ts"]:
                    best[row["id"]] = row
        kept = [{c: r[c] for c in COLS} for r in best.values() if r.get("Op", "I") != "D"]
        return sorted(kept, key=lambda r: str(r["id"]))


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    stream = Stream()
    clock = iter(range(1, 10_000))

    def change(op: str | None) -> st.SearchStrategy[dict]:
        return st.fixed_dictionaries(
            {"id": st.integers(0, 6), "region": st.sampled_from(["a", "b"]), "v": st.text("xyz", max_size=2)}
        ).map(lambda r: {**({"Op": op} if op else {}), **r, "ts": next(clock)})

    def load_files(n: int, ts: int | None) -> None:
        ids = draw(st.lists(st.integers(0, 6), unique=True, min_size=n, max_size=6))
        for i in range(n):
            part = ids[i::n]
            rows = [{"id": k, "ts": ts or next(clock), "region": draw(st.sampled_from("ab")), "v": "L"} for k in part]
            stream.files.append((f"LOAD{i + 1:08X}.parquet", rows))

    def cdc_files(n: int) -> None:
        for _ in range(n):
            rows = draw(st.lists(st.sampled_from("IUD").flatmap(change), max_size=4))
            stream.files.append((f"20261123-{len(stream.files):010d}.parquet", rows))

    load_files(draw(st.integers(1, 3)), None)
    cdc_files(draw(st.integers(0, 3)))
    if draw(st.booleans()):
        stream.reload_ts = next(clock)
        load_files(draw(st.integers(1, 3)), stream.reload_ts)
        cdc_files(draw(st.integers(0, 3)))
    return stream


def _write(root: Path, name: str, rows: list[dict]) -> None:
    schema = LOAD_SCHEMA if name.startswith("LOAD") else CDC_SCHEMA
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / name)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stream=streams(), data=st.data(), version=st.sampled_from([6, 8]), partitioned=st.booleans())
def test_any_arrival_order_and_batching_gives_the_oracle_table(
    stream: Stream, data: st.DataObject, version: int, partitioned: bool
) -> None:
    opts = CdcOptions("p", ("id",), "ts", partition_fields=("region",) if partitioned else (), table_version=version)
    # the table's first full-load file is seen first (before a reload could rewrite it); the rest
    # arrive in any order
    order = [0, *data.draw(st.permutations(range(1, len(stream.files))), label="arrival order")]
    cuts = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)), label="run after")
    caps = data.draw(st.lists(st.integers(1, 3) | st.none(), min_size=len(order), max_size=len(order)), label="caps")
    with tempfile.TemporaryDirectory() as tmp:
        root, target = Path(tmp) / "src", str(Path(tmp) / "lake" / "p")
        root.mkdir()
        newest: dict[str, int] = {}
        for step, index in enumerate(order):
            name, rows = stream.files[index]
            if newest.get(name, -1) > index:
                continue  # S3 keeps the last write: an older version arriving after it never existed
            newest[name] = index
            _write(root, name, rows)
            if data.draw(st.booleans(), label="touch an arrived file"):
                later = time.time_ns() + step * 10**9
                os.utime(root / data.draw(st.sampled_from(sorted(newest)), label="touched"), ns=(later, later))
            if cuts[step]:
                apply_pending(str(root), target, opts, max_files=caps[step])
        for _ in range(len(stream.files) + 2):  # everything arrived: runs until nothing is pending
            if apply_pending(str(root), target, opts).instant is None:
                break
        assert snapshot_rows(target, COLS, ["id"]) == stream.oracle()

        cdc = sorted(n for n in newest if not n.startswith("LOAD"))
        if cdc:
            before = snapshot_rows(target, COLS, ["id"])
            _write(root, cdc[0], [{"Op": "I", "id": 99, "ts": 99_999, "region": "a", "v": "evil"}])
            result = apply_pending(str(root), target, opts)
            assert [r.path for r in result.refused] == [cdc[0]] and result.instant is None
            assert snapshot_rows(target, COLS, ["id"]) == before
