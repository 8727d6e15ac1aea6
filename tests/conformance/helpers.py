"""Helpers of the conformance cases: the timeline as file names, an oracle with history, DMS streams.

Independent of ``tributary.hudi``: the timeline is read from the file names Hudi's layout defines
(``.hoodie/<instant>.<action>`` for table version 6, ``.hoodie/timeline/<instant>_<completion>.<action>``
for version 8), and the oracle is :class:`tests.cdc_factory.Oracle` plus what each run wrote.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.cdc_factory import DmsFolder, Oracle, Row, sort_rows

_COMPLETED = re.compile(r"^(\d{17})(?:_(\d{17}))?\.(commit|replacecommit)$")


@dataclass(frozen=True)
class Commit:
    """A completed commit or replacecommit on the active timeline."""

    instant: str
    action: str
    completion: str | None  # table version 8 only


def timeline_dir(path: str | os.PathLike[str], table_version: int) -> Path:
    return Path(path) / ".hoodie" / ("timeline" if table_version == 8 else "")


def active_commits(path: str | os.PathLike[str], table_version: int) -> list[Commit]:
    """Completed commits and replacecommits on the active timeline, oldest first."""
    out = []
    for name in os.listdir(timeline_dir(path, table_version)):
        m = _COMPLETED.match(name)
        if m:
            out.append(Commit(m.group(1), m.group(3), m.group(2)))
    return sorted(out, key=lambda c: c.instant)


def archived_names(path: str | os.PathLike[str], table_version: int) -> list[str]:
    """Files of the archived timeline (v6 ``.hoodie/archived``, v8 ``.hoodie/timeline/history``)."""
    folder = Path(path) / ".hoodie" / ("timeline/history" if table_version == 8 else "archived")
    if not folder.is_dir():
        return []
    # v6 archive files start with a dot (.commits_.archive.1_1-0-1); Hadoop's checksums end in .crc
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.endswith(".crc"))


def incremental_bounds(table_version: int, commits: Sequence[Commit], first: int, last: int) -> tuple[str, str]:
    """Begin/end of an incremental query returning exactly commits[first..last].

    Hudi 0.15 (table version 6) takes instant times, begin exclusive, end inclusive. Hudi 1.0.x
    (table version 8) takes completion times, both inclusive.
    """
    if table_version == 8:
        begin, end = commits[first].completion, commits[last].completion
        assert begin is not None and end is not None
        return begin, end
    begin = commits[first - 1].instant if first > 0 else "000"
    return begin, commits[last].instant


@dataclass
class Snapshot:
    rows: dict[tuple[Any, ...], Row]
    written: set[tuple[Any, ...]]
    """Keys this run wrote (upserted or reloaded; deletes excluded)."""
    columns: tuple[str, ...]


class HistoryOracle(Oracle):
    """:class:`Oracle` that remembers the state and the written keys of every run."""

    def __init__(self, keys: Sequence[str], precombine: str | None, columns: Sequence[str]) -> None:
        super().__init__(keys, precombine)
        self.columns = list(columns)
        self.history: list[Snapshot] = []

    def run(self, files: Sequence[Sequence[Row]], *, reload: bool = False, columns: Sequence[str] = ()) -> None:
        for c in columns:
            if c not in self.columns:
                self.columns.append(c)
        last: dict[tuple[Any, ...], tuple[tuple[Any, ...], str]] = {}
        seq = 0
        for rows in files:
            for row in rows:
                key = tuple(row[k] for k in self.keys)
                rank = (row[self.precombine] if self.precombine else 0, seq)
                if key not in last or rank >= last[key][0]:
                    last[key] = (rank, row.get("Op", "I"))
                seq += 1
        self.apply_run(files, reload=reload)
        written = set(self.state) if reload else {k for k, (_, op) in last.items() if op != "D"}
        state = {k: {c: r.get(c) for c in self.columns} for k, r in self.state.items()}
        self.history.append(Snapshot(state, written, tuple(self.columns)))

    def rows_at(self, run: int, columns: Sequence[str] | None = None) -> list[Row]:
        snap = self.history[run]
        cols = list(columns or snap.columns)
        return sort_rows([{c: r.get(c) for c in cols} for r in snap.rows.values()], self.keys)

    def changed_between(self, first: int, last: int, columns: Sequence[str] | None = None) -> list[Row]:
        """Rows as of run ``last`` whose latest write was by a run in first..last."""
        snap = self.history[last]
        cols = list(columns or snap.columns)
        keys: set[tuple[Any, ...]] = set()
        for run in range(first, last + 1):
            keys |= self.history[run].written
        return sort_rows([{c: snap.rows[k].get(c) for c in cols} for k in keys if k in snap.rows], self.keys)


def table_rows(table: pa.Table, columns: Sequence[str], keys: Sequence[str]) -> list[Row]:
    """A Spark result as sorted plain rows (missing columns read as null)."""
    data = table.to_pylist()
    return sort_rows([{c: r.get(c) for c in columns} for r in data], keys)


def duplicate_keys(table: pa.Table, column: str = "_hoodie_record_key") -> dict[Any, int]:
    counts = Counter(table.column(column).to_pylist())
    return {k: n for k, n in counts.items() if n > 1}


@dataclass
class DmsWriter:
    """A DMS source folder whose files the tests write run by run."""

    folder: DmsFolder
    schema: pa.Schema | None = None
    files: list[Path] = field(default_factory=list)

    def cdc(self, rows: Sequence[Row], schema: pa.Schema | None = None) -> Path:
        path = self.folder.cdc(rows, schema=schema or self.schema)
        self.files.append(path)
        return path

    def load(self, rows: Sequence[Row], schema: pa.Schema | None = None, *, rewrite: bool = False) -> Path:
        path = self.folder.load(rows, schema=schema or _without_op(self.schema), counter=1 if rewrite else None)
        if rewrite:  # a reload rewrites LOAD00000001; DMS's new file is newer than the old one
            stamp = time.time_ns() + 10**9
            os.utime(path, ns=(stamp, stamp))
        self.files.append(path)
        return path


def _without_op(schema: pa.Schema | None) -> pa.Schema | None:
    if schema is None or "Op" not in schema.names:
        return schema
    return schema.remove(schema.get_field_index("Op"))


def parquet_of(rows: Sequence[Row], schema: pa.Schema, path: Path) -> Path:
    """Rows as a parquet file for Spark to write from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path)
    return path
