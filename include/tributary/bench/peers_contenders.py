"""The systems ``tributary bench peers`` measures, each driven the way its users drive it.

- ``tributary``: the in-process API (``tributary.cdc.apply.apply_pending``) on the DMS files;
- ``tributary_cli``: ``tributary cdc apply`` as a command (process start included);
- ``delta``: delta-rs ``write_deltalake`` for the load, then one ``MERGE`` per CDC file
  (``when_matched_delete`` for ``D``, ``when_matched_update_all`` /
  ``when_not_matched_insert_all`` for the rest);
- ``duckdb``: the floor, a duckdb rewrite of one Parquet file (anti-join plus the new rows).

Every (system, repeat, step) runs in its own child process (``python -m
tributary.bench.peers_contenders``), its table kept on disk between steps, so the peak RSS of a
step is that system's alone (its imports and that step; for the command, the command's process)
and never the checker's. The child imports its library first (untimed), times the step only,
takes the peak RSS, then reads its table back (untimed) and reports the digest the parent checks.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from tributary.bench.peers_rss import vm_hwm_mb
from tributary.bench.peers_workload import KEY, OP, PARTITION, PRECOMBINE, Step, StepKind, digest, steps_for

if TYPE_CHECKING:
    from tributary.cdc.options import CdcOptions

ENGINE_MODULES = (
    "pyarrow.compute",
    "tributary.cdc.apply",
    "tributary.cdc.merge",
    "tributary.cdc.ordering",
    "tributary.cdc.reader",
    "tributary.hudi.table",
    "tributary.hudi.writer",
    "tributary.hudi.maintenance",
)
"""What ``apply_pending`` imports on its first write (its start-up, not the step's work)."""


class System(StrEnum):
    TRIBUTARY = "tributary"
    TRIBUTARY_CLI = "tributary_cli"
    DELTA = "delta"
    DUCKDB = "duckdb"


class Contender(Protocol):
    def warm(self) -> None: ...

    def apply(self, step: Step, file: Path) -> None: ...

    def read(self) -> pa.Table: ...


SIZING_FLAGS = {
    "target_file_size_bytes": "--target-file-size-bytes",
    "small_file_limit_bytes": "--small-file-limit-bytes",
    "record_size_estimate_bytes": "--record-size-estimate-bytes",
}
"""The table's file sizing options a run may set (CdcOptions field -> ``cdc apply`` flag)."""


def bench_options(partitioned: bool, sizing: dict[str, int]) -> CdcOptions:
    """The bench table's CdcOptions with ``sizing`` (CdcError names a bad value)."""
    from tributary.cdc import options as cdc

    target = sizing.get("target_file_size_bytes", cdc.DEFAULT_TARGET_FILE_SIZE_BYTES)
    return cdc.CdcOptions(
        "bench",
        (KEY,),
        PRECOMBINE,
        partition_fields=(PARTITION,) if partitioned else (),
        target_file_size_bytes=target,
        small_file_limit_bytes=sizing.get("small_file_limit_bytes", cdc.small_file_limit_for(target)),
        record_size_estimate_bytes=sizing.get("record_size_estimate_bytes", cdc.DEFAULT_RECORD_SIZE_ESTIMATE_BYTES),
    )


class TributaryApi:
    """The one-shot apply through the Python API: the files land in its own staging folder."""

    def __init__(self, root: Path, partitioned: bool, sizing: dict[str, int] | None = None) -> None:
        self.staging, self.target = root / "staging", root / "table"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.sizing = {k: v for k, v in (sizing or {}).items() if k in SIZING_FLAGS}
        self.options = bench_options(partitioned, self.sizing)

    def warm(self) -> None:
        """The engine's modules, imported before the clock starts (they load on the first write)."""
        for name in ENGINE_MODULES:
            importlib.import_module(name)

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

    measured: dict[str, Any]
    """Wall seconds and peak RSS of the last command (see :mod:`tributary.bench.peers_rss`)."""

    def warm(self) -> None:
        """Nothing: the command's start-up is part of what it costs."""

    def command(self) -> list[str]:
        cli = Path(sys.executable).with_name("tributary")
        cmd = [str(cli), "cdc", "apply", "--source", str(self.staging), "--target", str(self.target)]
        cmd += ["--record-key", KEY, "--precombine", PRECOMBINE]
        if self.options.partition_fields:
            cmd += ["--partition-fields", ",".join(self.options.partition_fields)]
        for field, value in self.sizing.items():
            cmd += [SIZING_FLAGS[field], str(value)]
        return cmd

    def apply(self, step: Step, file: Path) -> None:
        done, self.measured = measured(self.command())
        if self.measured.get("returncode") != 0:
            raise RuntimeError(f"tributary cdc apply failed ({self.measured}): {done.stderr.strip()[-500:]}")


class DeltaMerge:
    """delta-rs: the load as a write, every CDC file as one MERGE on the key."""

    def __init__(self, root: Path, partitioned: bool, sizing: dict[str, int] | None = None) -> None:
        self.target = str(root / "delta")
        self.partition_by = [PARTITION] if partitioned else None

    def warm(self) -> None:
        import deltalake  # noqa: F401

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

    def __init__(self, root: Path, partitioned: bool, sizing: dict[str, int] | None = None) -> None:
        self.current = root / "floor.parquet"

    def warm(self) -> None:
        import duckdb  # noqa: F401

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


def contender(system: System, root: Path, partitioned: bool, sizing: dict[str, int] | None = None) -> Contender:
    kinds: dict[System, Any] = {
        System.TRIBUTARY: TributaryApi,
        System.TRIBUTARY_CLI: TributaryCli,
        System.DELTA: DeltaMerge,
        System.DUCKDB: DuckdbRewrite,
    }
    made: Contender = kinds[system](root, partitioned, sizing)
    return made


def measured(command: list[str]) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``command`` under :mod:`tributary.bench.peers_rss`: its output, then its exit status,
    wall seconds and own peak RSS (none of this process's memory counted)."""
    args = [sys.executable, "-m", "tributary.bench.peers_rss", *command]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    try:
        figures: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        figures = {}
    return done, figures


def peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM`` (its own, where ``ru_maxrss`` would also count the
    memory its parent held when it was started), ``ru_maxrss`` off Linux."""
    return vm_hwm_mb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(
    system: System, index: int, staging: Path, root: Path, rows: int, partitioned: bool, sizing: dict[str, int]
) -> dict[str, Any]:
    """Step ``index`` of the workload on the table ``system`` keeps under ``root`` (the steps
    before it applied by earlier calls): seconds, peak RSS, and the digest of the table after it."""
    root.mkdir(parents=True, exist_ok=True)
    engine = contender(system, root, partitioned, sizing)
    engine.warm()
    step = steps_for(rows)[index]
    file = staging / step.file_name
    if isinstance(engine, TributaryApi):
        engine.land(file)
    start = time.perf_counter()
    engine.apply(step, file)
    seconds, peak = time.perf_counter() - start, peak_rss_mb()
    if isinstance(engine, TributaryCli):  # the command's own figures, not this process's
        seconds, peak = engine.measured["seconds"], engine.measured["peak_rss_mb"]
    return {"step": step.name, "seconds": seconds, "peak_rss_mb": peak, "digest": digest(engine.read())}


def spawn_step(
    system: System, index: int, staging: Path, root: Path, rows: int, partitioned: bool, sizing: dict[str, int]
) -> dict[str, Any]:
    """:func:`run_step` in a fresh child process; ``{"error": ...}`` when it failed."""
    args = [sys.executable, "-m", "tributary.bench.peers_contenders", system.value, str(index), str(staging)]
    args += [str(root), str(rows), "1" if partitioned else "0", json.dumps(sizing)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:] or f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def time_noop(root: Path, partitioned: bool, runs: int, sizing: dict[str, int]) -> dict[str, float]:
    """Median wall seconds and peak RSS of ``tributary cdc apply`` on the command's table when
    every file under its source is applied (each run checked to have applied nothing)."""
    command = TributaryCli(root, partitioned, sizing).command()
    seconds, rss = [], []
    for _ in range(runs):
        done, figures = measured(command)
        if figures.get("returncode") != 0 or " files=0 " not in done.stdout:
            raise RuntimeError(f"no-op cdc apply applied something or failed: {done.stdout}{done.stderr}")
        seconds.append(figures["seconds"])
        rss.append(figures["peak_rss_mb"])
    return {"seconds": statistics.median(seconds), "peak_rss_mb": statistics.median(rss)}


def _main(argv: list[str]) -> int:
    system, index, staging, root, rows, partitioned, sizing = argv
    result = run_step(
        System(system), int(index), Path(staging), Path(root), int(rows), partitioned == "1", json.loads(sizing)
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
