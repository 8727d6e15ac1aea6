"""`tributary bench chaos`: SIGKILL the processor at random points and race workers, then prove
that nothing was lost and nothing applied twice.

Each trial lands new CDC files for a few tables (random inserts, updates and deletes on a small
key space, so keys are deleted and re-inserted), forks a worker that processes the cadence and
kills it — at a named crash point (see :mod:`tributary.faults`) or after a random delay, which
also lands in heartbeats and DB calls — then lets a fresh worker recover once the dead worker's
lease expired. After every trial it checks, per table:

- the Hudi snapshot read by hudi-rs equals a plain-Python oracle of DMS semantics;
- every registered file is applied (lost = files the table's checkpoint does not hold);
- no file was applied twice (duplicated = the checkpoint's cumulative file count minus the
  distinct files applied; a file applied twice counts twice there);
- every file is marked processed in the tracker.

Besides, files arrive as they do in life (see :mod:`tributary.bench.arrivals`): every file is
registered again each trial (duplicates), some are touched, some land late (sorting among files
applied trials before, with older changes), a second full-load file may come after the CDC
files that deleted its rows, and applied CDC files are re-uploaded with other content, which
must be refused (quarantined, then skipped as an operator would), never applied.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from tributary.bench.arrivals import Arrivals, skip_refused
from tributary.faults import POINTS
from tributary.processing.outcome import OutcomeStatus

log = logging.getLogger(__name__)
KEYS = 30


@dataclass
class ChaosStats:
    trials: int = 0
    kills: int = 0
    crash_points: dict[str, int] = field(default_factory=dict)
    files: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched_tables: int = 0
    unmarked: int = 0
    recovery_runs: int = 0
    races: int = 0
    seconds: float = 0.0
    late: int = 0
    touched: int = 0
    reuploads: int = 0
    refused: int = 0
    reapplied: int = 0


def _config(n_tables: int) -> dict[str, Any]:
    return {
        "templates": [{"template_id": "cdc_to_hudi", "kind": "cdc_to_hudi"}],
        "refresh_cadences": [{"cadence_id": "chaos", "schedule": "*/10 * * * *", "batch_size": n_tables}],
        "raw_tables": [
            {
                "source_schema": "chaos",
                "source_table": f"t{i}",
                "staging_prefix": f"staging/chaos/t{i}",
                "target_uri": f"lake/chaos/t{i}",
                "database_name": "chaos",
                "table_name": f"t{i}",
                "record_key_fields": ["id"],
                "precombine_field": "ts",
                "refresh_cadence": "chaos",
            }
            for i in range(n_tables)
        ],
        "flows": [],
    }


class ChaosRun:
    def __init__(self, workdir: Path, n_tables: int, seed: int, db_url: str | None) -> None:
        self.workdir = workdir
        self.n_tables = n_tables
        self.rng = random.Random(seed)
        self.db_url = db_url
        self.arrivals = Arrivals(workdir, n_tables, self.rng)
        self.cdc_counter = 0
        self.ts = 0
        self.stats = ChaosStats()

    # -- setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        os.environ["TRIBUTARY_HOME"] = str(self.workdir)
        os.environ["TRIBUTARY_LEASE_TTL"] = "1"
        os.environ.pop("TRIBUTARY_SNAPSHOT", None)
        if self.db_url:
            os.environ["TRIBUTARY_DB_URL"] = self.db_url
        else:
            os.environ.pop("TRIBUTARY_DB_URL", None)
        self._reset_caches()
        from tributary.config.service import apply_paths
        from tributary.metadata import db

        db.upgrade()
        path = self.workdir / "chaos.yaml"
        path.write_text(yaml.safe_dump(_config(self.n_tables)))
        apply_paths([path])

    @staticmethod
    def _reset_caches() -> None:
        from tributary.metadata import db
        from tributary.settings import get_settings

        get_settings.cache_clear()
        db.get_engine.cache_clear()

    # -- data ----------------------------------------------------------------------------------

    def _random_rows(self, n: int, *, load: bool) -> list[dict[str, Any]]:
        rows = []
        for _ in range(n):
            self.ts += self.rng.choice((1, 1, 2))  # unique: late files cannot tie with what they missed
            op = "I" if load else self.rng.choice("IUUD")
            key = self.rng.randrange(KEYS)
            row = {
                "id": key,
                "ts": self.ts,
                "amount": round(self.rng.uniform(0, 100), 2),
                "note": self.rng.choice(["a", "b", None, 'ü,"q"']),
            }
            rows.append(row if load else {"Op": op, **row})
        return rows

    def land_files(self, first: bool) -> int:
        trial = self.stats.trials
        for i in range(self.n_tables):
            if first:
                self.arrivals.land(
                    i, "LOAD00000001.parquet", self._random_rows(KEYS, load=True), trial=0, may_be_late=False
                )
                self.arrivals.land(
                    i, "LOAD00000002.parquet", self._random_rows(5, load=True), trial=0, may_be_late=True
                )
            for _ in range(self.rng.randint(1 if first else 0, 2)):
                self.cdc_counter += 1
                rows = self._random_rows(self.rng.randint(1, 12), load=False)
                self.arrivals.land(i, f"20261123-{self.cdc_counter:010d}.parquet", rows, trial=trial, may_be_late=True)
        self.arrivals.release(trial)
        if not first and self.rng.random() < 0.3:
            self.arrivals.touch_one()
        if not first and self.rng.random() < 0.25:
            self.arrivals.reupload_one(self._applied_uris())
        from tributary.config.service import load_db_config
        from tributary.files.registry import register, sweep_table_files
        from tributary.metadata.db import session_scope

        config = load_db_config()
        landed = [f for table in config.tables.values() for f in sweep_table_files(table)]
        with session_scope() as s:
            register(s, landed, config.tables.values())
        return len(landed)

    @staticmethod
    def _applied_uris() -> list[str]:
        from sqlalchemy import select

        from tributary.metadata.db import session_scope
        from tributary.metadata.models import CdcFileRow, FileStatus

        with session_scope() as s:
            return list(s.scalars(select(CdcFileRow.uri).where(CdcFileRow.status == FileStatus.PROCESSED)))

    # -- workers -------------------------------------------------------------------------------

    def _fork_worker(self, crash_at: str | None) -> int:
        from tributary.metadata import db

        db.get_engine().dispose()
        pid = os.fork()
        if pid == 0:  # child: a worker that may die anywhere
            code = 0
            try:
                if crash_at:
                    os.environ["TRIBUTARY_CRASH_AT"] = crash_at
                self._reset_caches()
                from tributary.processing.batches import process_cadence

                process_cadence("chaos", max_files=self.rng.choice((1, 2, 500)))
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        return pid

    def trial(self) -> None:
        self.land_files(first=self.stats.trials == 0)
        mode = self.rng.choice([*POINTS, "random_delay", "random_delay", "race"])
        self.stats.crash_points[mode] = self.stats.crash_points.get(mode, 0) + 1
        if mode == "race":
            pids = [self._fork_worker(None) for _ in range(3)]
            victim = self.rng.choice(pids)
            time.sleep(self.rng.uniform(0, 0.4))
            self._kill(victim)
            for pid in pids:
                os.waitpid(pid, 0)
            self.stats.races += 1
        elif mode == "random_delay":
            pid = self._fork_worker(None)
            time.sleep(self.rng.uniform(0, 0.6))
            self._kill(pid)
            os.waitpid(pid, 0)
        else:
            pid = self._fork_worker(mode)
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                self.stats.kills += 1
        self._reset_caches()
        self.recover()
        self.verify()
        self.stats.trials += 1

    def _kill(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
            self.stats.kills += 1
        except ProcessLookupError:
            pass

    def recover(self) -> None:
        from tributary.processing.batches import process_cadence

        for _ in range(100):
            self.stats.recovery_runs += 1
            result = process_cadence("chaos")
            statuses = {o.status for o in result.tables.values()}
            if skip_refused(self.arrivals):
                continue  # the operator skipped a refused re-upload: run again
            if statuses <= {OutcomeStatus.IDLE}:
                return
            if OutcomeStatus.BUSY in statuses:
                time.sleep(0.3)  # a dead worker's lease: wait for it to expire
        raise RuntimeError("recovery did not converge in 100 runs")

    # -- checks --------------------------------------------------------------------------------

    def verify(self) -> None:
        import hudi
        from sqlalchemy import func, select

        from tributary.cdc.apply import read_checkpoint
        from tributary.files.registry import as_cdc_file
        from tributary.hudi import HudiTable
        from tributary.metadata.db import session_scope
        from tributary.metadata.models import CdcFileRow, FileStatus

        with session_scope() as s:
            tracked = [
                r
                for r in s.scalars(select(CdcFileRow).where(CdcFileRow.table_id.is_not(None)))
                if r.status != FileStatus.SKIPPED  # refused re-uploads, skipped by the operator
            ]
            self.stats.unmarked = int(
                s.scalar(
                    select(func.count())
                    .select_from(CdcFileRow)
                    .where(CdcFileRow.status.not_in((FileStatus.PROCESSED, FileStatus.SKIPPED)))
                )
                or 0
            )
        self.stats.files = len(tracked)
        lost = duplicated = mismatched = reapplied = 0
        for i in range(self.n_tables):
            target = str(self.workdir / "lake" / "chaos" / f"t{i}")
            files = [as_cdc_file(r) for r in tracked if r.table_id == f"chaos.t{i}"]
            checkpoint = read_checkpoint(HudiTable.open(target))
            applied = [f for f in files if checkpoint.is_applied(f)]
            lost += len(files) - len(applied)
            duplicated += max(0, checkpoint.files_total - len(applied))
            batches = hudi.HudiTable(target).read()
            got: list[tuple[Any, ...]] = []
            if batches:
                t = pa.Table.from_batches(batches)
                got = sorted(zip(*(t.column(c).to_pylist() for c in ("id", "ts", "amount", "note")), strict=True))
            reapplied += sum(1 for row in got if row[0] >= 10_000)
            if got != self.arrivals.expected(i):
                mismatched += 1
                log.error("table chaos.t%d differs from the oracle after trial %d", i, self.stats.trials)
        self.stats.lost, self.stats.duplicated = lost, duplicated
        self.stats.mismatched_tables += mismatched
        a = self.arrivals.stats
        self.stats.reapplied = reapplied
        self.stats.late, self.stats.touched, self.stats.reuploads, self.stats.refused = (
            a.late,
            a.touched,
            a.reuploads,
            a.refused,
        )


def run_chaos(
    trials: int, *, tables: int = 3, seed: int = 7, db_url: str | None = None, workdir: Path | None = None
) -> ChaosStats:
    """Run ``trials`` crash/race trials; restores the caller's environment afterwards."""
    saved = {
        k: os.environ.get(k)
        for k in (
            "TRIBUTARY_HOME",
            "TRIBUTARY_DB_URL",
            "TRIBUTARY_LEASE_TTL",
            "TRIBUTARY_SNAPSHOT",
            "TRIBUTARY_CRASH_AT",
        )
    }
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="tributary-chaos-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    scratch_db = _scratch_postgres(db_url) if db_url and db_url.startswith("postgres") else None
    run = ChaosRun(workdir, tables, seed, scratch_db[0] if scratch_db else db_url)
    try:
        run.setup()
        for _ in range(trials):
            run.trial()
    finally:
        if scratch_db:
            from tributary.metadata import db

            db.get_engine(scratch_db[0]).dispose()
            scratch_db[1]()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        ChaosRun._reset_caches()
        if tmp is not None:
            tmp.cleanup()
    run.stats.seconds = time.perf_counter() - start
    return run.stats


def _scratch_postgres(server_url: str) -> tuple[str, Any]:
    """A new, empty database on the given PostgreSQL server, and a function that drops it."""
    import uuid

    import psycopg

    name = f"tributary_chaos_{uuid.uuid4().hex[:10]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = plain.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop
