"""The CDC workload of ``tributary bench peers``, its oracle and the table digest.

Every row is a pure function of ``(id, version)``, so the expected table after any step is known
from an array of versions per id (-1: absent), independently of every system under test. The
DMS files are written once per run and fed to every contender unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

KEY = "id"
PRECOMBINE = "dms_ts"
PARTITION = "region"
OP = "Op"
BASE_MICROS = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
REGIONS = np.array(["eu-north", "eu-west", "us-east", "us-west", "ap-south", "ap-east", "sa-east", "af-south"])
STATUSES = np.array(["open", "paid", "shipped", "closed", "returned"])


class StepKind(StrEnum):
    LOAD = "load"
    UPDATE = "update"
    DELETE = "delete"
    INSERT = "insert"


@dataclass(frozen=True)
class Step:
    """One DMS file of the workload."""

    name: str
    kind: StepKind
    count: int
    file_name: str


def steps_for(rows: int) -> list[Step]:
    """load ``rows``, 10% updates, 0.1% updates, 1% deletes, 10% inserts (1M: 100k, 1k, 10k, 100k)."""
    tenth, thousandth, hundredth = max(1, rows // 10), max(1, rows // 1000), max(1, rows // 100)
    return [
        Step(f"load {_short(rows)}", StepKind.LOAD, rows, "LOAD00000001.parquet"),
        Step(f"upd {_short(tenth)}", StepKind.UPDATE, tenth, "20260101-0100000000.parquet"),
        Step(f"upd {_short(thousandth)}", StepKind.UPDATE, thousandth, "20260101-0200000000.parquet"),
        Step(f"del {_short(hundredth)}", StepKind.DELETE, hundredth, "20260101-0300000000.parquet"),
        Step(f"ins {_short(tenth)}", StepKind.INSERT, tenth, "20260101-0400000000.parquet"),
    ]


def _short(n: int) -> str:
    """1000000 -> 1M, 100000 -> 100k, 20 -> 20."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def rows_for(ids: np.ndarray, versions: np.ndarray) -> pa.Table:
    """The 14 data columns of ``ids`` at ``versions`` (deterministic)."""
    ids = ids.astype(np.int64)
    versions = versions.astype(np.int64)
    mix = ids * 2_654_435_761 + versions * 40_503
    return pa.table(
        {
            KEY: ids,
            "customer": pa.array(np.char.add("customer-", (ids % 50_000).astype("U6"))),
            "status": pa.array(STATUSES[(mix % len(STATUSES)).astype(np.int64)]),
            PARTITION: pa.array(REGIONS[(ids % len(REGIONS)).astype(np.int64)]),
            "amount": pa.array((mix % 1_000_000) / 100.0, pa.float64()),
            "quantity": pa.array((mix % 97).astype(np.int32)),
            "discount": pa.array(((mix % 50) / 100.0).astype(np.float32)),
            "note": pa.array(np.char.add("note v", versions.astype("U8"))),
            "flag": pa.array(mix % 3 == 0),
            "created_at": pa.array(BASE_MICROS + ids * 1_000, pa.timestamp("us", tz="UTC")),
            "score": pa.array((mix % 10_007) / 7.0, pa.float64()),
            "code": pa.array((ids % 1_009).astype(np.int32)),
            "version": pa.array(versions),
            PRECOMBINE: pa.array(BASE_MICROS + versions * 3_600_000_000 + ids % 1_000, pa.timestamp("us", tz="UTC")),
        }
    )


DATA_COLUMNS: tuple[str, ...] = tuple(rows_for(np.array([0]), np.array([0])).column_names)


class Oracle:
    """The expected table: one version per id (-1 when absent)."""

    def __init__(self, capacity: int) -> None:
        self.versions = np.full(capacity, -1, dtype=np.int64)

    def table(self) -> pa.Table:
        ids = np.flatnonzero(self.versions >= 0)
        return rows_for(ids, self.versions[ids])


def write_files(rows: int, staging: Path, seed: int = 7) -> tuple[list[Step], list[dict[str, Any]]]:
    """Write the workload's DMS files under ``staging``; return the steps and the expected digest
    after each."""
    rng = np.random.default_rng(seed)
    steps = steps_for(rows)
    oracle = Oracle(rows + steps[-1].count)
    digests = []
    next_id = rows
    staging.mkdir(parents=True, exist_ok=True)
    for number, step in enumerate(steps):
        live = np.flatnonzero(oracle.versions >= 0)
        if step.kind is StepKind.LOAD:
            ids = np.arange(rows)
            oracle.versions[ids] = 0
            pq.write_table(rows_for(ids, oracle.versions[ids]), staging / step.file_name)
        else:
            if step.kind is StepKind.INSERT:
                ids = np.arange(next_id, next_id + step.count)
                next_id += step.count
            else:
                ids = np.sort(rng.choice(live, size=step.count, replace=False))
            if step.kind is not StepKind.DELETE:
                oracle.versions[ids] = number
            data = rows_for(ids, oracle.versions[ids])
            op = {StepKind.UPDATE: "U", StepKind.DELETE: "D", StepKind.INSERT: "I"}[step.kind]
            pq.write_table(data.add_column(0, OP, pa.array([op] * len(ids))), staging / step.file_name)
            if step.kind is StepKind.DELETE:
                oracle.versions[ids] = -1
        digests.append(digest(oracle.table()))
    return steps, digests


def digest(table: pa.Table) -> dict[str, Any]:
    """Row count, key sum, an order-independent hash of every data column and one of whole rows
    (which also sees values moved between rows, e.g. an update applied to the wrong key).

    Values are compared, not physical types: timestamps as UTC microseconds, floats as doubles,
    integers as int64, so a reader that widens a type still matches; every value must be equal.
    """
    import duckdb

    cols = {}
    for name in DATA_COLUMNS:
        if name not in table.column_names:
            return {"rows": table.num_rows, "missing_column": name}
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        elif pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type):
            col = col.cast(pa.string())
        elif pa.types.is_floating(col.type):
            col = col.cast(pa.float64())  # float32 values compare exactly as doubles
        elif pa.types.is_integer(col.type):
            col = col.cast(pa.int64())
        cols[name] = col
    con = duckdb.connect()
    con.register("norm", pa.table(cols))
    hashes = ", ".join(f'sum(hash("{c}"))::VARCHAR' for c in DATA_COLUMNS)
    whole_rows = "sum(hash(" + ", ".join(f'"{c}"' for c in DATA_COLUMNS) + "))::VARCHAR"
    query = f'SELECT count(*), coalesce(sum("{KEY}"), 0)::BIGINT, {whole_rows}, {hashes} FROM norm'
    row = con.execute(query).fetchone()
    con.close()
    assert row is not None
    return {"rows": int(row[0]), "key_sum": int(row[1]), "row_hash": row[2], "column_hashes": list(row[3:])}
