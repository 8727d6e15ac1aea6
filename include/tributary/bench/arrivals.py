"""What lands in the chaos bench besides well-behaved files: duplicates (touched files, every
file listed and registered again each trial), late files (held back for a few trials, so that
they sort among files applied long before, with older changes) and re-uploads with new content
under the name of an applied file (which must be refused and quarantined, then skipped by the
operator, never applied).

The oracle is independent of ``tributary.cdc``: per key, the change with the greatest precombine
value over every valid file landed so far wins (values are unique, so arrival order cannot
matter); a ``D`` removes the row.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([("id", pa.int64()), ("ts", pa.int64()), ("amount", pa.float64()), ("note", pa.string())])
CDC_SCHEMA = pa.schema([("Op", pa.string()), *SCHEMA])


@dataclass
class Held:
    due: int
    path: Path
    table: int
    rows: list[dict[str, Any]]


@dataclass
class ArrivalStats:
    late: int = 0
    touched: int = 0
    reuploads: int = 0
    refused: int = 0
    reapplied: int = 0


@dataclass
class Arrivals:
    """Lands files for ``n_tables`` tables under ``root`` and keeps the oracle."""

    root: Path
    n_tables: int
    rng: random.Random
    changes: list[list[dict[str, Any]]] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    reuploaded: set[str] = field(default_factory=set)
    stats: ArrivalStats = field(default_factory=ArrivalStats)

    def __post_init__(self) -> None:
        self.changes = [[] for _ in range(self.n_tables)]

    def folder(self, table: int) -> Path:
        path = self.root / "staging" / "chaos" / f"t{table}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def land(self, table: int, name: str, rows: list[dict[str, Any]], *, trial: int, may_be_late: bool) -> None:
        """Write a file now, or hold it back for 1 to 3 trials (a late arrival)."""
        path = self.folder(table) / name
        if may_be_late and self.rng.random() < 0.2:
            self.held.append(Held(trial + self.rng.randint(1, 3), path, table, rows))
            return
        self._write(path, table, rows)

    def _write(self, path: Path, table: int, rows: list[dict[str, Any]]) -> None:
        schema = SCHEMA if path.name.startswith("LOAD") else CDC_SCHEMA
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        self.changes[table].extend(rows)

    def release(self, trial: int) -> None:
        """Land the held files that are due (and all of them when ``trial`` < 0)."""
        for item in [h for h in self.held if trial < 0 or h.due <= trial]:
            self.held.remove(item)
            self._write(item.path, item.table, item.rows)
            self.stats.late += 1

    def touch_one(self) -> None:
        """The same content with a new mtime: registering it again must change nothing."""
        files = sorted(p for t in range(self.n_tables) for p in self.folder(t).iterdir() if p.suffix == ".parquet")
        if files:
            later = time.time_ns() + 10**9
            os.utime(self.rng.choice(files), ns=(later, later))
            self.stats.touched += 1

    def reupload_one(self, applied: list[str]) -> None:
        """Overwrite an applied CDC file with other content (not part of the oracle)."""
        candidates = sorted(u for u in applied if not Path(u).name.startswith("LOAD") and u not in self.reuploaded)
        if not candidates:
            return
        uri = self.rng.choice(candidates)
        bogus = [{"Op": "I", "id": 10_000 + self.stats.reuploads, "ts": 10**12, "amount": 0.0, "note": "re-upload"}]
        pq.write_table(pa.Table.from_pylist(bogus, schema=CDC_SCHEMA), uri.removeprefix("file://"))
        self.reuploaded.add(uri)
        self.stats.reuploads += 1

    def expected(self, table: int) -> list[tuple[Any, ...]]:
        best: dict[int, dict[str, Any]] = {}
        for row in self.changes[table]:
            if row["id"] not in best or row["ts"] > best[row["id"]]["ts"]:
                best[row["id"]] = row
        return sorted((r["id"], r["ts"], r["amount"], r["note"]) for r in best.values() if r.get("Op", "I") != "D")


def skip_refused(arrivals: Arrivals) -> int:
    """Skip (as an operator would) the quarantined re-uploads; count re-uploads that were applied."""
    from sqlalchemy import select

    from tributary.files.registry import operator_action
    from tributary.metadata.db import session_scope
    from tributary.metadata.models import CdcFileRow, FileStatus

    skipped = 0
    with session_scope() as s:
        rows = s.scalars(select(CdcFileRow).where(CdcFileRow.status == FileStatus.QUARANTINED))
        for row in list(rows):
            if row.uri in arrivals.reuploaded and "re-uploaded with other content" in (row.reason or ""):
                operator_action(s, row.file_id, "skip", "chaos-bench")
                arrivals.stats.refused += 1
                skipped += 1
    return skipped
