"""Hudi datasource options from a raw table config (pure function, no Spark)."""

from __future__ import annotations

from typing import Any

import pytest

from tributary.config.models import RawTable
from tributary.spark.options import (
    COMPLEX_KEYGEN,
    NONPARTITIONED_KEYGEN,
    SIMPLE_KEYGEN,
    hudi_options,
)


def _table(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source_schema": "sales",
        "source_table": "orders",
        "staging_prefix": "s3://staging/sales/orders",
        "target_uri": "s3://lake/raw/orders",
        "database_name": "raw",
        "table_name": "orders",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "refresh_cadence": "hourly",
    }
    return RawTable.model_validate({**base, **overrides}).model_dump(mode="json")


def test_cow_upsert_with_glue_catalog_sync() -> None:
    opts = hudi_options(_table(), "upsert")
    assert opts["hoodie.table.name"] == "orders"
    assert opts["hoodie.datasource.write.operation"] == "upsert"
    assert opts["hoodie.datasource.write.table.type"] == "COPY_ON_WRITE"
    assert opts["hoodie.datasource.write.recordkey.field"] == "id"
    assert opts["hoodie.datasource.write.precombine.field"] == "ts"
    assert opts["hoodie.datasource.write.partitionpath.field"] == ""
    assert opts["hoodie.datasource.write.keygenerator.class"] == NONPARTITIONED_KEYGEN
    assert opts["hoodie.datasource.write.hive_style_partitioning"] == "true"
    assert opts["hoodie.write.table.version"] == "6"
    assert opts["hoodie.cleaner.commits.retained"] == "10"
    assert opts["hoodie.datasource.hive_sync.enable"] == "true"
    assert opts["hoodie.datasource.hive_sync.database"] == "raw"
    assert opts["hoodie.datasource.hive_sync.table"] == "orders"
    assert opts["hoodie.datasource.hive_sync.partition_extractor_class"].endswith("NonPartitionedExtractor")
    assert "hoodie.index.type" not in opts
    assert "hoodie.record.merge.mode" not in opts
    # v6 event-time ordering: the latest ts wins against the stored row too
    assert opts["hoodie.datasource.write.payload.class"] == "org.apache.hudi.common.model.EventTimeAvroPayload"
    assert opts["hoodie.payload.ordering.field"] == "ts"
    # the embedded writer cannot keep a metadata table in step: off, so the engines can alternate
    assert opts["hoodie.metadata.enable"] == "false"


def test_partitioned_mor_version_8_with_overrides() -> None:
    table = _table(
        partition_fields=["region"],
        table_type="MERGE_ON_READ",
        table_version=8,
        hive_style_partitioning=False,
        options={
            "cleaner_commits_retained": "24",
            "compaction_delta_commits": "3",
            "hoodie.upsert.shuffle.parallelism": "8",
        },
    )
    opts = hudi_options(table, "upsert")
    assert opts["hoodie.datasource.write.operation"] == "upsert"
    assert opts["hoodie.datasource.write.table.type"] == "MERGE_ON_READ"
    assert opts["hoodie.datasource.write.keygenerator.class"] == SIMPLE_KEYGEN
    assert opts["hoodie.datasource.write.partitionpath.field"] == "region"
    assert opts["hoodie.datasource.write.hive_style_partitioning"] == "false"
    assert opts["hoodie.write.table.version"] == "8"
    # Hudi 1.0 refuses a write whose merge mode differs from the table's (EVENT_TIME_ORDERING)
    assert opts["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"
    assert opts["hoodie.payload.ordering.field"] == "ts"
    assert "hoodie.metadata.enable" not in opts  # MOR: Spark only, Hudi's default
    assert opts["hoodie.index.type"] == "GLOBAL_SIMPLE"  # partition moves leave one row
    assert opts["hoodie.simple.index.update.partition.path"] == "true"
    assert opts["hoodie.compact.inline.max.delta.commits"] == "3"
    assert opts["hoodie.cleaner.commits.retained"] == "24"
    assert opts["hoodie.upsert.shuffle.parallelism"] == "8"
    assert opts["hoodie.datasource.hive_sync.partition_fields"] == "region"


def test_composite_key_and_historical_mode() -> None:
    opts = hudi_options(
        _table(record_key_fields=["tenant", "id"], partition_fields=["tenant"]), "insert_overwrite_table"
    )
    assert opts["hoodie.datasource.write.keygenerator.class"] == COMPLEX_KEYGEN
    assert opts["hoodie.datasource.write.recordkey.field"] == "tenant,id"
    hist = hudi_options(_table(storage_mode="historical"), "insert")
    assert hist["hoodie.datasource.write.recordkey.field"] == "id,_tributary_change_id"
    # hoodie.properties names the precombine field whichever engine created the table
    assert hist["hoodie.datasource.write.precombine.field"] == "ts"


@pytest.mark.parametrize("version", [6, 8])
def test_without_a_precombine_field_the_latest_change_wins(version: int) -> None:
    opts = hudi_options(_table(precombine_field=None, table_version=version), "upsert")
    assert "hoodie.datasource.write.precombine.field" not in opts
    if version == 6:
        assert opts["hoodie.datasource.write.payload.class"].endswith("OverwriteWithLatestAvroPayload")
    else:
        assert opts["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"


def test_sync_can_be_turned_off_and_operations_are_checked() -> None:
    assert "hoodie.datasource.hive_sync.enable" not in hudi_options(_table(options={"hive_sync": "false"}), "upsert")
    assert "hoodie.datasource.hive_sync.enable" not in hudi_options(_table(), "upsert", sync=False)
    with pytest.raises(ValueError, match="unknown Hudi write operation"):
        hudi_options(_table(), "bulk_insert; drop table")
    with pytest.raises(ValueError, match="unknown Hudi write operation"):
        hudi_options(_table(), "delete")  # deletes ride in the upsert: one commit per table and run


def test_a_new_v8_table_gets_hudis_own_event_time_payload() -> None:
    """Hudi 1.0 records a table created with EventTimeAvroPayload as merge mode CUSTOM and then
    refuses every EVENT_TIME_ORDERING write; later writes use it (it honours flagged deletes)."""
    table = _table(table_version=8)
    created = hudi_options(table, "upsert", new_table=True)
    assert created["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"
    assert "hoodie.datasource.write.payload.class" not in created
    later = hudi_options(table, "upsert")
    assert later["hoodie.datasource.write.payload.class"].endswith("EventTimeAvroPayload")


def test_retention_and_archival_bounds_follow_the_typed_options() -> None:
    """Hudi refuses keep.min.commits <= cleaner.commits.retained: a retention of 24 moves them."""
    opts = hudi_options(_table(options={"hoodie.cleaner.commits.retained": "24"}), "upsert")
    assert opts["hoodie.cleaner.commits.retained"] == "24"
    assert (opts["hoodie.keep.min.commits"], opts["hoodie.keep.max.commits"]) == ("25", "35")
    opts = hudi_options(_table(), "upsert")
    assert (opts["hoodie.keep.min.commits"], opts["hoodie.keep.max.commits"]) == ("20", "30")


def test_pass_through_keys_override_tuning_defaults() -> None:
    cow = hudi_options(_table(options={"hoodie.metadata.enable": "true", "hoodie.x.y": "z"}), "upsert")
    assert cow["hoodie.metadata.enable"] == "true" and cow["hoodie.x.y"] == "z"


def test_hive_sync_false_and_catalog_none_leave_hive_sync_out() -> None:
    assert "hoodie.datasource.hive_sync.enable" not in hudi_options(_table(options={"hive_sync": False}), "upsert")
    assert "hoodie.datasource.hive_sync.enable" not in hudi_options(_table(catalog="none"), "upsert")
    assert hudi_options(_table(), "upsert", sync=False).get("hoodie.datasource.hive_sync.enable") is None


def test_hand_written_options_are_refused() -> None:
    """The job reads the typed dump; a batch with options the config never validated is refused."""
    table = {**_table(), "options": {"cleaner_commits_retained": "3"}}
    with pytest.raises(ValueError, match="options lack csv_delimiter"):
        hudi_options(table, "upsert")


SIZING_KEYS = (
    "hoodie.parquet.max.file.size",
    "hoodie.parquet.small.file.limit",
    "hoodie.copyonwrite.record.size.estimate",
)


def _sizing(opts: dict[str, str]) -> tuple[str, ...]:
    return tuple(opts[k] for k in SIZING_KEYS)


def test_file_sizing_options_reach_the_spark_writer() -> None:
    """Hudi's defaults are written out explicitly; typed options and their Hudi spellings (one
    validated value) become the writer's keys, on every operation."""
    assert _sizing(hudi_options(_table(), "upsert")) == ("125829120", "104857600", "1024")
    typed = {"target_file_size_bytes": 100_000, "small_file_limit_bytes": 0, "record_size_estimate_bytes": 500}
    for op in ("upsert", "insert_overwrite_table"):
        assert _sizing(hudi_options(_table(options=typed), op)) == ("100000", "0", "500")
    spelled = {"hoodie.parquet.max.file.size": "100000", "hoodie.copyonwrite.record.size.estimate": "500"}
    # the unset small file limit follows the lower target (5/6 of it, Hudi's default ratio)
    assert _sizing(hudi_options(_table(options=spelled), "upsert")) == ("100000", "83333", "500")


def test_options_without_sizing_are_refused() -> None:
    table = _table()
    del table["options"]["record_size_estimate_bytes"]
    with pytest.raises(ValueError, match="options lack record_size_estimate_bytes"):
        hudi_options(table, "upsert")
