"""Embedded writer → Spark: tables written by `tributary cdc apply` and by the processor, read by
Hudi's own Java code (snapshot, time travel to every retained commit, incremental), compared with
an independent oracle. A killed write is rolled back; many commits clean and archive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.cdc_factory import DmsFolder
from tests.conformance.conftest import Version
from tests.conformance.helpers import (
    DmsWriter,
    active_commits,
    archived_names,
    incremental_bounds,
    parquet_of,
    table_rows,
    timeline_dir,
)
from tests.conformance.spark_peer import SparkPeer
from tests.conformance.stream import BASE, KEYS, Run, Stream
from tributary.cli.main import main

RETAINED = 10  # the embedded writer's clean_retain_commits: time travel must work to these
KILL_DRIVER = """
import os, signal, sys
from tributary.cdc import CdcOptions, apply_pending
opts = CdcOptions(sys.argv[3], ("id",), "ts", partition_fields=("region",), table_version=int(sys.argv[4]))
apply_pending(sys.argv[1], sys.argv[2], opts, before_complete=lambda: os.kill(os.getpid(), signal.SIGKILL))
"""


def _assert_snapshot(spark: SparkPeer, target: Path, stream: Stream, run: int = -1, as_of: str | None = None) -> None:
    columns = list(stream.oracle.history[run].columns)
    got = table_rows(spark.read(target, as_of=as_of), columns, KEYS)
    assert got == stream.oracle.rows_at(run), f"Spark read (as of {as_of or 'latest'}) differs from the oracle"


def _assert_incremental(spark: SparkPeer, target: Path, stream: Stream, tv: int, first: int, last: int) -> None:
    """Runs and commits correspond one to one here (nothing archived yet)."""
    commits = active_commits(target, tv)
    begin, end = incremental_bounds(tv, commits, first, last)
    columns = list(stream.oracle.history[last].columns)
    got = table_rows(spark.read_incremental(target, begin, end), columns, KEYS)
    assert got == stream.oracle.changed_between(first, last), f"incremental ({begin}, {end}] of runs {first}..{last}"


def _run_stream(
    spark: SparkPeer, target: Path, stream: Stream, tv: int, apply: Callable[[], str], small_runs: int
) -> list[str]:
    """Opening runs with a Spark check after each, incremental checks, then ``small_runs`` commits.
    Returns the instant of each run."""
    instants = []
    for run in stream.opening_runs():
        stream.write(run)
        instants.append(apply())
        stream.applied([run])
        _assert_snapshot(spark, target, stream)
    assert [c.instant for c in active_commits(target, tv)] == instants
    _assert_incremental(spark, target, stream, tv, 1, 1)
    _assert_incremental(spark, target, stream, tv, 1, 3)
    _assert_incremental(spark, target, stream, tv, 4, 4)  # the reload rewrote every row
    for _ in range(small_runs):
        run = stream.small_run()
        stream.write(run)
        instants.append(apply())
        stream.applied([run])
    return instants


def _assert_final(spark: SparkPeer, target: Path, stream: Stream, tv: int, instants: list[str]) -> None:
    _assert_snapshot(spark, target, stream)
    commits = active_commits(target, tv)
    retained = commits[-RETAINED:]
    assert len(retained) == RETAINED
    for commit in retained:
        _assert_snapshot(spark, target, stream, run=instants.index(commit.instant), as_of=commit.instant)
    first, last = instants.index(retained[2].instant), instants.index(retained[5].instant)
    begin, end = incremental_bounds(tv, commits, len(commits) - RETAINED + 2, len(commits) - RETAINED + 5)
    got = table_rows(spark.read_incremental(target, begin, end), list(stream.oracle.columns), KEYS)
    assert got == stream.oracle.changed_between(first, last)


def _kill_a_write(src: Path, target: Path, name: str, tv: int) -> str:
    """Apply in a child process that SIGKILLs itself after writing data files, before completing."""
    before = set(os.listdir(timeline_dir(target, tv)))
    proc = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, str(src), str(target), name, str(tv)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    new = {n.split(".")[0].split("_")[0] for n in set(os.listdir(timeline_dir(target, tv))) - before}
    assert len(new) == 1, f"the killed write left {sorted(new)} on the timeline"
    return new.pop()


def _data_files_of(target: Path, instant: str) -> list[str]:
    return [str(p) for p in target.rglob(f"*_{instant}.parquet")]


def test_cli_stream_reads_in_spark(
    tmp_path: Path, spark: SparkPeer, version: Version, capsys: pytest.CaptureFixture[str]
) -> None:
    tv, target = version.table_version, tmp_path / "lake" / "emb_cli"
    dms = DmsFolder(tmp_path / "src")
    stream = Stream(DmsWriter(dms), seed=tv)
    args = ["cdc", "apply", "--source", str(dms.root), "--target", str(target), "--record-key", "id"]
    args += ["--precombine", "ts", "--partition-fields", "region", "--table-version", str(tv)]

    def apply() -> str:
        code = main(args)
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        return active_commits(target, tv)[-1].instant

    instants = _run_stream(spark, target, stream, tv, apply, small_runs=0)
    # a killed write: Spark ignores it; the next apply rolls it back and applies its files once
    killed = stream.small_run()
    stream.write(killed)
    killed_instant = _kill_a_write(dms.root, target, "emb_cli", tv)
    assert _data_files_of(target, killed_instant), "the killed write should have left data files"
    _assert_snapshot(spark, target, stream)
    follow = stream.small_run()
    stream.write(follow)
    instants.append(apply())
    stream.applied([killed, follow])
    assert _data_files_of(target, killed_instant) == []
    _assert_snapshot(spark, target, stream)
    for _ in range(28):
        run = stream.small_run()
        stream.write(run)
        instants.append(apply())
        stream.applied([run])
    assert archived_names(target, tv), "35 commits should have archived some"
    _assert_final(spark, target, stream, tv, instants)


def test_spark_rolls_back_a_killed_embedded_write(tmp_path: Path, spark: SparkPeer, version: Version) -> None:
    """Spark, the next writer after our crashed write, rolls it back: its data files are deleted
    (Hudi finds them through the write's marker files)."""
    tv, target = version.table_version, tmp_path / "lake" / "emb_kill"
    dms = DmsFolder(tmp_path / "src")
    stream = Stream(DmsWriter(dms), seed=tv + 100)
    first = stream.opening_runs()[0]
    stream.write(first)
    args = ["cdc", "apply", "--source", str(dms.root), "--target", str(target), "--record-key", "id"]
    assert main([*args, "--precombine", "ts", "--partition-fields", "region", "--table-version", str(tv)]) == 0
    stream.applied([first])
    killed = Run([[{**r, "Op": "U", "ts": 99, "name": "killed"} for r in first.files[0][:5]]], first.schema)
    stream.write(killed)
    killed_instant = _kill_a_write(dms.root, target, "emb_kill", tv)
    assert _data_files_of(target, killed_instant)
    spark.write(target, _one_row_parquet(tmp_path, stream), _spark_options(tv), mode="append")
    assert _data_files_of(target, killed_instant) == [], "Spark's rollback left the killed write's files"
    assert not [n for n in os.listdir(timeline_dir(target, tv)) if n.startswith(killed_instant)]


def _one_row_parquet(tmp_path: Path, stream: Stream) -> Path:
    row = {**next(iter(stream.oracle.state.values())), "name": "from spark", "ts": 50}
    return parquet_of([row], BASE.remove(0), tmp_path / "spark_in" / "one.parquet")


def _spark_options(tv: int) -> dict[str, str]:
    return {
        "hoodie.table.name": "emb_kill",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "ts",
        "hoodie.datasource.write.partitionpath.field": "region",
        "hoodie.datasource.write.hive_style_partitioning": "true",
        "hoodie.datasource.write.operation": "upsert",
        "hoodie.metadata.enable": "false",
    }


# --- the processor -------------------------------------------------------------------------


@pytest.fixture
def processor_home(tributary_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from tributary.metadata import db
    from tributary.settings import get_settings

    url = f"sqlite:///{tributary_home / 'tributary.db'}"
    monkeypatch.setenv("TRIBUTARY_DB_URL", url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.upgrade(url)
    yield tributary_home
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()


def _configure(home: Path, tv: int) -> None:
    from tributary.config.service import apply_paths

    row = {
        "source_schema": "shop",
        "source_table": "orders",
        "staging_prefix": "staging/shop/orders",
        "target_uri": "lake/shop/orders",
        "database_name": "raw_shop",
        "table_name": "orders",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "partition_fields": ["region"],
        "hive_style_partitioning": False,
        "table_version": tv,
        "refresh_cadence": "fast",
    }
    doc = {
        "templates": [{"template_id": "cdc_to_hudi", "kind": "cdc_to_hudi", "params_schema": {"type": "object"}}],
        "refresh_cadences": [{"cadence_id": "fast", "schedule": "*/10 * * * *", "batch_size": 5}],
        "raw_tables": [row],
        "flows": [
            {
                "flow_id": "shop",
                "schedule": "*/10 * * * *",
                "tasks": [{"task_id": "apply", "template_id": "cdc_to_hudi", "params": {"cadence": "fast"}}],
            }
        ],
    }
    (home / "config.yaml").write_text(yaml.safe_dump(doc))
    apply_paths([home / "config.yaml"])


def _process(home: Path) -> str:
    from tributary.config.service import load_db_config
    from tributary.files.registry import register, sweep_table_files
    from tributary.metadata.db import session_scope
    from tributary.processing.batches import process_cadence

    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())
    result = process_cadence("fast")
    outcome = result.tables["shop.orders"]
    assert outcome.status == "completed", outcome.error
    assert outcome.instant is not None
    return outcome.instant


def test_processor_stream_reads_in_spark(processor_home: Path, spark: SparkPeer, version: Version) -> None:
    tv = version.table_version
    _configure(processor_home, tv)
    target = processor_home / "lake" / "shop" / "orders"
    stream = Stream(DmsWriter(DmsFolder(processor_home / "staging" / "shop" / "orders")), seed=tv + 10)
    instants = _run_stream(spark, target, stream, tv, lambda: _process(processor_home), small_runs=8)
    assert (target / "eu").is_dir(), "plain (not hive-style) partition paths"
    _assert_final(spark, target, stream, tv, instants)
