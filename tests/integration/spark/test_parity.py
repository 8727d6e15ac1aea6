"""Parity: the Spark semantics plan the same upserts, deletes and write options as the local
engine (``tributary.cdc.merge.plan``) for the same DMS files.

Runs on local Spark (pyspark 3.5.4, Java 17) with Hudi 0.15.0's Spark bundle from
``TRIBUTARY_HUDI_BUNDLES`` (missing: the test fails with what to run, it never skips).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.cdc_factory import DmsFolder
from tributary.cdc.checkpoint import Checkpoint
from tributary.cdc.files import CdcFile, list_files
from tributary.cdc.merge import plan
from tributary.cdc.reader import read_file
from tributary.config.models import RawTable
from tributary.errors import CdcFileError
from tributary.processing.processor import cdc_options
from tributary.spark.options import DELETE_FLAG, hudi_options
from tributary.spark.semantics import FileSpec, plan_table

pytestmark = [pytest.mark.slow]


@dataclass
class Scenario:
    name: str
    write: Callable[[DmsFolder], None]
    table: dict[str, Any] = field(default_factory=dict)
    reload: bool = False


def _table(**overrides: Any) -> RawTable:
    base: dict[str, Any] = {
        "source_schema": "sales",
        "source_table": "orders",
        "staging_prefix": "file:///staging/sales/orders",
        "target_uri": "file:///lake/sales/orders",
        "database_name": "raw",
        "table_name": "orders",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": "hourly",
        "options": {"hive_sync": "false"},
    }
    return RawTable.model_validate({**base, **overrides})


def ts(n: int) -> str:
    return f"2026-11-23 10:00:{n:02d}.000000"


def _basic(d: DmsFolder) -> None:
    d.load(
        [{"id": 1, "name": "a", "ts": ts(0)}, {"id": 2, "name": "b", "ts": ts(0)}, {"id": 3, "name": "c", "ts": ts(0)}]
    )
    d.cdc(
        [
            {"Op": "U", "id": 1, "name": "a2", "ts": ts(1)},
            {"Op": "D", "id": 2, "name": "b", "ts": ts(2)},
            {"Op": "I", "id": 4, "name": "d", "ts": ts(3)},
        ]
    )
    d.cdc([{"Op": "U", "id": 4, "name": "d2", "ts": ts(4)}, {"Op": "D", "id": 99, "name": None, "ts": ts(5)}])


def _reinsert(d: DmsFolder) -> None:
    d.cdc([{"Op": "I", "id": 1, "name": "a", "ts": ts(1)}, {"Op": "D", "id": 1, "name": "a", "ts": ts(2)}])
    d.cdc([{"Op": "I", "id": 1, "name": "again", "ts": ts(3)}, {"Op": "D", "id": 2, "name": "x", "ts": ts(4)}])
    d.cdc([{"Op": "I", "id": 2, "name": "back", "ts": ts(5)}])


def _ties(d: DmsFolder) -> None:
    # equal precombine values: the later file wins, then the later row
    d.cdc([{"Op": "I", "id": 1, "name": "f1r1", "ts": ts(1)}, {"Op": "U", "id": 1, "name": "f1r2", "ts": ts(1)}])
    d.cdc([{"Op": "U", "id": 1, "name": "f2r1", "ts": ts(1)}, {"Op": "U", "id": 2, "name": "x", "ts": ts(7)}])
    # an older precombine in a later file loses
    d.cdc([{"Op": "U", "id": 2, "name": "stale", "ts": ts(6)}, {"Op": "U", "id": 2, "name": "tie-late", "ts": ts(7)}])


def _partition_move(d: DmsFolder) -> None:
    d.load([{"id": 1, "region": "eu", "v": 1, "ts": ts(0)}, {"id": 2, "region": "us", "v": 2, "ts": ts(0)}])
    d.cdc(
        [
            {"Op": "U", "id": 1, "region": "us", "v": 3, "ts": ts(1)},
            {"Op": "U", "id": 1, "region": "ap", "v": 4, "ts": ts(2)},
        ]
    )


def _nulls_and_new_columns(d: DmsFolder) -> None:
    d.load([{"id": 1, "name": None, "ts": ts(0)}, {"id": 2, "name": "", "ts": ts(0)}])
    d.cdc(
        [
            {"Op": "U", "id": 1, "name": "x", "ts": ts(1), "email": "a@x"},
            {"Op": "I", "id": 3, "name": None, "ts": ts(1), "email": None},
        ]
    )
    # a later file without "name": the column is kept and null in its rows
    d.cdc([{"Op": "U", "id": 2, "ts": ts(2), "email": "b@x"}])


def _widening(d: DmsFolder) -> None:
    small = pa.schema([("id", pa.int32()), ("qty", pa.int32()), ("price", pa.float32()), ("ts", pa.string())])
    wide = pa.schema([("id", pa.int64()), ("qty", pa.int64()), ("price", pa.float64()), ("ts", pa.string())])
    d.load([{"id": 1, "qty": 1, "price": 1.5, "ts": ts(0)}], schema=small)
    d.cdc(
        [{"Op": "U", "id": 2, "qty": 2**40, "price": 2.25, "ts": ts(1)}],
        schema=pa.schema([pa.field("Op", pa.string()), *wide]),
    )


def _csv(d: DmsFolder) -> None:
    cols = pa.schema([("id", pa.string()), ("name", pa.string()), ("ts", pa.string())])
    with_op = pa.schema([pa.field("Op", pa.string()), *cols])
    d.load(
        [{"id": "1", "name": "a,b", "ts": ts(0)}, {"id": "2", "name": "", "ts": ts(0)}],
        fmt="csv",
        schema=cols,
        header=False,
    )
    d.cdc(
        [
            {"Op": "U", "id": "1", "name": 'say "hi"\nthere', "ts": ts(1)},
            {"Op": "D", "id": "2", "name": None, "ts": ts(2)},
            {"Op": "I", "id": "3", "name": None, "ts": ts(3)},
        ],
        fmt="csv",
        schema=with_op,
        header=False,
    )


def _reload(d: DmsFolder) -> None:
    d.load([{"id": 1, "name": "new", "ts": ts(5)}, {"id": 5, "name": "e", "ts": ts(5)}])
    d.cdc([{"Op": "D", "id": 5, "name": "e", "ts": ts(6)}, {"Op": "U", "id": 1, "name": "newer", "ts": ts(7)}])


def _historical(d: DmsFolder) -> None:
    d.load([{"id": 1, "name": "a", "ts": ts(0)}])
    d.cdc([{"Op": "U", "id": 1, "name": "b", "ts": ts(1)}, {"Op": "D", "id": 1, "name": "b", "ts": ts(2)}])
    d.cdc([{"Op": "I", "id": 1, "name": "c", "ts": ts(3)}])


def _no_precombine(d: DmsFolder) -> None:
    d.cdc([{"Op": "I", "id": 1, "name": "a"}, {"Op": "U", "id": 1, "name": "b"}])
    d.cdc([{"Op": "U", "id": 1, "name": "c"}, {"Op": "D", "id": 2, "name": "z"}])


def _composite(d: DmsFolder) -> None:
    d.load([{"tenant": "t1", "id": 1, "v": 1, "ts": ts(0)}, {"tenant": "t2", "id": 1, "v": 2, "ts": ts(0)}])
    d.cdc(
        [
            {"Op": "U", "tenant": "t1", "id": 1, "v": 10, "ts": ts(1)},
            {"Op": "D", "tenant": "t2", "id": 1, "v": 2, "ts": ts(1)},
        ]
    )


SCENARIOS = [
    Scenario("inserts_updates_deletes", _basic),
    Scenario("reinsert_after_delete", _reinsert),
    Scenario("ties_on_precombine", _ties),
    Scenario("partition_move", _partition_move, {"partition_fields": ["region"]}),
    Scenario("nulls_and_new_columns", _nulls_and_new_columns, {"table_type": "MERGE_ON_READ"}),
    Scenario("type_widening", _widening, {"table_version": 8}),
    Scenario("csv_full_load_and_cdc", _csv, {"file_format": "csv", "csv_columns": ["id", "name", "ts"]}),
    Scenario("reload", _reload, reload=True),
    Scenario("historical", _historical, {"storage_mode": "historical"}),
    Scenario("no_precombine", _no_precombine, {"precombine_field": None}),
    Scenario(
        "composite_key_partitioned", _composite, {"record_key_fields": ["tenant", "id"], "partition_fields": ["tenant"]}
    ),
]


def _norm_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _rows(records: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    return sorted((tuple((k, _norm_value(v)) for k, v in r.items()) for r in records), key=repr)


def _spark_rows(df: Any) -> tuple[list[str], list[tuple[tuple[str, Any], ...]]]:
    return df.columns, _rows([r.asDict() for r in df.collect()])


def _local_files(root: Path) -> list[CdcFile]:
    return list_files(str(root))


def _specs(files: list[CdcFile]) -> list[FileSpec]:
    return [FileSpec(f.uri, f.path, f.kind.value, f.format, f.order_key, f.size, f.mtime_ns) for f in files]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_spark_plans_what_the_local_engine_applies(spark: Any, tmp_path: Path, scenario: Scenario) -> None:
    table = _table(**scenario.table)
    options = cdc_options(table)
    root = tmp_path / "staging"
    scenario.write(DmsFolder(root))
    files = _local_files(root)
    local = plan([(f, read_file(f, options)) for f in files], options, None, reload=scenario.reload)
    config = table.model_dump(mode="json")
    remote = plan_table(spark, _specs(files), config, reload=scenario.reload)

    assert remote.operation == local.operation.value
    up_cols, up_rows = _spark_rows(remote.upserts)
    assert up_cols == local.upserts.column_names
    assert up_rows == _rows(local.upserts.to_pylist())
    del_cols, del_rows = _spark_rows(remote.deletes)
    assert del_rows == _rows(local.deletes.to_pylist())
    if del_rows:
        assert del_cols == local.deletes.column_names
    assert remote.changes.count() == local.changes

    opts = hudi_options(config, remote.operation)
    assert opts["hoodie.datasource.write.operation"] == local.operation.option
    assert opts["hoodie.datasource.write.recordkey.field"] == ",".join(options.hudi_record_key_fields)
    assert opts["hoodie.datasource.write.partitionpath.field"] == ",".join(options.partition_fields)
    assert opts["hoodie.write.table.version"] == str(options.table_version)
    assert opts["hoodie.datasource.write.table.type"] == table.table_type.value
    assert opts["hoodie.datasource.write.hive_style_partitioning"] == str(options.hive_style_partitioning).lower()
    assert "hoodie.datasource.hive_sync.enable" not in opts  # options.hive_sync = false

    # what is written is ONE DataFrame: the upserts and, flagged, the deletes (one commit)
    written = remote.rows.columns
    if table.storage_mode.value == "historical" or scenario.reload:  # no deletes: no flag column
        assert DELETE_FLAG not in written and remote.rows.count() == local.upserts.num_rows
    else:
        assert written == [*local.upserts.column_names, DELETE_FLAG]
        flags = sorted(r[DELETE_FLAG] for r in remote.rows.select(DELETE_FLAG).collect())
        assert flags == [False] * local.upserts.num_rows + [True] * local.deletes.num_rows


# -- table options both engines read (raw_tables[].options) ----------------------------------------

#: DMS with csvDelimiter '|' and csvNullValue '\N', no header: the marker (quoted or not) is null,
#: an empty field (quoted or not) the empty string, a quoted '|' or line break is data
PIPE_LOAD = '1|\\N|T0\n2||T0\n3|""|T0\n4|"\\N"|T0\n5|"a|b"|T0\n6|"multi\nline"|T0\n'
PIPE_CDC = "U|1|x|T1\nD|2|\\N|T2\nI|7|\\N|T3\n"
#: csv_header true: every file names its columns, in its own order
HEADER_LOAD = "ts;name;id\nT0;a;1\nT0;;2\n"
HEADER_CDC = 'Op;id;ts;name\nU;1;T1;"a;2"\nD;2;T2;\n'
#: csv_types: ts compares as a number (10 beats 9; as text "9" would win)
TYPES_LOAD = "1,a,9\n2,b,1\n"
TYPES_CDC = "U,1,late,10\nU,1,early,9\nD,2,b,2\n"
PIPE_ROWS = [(1, "x"), (3, ""), (4, None), (5, "a|b"), (6, "multi\nline"), (7, None)]
HEADER_ROWS = [(1, "a;2")]


def _text_files(root: Path, load: str, cdc: str) -> None:
    root.mkdir(parents=True)
    (root / "LOAD00000001.csv").write_text(load.replace("T0", ts(0)))
    (root / "20261123-0000000001.csv").write_text(cdc.replace("T1", ts(1)).replace("T2", ts(2)).replace("T3", ts(3)))


def test_csv_types_refuse_the_same_file_on_both_engines(spark: Any, tmp_path: Path) -> None:
    table = _table(file_format="csv", csv_columns=["id", "name", "ts"], options={"csv_types": "id=int64,ts=int64"})
    options = cdc_options(table)
    root = tmp_path / "staging"
    _text_files(root, "1,a,9\n", "U,1,b,ten\n")
    files = _local_files(root)
    with pytest.raises(CdcFileError, match="column ts") as local_error:
        plan([(f, read_file(f, options, options.csv_type_map())) for f in files], options, None)
    with pytest.raises(CdcFileError, match="column ts: value 'ten'") as spark_error:
        plan_table(spark, _specs(files), table.model_dump(mode="json"))
    assert spark_error.value.path == local_error.value.path == "20261123-0000000001.csv"


CSV_OPTION_CASES = {
    "pipe_delimiter_and_null_marker": (
        {"csv_columns": ["id", "name", "ts"], "options": {"csv_delimiter": "|", "csv_null_value": "\\N"}},
        PIPE_LOAD,
        PIPE_CDC,
        PIPE_ROWS,
        [2],
    ),
    "csv_types": (
        {"csv_columns": ["id", "name", "ts"], "options": {"csv_types": "id=int64,ts=int64"}},
        TYPES_LOAD,
        TYPES_CDC,
        [(1, "late")],
        [2],
    ),
    "header_true": (
        {"options": {"csv_header": "true", "csv_delimiter": ";"}},
        HEADER_LOAD,
        HEADER_CDC,
        HEADER_ROWS,
        [2],
    ),
}


@pytest.mark.parametrize("case", list(CSV_OPTION_CASES))
def test_csv_options_give_the_same_rows_on_both_engines(spark: Any, tmp_path: Path, case: str) -> None:
    """csv_delimiter, csv_null_value and csv_header, read by the local engine (pyarrow) and by
    the Spark engine (Spark's CSV reader): the same upserts and deletes, and the expected ones."""
    overrides, load, cdc, expected_rows, expected_deletes = CSV_OPTION_CASES[case]
    config = {**overrides, "options": {"hive_sync": "false", **overrides["options"]}}
    table = _table(file_format="csv", **config)
    options = cdc_options(table)
    root = tmp_path / "staging"
    _text_files(root, load, cdc)
    files = _local_files(root)
    # a new table: csv_types are the types CSV text is read as (cdc.apply does the same)
    local = plan([(f, read_file(f, options, options.csv_type_map())) for f in files], options, None)
    remote = plan_table(spark, _specs(files), table.model_dump(mode="json"))

    up_cols, up_rows = _spark_rows(remote.upserts)
    assert up_cols == local.upserts.column_names
    assert up_rows == _rows(local.upserts.to_pylist())
    assert _spark_rows(remote.deletes)[1] == _rows(local.deletes.to_pylist())
    # and they are the rows DMS meant (text columns: the CSV is read as text on both engines)
    got = sorted((int(r["id"]), r["name"]) for r in local.upserts.to_pylist())
    assert got == expected_rows
    assert sorted(int(r["id"]) for r in local.deletes.to_pylist()) == expected_deletes


#: Hudi's shuffles kept small on a two-core machine (pass-through keys)
SMALL_SHUFFLES = {f"hoodie.{k}.parallelism": "2" for k in ("upsert.shuffle", "insert.shuffle", "simple.index")}


def _base_files(lake: Path) -> list[str]:
    return sorted(p.name for p in lake.rglob("*.parquet") if ".hoodie" not in p.parts)


def _write_runs(spark: Any, tmp_path: Path, engine: str, options: dict[str, str], runs: int) -> Path:
    """``runs`` commits, each an update of the same key (one file group, one new file slice each)."""
    from tributary.cdc.apply import apply_files
    from tributary.spark.job import run_table

    lake = tmp_path / f"{engine}-lake"
    table = _table(target_uri=lake.as_uri(), options={"hive_sync": "false", **SMALL_SHUFFLES, **options})
    base: str | None = None
    root = tmp_path / f"{engine}-staging"
    folder = DmsFolder(root)
    for n in range(runs):
        written = folder.cdc([{"Op": "U", "id": 1, "name": f"v{n}", "ts": ts(n)}])
        files = [f for f in _local_files(root) if f.path == written.name]
        if engine == "local":
            assert apply_files(str(lake), files, cdc_options(table)).instant is not None
            continue
        meta = Checkpoint().advance(files, reload=False, keep=512).to_metadata(files, reload=False, mode="current")
        entry = {
            "table_id": table.table_id,
            "table": table.model_dump(mode="json"),
            "files": [f.to_dict() for f in _specs(files)],
            "reload": False,
            "commit_metadata": meta,
            "base_instant": base,
        }
        result = run_table(spark, entry, sync=False)
        assert result["status"] == "completed", result
        base = result["instant"]
    return lake


@pytest.mark.parametrize(
    ("options", "kept"),
    [({}, 5), ({"cleaner_commits_retained": "2"}, 3), ({"hoodie.cleaner.commits.retained": "1"}, 2)],
    ids=["default_10", "retained_2", "hudi_spelling_1"],
)
def test_cleaner_retention_is_the_same_on_both_engines(
    spark: Any, tmp_path: Path, options: dict[str, str], kept: int
) -> None:
    """cleaner_commits_retained (or its Hudi spelling): after 5 commits rewriting one file group,
    both engines' cleaners keep the same file slices (KEEP_LATEST_COMMITS: the slices of the
    retained commits and the one before them)."""
    local = _write_runs(spark, tmp_path, "local", options, 5)
    remote = _write_runs(spark, tmp_path, "spark", options, 5)
    assert len(_base_files(local)) == len(_base_files(remote)) == kept
    rows = spark.read.format("hudi").load(remote.as_uri()).select("id", "name").collect()
    assert [(r.id, r.name) for r in rows] == [(1, "v4")]


def _bad_op(d: DmsFolder) -> None:
    d.cdc([{"Op": "I", "id": 1, "name": "a", "ts": ts(1)}])
    d.cdc([{"Op": "I", "id": 2, "name": "b", "ts": ts(2)}, {"Op": "X", "id": 3, "name": "c", "ts": ts(3)}])


def _null_key(d: DmsFolder) -> None:
    d.cdc(
        [{"Op": "I", "id": None, "name": "a", "ts": ts(1)}],
        schema=pa.schema([("Op", pa.string()), ("id", pa.int64()), ("name", pa.string()), ("ts", pa.string())]),
    )


def _incompatible(d: DmsFolder) -> None:
    d.cdc([{"Op": "I", "id": 1, "name": "a", "ts": ts(1)}])
    d.cdc([{"Op": "I", "id": "one", "name": "b", "ts": ts(2)}])


def _missing_precombine(d: DmsFolder) -> None:
    d.cdc([{"Op": "I", "id": 1, "name": "a"}])


@pytest.mark.parametrize(
    "write",
    [_bad_op, _null_key, _incompatible, _missing_precombine],
    ids=["unknown_op", "null_key", "incompatible_type", "missing_precombine"],
)
def test_bad_input_names_the_same_file_on_both_engines(
    spark: Any, tmp_path: Path, write: Callable[[DmsFolder], None]
) -> None:
    table = _table()
    options = cdc_options(table)
    root = tmp_path / "staging"
    write(DmsFolder(root))
    files = _local_files(root)
    with pytest.raises(CdcFileError) as local_error:
        plan([(f, read_file(f, options)) for f in files], options, None)
    with pytest.raises(CdcFileError) as spark_error:
        plan_table(spark, _specs(files), table.model_dump(mode="json")).upserts.collect()
    assert spark_error.value.path == local_error.value.path


def test_hudi_write_with_the_bundle_in_process(spark: Any, tmp_path: Path) -> None:
    """The job's table run on Hudi 0.15.0's own writer in this process (the ``spark`` fixture
    carries the bundle from TRIBUTARY_HUDI_BUNDLES; test_glue_job_hudi runs both versions as Glue
    does): one upsert commit whose flagged deletes delete, with the flag not left as a column."""
    from tributary.spark.job import run_table

    root = tmp_path / "staging"
    _basic(DmsFolder(root))
    files = _local_files(root)
    lake = tmp_path / "lake"
    config = _table(target_uri=lake.as_uri()).model_dump(mode="json")
    meta = Checkpoint().advance(files, reload=False, keep=512).to_metadata(files, reload=False, mode="current")
    entry = {
        "table_id": "sales.orders",
        "table": config,
        "files": [s.to_dict() for s in _specs(files)],
        "reload": False,
        "commit_metadata": meta,
    }
    result = run_table(spark, entry, sync=False)
    assert result["status"] == "completed", result
    assert (result["inserted"], result["updated"], result["deleted"]) == (3, 0, 0)
    df = spark.read.format("hudi").load(lake.as_uri())
    assert [c for c in df.columns if not c.startswith("_hoodie_")] == ["id", "name", "ts"]
    assert DELETE_FLAG not in df.columns
    rows = df.select("id", "name").orderBy("id").collect()
    assert [(r.id, r.name) for r in rows] == [(1, "a2"), (3, "c"), (4, "d2")]
    assert len(list((lake / ".hoodie").glob("*.commit"))) == 1  # upserts and deletes: one commit

    # a second run deletes a key that is in the table, and its older change loses
    later = tmp_path / "later"
    DmsFolder(later).cdc(
        [{"Op": "D", "id": 3, "name": "c", "ts": ts(9)}, {"Op": "U", "id": 1, "name": "old", "ts": ts(0)}]
    )
    entry = {**entry, "files": [s.to_dict() for s in _specs(_local_files(later))], "base_instant": result["instant"]}
    again = run_table(spark, entry, sync=False)
    assert again["status"] == "completed", again
    assert (again["updated"], again["deleted"]) == (1, 1)
    rows = spark.read.format("hudi").load(lake.as_uri()).select("id", "name").orderBy("id").collect()
    assert [(r.id, r.name) for r in rows] == [(1, "a2"), (4, "d2")]
