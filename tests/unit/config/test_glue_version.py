"""A cadence's Glue version decides which Hudi writes its tables: table version 8 needs Glue 5.1
(Hudi 1.0.2); Glue 5.0 ships Hudi 0.15.0, which writes table version 6."""

from __future__ import annotations

from typing import Any

import pytest

from tributary.config.loader import RawRow
from tributary.config.validation import validate_rows


def _rows(engine: str, glue_version: str | None, table_version: int) -> list[RawRow]:
    cadence: dict[str, Any] = {"cadence_id": "c", "schedule": "@hourly", "batch_size": 5, "engine": engine}
    if glue_version is not None:
        cadence["glue_version"] = glue_version
    table = {
        "source_schema": "sales",
        "source_table": "items",
        "staging_prefix": "staging/sales/items",
        "target_uri": "lake/sales/items",
        "database_name": "raw_sales",
        "table_name": "items",
        "record_key_fields": ["id"],
        "table_version": table_version,
        "refresh_cadence": "c",
    }
    return [RawRow("refresh_cadences", cadence, "c.yaml", 1), RawRow("raw_tables", table, "c.yaml", 2)]


@pytest.mark.parametrize(
    ("engine", "glue_version", "table_version"),
    [("glue", "5.1", 8), ("glue", "6.0", 8), ("glue", None, 6), ("glue", "5.1", 6), ("local", None, 8)],
)
def test_table_versions_the_cadence_can_write_are_accepted(
    engine: str, glue_version: str | None, table_version: int
) -> None:
    config = validate_rows(_rows(engine, glue_version, table_version))
    assert config.problems == ()
    assert config.cadences["c"].glue_version == (glue_version or "5.0")
    assert "sales.items" in config.tables


@pytest.mark.parametrize("glue_version", [None, "5.0"])
def test_a_v8_table_on_a_glue_5_0_cadence_is_named_with_its_field(glue_version: str | None) -> None:
    config = validate_rows(_rows("glue", glue_version, 8))
    (problem,) = config.problems
    assert (problem.section, problem.row, problem.field) == ("raw_tables", "sales.items", "table_version")
    assert "Glue 5.1" in problem.message and "'c'" in problem.message and "5.0" in problem.message
    assert "sales.items" not in config.tables
