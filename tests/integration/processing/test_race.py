"""8 worker processes race over the same 20 tables and 200 files on a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, Oracle, snapshot_rows
from tributary.cdc.checkpoint import Checkpoint
from tributary.config.service import load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.hudi import HudiTable
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow, ProcessingRunRow

WORKER = """
import json, sys, time
from tributary.processing.batches import process_cadence
busy = completed = failed = 0
idle_rounds = 0
while idle_rounds < 3:
    result = process_cadence("fast", max_files=2)
    statuses = [o.status for o in result.tables.values()]
    busy += statuses.count("busy"); completed += statuses.count("completed"); failed += statuses.count("failed")
    idle_rounds = idle_rounds + 1 if set(statuses) <= {"idle"} else 0
    if "busy" in statuses:
        time.sleep(0.05)
print(json.dumps({"busy": busy, "completed": completed, "failed": failed}))
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_workers_race_over_twenty_tables(pg_configure: Callable[..., Path]) -> None:
    home = pg_configure(20, batch_size=20)
    oracles: dict[int, Oracle] = {}
    for t in range(1, 21):
        folder = DmsFolder(home / f"staging/shop/t{t}")
        oracle = Oracle(["id"], "ts")
        load = [{"id": i, "ts": 1, "amount": float(i), "region": "eu"} for i in range(30)]
        folder.load(load)
        files = [load]
        for f in range(9):
            changes = [
                {
                    "Op": "UDI"[(i + f) % 3],
                    "id": (i * 7 + f * 3) % 40,
                    "ts": 10 + f,
                    "amount": f * 100.0 + i,
                    "region": "us",
                }
                for i in range(6)
            ]
            folder.cdc(changes)
            files.append(changes)
        oracle.apply_run(files)
        oracles[t] = oracle
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())

    env = {**os.environ, "TRIBUTARY_LEASE_TTL": "10"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["failed"] for r in reports) == 0
    assert sum(r["busy"] for r in reports) > 0, "the workers never contended for a table"

    with session_scope() as s:
        files = list(s.scalars(select(CdcFileRow)))
        runs = list(s.scalars(select(ProcessingRunRow)))
    assert len(files) == 200 and {f.status for f in files} == {"processed"}
    assert {r.status for r in runs} == {"completed"}
    # every file was applied by exactly one completed run
    applied_by_runs = sorted(uri for r in runs if r.commit_instant for uri in r.files)
    assert applied_by_runs == sorted(f.uri for f in files)
    for t, oracle in oracles.items():
        target = home / f"lake/shop/t{t}"
        checkpoint = Checkpoint.from_metadata(HudiTable.open(str(target)).latest_extra_metadata())
        assert checkpoint.files_total == 10, f"t{t}: {checkpoint.files_total} file applications"
        assert snapshot_rows(target, ["id", "ts", "amount", "region"], ["id"]) == oracle.snapshot(
            ["id", "ts", "amount", "region"]
        )
