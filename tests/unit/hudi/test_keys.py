"""The table's stored key generator decides keys and partition paths; unsupported ones are refused.

Formatting of TimestampBasedKeyGenerator patterns is compared with Joda (Hudi's own formatter)
at test time; whole keys are compared with Spark + Hudi in tests/integration/hudi/test_keygen_spark.py.
"""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from tests.hudi_java import run_java
from tributary.errors import HudiError, UnsupportedTableError
from tributary.hudi.keys import partition_paths, record_keys
from tributary.hudi.options import KeyGenerator, TableOptions
from tributary.hudi.timestamp_keygen import TimestampKeygen

TB = "hoodie.keygen.timebased."
_rnd = random.Random(3)
MILLIS = [0, 1, -1, 86_399_999, 951_782_400_000, 1_704_164_645_123, 4_102_444_799_999, -2_208_988_800_000]
MILLIS += [_rnd.randint(-2_000_000_000_000, 4_000_000_000_000) for _ in range(200)]
PATTERNS = [
    ("yyyy/MM/dd", "UTC"),
    ("yyyy-MM-dd HH", "America/New_York"),
    ("yyyyMMddHHmmssSSS", "Asia/Kolkata"),
    ("yy-M-d h a", "Europe/Berlin"),
    ("'year='yyyy'/month='MM", "UTC"),
    ("yyyy-MMM-dd EEE", "Australia/Lord_Howe"),
    ("MMMM EEEE D S SS SSSS", "America/St_Johns"),
]


def _props(keygen_class: str, rk: str = "id", pf: str = "p", **extra: str) -> dict[str, str]:
    return {
        "hoodie.table.name": "t",
        "hoodie.table.version": "6",
        "hoodie.table.recordkey.fields": rk,
        "hoodie.table.partition.fields": pf,
        "hoodie.table.keygenerator.class": f"org.apache.hudi.keygen.{keygen_class}",
        **extra,
    }


@pytest.fixture(scope="module")
def joda() -> list[Any]:
    return run_java("1.0.2", [{"op": "joda_format", "values": MILLIS, "pattern": p, "zone": z} for p, z in PATTERNS])


def test_timestamp_patterns_format_as_joda(joda: list[Any]) -> None:
    for (pattern, zone), expected in zip(PATTERNS, joda, strict=True):
        props = {TB + "timestamp.type": "EPOCHMILLISECONDS", TB + "output.dateformat": pattern, TB + "timezone": zone}
        kg = TimestampKeygen.from_properties(props, "p", "'t'")
        assert kg.format(pa.array(MILLIS, pa.int64()), "test").to_pylist() == expected, pattern


def test_complex_key_generator_table_keys_one_field_as_spark_does() -> None:
    """Spark's ComplexKeyGenerator (0.15.0, 1.0.2) writes a lone key field as its bare value."""
    opts = TableOptions.from_properties(_props("ComplexKeyGenerator", pf="p"), "t")
    assert opts.keygen_type is KeyGenerator.COMPLEX
    rows = pa.table({"id": [1, 2], "p": ["a", None]})
    assert record_keys(rows, opts, "t").to_pylist() == ["1", "2"]
    assert partition_paths(rows, opts, "t").to_pylist() == ["a", "__HIVE_DEFAULT_PARTITION__"]


def test_nonpartitioned_key_generator_is_used_even_with_partition_fields_listed() -> None:
    opts = TableOptions.from_properties(_props("NonpartitionedKeyGenerator", rk="id,name", pf="p"), "t")
    rows = pa.table({"id": [1], "name": [""], "p": ["a"]})
    assert record_keys(rows, opts, "t").to_pylist() == ["id:1,name:__empty__"]
    assert partition_paths(rows, opts, "t").to_pylist() == [""]


def test_custom_key_generator_with_typed_fields() -> None:
    props = _props("CustomKeyGenerator", pf="region:simple,ms:timestamp", **{"hoodie.table.version": "8"})
    props |= {TB + "timestamp.type": "EPOCHMILLISECONDS", TB + "output.dateformat": "yyyyMMdd"}
    props["hoodie.datasource.write.hive_style_partitioning"] = "true"
    opts = TableOptions.from_properties(props, "t")
    assert opts.partition_fields == ("region", "ms") and opts.partition_field_types == ("simple", "timestamp")
    rows = pa.table({"id": [1, 2], "region": ["eu", ""], "ms": [1_704_164_645_123, None]})
    assert partition_paths(rows, opts, "t").to_pylist() == [
        "region=eu/ms=20240102",
        "region=__HIVE_DEFAULT_PARTITION__/ms=19700101",
    ]
    assert opts.to_properties()["hoodie.table.partition.fields"] == "region:simple,ms:timestamp"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({TB + "timestamp.type": "MIXED", TB + "output.dateformat": "yyyy"}, "MIXED is not supported"),
        ({TB + "output.dateformat": "yyyy"}, r"no hoodie\.keygen\.timebased\.timestamp\.type"),
        ({TB + "timestamp.type": "UNIX_TIMESTAMP", TB + "output.dateformat": "yyyy Z"}, "pattern letter 'Z'"),
        (
            {TB + "timestamp.type": "UNIX_TIMESTAMP", TB + "output.dateformat": "yyyy", TB + "timezone": "Mars/Base"},
            "Mars/Base",
        ),
        ({TB + "timestamp.type": "DATE_STRING", TB + "output.dateformat": "yyyy"}, "input.dateformat"),
    ],
)
def test_unsupported_timestamp_settings_are_refused_naming_the_option(extra: dict[str, str], match: str) -> None:
    with pytest.raises(UnsupportedTableError, match=match) as err:
        TableOptions.from_properties(_props("TimestampBasedKeyGenerator", **extra), "s3://lake/t")
    assert "'t'" in str(err.value)


def test_unknown_key_generator_class_is_refused() -> None:
    with pytest.raises(UnsupportedTableError, match=r"com\.example\.MyKeyGen.*engine 'glue'"):
        TableOptions.from_properties(_props("X", **{"hoodie.table.keygenerator.class": "com.example.MyKeyGen"}), "t")


def test_timestamp_values_outside_years_1_to_9999_are_refused() -> None:
    props = _props("TimestampBasedKeyGenerator", **{TB + "timestamp.type": "EPOCHMILLISECONDS"})
    props[TB + "output.dateformat"] = "yyyy"
    opts = TableOptions.from_properties(props, "t")
    with pytest.raises(HudiError, match="outside the years 0001-9999"):
        partition_paths(pa.table({"id": [1], "p": [1_704_164_645_123_456]}), opts, "f.parquet")
