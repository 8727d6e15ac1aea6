"""Generate a DMS-style dataset for the example tables ``taxi_trips.table_1`` … ``table_18``.

Modelled on the ODP framework's test: a full load of NYC-taxi-like trips per table, then CDC in
that test's spirit — inserts into table_1, updates in table_2, deletes in table_3, and one key of
table_10 going insert → update → update → delete → insert → update across 5 files. The expected
final rows are computed here in plain Python, independently of the engine, and written next to
the data for the report to compare against what hudi-rs reads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TABLES = 18
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


def _dms_ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class TableData:
    table: int
    state: dict[int, dict[str, Any]]
    next_id: int
    files: list[str]


class DatasetWriter:
    def __init__(self, staging: Path, rows_per_table: int, seed: int = 2026) -> None:
        self.staging = staging
        self.rows = rows_per_table
        self.rng = random.Random(seed)
        self.clock = datetime(2026, 11, 23, 8, 0, 0)
        self.cdc_seq = 0

    def _tick(self) -> str:
        self.clock += timedelta(microseconds=self.rng.randint(1, 5000))
        return _dms_ts(self.clock)

    def _trip(self, trip_id: int, commit_ts: str) -> dict[str, Any]:
        r = self.rng
        pickup = EPOCH + timedelta(minutes=r.randint(0, 60 * 24 * 20))
        distance = round(r.expovariate(1 / 3.0), 2)
        fare = round(3.0 + distance * 2.5, 2)
        tip = round(fare * r.choice((0, 0.1, 0.15, 0.2)), 2)
        return {
            "trip_id": trip_id,
            "vendor_id": r.choice((1, 2)),
            "pickup_datetime": pickup,
            "dropoff_datetime": pickup + timedelta(minutes=r.randint(2, 60)),
            "passenger_count": r.randint(1, 4),
            "trip_distance": distance,
            "pu_location_id": r.randint(1, 265),
            "do_location_id": r.randint(1, 265),
            "payment_type": r.randint(1, 4),
            "fare_amount": fare,
            "tip_amount": tip,
            "total_amount": round(fare + tip + 1.0, 2),
            "pickup_date": pickup.strftime("%Y-%m-%d"),
            "dms_commit_ts": commit_ts,
        }

    def _write(self, folder: Path, name: str, rows: list[dict[str, Any]], cdc: bool) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        schema = CDC_SCHEMA if cdc else SCHEMA
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / name, compression="snappy")
        return name

    def full_load(self, t: int) -> TableData:
        folder = self.staging / f"table_{t}"
        load_ts = self._tick()
        state: dict[int, dict[str, Any]] = {}
        files = []
        chunk = 200_000
        for part, start in enumerate(range(0, self.rows, chunk), start=1):
            rows = [self._trip(i, load_ts) for i in range(start + 1, min(start + chunk, self.rows) + 1)]
            files.append(self._write(folder, f"LOAD{part:08X}.parquet", rows, cdc=False))
            state.update({r["trip_id"]: r for r in rows})
        return TableData(t, state, self.rows + 1, files)

    def cdc_file(self, data: TableData, changes: list[tuple[str, dict[str, Any]]]) -> str:
        """Write one CDC file (timestamp name, a date folder as with DatePartitionEnabled) and
        apply the changes to the expected state the plain way."""
        self.cdc_seq += 1
        stamp = (self.clock + timedelta(seconds=self.cdc_seq)).strftime("%Y%m%d-%H%M%S") + f"{self.cdc_seq:04d}"
        folder = self.staging / f"table_{data.table}" / "2026" / "11" / "23"
        rows = [{"Op": op, **row} for op, row in changes]
        name = self._write(folder, f"{stamp}.parquet", rows, cdc=True)
        for op, row in changes:
            if op == "D":
                data.state.pop(row["trip_id"], None)
            else:
                data.state[row["trip_id"]] = row
        data.files.append(f"2026/11/23/{name}")
        return name

    def updates(self, data: TableData, n: int) -> list[tuple[str, dict[str, Any]]]:
        keys = self.rng.sample(sorted(data.state), min(n, len(data.state)))
        out = []
        for k in keys:
            row = dict(data.state[k])
            row["tip_amount"] = round(row["tip_amount"] + 1.0, 2)
            row["total_amount"] = round(row["total_amount"] + 1.0, 2)
            row["dms_commit_ts"] = self._tick()
            out.append(("U", row))
        return out

    def deletes(self, data: TableData, n: int) -> list[tuple[str, dict[str, Any]]]:
        keys = self.rng.sample(sorted(data.state), min(n, len(data.state)))
        return [("D", {**data.state[k], "dms_commit_ts": self._tick()}) for k in keys]

    def inserts(self, data: TableData, n: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for _ in range(n):
            out.append(("I", self._trip(data.next_id, self._tick())))
            data.next_id += 1
        return out


def generate(
    staging_root: Path,
    expected_path: Path,
    rows_per_table: int,
    seed: int = 2026,
    after_phase: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the dataset under ``staging_root`` (``table_N/`` folders) phase by phase — the full
    load, then each wave of CDC files — calling ``after_phase`` after each (the demo processes
    there, so each wave becomes its own commits), and write the expected results."""
    after = after_phase or (lambda _phase: None)
    writer = DatasetWriter(staging_root, rows_per_table, seed)
    tables = {t: writer.full_load(t) for t in range(1, TABLES + 1)}
    after("full load")
    n = max(1, rows_per_table // 100)
    writer.cdc_file(tables[1], writer.inserts(tables[1], n))
    writer.cdc_file(tables[2], writer.updates(tables[2], n))
    writer.cdc_file(tables[3], writer.deletes(tables[3], n))
    ten = tables[10]
    key = ten.next_id
    life = []
    for op in ("I", "U", "U", "D", "I", "U"):
        row = writer._trip(key, writer._tick())
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
    expected = {
        f"taxi_trips.table_{t}": {
            "rows": len(d.state),
            "files": len(d.files),
            "fare_sum": round(sum(r["fare_amount"] for r in d.state.values()), 2),
            "tip_sum": round(sum(r["tip_amount"] for r in d.state.values()), 2),
        }
        for t, d in tables.items()
    }
    expected["taxi_trips.table_10"]["tracked_key"] = {"trip_id": key, "fare_amount": 6.0}
    expected_path.parent.mkdir(parents=True, exist_ok=True)
    expected_path.write_text(json.dumps({"rows_per_table": rows_per_table, "tables": expected}, indent=1))
    return expected
