"""Generate a DMS-style dataset for the example tables ``taxi_trips.table_1`` … ``table_18``.

Modelled on the ODP framework's test: a full load of NYC-taxi-like trips per table, then CDC in
that test's spirit — inserts into table_1, updates in table_2, deletes in table_3, and one key of
table_10 going insert → update → update → delete → insert → update across 5 files. The expected
final rows are computed here with plain arithmetic, independently of the engine, and written next
to the data for the report to compare against what hudi-rs reads.

Full loads are generated column-wise (numpy), so the full size — 1,369,769 rows per table — fits
in memory: only each table's fare and tip columns are kept for the bookkeeping, plus the row
images of the tables whose CDC needs them (updates and deletes carry the whole row, as DMS does).
Files go to a ``sink(relative_path, parquet_bytes)``: the demo puts them in the staging bucket.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TABLES = 18
FULL_SIZE = 1_369_769
LOAD_FILE_ROWS = 500_000
SCHEMA = pa.schema(
    [
        ("trip_id", pa.int64()),
        ("vendor_id", pa.int32()),
        ("pickup_datetime", pa.timestamp("us")),
        ("dropoff_datetime", pa.timestamp("us")),
        ("passenger_count", pa.int32()),
        ("trip_distance", pa.float64()),
        ("pu_location_id", pa.int32()),
        ("do_location_id", pa.int32()),
        ("payment_type", pa.int32()),
        ("fare_amount", pa.float64()),
        ("tip_amount", pa.float64()),
        ("total_amount", pa.float64()),
        ("pickup_date", pa.string()),
        ("dms_commit_ts", pa.string()),
    ]
)
CDC_SCHEMA = pa.schema([("Op", pa.string()), *SCHEMA])
EPOCH = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
TIP_RATES = (0.0, 0.1, 0.15, 0.2)
Sink = Callable[[str, bytes], None]


def _dms_ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class TableState:
    """What one table should hold: the full load's aggregates and columns, and every key the CDC
    touched with its latest row (None once deleted)."""

    table: int
    base_rows: int
    fare: np.ndarray
    tip: np.ndarray
    load: pa.Table | None  # the full load's row images, kept only where CDC needs them
    next_id: int
    files: list[str] = field(default_factory=list)
    overlay: dict[int, dict[str, Any] | None] = field(default_factory=dict)

    def current(self, key: int) -> dict[str, Any] | None:
        if key in self.overlay:
            return self.overlay[key]
        if 1 <= key <= self.base_rows:
            if self.load is None:
                raise ValueError(f"table_{self.table}: row images were not kept")
            return self.load.slice(key - 1, 1).to_pylist()[0]
        return None

    def live_keys_sample(self, rng: random.Random, n: int) -> list[int]:
        picked: list[int] = []
        while len(picked) < min(n, self.base_rows):
            key = rng.randint(1, self.base_rows)
            if key not in picked and self.current(key) is not None:
                picked.append(key)
        return picked

    def expected(self) -> dict[str, Any]:
        rows = self.base_rows
        fare = float(self.fare.sum())
        tip = float(self.tip.sum())
        for key, row in self.overlay.items():
            if 1 <= key <= self.base_rows:  # the full load's row is replaced or gone
                rows -= 1
                fare -= float(self.fare[key - 1])
                tip -= float(self.tip[key - 1])
            if row is not None:
                rows += 1
                fare += row["fare_amount"]
                tip += row["tip_amount"]
        return {"rows": rows, "files": len(self.files), "fare_sum": round(fare, 2), "tip_sum": round(tip, 2)}


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


class DatasetWriter:
    def __init__(self, sink: Sink, rows_per_table: int, seed: int = 2026) -> None:
        self.sink = sink
        self.rows = rows_per_table
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = datetime(2026, 11, 23, 8, 0, 0)
        self.cdc_seq = 0

    def _tick(self) -> str:
        self.clock += timedelta(microseconds=self.rng.randint(1, 5000))
        return _dms_ts(self.clock)

    def _trips(self, t: int, start: int, n: int, commit_ts: str) -> pa.Table:
        """``n`` trips with ids ``start`` … ``start + n - 1``, column-wise."""
        rng = np.random.default_rng([self.seed, t, start])
        pickup = np.datetime64(EPOCH, "us") + rng.integers(0, 60 * 24 * 20, n, endpoint=True) * np.timedelta64(
            60_000_000, "us"
        )
        dropoff = pickup + rng.integers(2, 60, n, endpoint=True) * np.timedelta64(60_000_000, "us")
        distance = np.round(rng.exponential(3.0, n), 2)
        fare = np.round(3.0 + distance * 2.5, 2)
        tip = np.round(fare * rng.choice(TIP_RATES, n), 2)
        pickup_arr = pa.array(pickup, pa.timestamp("us"))
        columns = {
            "trip_id": pa.array(np.arange(start, start + n, dtype=np.int64)),
            "vendor_id": pa.array(rng.integers(1, 2, n, endpoint=True).astype(np.int32)),
            "pickup_datetime": pickup_arr,
            "dropoff_datetime": pa.array(dropoff, pa.timestamp("us")),
            "passenger_count": pa.array(rng.integers(1, 4, n, endpoint=True).astype(np.int32)),
            "trip_distance": pa.array(distance),
            "pu_location_id": pa.array(rng.integers(1, 265, n, endpoint=True).astype(np.int32)),
            "do_location_id": pa.array(rng.integers(1, 265, n, endpoint=True).astype(np.int32)),
            "payment_type": pa.array(rng.integers(1, 4, n, endpoint=True).astype(np.int32)),
            "fare_amount": pa.array(fare),
            "tip_amount": pa.array(tip),
            "total_amount": pa.array(np.round(fare + tip + 1.0, 2)),
            "pickup_date": pc.strftime(pickup_arr, format="%Y-%m-%d"),
            "dms_commit_ts": pa.array([commit_ts] * n, pa.string()),
        }
        return pa.table(columns, schema=SCHEMA)

    def full_load(self, t: int, keep_rows: bool = False) -> TableState:
        load_ts = self._tick()
        names: list[str] = []
        chunks: list[pa.Table] = []
        for part, start in enumerate(range(1, self.rows + 1, LOAD_FILE_ROWS), start=1):
            chunk = self._trips(t, start, min(LOAD_FILE_ROWS, self.rows - start + 1), load_ts)
            name = f"LOAD{part:08X}.parquet"
            self.sink(f"table_{t}/{name}", _parquet(chunk))
            names.append(name)
            chunks.append(chunk.select(["fare_amount", "tip_amount"]) if not keep_rows else chunk)
        load = pa.concat_tables(chunks)
        fare = load.column("fare_amount").to_numpy()
        tip = load.column("tip_amount").to_numpy()
        return TableState(t, self.rows, fare, tip, load if keep_rows else None, self.rows + 1, names)

    def _trip(self, t: int, trip_id: int, commit_ts: str) -> dict[str, Any]:
        return self._trips(t, trip_id, 1, commit_ts).to_pylist()[0]

    def cdc_file(self, data: TableState, changes: list[tuple[str, dict[str, Any]]]) -> str:
        """Write one CDC file (timestamp name, a date folder as with DatePartitionEnabled) and
        apply the changes to the expected state the plain way."""
        self.cdc_seq += 1
        stamp = (self.clock + timedelta(seconds=self.cdc_seq)).strftime("%Y%m%d-%H%M%S") + f"{self.cdc_seq:04d}"
        rel = f"2026/11/23/{stamp}.parquet"
        rows = [{"Op": op, **row} for op, row in changes]
        self.sink(f"table_{data.table}/{rel}", _parquet(pa.Table.from_pylist(rows, schema=CDC_SCHEMA)))
        for op, row in changes:
            data.overlay[row["trip_id"]] = None if op == "D" else row
        data.files.append(rel)
        return rel

    def updates(self, data: TableState, n: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for key in data.live_keys_sample(self.rng, n):
            row = dict(data.current(key) or {})
            row["tip_amount"] = round(row["tip_amount"] + 1.0, 2)
            row["total_amount"] = round(row["total_amount"] + 1.0, 2)
            row["dms_commit_ts"] = self._tick()
            out.append(("U", row))
        return out

    def deletes(self, data: TableState, n: int) -> list[tuple[str, dict[str, Any]]]:
        return [
            ("D", {**(data.current(k) or {}), "dms_commit_ts": self._tick()})
            for k in data.live_keys_sample(self.rng, n)
        ]

    def inserts(self, data: TableState, n: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for _ in range(n):
            out.append(("I", self._trip(data.table, data.next_id, self._tick())))
            data.next_id += 1
        return out


def planned_files(rows_per_table: int) -> int:
    """How many files :func:`generate` lands: the LOAD files of 18 tables, then 8 CDC files."""
    return TABLES * -(-rows_per_table // LOAD_FILE_ROWS) + 3 + 5


def generate(
    sink: Sink,
    expected_path: Path,
    rows_per_table: int,
    seed: int = 2026,
    after_phase: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Land the dataset through ``sink`` (``table_N/…`` paths) phase by phase — the full load,
    then each wave of CDC files — calling ``after_phase`` after each (the demo waits there for the
    flows to apply it, so each wave becomes its own commits), and write the expected results."""
    after = after_phase or (lambda _phase: None)
    writer = DatasetWriter(sink, rows_per_table, seed)
    tables = {t: writer.full_load(t, keep_rows=t in (2, 3)) for t in range(1, TABLES + 1)}
    after("full load")
    n = max(1, rows_per_table // 100)
    writer.cdc_file(tables[1], writer.inserts(tables[1], n))
    writer.cdc_file(tables[2], writer.updates(tables[2], n))
    writer.cdc_file(tables[3], writer.deletes(tables[3], n))
    ten = tables[10]
    key = ten.next_id
    life: list[tuple[str, dict[str, Any]]] = []
    for op in ("I", "U", "U", "D", "I", "U"):
        row = writer._trip(10, key, writer._tick())
        row["fare_amount"] = float(len(life) + 1)
        life.append((op, row))
    ten.next_id += 1
    # insert → update → update → delete → insert → update across 5 files (the last file has two)
    waves = (life[0:1], life[1:2], life[2:3], life[3:4], life[4:6])
    for i, changes in enumerate(waves, start=1):
        writer.cdc_file(ten, changes)
        if i in (1, 3):  # let some files arrive between runs, some together
            after(f"CDC wave {i}")
    after("CDC wave 5")
    expected = {f"taxi_trips.table_{t}": d.expected() for t, d in tables.items()}
    expected["taxi_trips.table_10"]["tracked_key"] = {"trip_id": key, "fare_amount": 6.0}
    expected_path.parent.mkdir(parents=True, exist_ok=True)
    expected_path.write_text(json.dumps({"rows_per_table": rows_per_table, "tables": expected}, indent=1))
    return expected
