"""``raw_tables[].options``: every option typed, every mistake a config problem naming the row
and ``options.<key>`` (loaded from YAML through the real loader and validation), and the JSON
form the Spark job receives validating back to the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from pydantic import ValidationError

from tributary.config.loader import load_files
from tributary.config.models import CatalogKind, RawTable
from tributary.config.table_options import RESERVED_HUDI_KEYS, RawTableOptions, cdc_options
from tributary.config.validation import validate_rows

ROW = {
    "source_schema": "sales",
    "source_table": "orders",
    "staging_prefix": "staging/sales/orders",
    "target_uri": "lake/sales/orders",
    "database_name": "raw_sales",
    "table_name": "orders",
    "record_key_fields": ["id"],
    "precombine_field": "ts",
    "refresh_cadence": "hourly",
}


def _table(options: Any, **extra: Any) -> RawTable:
    return RawTable.model_validate({**ROW, **extra, "options": options})


def _problems(tmp_path: Path, options: Any, **extra: Any) -> list[tuple[str, str | None, str, int | None]]:
    """(row, field, message, line) of every problem of a config holding one table row."""
    doc = {
        "refresh_cadences": [{"cadence_id": "hourly", "schedule": "@hourly", "batch_size": 5}],
        "raw_tables": [{**ROW, **extra, "options": options}],
    }
    path = tmp_path / "tables.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    rows, problems = load_files([path])
    assert problems == []
    config = validate_rows(rows)
    return [(p.row, p.field, p.message, p.line) for p in config.problems]


def test_defaults() -> None:
    opts = _table({}).options
    assert (opts.csv_delimiter, opts.csv_null_value, opts.csv_header, opts.csv_types) == (",", None, None, ())
    assert (opts.cleaner_commits_retained, opts.archive_min_commits, opts.archive_max_commits) == (10, 20, 30)
    assert (opts.delete_markers_hours, opts.compaction_delta_commits, opts.hive_sync) == (168.0, 5, True)
    assert opts.hudi_settings == {}


def test_every_option_typed() -> None:
    opts = _table(
        {
            "csv_delimiter": "|",
            "csv_null_value": "\\N",
            "csv_header": "true",
            "csv_types": "id=int64,amount=decimal(10,2)",
            "cleaner_commits_retained": "3",
            "archive_min_commits": 7,
            "archive_max_commits": "9",
            "delete_markers_hours": "1.5",
            "compaction_delta_commits": 2,
            "hive_sync": "false",
            "hoodie.upsert.shuffle.parallelism": "8",
            "hoodie.metadata.enable": "true",
        }
    ).options
    assert opts.csv_delimiter == "|" and opts.csv_null_value == "\\N" and opts.csv_header is True
    assert opts.csv_types == (("id", "int64"), ("amount", "decimal(10,2)"))
    assert (opts.cleaner_commits_retained, opts.archive_min_commits, opts.archive_max_commits) == (3, 7, 9)
    assert opts.delete_markers_hours == 1.5 and opts.compaction_delta_commits == 2 and opts.hive_sync is False
    assert opts.hudi_settings == {"hoodie.upsert.shuffle.parallelism": "8", "hoodie.metadata.enable": "true"}


@pytest.mark.parametrize(
    ("hudi_key", "field", "value"),
    [
        ("hoodie.cleaner.commits.retained", "cleaner_commits_retained", 4),
        ("hoodie.keep.min.commits", "archive_min_commits", 25),
        ("hoodie.keep.max.commits", "archive_max_commits", 45),
        ("hoodie.compact.inline.max.delta.commits", "compaction_delta_commits", 3),
        ("hoodie.parquet.max.file.size", "target_file_size_bytes", 64 * 1024 * 1024),
        ("hoodie.parquet.small.file.limit", "small_file_limit_bytes", 0),
        ("hoodie.copyonwrite.record.size.estimate", "record_size_estimate_bytes", 200),
    ],
)
def test_hudi_spellings_set_the_typed_option(hudi_key: str, field: str, value: int) -> None:
    opts = _table({hudi_key: str(value)}).options
    assert getattr(opts, field) == value
    assert hudi_key not in opts.hudi_settings  # one value, read by both engines and the cleaner


def test_archival_bounds_follow_a_long_retention() -> None:
    """Hudi refuses hoodie.keep.min.commits <= hoodie.cleaner.commits.retained."""
    opts = _table({"cleaner_commits_retained": 40}).options
    assert (opts.archive_min_commits, opts.archive_max_commits) == (41, 51)
    opts = _table({"cleaner_commits_retained": 5, "archive_min_commits": 30}).options
    assert (opts.archive_min_commits, opts.archive_max_commits) == (30, 40)


def test_json_form_round_trips_and_carries_every_typed_option() -> None:
    table = _table({"csv_delimiter": "|", "csv_types": "ts=timestamp", "hoodie.x.y": "1", "hive_sync": False})
    dumped = table.model_dump(mode="json")
    assert dumped["options"] == {
        "csv_delimiter": "|",
        "csv_null_value": None,
        "csv_header": None,
        "csv_types": [["ts", "timestamp"]],
        "cleaner_commits_retained": 10,
        "archive_min_commits": 20,
        "archive_max_commits": 30,
        "delete_markers_hours": 168.0,
        "target_file_size_bytes": 125829120,
        "small_file_limit_bytes": 104857600,
        "record_size_estimate_bytes": 1024,
        "compaction_delta_commits": 5,
        "hive_sync": False,
        "hoodie.x.y": "1",
    }
    again = RawTable.model_validate(dumped)
    assert again == table and again.options.hudi_settings == {"hoodie.x.y": "1"}
    assert RawTableOptions.model_validate(table.options) is table.options


def test_sizing_defaults_are_hudis_everywhere() -> None:
    """One default per option: the config's, the CDC layer's and the embedded writer's agree, and
    they are Hudi's (120 MiB max file size, 100 MiB small file limit, 1024-byte estimate)."""
    from tributary.cdc.options import CdcOptions
    from tributary.hudi import TableOptions

    opts = _table({}).options
    hudi = (120 * 1024 * 1024, 100 * 1024 * 1024, 1024)
    assert (opts.target_file_size_bytes, opts.small_file_limit_bytes, opts.record_size_estimate_bytes) == hudi
    cdc = CdcOptions("t", ("id",))
    assert (cdc.target_file_size_bytes, cdc.small_file_limit_bytes, cdc.record_size_estimate_bytes) == hudi
    table = TableOptions("t", ("id",))
    assert (table.target_file_size_bytes, table.small_file_limit_bytes, table.record_size_estimate_bytes) == hudi


def test_small_file_limit_follows_a_lower_target() -> None:
    """Unset, the small file limit keeps Hudi's ratio to a target below 120 MiB (else a file of
    the target size would still count as small); set, it is what the config says."""
    assert _table({"target_file_size_bytes": 60_000}).options.small_file_limit_bytes == 50_000
    assert _table({"hoodie.parquet.max.file.size": "600000000"}).options.small_file_limit_bytes == 100 * 1024 * 1024
    opts = _table({"target_file_size_bytes": 60_000, "small_file_limit_bytes": 10}).options
    assert opts.small_file_limit_bytes == 10


def test_sizing_reaches_the_embedded_writer() -> None:
    """raw_tables options -> CdcOptions -> the Hudi writer's TableOptions (what sizes a write)."""
    from tributary.cdc.apply import table_options

    sizes = {"target_file_size_bytes": 2_000_000, "small_file_limit_bytes": 0, "record_size_estimate_bytes": 300}
    opts = cdc_options(_table({**sizes}))
    assert (opts.target_file_size_bytes, opts.small_file_limit_bytes, opts.record_size_estimate_bytes) == (
        2_000_000,
        0,
        300,
    )
    hudi = table_options(opts)
    assert (hudi.target_file_size_bytes, hudi.small_file_limit_bytes, hudi.record_size_estimate_bytes) == (
        2_000_000,
        0,
        300,
    )


def test_cdc_options_refuse_sizes_hudi_cannot_use() -> None:
    """The CLI builds CdcOptions without the config model: the same rules, as a CdcError."""
    from tributary.cdc.options import CdcOptions
    from tributary.errors import CdcError

    with pytest.raises(CdcError, match=r"small_file_limit_bytes \(1000\) must be >= 0 and less than"):
        CdcOptions("t", ("id",), target_file_size_bytes=1000, small_file_limit_bytes=1000)
    with pytest.raises(CdcError, match=r"record_size_estimate_bytes \(2000\) must be > 0 and at most"):
        CdcOptions("t", ("id",), target_file_size_bytes=1000, small_file_limit_bytes=0, record_size_estimate_bytes=2000)


def test_local_engine_translation() -> None:
    table = _table(
        {
            "csv_delimiter": ";",
            "csv_null_value": "NULL",
            "csv_header": False,
            "csv_types": "id=int64",
            "cleaner_commits_retained": 2,
            "delete_markers_hours": 2,
        },
        file_format="csv",
        csv_columns=["id", "ts"],
    )
    opts = cdc_options(table)
    assert (opts.csv_delimiter, opts.csv_null_value, opts.csv_header) == (";", "NULL", False)
    assert opts.csv_columns == ("id", "ts") and opts.csv_type_map() == {"id": pa.int64()}
    assert (opts.clean_retain_commits, opts.archive_min_instants, opts.archive_max_instants) == (2, 20, 30)
    assert opts.delete_markers_hours == 2.0


def test_hive_sync_false_turns_catalog_sync_off() -> None:
    assert _table({}).catalog_sync is True
    assert _table({"hive_sync": "false"}).catalog_sync is False
    assert _table({}, catalog=CatalogKind.NONE.value).catalog_sync is False


def test_csv_header_true_replaces_csv_columns() -> None:
    assert _table({"csv_header": True}, file_format="csv").options.csv_header is True


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown key", {"delimiter": ","}, "options.delimiter", "unknown option 'delimiter'; use one of csv_delimiter"),
    ("reserved hudi key", {"hoodie.table.name": "x"}, "options.hoodie.table.name", "table_name instead"),
    ("hudi value not text", {"hoodie.bulkinsert.sort.mode": 5}, "options.hoodie.bulkinsert.sort.mode", "quote"),
    ("not a hudi name", {"hoodie.a b": "1"}, "options.hoodie.a b", "is not a Hudi setting name"),
    (
        "alias and name",
        {"cleaner_commits_retained": 3, "hoodie.cleaner.commits.retained": "4"},
        "options.hoodie.cleaner.commits.retained",
        "keep one of the two",
    ),
    ("delimiter length", {"csv_delimiter": "||"}, "options.csv_delimiter", "one character"),
    ("delimiter quote", {"csv_delimiter": '"'}, "options.csv_delimiter", "must not contain a quote"),
    ("null value has delimiter", {"csv_null_value": "a,b"}, "options.csv_null_value", "contains the delimiter"),
    ("null value empty", {"csv_null_value": ""}, "options.csv_null_value", "at least 1 character"),
    ("header not bool", {"csv_header": "maybe"}, "options.csv_header", "valid boolean"),
    ("unknown type", {"csv_types": "id=varchar"}, "options.csv_types", "unknown type 'varchar'"),
    ("type list shape", {"csv_types": "id"}, "options.csv_types", "is not column=type"),
    ("retention", {"cleaner_commits_retained": 0}, "options.cleaner_commits_retained", "greater than or equal to 1"),
    ("retention text", {"cleaner_commits_retained": "ten"}, "options.cleaner_commits_retained", "valid integer"),
    ("archive min", {"archive_min_commits": 5}, "options.archive_min_commits", "greater than cleaner_commits_retained"),
    ("archive max", {"archive_max_commits": 20}, "options.archive_max_commits", "greater than archive_min_commits"),
    ("marker hours", {"delete_markers_hours": "-1"}, "options.delete_markers_hours", "greater than 0"),
    ("marker hours nan", {"delete_markers_hours": "nan"}, "options.delete_markers_hours", "finite number"),
    ("compaction", {"compaction_delta_commits": 0}, "options.compaction_delta_commits", "greater than or equal to 1"),
    ("hive sync", {"hive_sync": "perhaps"}, "options.hive_sync", "valid boolean"),
    ("target zero", {"target_file_size_bytes": 0}, "options.target_file_size_bytes", "greater than or equal to 1"),
    ("target text", {"target_file_size_bytes": "120MB"}, "options.target_file_size_bytes", "valid integer"),
    ("target huge", {"target_file_size_bytes": 1 << 41}, "options.target_file_size_bytes", "less than or equal"),
    ("small negative", {"small_file_limit_bytes": -1}, "options.small_file_limit_bytes", "greater than or equal to 0"),
    (
        "small not below target",
        {"target_file_size_bytes": 2000, "small_file_limit_bytes": 2000},
        "options.small_file_limit_bytes",
        "must be less than target_file_size_bytes (2000)",
    ),
    (
        "small above target (hudi spellings)",
        {"hoodie.parquet.max.file.size": "1048576", "hoodie.parquet.small.file.limit": "2000000"},
        "options.small_file_limit_bytes",
        "or set 0 to turn small-file packing off",
    ),
    (
        "default estimate above a tiny target",
        {"target_file_size_bytes": 1000},
        "options.record_size_estimate_bytes",
        "1024 must not exceed target_file_size_bytes (1000)",
    ),
    ("estimate zero", {"record_size_estimate_bytes": 0}, "options.record_size_estimate_bytes", "greater than or equal"),
    (
        "estimate above target",
        {"target_file_size_bytes": 1000, "small_file_limit_bytes": 0, "record_size_estimate_bytes": 1001},
        "options.record_size_estimate_bytes",
        "must not exceed target_file_size_bytes (1000)",
    ),
    (
        "size alias and name",
        {"small_file_limit_bytes": 0, "hoodie.parquet.small.file.limit": "0"},
        "options.hoodie.parquet.small.file.limit",
        "sets the same option as options.small_file_limit_bytes",
    ),
]


@pytest.mark.parametrize(("case", "options", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_option_is_a_config_problem_naming_row_and_field(
    tmp_path: Path, case: str, options: dict[str, Any], field: str, message: str
) -> None:
    problems = _problems(tmp_path, options)
    assert [(row, fld) for row, fld, _, _ in problems] == [("sales.orders", field)], problems
    assert message in problems[0][2]
    assert problems[0][3]  # the line of the row (or of the option) in the YAML file


def test_every_reserved_key_is_refused_with_what_to_set() -> None:
    for key, remedy in RESERVED_HUDI_KEYS.items():
        with pytest.raises(ValidationError, match="Tributary sets") as info:
            _table({key: "x"})
        assert remedy in str(info.value)
        assert [tuple(e["loc"]) for e in info.value.errors()] == [("options", key)]


def test_options_that_are_not_a_mapping(tmp_path: Path) -> None:
    problems = _problems(tmp_path, ["csv_delimiter"])
    assert [(row, fld) for row, fld, _, _ in problems] == [("sales.orders", "options")]
    assert "mapping of option names to values" in problems[0][2]


def test_hive_sync_false_opts_the_local_engine_out_of_catalog_sync() -> None:
    """The Spark engine leaves hive sync out (tests/unit/spark/test_options.py); the local
    engine's catalog sync opts out the same way, before touching any catalog or DB."""
    from tributary.catalog.sync import SyncAction, needs_sync, sync_table

    table = _table({"hive_sync": "false"})
    assert sync_table(table).action is SyncAction.OPTED_OUT
    assert needs_sync(table) is False
