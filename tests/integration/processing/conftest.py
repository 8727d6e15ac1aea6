"""Fixtures for the processor: a configured set of tables in the test's own home and DB."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tributary.config.service import apply_paths


def write_config(
    home: Path, n_tables: int, *, batch_size: int = 5, partitioned: bool = False, extra_tables: list[dict] | None = None
) -> Path:
    tables = []
    for i in range(1, n_tables + 1):
        row = {
            "source_schema": "shop",
            "source_table": f"t{i}",
            "staging_prefix": f"staging/shop/t{i}",
            "target_uri": f"lake/shop/t{i}",
            "database_name": "raw_shop",
            "table_name": f"t{i}",
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": "fast",
        }
        if partitioned:
            row["partition_fields"] = ["region"]
        tables.append(row)
    doc = {
        "templates": [
            {
                "template_id": "cdc_to_hudi",
                "kind": "cdc_to_hudi",
                "params_schema": {"type": "object", "properties": {"cadence": {"type": "string"}}},
            }
        ],
        "refresh_cadences": [{"cadence_id": "fast", "schedule": "*/10 * * * *", "batch_size": batch_size}],
        "raw_tables": tables + (extra_tables or []),
        "flows": [
            {
                "flow_id": "shop",
                "schedule": "*/10 * * * *",
                "tasks": [{"task_id": "apply", "template_id": "cdc_to_hudi", "params": {"cadence": "fast"}}],
            }
        ],
    }
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def configure(migrated_db: str, tributary_home: Path) -> Callable[..., Path]:
    def _configure(n_tables: int = 3, **kwargs: object) -> Path:
        path = write_config(tributary_home, n_tables, **kwargs)  # type: ignore[arg-type]
        apply_paths([path])
        return tributary_home

    return _configure


@pytest.fixture
def pg_configure(pg_db_url: str, tributary_home: Path) -> Callable[..., Path]:
    """Like ``configure``, on a fresh PostgreSQL database only."""
    from tributary.metadata import db

    db.upgrade(pg_db_url)

    def _configure(n_tables: int = 3, **kwargs: object) -> Path:
        path = write_config(tributary_home, n_tables, **kwargs)  # type: ignore[arg-type]
        apply_paths([path])
        return tributary_home

    return _configure
