"""`tributary bench processor`: many tables with one small CDC file each, processed by
``process_cadence`` in this process; total time, per-table p50/p95, and how each table's time
splits between the CDC engine and the metadata DB (lease, tracker, history, reconcile).

The floor for the engine part is the engine itself; the question this answers is whether one
2-core machine keeps a 10-minute cadence of N tables, and where the time goes when it does not.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from tributary.bench.report import emit
from tributary.processing.outcome import OutcomeStatus

COLUMNS = 10


def _config(n: int) -> dict[str, Any]:
    return {
        "templates": [{"template_id": "cdc_to_hudi", "kind": "cdc_to_hudi"}],
        "refresh_cadences": [{"cadence_id": "bench", "schedule": "*/10 * * * *", "batch_size": 50}],
        "raw_tables": [
            {
                "source_schema": "bench",
                "source_table": f"t{i}",
                "staging_prefix": f"staging/bench/t{i}",
                "target_uri": f"lake/bench/t{i}",
                "database_name": "bench",
                "table_name": f"t{i}",
                "record_key_fields": ["id"],
                "precombine_field": "ts",
                "refresh_cadence": "bench",
                # the bench measures processing; registering thousands of tables needs a catalog
                # (without one, boto3 would try the real AWS Glue endpoint)
                "catalog": "none",
            }
            for i in range(n)
        ],
        "flows": [],
    }


def _cdc_table(changes: int, seed: int) -> pa.Table:
    ids = pa.array(range(seed * changes, (seed + 1) * changes), pa.int64())
    cols: dict[str, pa.Array] = {
        "Op": pa.array(["I"] * changes),
        "id": ids,
        "ts": pa.array([seed] * changes, pa.int64()),
    }
    for c in range(COLUMNS - 2):
        cols[f"c{c}"] = (
            pa.array([float(i * c) for i in range(changes)])
            if c % 2
            else pa.array([f"value-{i}-{c}" for i in range(changes)])
        )
    return pa.table(cols)


def _run_one(label: str, home: Path, n: int, changes: int, db_url: str | None) -> dict[str, Any]:
    from tributary.config.service import apply_paths
    from tributary.metadata import db
    from tributary.processing.batches import process_cadence
    from tributary.settings import get_settings

    home.mkdir(parents=True, exist_ok=True)
    os.environ["TRIBUTARY_HOME"] = str(home)
    if db_url:
        os.environ["TRIBUTARY_DB_URL"] = db_url
    else:
        os.environ.pop("TRIBUTARY_DB_URL", None)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.upgrade()
    cfg = home / "bench.yaml"
    cfg.write_text(yaml.safe_dump(_config(n)))
    apply_paths([cfg])
    data = _cdc_table(changes, 1)
    for i in range(n):
        folder = home / "staging" / "bench" / f"t{i}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, folder / "20261123-0000000001.parquet")

    from tributary.config.service import load_db_config
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata.db import session_scope

    t0 = time.perf_counter()
    config = load_db_config()
    landed = [f for table in config.tables.values() for f in sweep_table_files(table)]
    with session_scope() as s:
        register(s, landed, config.tables.values())
    register_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = process_cadence("bench")
    total = time.perf_counter() - t0
    outcomes = list(result.tables.values())
    failed = [o.table_id for o in outcomes if o.status != OutcomeStatus.COMPLETED]
    per_table = sorted(o.seconds for o in outcomes)
    db_time = sorted(o.seconds - o.engine_seconds for o in outcomes)
    q = statistics.quantiles(per_table, n=20) if len(per_table) >= 2 else per_table * 19
    qd = statistics.quantiles(db_time, n=20) if len(db_time) >= 2 else db_time * 19
    db.get_engine().dispose()
    return {
        "db": label,
        "tables": n,
        "changes_per_table": changes,
        "failed": len(failed),
        "register_seconds": round(register_seconds, 2),
        "total_seconds": round(total, 2),
        "per_table_p50_s": round(statistics.median(per_table), 4),
        "per_table_p95_s": round(q[18], 4),
        "db_per_table_p50_s": round(statistics.median(db_time), 4),
        "db_per_table_p95_s": round(qd[18], 4),
        "engine_share": round(sum(o.engine_seconds for o in outcomes) / max(total, 1e-9), 3),
        "tables_per_10_min": int(n * 600 / max(total, 1e-9)),
        "fits_10_min_cadence_for_3000": n * 600 / max(total, 1e-9) >= 3000,
    }


def run_processor_bench(*, tables: int, changes: int, pg_url: str | None) -> dict[str, Any]:
    saved = {k: os.environ.get(k) for k in ("TRIBUTARY_HOME", "TRIBUTARY_DB_URL")}
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="tributary-bench-") as tmp:
            runs.append(_run_one("sqlite", Path(tmp) / "sqlite", tables, changes, None))
        if pg_url:
            from tributary.bench.chaos import _scratch_postgres

            url, drop = _scratch_postgres(pg_url)
            try:
                with tempfile.TemporaryDirectory(prefix="tributary-bench-") as tmp:
                    runs.append(_run_one("postgresql", Path(tmp) / "pg", tables, changes, url))
            finally:
                drop()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        from tributary.metadata import db
        from tributary.settings import get_settings

        get_settings.cache_clear()
        db.get_engine.cache_clear()
    figures = {"runs": runs}
    rows = [[key, *(r[key] for r in runs)] for key in runs[0] if key != "db"]
    emit(
        "processor",
        f"processor: {tables} tables x {changes} changes, one process",
        ["figure", *(r["db"] for r in runs)],
        rows,
        figures,
    )
    return figures
