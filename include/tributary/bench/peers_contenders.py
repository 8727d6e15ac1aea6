"""The systems ``tributary bench peers`` measures, each driven the way its users drive it.

- ``tributary``: the in-process API (``tributary.cdc.apply.apply_pending``) on the DMS files;
- ``tributary_cli``: ``tributary cdc apply`` as a command (process start included);
- ``delta``: delta-rs ``write_deltalake`` for the load, then one ``MERGE`` per CDC file
  (``when_matched_delete`` for ``D``, ``when_matched_update_all`` /
  ``when_not_matched_insert_all`` for the rest);
- ``duckdb``: the floor, a duckdb rewrite of one Parquet file (anti-join plus the new rows).

Each (system, repeat) runs in a child process (``python -m tributary.bench.peers_contenders``)
so peak RSS is that system's alone; times are taken inside it around each step only. The child
reads its table back after every step (untimed) and reports the digest the parent checks.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.bench.peers_workload import KEY, OP, PARTITION, PRECOMBINE, Step, StepKind, digest, steps_for


class System(StrEnum):
    TRIBUTARY = "tributary"
    TRIBUTARY_CLI = "tributary_cli"
    DELTA = "delta"
    DUCKDB = "duckdb"


class Contender(Protocol):
    def apply(self, step: Step, file: Path) -> None: ...

    def read(self) -> pa.Table: ...


class TributaryApi:
    """The one-shot apply through the Python API: the files land in its own staging folder."""

    def __init__(self, root: Path, partitioned: bool) -> None:
        from tributary.cdc.options import CdcOptions

        self.staging, self.target = root / "staging", root / "table"
        self.staging.mkdir(parents=True)
        parts = (PARTITION,) if partitioned else ()
        self.options = CdcOptions("bench", (KEY,), PRECOMBINE, partition_fields=parts)

    def land(self, file: Path) -> None:
        os.link(file, self.staging / file.name)

    def apply(self, step: Step, file: Path) -> None:
        from tributary.cdc.apply import apply_pending

        apply_pending(str(self.staging), str(self.target), self.options)

    def read(self) -> pa.Table:
        import hudi

        batches = hudi.HudiTable(str(self.target)).read()
        return pa.Table.from_batches(batches) if batches else pa.table({})


class TributaryCli(TributaryApi):
    """``tributary cdc apply`` as a user runs it."""

    def command(self) -> list[str]:
        cli = Path(sys.executable).with_name("tributary")
        cmd = [str(cli), "cdc", "apply", "--source", str(self.staging), "--target", str(self.target)]
        cmd += ["--record-key", KEY, "--precombine", PRECOMBINE]
        if self.options.partition_fields:
            cmd += ["--partition-fields", ",".join(self.options.partition_fields)]
        return cmd

    def apply(self, step: Step, file: Path) -> None:
        done = subprocess.run(self.command(), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"tributary cdc apply failed ({done.returncode}): {done.stderr.strip()[-500:]}")


class DeltaMerge:
    """delta-rs: the load as a write, every CDC file as one MERGE on the key."""

    def __init__(self, root: Path, partitioned: bool) -> None:
        self.target = str(root / "delta")
        self.partition_by = [PARTITION] if partitioned else None

    def apply(self, step: Step, file: Path) -> None:
        from deltalake import DeltaTable, write_deltalake

        source = pq.read_table(file)
        if step.kind is StepKind.LOAD:
            write_deltalake(self.target, source, mode="overwrite", partition_by=self.partition_by)
            return
        (
            DeltaTable(self.target)
            .merge(source, f"t.{KEY} = s.{KEY}", source_alias="s", target_alias="t")
            .when_matched_delete(f"s.{OP} = 'D'")
            .when_matched_update_all(predicate=f"s.{OP} <> 'D'", except_cols=[OP])
            .when_not_matched_insert_all(predicate=f"s.{OP} <> 'D'", except_cols=[OP])
            .execute()
        )

    def read(self) -> pa.Table:
        from deltalake import DeltaTable

        return DeltaTable(self.target).to_pyarrow_table()


class DuckdbRewrite:
    """The floor: duckdb rewrites one Parquet file per step (no table format, no index, no log)."""

    def __init__(self, root: Path, partitioned: bool) -> None:
        self.current = root / "floor.parquet"

    def apply(self, step: Step, file: Path) -> None:
        import duckdb

        new = self.current.with_suffix(".next.parquet")
        if step.kind is StepKind.LOAD:
            query = f"SELECT * FROM read_parquet('{file}')"
        else:
            query = (
                f"SELECT c.* FROM read_parquet('{self.current}') c ANTI JOIN read_parquet('{file}') s USING ({KEY}) "
                f"UNION ALL SELECT * EXCLUDE ({OP}) FROM read_parquet('{file}') WHERE {OP} <> 'D'"
            )
        duckdb.sql(f"COPY ({query}) TO '{new}' (FORMAT parquet)")
        new.replace(self.current)

    def read(self) -> pa.Table:
        return pq.read_table(self.current)


def contender(system: System, root: Path, partitioned: bool) -> Contender:
    kinds: dict[System, Any] = {
        System.TRIBUTARY: TributaryApi,
        System.TRIBUTARY_CLI: TributaryCli,
        System.DELTA: DeltaMerge,
        System.DUCKDB: DuckdbRewrite,
    }
    made: Contender = kinds[system](root, partitioned)
    return made


def _peak_rss_mb(system: System) -> float:
    who = resource.RUSAGE_CHILDREN if system is System.TRIBUTARY_CLI else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def run_one(system: System, staging: Path, root: Path, rows: int, partitioned: bool) -> dict[str, Any]:
    """Every step on one system: seconds, peak RSS so far and the digest after each step."""
    root.mkdir(parents=True, exist_ok=True)
    engine = contender(system, root, partitioned)
    out: list[dict[str, Any]] = []
    for step in steps_for(rows):
        file = staging / step.file_name
        if isinstance(engine, TributaryApi):
            engine.land(file)
        start = time.perf_counter()
        engine.apply(step, file)
        seconds = time.perf_counter() - start
        out.append({"step": step.name, "seconds": seconds, "peak_rss_mb": _peak_rss_mb(system)})
        out[-1]["digest"] = digest(engine.read())
    result: dict[str, Any] = {"system": system.value, "steps": out}
    if isinstance(engine, TributaryCli):
        start = time.perf_counter()
        engine.apply(steps_for(rows)[-1], staging)  # nothing new: the no-op command
        result["noop_seconds"] = time.perf_counter() - start
    shutil.rmtree(root, ignore_errors=True)
    return result


def spawn(system: System, staging: Path, root: Path, rows: int, partitioned: bool) -> dict[str, Any]:
    """Run one system in a fresh child process and return what it measured."""
    args = [sys.executable, "-m", "tributary.bench.peers_contenders", system.value, str(staging), str(root)]
    args += [str(rows), "1" if partitioned else "0"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"system": system.value, "error": done.stderr.strip()[-2000:] or f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _main(argv: list[str]) -> int:
    system, staging, root, rows, partitioned = argv
    result = run_one(System(system), Path(staging), Path(root), int(rows), partitioned == "1")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
