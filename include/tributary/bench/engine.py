"""``tributary bench engine``: the embedded Hudi writer against the pyarrow floor.

Phases on one table of ``rows`` rows x 10 columns: insert, upsert of 1k and 100k existing keys,
delete of 1k keys. The insert is set against pyarrow writing its rows (``write_floor_seconds``,
context only: the goal is rows/s); for each update phase the floor is pyarrow reading and
rewriting exactly the base files the commit touched (the engine's Parquet options and footer
key-values). Then ``tables`` small tables get ``changes`` changes each, one after another.
Prints a rich table, then one JSON line (the last line), and writes ``bench/results/engine.json``.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.hudi import HudiTable, TableOptions, WriteOperation
from tributary.hudi.base_file import ROW_GROUP_SIZE, mostly_distinct, parquet_options
from tributary.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)


def make_rows(ids: list[int] | range, tag: int = 0) -> pa.Table:
    """``len(ids)`` rows x 10 columns of mixed types."""
    n = len(ids)
    ids = pa.array(ids, pa.int64())
    base = 1_700_000_000_000_000
    return pa.table(
        {
            "id": ids,
            "customer": pa.array([f"customer-{i % 50_000:06d}" for i in range(n)]),
            "status": pa.array(["open", "paid", "shipped", "closed"] * (n // 4) + ["open"] * (n % 4)),
            "amount": pa.array([(i % 10_000) / 100 + tag for i in range(n)], pa.float64()),
            "quantity": pa.array([i % 17 for i in range(n)], pa.int32()),
            "discount": pa.array([(i % 7) / 10 for i in range(n)], pa.float32()),
            "note": pa.array([f"note {i % 1000} v{tag}" for i in range(n)]),
            "flag": pa.array([i % 3 == 0 for i in range(n)]),
            "updated_at": pa.array([base + i + tag for i in range(n)], pa.timestamp("us", tz="UTC")),
            "version": pa.array([tag] * n, pa.int64()),
        }
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _touched_old_files(table: HudiTable, root: Path) -> list[Path]:
    """Previous slices of the file groups the latest commit rewrote."""
    commits = table.timeline.completed_commits()
    meta = table.timeline.read_metadata(commits[-1])
    out = []
    for part, stats in (meta.get("partitionToWriteStats") or {}).items():
        for s in stats:
            prev = s.get("prevCommit")
            if prev and prev != "null":
                folder = root / part if part else root
                out += list(folder.glob(f"{s['fileId']}_*_{prev}.parquet"))
    return out


def floor_seconds(files: list[Path], scratch: Path) -> float:
    """pyarrow reading and rewriting ``files``, the least any COW writer must do.

    Written as the engine writes base files: its Parquet options and row group size, and the
    file's footer key-values (record-key range, bloom filter, Avro schema) carried over.
    """
    start = time.perf_counter()
    for i, f in enumerate(files):
        t = pq.read_table(f)
        kv = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}  # the file's footer
        t = t.replace_schema_metadata(None)
        options = parquet_options(t.schema, mostly_distinct(t))
        with pq.ParquetWriter(scratch / f"floor-{i}.parquet", t.schema, **options) as writer:
            writer.write_table(t, row_group_size=ROW_GROUP_SIZE)
            writer.add_key_value_metadata(kv)
    return time.perf_counter() - start


def write_floor_seconds(files: list[Path], scratch: Path) -> float:
    """pyarrow writing the rows of ``files`` (read beforehand, not timed) as the engine writes base
    files: context for the insert, which must at least encode its rows (no bloom filter, keys or
    meta columns to compute)."""
    tables = []
    for f in files:
        t = pq.read_table(f)
        tables.append(
            ({k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}, t.replace_schema_metadata(None))
        )
    start = time.perf_counter()
    for i, (kv, t) in enumerate(tables):
        options = parquet_options(t.schema, mostly_distinct(t))
        with pq.ParquetWriter(scratch / f"insert-floor-{i}.parquet", t.schema, **options) as writer:
            writer.write_table(t, row_group_size=ROW_GROUP_SIZE)
            writer.add_key_value_metadata(kv)
    return time.perf_counter() - start


def run(rows: int = 1_000_000, tables: int = 100, changes: int = 1_000, seed_rows: int = 2_000,
        workdir: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Run every phase; returns the figures."""
    rnd = random.Random(42)
    tmp = Path(tempfile.mkdtemp(prefix="tributary-bench-", dir=workdir))
    scratch = tmp / "floor"
    scratch.mkdir()
    figures: dict[str, Any] = {"rows": rows, "columns": 10}
    try:
        _big_table(tmp / "big", scratch, rows, rnd, figures)
        figures["many_tables"] = _many_tables(tmp, tables, changes, seed_rows, rnd)
        figures["peak_rss_mb"] = _rss_mb()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _big_table(root: Path, scratch: Path, rows: int, rnd: random.Random, figures: dict[str, Any]) -> None:
    """One big table: the bulk insert, then upserts and deletes of a few keys, each against the
    time pyarrow alone takes to write the same files (the floor); adds their figures."""
    table = HudiTable.create(str(root), TableOptions("bench", ("id",), "updated_at"))
    data = make_rows(range(rows))
    start = time.perf_counter()
    r = table.write(data, operation=WriteOperation.INSERT)
    secs = time.perf_counter() - start
    del data
    written = sorted(root.rglob("*.parquet"))
    floor = write_floor_seconds(written, scratch)
    figures["insert"] = {"seconds": secs, "rows_per_s": rows / secs, "files": r.files_written,
                         "bytes": r.bytes_written, "write_floor_seconds": floor,
                         "ratio": secs / floor if floor else None, "peak_rss_mb": _rss_mb()}  # fmt: skip
    for label, n, op in (("upsert_1k", 1_000, "upsert"), ("upsert_100k", 100_000, "upsert"),
                         ("delete_1k", 1_000, "delete")):  # fmt: skip
        n = min(n, rows // 2)
        keys = sorted(rnd.sample(range(rows), n))
        batch = make_rows(keys, tag=len(figures))
        start = time.perf_counter()
        if op == "upsert":
            r = table.write(batch)
        else:
            r = table.write(deletes=batch.select(["id"]), operation=WriteOperation.DELETE)
        secs = time.perf_counter() - start
        touched = _touched_old_files(table, root)
        floor = floor_seconds(touched, scratch)
        figures[label] = {"seconds": secs, "floor_seconds": floor, "ratio": secs / floor if floor else None,
                          "keys": n, "updated": r.updated, "deleted": r.deleted, "files_touched": len(touched),
                          "peak_rss_mb": _rss_mb()}  # fmt: skip
    figures["pyarrow_pool_max_mb"] = pa.default_memory_pool().max_memory() / 2**20 if hasattr(
        pa.default_memory_pool(), "max_memory") else None  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)


def _many_tables(tmp: Path, tables: int, changes: int, seed_rows: int, rnd: random.Random) -> dict[str, Any]:
    """Many small tables, one after another: each seeded, then one change batch (80% updates,
    10% deletes, the rest inserts) timed per table."""
    seeds = []
    for i in range(tables):
        t = HudiTable.create(str(tmp / f"small-{i}"), TableOptions(f"small_{i}", ("id",), "updated_at"))
        t.write(make_rows(range(seed_rows)), operation=WriteOperation.INSERT)
        seeds.append(t)
    n_upd, n_del = int(changes * 0.8), changes // 10
    n_ins = changes - n_upd - n_del
    start = time.perf_counter()
    for t in seeds:
        upd = rnd.sample(range(seed_rows), n_upd + n_del)
        ups = make_rows(sorted(upd[:n_upd]) + list(range(seed_rows, seed_rows + n_ins)), tag=1)
        dels = make_rows(sorted(upd[n_upd:])).select(["id"])
        t.write(ups, deletes=dels, extra_metadata={"tributary.checkpoint": "bench"})
    secs = time.perf_counter() - start
    return {"tables": tables, "changes_per_table": changes, "seconds": secs, "seconds_per_table": secs / max(1, tables)}


def report(figures: dict[str, Any], results_dir: Path | None = None) -> Path:
    """Print the rich table and the JSON line; write ``engine.json``."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    tab = Table(title=f"Embedded Hudi writer, {figures['rows']:,} rows x 10 columns")
    for col in ("phase", "seconds", "floor s", "engine/floor", "rate / detail", "peak RSS MB"):
        tab.add_column(col)
    ins = figures["insert"]
    tab.add_row("insert", f"{ins['seconds']:.2f}", f"{ins['write_floor_seconds']:.2f}", f"{ins['ratio']:.2f}x",
                f"{ins['rows_per_s']:,.0f} rows/s ({ins['files']} files)", f"{ins['peak_rss_mb']:.0f}")  # fmt: skip
    for label in ("upsert_1k", "upsert_100k", "delete_1k"):
        f = figures[label]
        ratio = f"{f['ratio']:.2f}x" if f["ratio"] else "n/a"
        tab.add_row(label, f"{f['seconds']:.2f}", f"{f['floor_seconds']:.2f}", ratio,
                    f"{f['files_touched']} files touched", f"{f['peak_rss_mb']:.0f}")  # fmt: skip
    m = figures["many_tables"]
    tab.add_row(f"{m['tables']} tables x {m['changes_per_table']} changes", f"{m['seconds']:.2f}", "", "",
                f"{m['seconds_per_table'] * 1000:.0f} ms/table", "")  # fmt: skip
    console.print(tab)
    doc = {"bench": "engine", "at": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": {"python": platform.python_version(), "pyarrow": pa.__version__}, **figures}  # fmt: skip
    out_dir = results_dir or PROJECT_ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "engine.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, separators=(",", ":")))
    return path
