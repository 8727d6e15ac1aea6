"""File sizing parity: ``target_file_size_bytes``, ``small_file_limit_bytes`` and
``record_size_estimate_bytes`` (or Hudi's spellings) make the same file groups on the embedded
writer and on Hudi's own Spark writer, Hudi 0.15.0 (table version 6) and 1.0.2 (version 8).

The rule both follow (Hudi's ``UpsertPartitioner``, checked in its source): a table without a
commit takes ``record_size_estimate_bytes`` per row, so its first write opens
ceil(rows / (target // estimate)) file groups; later inserts first fill files under the small
file limit (none when it is 0) and then open new file groups. The Spark side is the Glue job
itself (``spark/job.py`` through ``spark-submit``, one process per run and Hudi version, every
table of the case in one batch, as Glue runs it); the local side is ``cdc.apply`` with the same
config row. Bundles come from ``TRIBUTARY_HUDI_BUNDLES`` (missing: the test fails, never skips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cdc_factory import DmsFolder, hudi_snapshot
from tests.integration.spark.hudi_runtime import HUDI_VERSIONS, HudiRuntime, hudi_bundle, job_results, run_job
from tributary.cdc.apply import apply_files
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import CdcFile, list_files
from tributary.config.models import RawTable
from tributary.config.table_options import DEFAULT_RECORD_SIZE_ESTIMATE_BYTES, DEFAULT_TARGET_FILE_SIZE_BYTES
from tributary.processing.processor import cdc_options
from tributary.spark.job import BATCH_VERSION
from tributary.spark.semantics import FileSpec

pytestmark = [pytest.mark.slow]

FIRST_ROWS, LATER_INSERTS = 250, 50
#: Hudi's shuffles kept small on a two-core machine (pass-through keys)
SMALL = {
    "hive_sync": "false",
    **{f"hoodie.{k}.parallelism": "2" for k in ("upsert.shuffle", "insert.shuffle", "simple.index")},
}


@dataclass(frozen=True)
class Case:
    """A table's options on each run and the file groups Hudi's rule gives after each."""

    name: str
    first: dict[str, str]
    later: dict[str, str] | None = None  # None: the table has no second run
    target: int = DEFAULT_TARGET_FILE_SIZE_BYTES
    estimate: int = DEFAULT_RECORD_SIZE_ESTIMATE_BYTES
    packing_later: bool = True

    def expected(self) -> list[int]:
        """File groups after each run, by the documented rule."""
        per_group = self.target // self.estimate
        first = math.ceil(FIRST_ROWS / per_group)
        if self.later is None:
            return [first]
        return [first, first if self.packing_later else first + math.ceil(LATER_INSERTS / per_group)]


CASES = [
    # Hudi's defaults: one file group; later inserts go into the small file
    Case("defaults", {}, later={}),
    # 100 rows per file group: 3 of them
    Case(
        "target_and_estimate",
        {"target_file_size_bytes": "100000", "record_size_estimate_bytes": "1000"},
        None,
        100_000,
        1000,
    ),
    # Hudi's spellings, 200 rows per file group: 2
    Case(
        "hudi_spellings",
        {"hoodie.parquet.max.file.size": "100000", "hoodie.copyonwrite.record.size.estimate": "500"},
        None,
        100_000,
        500,
    ),
    # packing off from the start: the later inserts open a new file group
    Case("packing_off", {"small_file_limit_bytes": "0"}, later={"small_file_limit_bytes": "0"}, packing_later=False),
    # the options are per write: a table created with packing on turns it off on its next run
    Case("packing_off_later", {}, later={"hoodie.parquet.small.file.limit": "0"}, packing_later=False),
]


def _table(case: Case, root: Path, engine: str, version: int, options: dict[str, str]) -> RawTable:
    return RawTable.model_validate(
        {
            "source_schema": "sizing",
            "source_table": case.name,
            "staging_prefix": (root / engine / "staging" / case.name).as_uri(),
            "target_uri": (root / engine / "lake" / case.name).as_uri(),
            "database_name": "raw",
            "table_name": case.name,
            "table_version": version,
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": "hourly",
            "options": {**SMALL, **options},
        }
    )


def _rows(ids: range, op: str | None) -> list[dict[str, Any]]:
    ts = "2026-11-23 10:00:00.000000"
    return [{**({"Op": op} if op else {}), "id": i, "name": f"name-{i:06d}", "ts": ts} for i in ids]


def _write_run(folder: DmsFolder, run: int) -> Path:
    if run == 0:
        return folder.load(_rows(range(FIRST_ROWS), None))
    return folder.cdc(_rows(range(10_000, 10_000 + LATER_INSERTS), "I"))


def _new_files(folder: DmsFolder, written: Path) -> list[CdcFile]:
    return [f for f in list_files(str(folder.root)) if f.path == written.name]


def file_groups(lake: Path) -> int:
    """Distinct file ids of the table's base files (``<file id>_<write token>_<instant>.parquet``)."""
    return len({p.name.split("_")[0] for p in lake.rglob("*.parquet") if ".hoodie" not in p.parts})


def _lake(table: RawTable) -> Path:
    return Path(table.target_uri.removeprefix("file://"))


def _local(tmp_path: Path, version: int) -> dict[str, list[int]]:
    """Each case on the embedded writer: file groups after each run."""
    groups: dict[str, list[int]] = {}
    for case in CASES:
        folder = DmsFolder(tmp_path / "local" / "staging" / case.name)
        runs = [case.first] if case.later is None else [case.first, case.later]
        for run, options in enumerate(runs):
            table = _table(case, tmp_path, "local", version, options)
            files = _new_files(folder, _write_run(folder, run))
            assert apply_files(str(_lake(table)), files, cdc_options(table)).instant is not None
            groups.setdefault(case.name, []).append(file_groups(_lake(table)))
    return groups


def _spark(tmp_path: Path, runtime: HudiRuntime) -> dict[str, list[int]]:
    """Each case on the Glue job (one batch per run, every case a table of it)."""
    groups: dict[str, list[int]] = {}
    folders = {c.name: DmsFolder(tmp_path / "spark" / "staging" / c.name) for c in CASES}
    base: dict[str, str | None] = {}
    checkpoints: dict[str, Checkpoint] = {}
    for run in (0, 1):
        entries, tables = [], {}
        for case in CASES:
            options = case.first if run == 0 else case.later
            if options is None:
                continue
            table = _table(case, tmp_path, "spark", runtime.table_version, options)
            files = _new_files(folders[case.name], _write_run(folders[case.name], run))
            # the checkpoint a later run's commit carries follows the first run's
            checkpoint = checkpoints.get(case.name, Checkpoint()).advance(files, reload=False, keep=512)
            checkpoints[case.name] = checkpoint
            meta = checkpoint.to_metadata(files, reload=False, mode="current")
            specs = [FileSpec(f.uri, f.path, f.kind.value, f.format, f.order_key, f.size, f.mtime_ns) for f in files]
            entries.append(
                {
                    "table_id": table.table_id,
                    "table": table.model_dump(mode="json"),
                    "files": [s.to_dict() for s in specs],
                    "reload": False,
                    "commit_metadata": meta,
                    "base_instant": base.get(case.name),
                }
            )
            tables[table.table_id] = (case.name, table)
        workdir = tmp_path / f"job-{run}"
        code, log = run_job(runtime, {"version": BATCH_VERSION, "tables": entries}, workdir)
        assert code == 0, log[-4000:]
        for table_id, result in job_results(workdir).items():
            assert result["status"] == "completed", result
            name, table = tables[table_id]
            base[name] = result["instant"]
            groups.setdefault(name, []).append(file_groups(_lake(table)))
    return groups


@pytest.mark.parametrize("version", list(HUDI_VERSIONS))
def test_file_sizing_options_give_the_same_file_groups_on_both_engines(tmp_path: Path, version: str) -> None:
    runtime = HudiRuntime(version, hudi_bundle(version))
    expected = {case.name: case.expected() for case in CASES}
    assert _local(tmp_path, runtime.table_version) == expected
    assert _spark(tmp_path, runtime) == expected
    # every row is there, once, on both engines
    for case in CASES:
        rows = FIRST_ROWS + (0 if case.later is None else LATER_INSERTS)
        for engine in ("local", "spark"):
            ids = hudi_snapshot(tmp_path / engine / "lake" / case.name, ["id"]).column("id").to_pylist()
            assert sorted(ids) == list(range(FIRST_ROWS)) + list(range(10_000, 10_000 + rows - FIRST_ROWS))
