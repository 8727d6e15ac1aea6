"""Event-time ordering in hoodie.properties, as Hudi 0.15 (v6) and 1.0.2 (v8) read it.

Measured with Spark: on a v6 table with these properties an upsert from Spark that passes no
payload option keeps the stored row when its precombine value is higher (Hudi's own 0.15 table
does so only while every write passes DefaultHoodieRecordPayload); a v8 table matches, key for
key, the merge properties Spark 1.0.2 writes for ``hoodie.write.record.merge.mode=EVENT_TIME_ORDERING``.
"""

from __future__ import annotations

import pytest

from tributary.errors import UnsupportedTableError
from tributary.hudi.options import TableOptions

SPARK_V8_EVENT_TIME = {
    "hoodie.record.merge.mode": "EVENT_TIME_ORDERING",
    "hoodie.record.merge.strategy.id": "eeb8d96f-b1e4-49fd-bbf8-28ac514178e5",
    "hoodie.compaction.payload.class": "org.apache.hudi.common.model.DefaultHoodieRecordPayload",
}


def test_v6_records_the_event_time_payload_and_its_ordering_field() -> None:
    p = TableOptions("t", ("id",), precombine_field="seq", table_version=6).to_properties()
    assert p["hoodie.compaction.payload.class"] == "org.apache.hudi.common.model.DefaultHoodieRecordPayload"
    assert p["hoodie.payload.ordering.field"] == "seq"
    assert p["hoodie.table.precombine.field"] == "seq"
    assert "hoodie.record.merge.mode" not in p  # a 1.0 property: 0.15 does not know it


def test_v8_matches_spark_event_time_table() -> None:
    p = TableOptions("t", ("id",), precombine_field="ts", table_version=8).to_properties()
    assert {k: p[k] for k in SPARK_V8_EVENT_TIME} == SPARK_V8_EVENT_TIME
    assert p["hoodie.archivelog.folder"] == "history"  # as Spark 1.0.2 writes it
    assert p["hoodie.table.multiple.base.file.formats.enable"] == "false"


def test_without_precombine_the_latest_change_wins_commit_time() -> None:
    p = TableOptions("t", ("id",), table_version=8).to_properties()
    assert p["hoodie.record.merge.mode"] == "COMMIT_TIME_ORDERING"
    assert p["hoodie.compaction.payload.class"] == "org.apache.hudi.common.model.OverwriteWithLatestAvroPayload"


def _spark_props(version: int, **extra: str) -> dict[str, str]:
    props = {
        "hoodie.table.name": "t",
        "hoodie.table.type": "COPY_ON_WRITE",
        "hoodie.table.version": str(version),
        "hoodie.table.recordkey.fields": "id",
        "hoodie.table.precombine.field": "ts",
    }
    props.update(extra)
    return props


def test_spark_tables_keep_their_mode() -> None:
    opts = TableOptions.from_properties(_spark_props(8, **SPARK_V8_EVENT_TIME), "s3://b/t")
    assert dict(opts.extra_properties)["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"
    assert opts.to_properties()["hoodie.record.merge.mode"] == "EVENT_TIME_ORDERING"
    no_precombine = _spark_props(8, **{"hoodie.record.merge.mode": "COMMIT_TIME_ORDERING"})
    del no_precombine["hoodie.table.precombine.field"]
    TableOptions.from_properties(no_precombine, "s3://b/t")  # latest wins: what the writer does
    TableOptions.from_properties(_spark_props(6), "s3://b/t")  # 0.15 records no payload by default


@pytest.mark.parametrize(
    ("version", "extra", "words"),
    [
        (8, {"hoodie.record.merge.mode": "COMMIT_TIME_ORDERING"}, "COMMIT_TIME_ORDERING"),
        (8, {"hoodie.record.merge.mode": "CUSTOM"}, "CUSTOM"),
        (
            6,
            {"hoodie.compaction.payload.class": "org.apache.hudi.common.model.OverwriteWithLatestAvroPayload"},
            "commit-time ordering",
        ),
        (6, {"hoodie.compaction.payload.class": "org.apache.hudi.common.model.AWSDmsAvroPayload"}, "AWSDmsAvroPayload"),
    ],
)
def test_modes_the_writer_does_not_implement_are_refused(version: int, extra: dict[str, str], words: str) -> None:
    with pytest.raises(UnsupportedTableError, match=words) as err:
        TableOptions.from_properties(_spark_props(version, **extra), "s3://b/t")
    assert "s3://b/t" in str(err.value) and "'t'" in str(err.value) and "glue" in str(err.value)
