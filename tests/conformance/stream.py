"""A generated DMS stream for the embedded → Spark cases: a full load, upserts, deletes, partition
moves, a new column, a full-load reload, then many small commits (cleaning and archival)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from tests.cdc_factory import Row
from tests.conformance.helpers import DmsWriter, HistoryOracle

KEYS = ["id"]
BASE_COLUMNS = ["id", "ts", "region", "name", "amount"]
BASE = pa.schema(
    [
        ("Op", pa.string()),
        ("id", pa.int64()),
        ("ts", pa.int64()),
        ("region", pa.string()),
        ("name", pa.string()),
        ("amount", pa.float64()),
    ]
)
WITH_NOTE = BASE.append(pa.field("note", pa.string()))
REGIONS = ["eu", "us", "apac"]


@dataclass
class Run:
    """One commit's worth of DMS files (``rows`` per file, in order)."""

    files: list[list[Row]]
    schema: pa.Schema
    reload: bool = False
    load: bool = False
    """The first file is a full load (LOAD00000001; rewritten when ``reload``)."""


def _row(rng: random.Random, op: str | None, key: int, ts: int, note: bool, region: str | None = None) -> Row:
    row: Row = {"id": key, "ts": ts, "region": region or rng.choice(REGIONS), "name": f"n{key}-{ts}"}
    row["amount"] = round(rng.uniform(-1000, 1000), 2)
    if note:
        row["note"] = rng.choice([None, "", f"note {key}"])
    return {"Op": op, **row} if op else row


class Stream:
    """Generates the runs and keeps the oracle in step with what was applied."""

    def __init__(self, writer: DmsWriter, seed: int) -> None:
        self.rng = random.Random(seed)
        self.writer = writer
        self.oracle = HistoryOracle(KEYS, "ts", BASE_COLUMNS)
        self.ts = 0
        self.note = False

    def _tick(self) -> int:
        self.ts += 1
        return self.ts

    def opening_runs(self) -> list[Run]:
        """Load, upsert+delete+insert, partition moves, schema growth, reload."""
        rng, ts = self.rng, self._tick()
        runs = [Run([[_row(rng, None, k, ts, False) for k in range(30)]], BASE, load=True)]
        ts = self._tick()
        changes = [_row(rng, "U", k, ts, False) for k in rng.sample(range(30), 5)]
        changes += [_row(rng, "D", k, ts, False) for k in (3, 4, 5)]
        changes += [_row(rng, "I", k, ts, False) for k in range(30, 34)]
        runs.append(Run([changes], BASE))
        ts = self._tick()
        moves = [_row(rng, "U", k, ts, False, region=REGIONS[(k + 1) % 3]) for k in (6, 8, 10, 12, 14, 31)]
        moves += [_row(rng, "D", 7, ts, False), _row(rng, "I", 7, self._tick(), False)]
        runs.append(Run([moves], BASE))
        ts = self._tick()
        grown = [_row(rng, "U", k, ts, True) for k in (1, 2, 9, 11)] + [_row(rng, "I", k, ts, True) for k in (34, 35)]
        runs.append(Run([grown], WITH_NOTE))
        ts = self._tick()
        load = [_row(rng, None, k, ts, True) for k in range(0, 40) if k % 4 != 3]
        tail = [_row(rng, "U", k, self._tick(), True) for k in (0, 8)]
        runs.append(Run([load, tail], WITH_NOTE, reload=True, load=True))
        return runs

    def small_run(self) -> Run:
        rng, ts = self.rng, self._tick()
        rows = [_row(rng, rng.choice("IUUD"), rng.randrange(45), ts, True) for _ in range(3)]
        return Run([rows], WITH_NOTE)

    def write(self, run: Run) -> None:
        """Write the run's files into the DMS folder (the first file of a reload is the new LOAD)."""
        for i, rows in enumerate(run.files):
            if run.load and i == 0:
                self.writer.load(rows, run.schema.remove(0), rewrite=True)
            else:
                self.writer.cdc(rows, run.schema)

    def applied(self, runs: list[Run]) -> None:
        """The oracle's side of one commit that applied ``runs`` (more than one after a kill)."""
        files = [rows for run in runs for rows in run.files]
        self.oracle.run(files, reload=any(r.reload for r in runs), columns=runs[-1].schema.names[1:])


ApplyFn = Callable[[], str | None]
"""Applies every pending file of the DMS folder in one commit; returns the instant."""
