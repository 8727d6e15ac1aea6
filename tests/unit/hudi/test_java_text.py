"""Key and partition values printed as Hudi's Java code prints them (reference: Java, at test time)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tests.hudi_java import run_java
from tributary.hudi.java_text import escape_path_name, java_float_text, java_text

_rnd = random.Random(7)
DOUBLES = [
    *(0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 2.5, 1e-3, 9.99e-4, 1e7, 9999999.0, 9999999.999, 1.5e10, 1e-5, 123456789.0),
    *(1e21, 1e-7, 65536.125, 3.14159, 2.0**52, 2.0**-20, -7.25, 1e100, 1e-100, float("nan"), float("inf")),
    *(float("-inf"), 1.7976931348623157e308, 2.2250738585072014e-308),
    *(round(_rnd.uniform(-1e6, 1e6), _rnd.randint(0, 6)) for _ in range(300)),
    *(_rnd.randint(1, 10**12) / 10 ** _rnd.randint(0, 4) for _ in range(300)),
]
FLOATS = [
    0.0,
    1.0,
    2.5,
    1e7,
    1.25e-4,
    0.1,
    3.4028235e38,
    1e-3,
    16777216.0,
    *(round(_rnd.uniform(-1e4, 1e4), 3) for _ in range(200)),
]
PATH_VALUES = [chr(c) for c in range(0, 128)] + ["a/b", "x:y=z", "50%", "é/ü", "漢字", "", "{[^]}", "sp ace", "\u007f"]


@pytest.fixture(scope="module")
def java() -> list[Any]:
    return run_java(
        "0.15.0",
        [
            {"op": "double_text", "values": DOUBLES},
            {"op": "float_text", "values": FLOATS},
            {"op": "escape_path", "values": PATH_VALUES},
        ],
    )


def test_double_to_string_equals_java(java: list[Any]) -> None:
    assert [java_float_text(v) for v in DOUBLES] == java[0]
    col = java_text(pa.array([*DOUBLES, None]), "test").to_pylist()
    assert col == [*java[0], None]


def test_float_to_string_equals_java(java: list[Any]) -> None:
    assert [java_float_text(v, single=True) for v in FLOATS] == java[1]
    assert java_text(pa.array(np.array(FLOATS, np.float32)), "test").to_pylist() == java[1]


def test_escape_path_name_equals_java(java: list[Any]) -> None:
    empty = PATH_VALUES.index("")
    # Java maps "" to the default partition itself; the key code does that before escaping
    assert java[2][empty] == "__HIVE_DEFAULT_PARTITION__"
    ours = [escape_path_name(v) for i, v in enumerate(PATH_VALUES) if i != empty]
    assert ours == [t for i, t in enumerate(java[2]) if i != empty]


def test_decimals_keep_their_scale_and_small_ones_use_exponent() -> None:
    col = pa.array([Decimal("12.30"), Decimal("-0.01"), Decimal("100.00")], pa.decimal128(10, 2))
    assert java_text(col, "t").to_pylist() == ["12.30", "-0.01", "100.00"]
    small = pa.array([Decimal("0.00000010"), Decimal("0"), Decimal("1.5")], pa.decimal128(12, 8))
    assert java_text(small, "t").to_pylist() == ["1.0E-7", "0E-8", "1.50000000"]
