"""check_record_keys raises exactly what building the keys raises, and passes what it passes."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest

from tributary.errors import HudiError
from tributary.hudi.keys import check_record_keys, record_keys
from tributary.hudi.options import TableOptions


def _opts(*fields: str) -> TableOptions:
    return TableOptions(table_name="t", record_key_fields=fields)


@pytest.mark.parametrize(
    ("table", "fields"),
    [
        (pa.table({"id": [1, 2, 3]}), ("id",)),  # the shortcut: no strings built
        (pa.table({"id": [1, None]}), ("id",)),  # a null key: the full check raises
        (pa.table({"d": [dt.date(2026, 1, 1), None]}), ("d",)),
        (pa.table({"s": ["a", ""]}), ("s",)),  # strings: always the full check
        (pa.table({"s": ["a", "b"]}), ("s",)),
        (pa.table({"a": [1, None], "b": [None, None]}), ("a", "b")),  # composite: full check
        (pa.table({"a": [1, 2], "b": ["x", "y"]}), ("a", "b")),
    ],
)
def test_same_verdict_as_building_the_keys(table: pa.Table, fields: tuple[str, ...]) -> None:
    opts = _opts(*fields)
    try:
        record_keys(table, opts, "f.parquet")
    except HudiError as exc:
        with pytest.raises(HudiError, match=re.escape(str(exc))):
            check_record_keys(table, opts, "f.parquet")
    else:
        check_record_keys(table, opts, "f.parquet")


def test_missing_key_column_is_named() -> None:
    with pytest.raises(HudiError, match="missing"):
        check_record_keys(pa.table({"x": [1]}), _opts("id"), "f.parquet")
