"""Smoke: a table the embedded engine writes with `tributary cdc apply` reads in Spark as the oracle says."""

from __future__ import annotations

from pathlib import Path

from tests.cdc_factory import DmsFolder, Oracle, sort_rows
from tests.conformance.conftest import Version
from tests.conformance.spark_peer import SparkPeer
from tributary.cli.main import main


def test_cli_table_reads_in_spark(tmp_path: Path, spark: SparkPeer, version: Version) -> None:
    dms, target = DmsFolder(tmp_path / "src"), tmp_path / "lake" / "smoke"
    oracle = Oracle(["id"], "ts")
    load = [{"id": i, "ts": 1, "name": f"n{i}", "region": "eu" if i % 2 else "us"} for i in range(1, 21)]
    changes = [
        {"Op": "U", "id": 3, "ts": 2, "name": "three", "region": "us"},
        {"Op": "D", "id": 4, "ts": 2, "name": "n4", "region": "us"},
        {"Op": "I", "id": 21, "ts": 2, "name": "n21", "region": "eu"},
    ]
    dms.load(load)
    dms.cdc(changes)
    oracle.apply_run([load, changes])
    args = ["cdc", "apply", "--source", str(dms.root), "--target", str(target), "--record-key", "id"]
    args += ["--precombine", "ts", "--partition-fields", "region", "--table-version", str(version.table_version)]
    assert main(args) == 0
    columns = ["id", "ts", "name", "region"]
    got = sort_rows(spark.read(target, columns=columns).to_pylist(), ["id"])
    assert got == oracle.snapshot(columns)
    assert len(got) == 20
    # Spark SQL over the same table: its catalog and Hudi's procedures read our timeline
    name = f"smoke_v{version.table_version}_{tmp_path.name[-1]}"
    spark.sql(f"CREATE TABLE {name} USING hudi LOCATION '{target}'")
    try:
        commits = spark.sql(f"CALL show_commits(table => '{name}')")
        assert len(commits) == 1 and commits[0]["total_records_written"] == 20, commits
        count = spark.sql(f"SELECT count(*) AS n FROM {name} WHERE region = 'eu'")
        assert count == [{"n": sum(1 for r in got if r["region"] == "eu")}]
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {name}")
