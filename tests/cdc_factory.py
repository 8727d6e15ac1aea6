"""Test helpers for CDC: write DMS-style files, a plain-Python oracle of DMS semantics, and a
hudi-rs snapshot reader. Deliberately independent of ``tributary.cdc``'s code paths."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Row = dict[str, Any]


class DmsFolder:
    """Writes files into a source folder the way DMS names them."""

    def __init__(self, root: Path, *, date_folders: bool = False) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.date_folders = date_folders
        self._load_counter = 0
        self._cdc_counter = 0

    def load(
        self,
        rows: Sequence[Row],
        *,
        fmt: str = "parquet",
        schema: pa.Schema | None = None,
        counter: int | None = None,
        header: bool = True,
    ) -> Path:
        if counter is None:
            self._load_counter += 1
            counter = self._load_counter
        return self._write(self.root / f"LOAD{counter:08X}.{fmt}", rows, fmt, schema, header)

    def cdc(
        self,
        rows: Sequence[Row],
        *,
        fmt: str = "parquet",
        schema: pa.Schema | None = None,
        header: bool = True,
    ) -> Path:
        self._cdc_counter += 1
        n = self._cdc_counter
        folder = self.root / "2026" / "11" / f"{n % 3 + 1:02d}" if self.date_folders else self.root
        # Names sort in creation order; date folders deliberately do not (order is by name).
        return self._write(folder / f"20261123-{n:010d}.{fmt}", rows, fmt, schema, header)

    @staticmethod
    def _write(path: Path, rows: Sequence[Row], fmt: str, schema: pa.Schema | None, header: bool) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            table = pa.Table.from_pylist(list(rows), schema=schema)
            pq.write_table(table, path)
        else:
            columns = list(schema.names) if schema is not None else list(rows[0]) if rows else []
            write_csv(path, rows, columns, header=header)
        return path


def csv_value(value: Any) -> str:
    """DMS CSV text: null is an unquoted empty field, the empty string is ``""``."""
    if value is None:
        return ""
    text = str(value)
    if text == "" or any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(path: Path, rows: Iterable[Row], columns: Sequence[str], *, header: bool) -> None:
    lines = [",".join(columns)] if header else []
    lines += [",".join(csv_value(r.get(c)) for c in columns) for r in rows]
    path.write_text("".join(line + "\n" for line in lines))


class Oracle:
    """DMS current-snapshot semantics in plain Python, one ``apply_run`` per commit."""

    def __init__(self, keys: Sequence[str], precombine: str | None) -> None:
        self.keys = tuple(keys)
        self.precombine = precombine
        self.state: dict[tuple, Row] = {}

    def apply_run(self, files: Sequence[Sequence[Row]], *, reload: bool = False) -> None:
        winners: dict[tuple, tuple[tuple, Row]] = {}
        seq = 0
        for rows in files:
            for row in rows:
                key = tuple(row[k] for k in self.keys)
                rank = (row[self.precombine] if self.precombine else 0, seq)
                if key not in winners or rank >= winners[key][0]:
                    winners[key] = (rank, row)
                seq += 1
        if reload:
            self.state = {}
        for key, (_, row) in winners.items():
            if row.get("Op", "I") == "D":
                self.state.pop(key, None)
            else:
                self.state[key] = {c: v for c, v in row.items() if c != "Op"}

    def snapshot(self, columns: Sequence[str]) -> list[Row]:
        return sort_rows([{c: r.get(c) for c in columns} for r in self.state.values()], self.keys)


def sort_rows(rows: list[Row], keys: Sequence[str]) -> list[Row]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


def hudi_snapshot(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pa.Table:
    """The table as hudi-rs (the official Rust reader) reads it."""
    import hudi

    from tributary.storage import hudi_storage_options

    batches = hudi.HudiTable(str(path), hudi_storage_options(str(path))).read()
    if not batches:
        return pa.table({c: [] for c in columns or []})
    table = pa.Table.from_batches(batches)
    data_cols = [c for c in table.column_names if not c.startswith("_hoodie_")]
    if columns is None:
        return table.select(data_cols)
    # A column added by a commit that rewrote no base file exists in the commit schema only;
    # hudi-rs reads the files' columns, so it reads as all-null here.
    for c in columns:
        if c not in table.column_names:
            table = table.append_column(c, pa.nulls(table.num_rows))
    return table.select(list(columns))


def snapshot_rows(path: str | os.PathLike[str], columns: Sequence[str], keys: Sequence[str]) -> list[Row]:
    return sort_rows(hudi_snapshot(path, columns).to_pylist(), keys)


def completed_commits(path: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """Completed commit-like instants with their metadata (hudi-rs timeline), oldest first."""
    import json

    import hudi

    timeline = hudi.HudiTable(str(path)).get_timeline()
    out = []
    instants = [*timeline.get_completed_commits(), *timeline.get_completed_replacecommits()]
    for inst in sorted(instants, key=lambda i: i.timestamp):
        meta = json.loads(timeline.get_instant_metadata_in_json(inst))
        out.append({"instant": inst.timestamp, "action": inst.action, "extra": meta.get("extraMetadata", {})})
    return out


def table_fingerprint(path: str | os.PathLike[str]) -> tuple[int, list[Row]]:
    """(number of completed commits, snapshot rows): equal before/after means 'unchanged'."""
    if not (Path(path) / ".hoodie").exists():
        return (0, [])
    rows = hudi_snapshot(path).to_pylist()
    return (len(completed_commits(path)), sorted(rows, key=repr))
