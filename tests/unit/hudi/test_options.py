from __future__ import annotations

import pytest

from tributary.errors import HudiError, TableConfigMismatchError, UnsupportedTableError
from tributary.hudi.options import TableOptions, format_properties, parse_properties, table_checksum


def test_checksum_matches_spark() -> None:
    assert table_checksum("default", "v6_complexkeygen_hivestyle") == 281415413
    assert table_checksum("default", "v8_complexkeygen_hivestyle") == 1461121508


def test_properties_round_trip_with_escapes() -> None:
    props = {"a.b": 'x:y=z {"k":1}', "c": "", "hoodie.table.name": "t"}
    text = format_properties(props, "2024-01-01")
    assert parse_properties(text) == props


def test_v6_and_v8_properties() -> None:
    p6 = TableOptions("t", ("id",), partition_fields=("p",)).to_properties()
    assert p6["hoodie.table.keygenerator.class"] == "org.apache.hudi.keygen.SimpleKeyGenerator"
    assert p6["hoodie.timeline.layout.version"] == "1"
    assert list(p6)[-1] == "hoodie.table.checksum"
    p8 = TableOptions("t", ("a", "b"), table_version=8).to_properties()
    assert p8["hoodie.table.keygenerator.type"] == "NON_PARTITION"
    assert p8["hoodie.timeline.layout.version"] == "2"
    assert p8["hoodie.table.initial.version"] == "8"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table_name": "bad name"},
        {"record_key_fields": ()},
        {"table_version": 7},
        {"partition_fields": ("_hoodie_x",)},
        {"archive_min_instants": 5},
    ],
)
def test_validation(kwargs: dict) -> None:
    base = {"table_name": "t", "record_key_fields": ("id",)}
    base.update(kwargs)
    with pytest.raises(HudiError):
        TableOptions(**base)


def test_refusals_and_mismatch() -> None:
    base = TableOptions("t", ("id",), "ts", ("p",)).to_properties()
    with pytest.raises(UnsupportedTableError, match="MERGE_ON_READ"):
        TableOptions.from_properties({**base, "hoodie.table.type": "MERGE_ON_READ"}, "x")
    with pytest.raises(UnsupportedTableError, match="metadata table"):
        TableOptions.from_properties({**base, "hoodie.table.metadata.partitions": "files"}, "x")
    with pytest.raises(UnsupportedTableError, match=r"populate\.meta\.fields"):
        TableOptions.from_properties({**base, "hoodie.populate.meta.fields": "false"}, "x")
    existing = TableOptions.from_properties(base, "x")
    with pytest.raises(TableConfigMismatchError, match=r"hoodie\.table.recordkey.fields"):
        TableOptions("t", ("other",), "ts", ("p",)).check_matches(existing, "x")
    with pytest.raises(TableConfigMismatchError, match=r"hoodie\.table.precombine.field"):
        TableOptions("t", ("id",), None, ("p",)).check_matches(existing, "x")
    with pytest.raises(TableConfigMismatchError, match="hive_style"):
        TableOptions("t", ("id",), "ts", ("p",), hive_style_partitioning=False).check_matches(existing, "x")
