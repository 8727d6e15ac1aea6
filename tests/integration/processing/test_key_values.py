"""The processor quarantines a file whose partition value is a path; nothing leaves the table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.cdc_factory import DmsFolder, completed_commits
from tributary.config.service import load_db_config
from tributary.files.registry import register, sweep_table_files
from tributary.metadata.db import session_scope
from tributary.metadata.models import CdcFileRow
from tributary.processing.batches import process_cadence


def _register_all() -> None:
    config = load_db_config()
    with session_scope() as s:
        for table in config.tables.values():
            register(s, sweep_table_files(table), config.tables.values())


def test_processor_quarantines_a_file_with_a_path_as_partition_value(
    configure: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIBUTARY_MAX_FILE_ATTEMPTS", "2")
    from tributary.settings import get_settings

    get_settings.cache_clear()
    home = configure(1, partitioned=True)
    dms = DmsFolder(home / "staging/shop/t1")
    dms.load([{"id": 1, "ts": 1, "amount": 1.0, "region": "eu"}])
    bad = dms.cdc([{"Op": "I", "id": 2, "ts": 2, "amount": 2.0, "region": "../../../../outside"}])
    _register_all()
    first = process_cadence("fast")
    assert first.failed == ["shop.t1"] and bad.name in (first.tables["shop.t1"].error or "")
    assert "region" in (first.tables["shop.t1"].error or "")
    second = process_cadence("fast")
    assert "quarantined" in (second.tables["shop.t1"].error or "")
    with session_scope() as s:
        by_name = {Path(f.uri).name: f for f in s.scalars(select(CdcFileRow).where(CdcFileRow.table_id == "shop.t1"))}
        assert by_name[bad.name].status == "quarantined"
        assert by_name["LOAD00000001.parquet"].status == "pending"  # the failed commit applied nothing
    assert not list(home.rglob("outside"))
    assert not (home / "lake/shop/t1").exists() or not completed_commits(home / "lake/shop/t1")
